import type { StateUnit, UnitDescriptor, UnitSetHistory } from '../../state/index.ts';
import type { UnitContext } from './base.ts';
import { NvmeManager } from './nvme.ts';
import { NVME_STEP, NVME_UNIT } from './nvme-unit.ts';
import { RTC_UNIT, RtcUnit } from './rtc.ts';
import { SERIAL_UNIT, SerialUnit } from './serial.ts';
import { PARTITION_UNIT, PartitionUnit } from './partition.ts';
import { PARTITION_STEP } from './partition-step.ts';
import { SYNIC_UNIT } from './synic.ts';
import { VMBUS_UNIT, VmbusChannelsUnit } from './vmbus.ts';
import { VP_UNIT } from './vp.ts';

// Public surface of openvmm_hcl's state units.
export { UnitBase, type UnitContext } from './base.ts';
export { PartitionUnit, PARTITION_UNIT, PartitionStateSchema, partitionView, type PartitionState, type PartitionVp } from './partition.ts';
export { PARTITION_STEP } from './partition-step.ts';
export { VP_STRIDE, VP_OFFSET, VP_FIELD_BYTES, VP_LAYOUT_VERSION, EVENT_SLOTS, checkVp, decodeVp, encodeVp, resetVp, type VpNamed, type VpView } from './vp-layout.ts';
export { VP_UNIT, VpStateSchema, type VpState, type VpEntry } from './vp.ts';
export { SYNIC_UNIT, SynicStateSchema, SINT_COUNT, type SynicState, type SintConfig } from './synic.ts';
export { VmbusChannelsUnit, VMBUS_UNIT, VmbusStateSchema, NO_MONITOR, type VmbusState, type ChannelState, type RingDir } from './vmbus.ts';
export { NvmeManager, CC_ENABLED, CSTS_RDY, nvmeKeepAliveOn, type NvmeState, type Controller } from './nvme.ts';
export { MAX_QUEUE_ENTRIES, SQ_BYTES, QUEUE_BLOCK_BYTES, CID_KEY_BITS, commandFor, cidOf, type Queue } from './nvme-saved.ts';
export { NVME_UNIT, NVME_STEP, NvmeStateSchema, NvmeStateSchemaV1, NO_COALESCING, type NvmeUnitState } from './nvme-unit.ts';
export { SerialUnit, SERIAL_UNIT, SerialStateSchema, SerialStateSchemaV1, UART_BASE_BAUD, FIFO_SIZE, rxBytes, rxRing, upgradeSerialV1, downgradeSerialV2, type SerialState, type SerialPort, type RxRing } from './serial.ts';
export { RtcUnit, RTC_UNIT, RtcStateSchema, CMOS_SIZE, RTC_EPOCH_NS, type RtcState } from './rtc.ts';

/** Every unit's descriptor, in save order. */
export const UNIT_DESCRIPTORS: readonly UnitDescriptor[] = [RTC_UNIT, SERIAL_UNIT, PARTITION_UNIT, VMBUS_UNIT];

/**
 * Units older releases wrote that this one reads but no longer writes, and the unit-set steps
 * (lib/state/unit-set.ts) that turn them into today's units, oldest step first.
 */
export const UNIT_SET_HISTORY: UnitSetHistory = { retired: [VP_UNIT, SYNIC_UNIT, NVME_UNIT], steps: [PARTITION_STEP, NVME_STEP] };

/** The live units of one paravisor, by role, plus `all` in save order; and the NVMe manager, whose state goes in the init state. */
export interface HclUnits {
  rtc: RtcUnit;
  serial: SerialUnit;
  nvme: NvmeManager;
  partition: PartitionUnit;
  vmbus: VmbusChannelsUnit;
  /** Every state unit; the controller saves them by rank after the NVMe manager. */
  all: StateUnit[];
}

/** Builds every unit in its boot state from the discovered topology and configured devices. */
export function createUnits(ctx: UnitContext): HclUnits {
  const u = {
    rtc: new RtcUnit(ctx),
    serial: new SerialUnit(ctx),
    nvme: new NvmeManager(ctx),
    partition: new PartitionUnit(ctx),
    vmbus: new VmbusChannelsUnit(ctx),
  };
  return { ...u, all: [u.rtc, u.serial, u.partition, u.vmbus] as StateUnit[] };
}
