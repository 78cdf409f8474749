import type { StateUnit, UnitDescriptor, UnitSetHistory } from '../../state/index.ts';
import type { UnitContext } from './base.ts';
import { NvmeManager } from './nvme.ts';
import { NVME_STEP, NVME_UNIT } from './nvme-unit.ts';
import { RTC_UNIT, RtcUnit } from './rtc.ts';
import { SERIAL_UNITS, Uart16550Unit } from './serial.ts';
import { SERIAL_STEP, SERIAL_UNIT_V3 } from './serial-legacy.ts';
import { PARTITION_UNIT, PartitionUnit } from './partition.ts';
import { PARTITION_STEP } from './partition-step.ts';
import { SYNIC_UNIT } from './synic.ts';
import { VmbusServerUnit } from './vmbus.ts';
import { VMBUS_UNIT } from './vmbus-state.ts';
import { VMBUS_STEP, VMBUS_UNIT_V3 } from './vmbus-legacy.ts';
import { VP_UNIT } from './vp.ts';

// Public surface of openvmm_hcl's state units.
export { UnitBase, type UnitContext } from './base.ts';
export { PartitionUnit, PARTITION_UNIT, PartitionStateSchema, partitionView, type PartitionState, type PartitionVp } from './partition.ts';
export { PARTITION_STEP } from './partition-step.ts';
export { VP_STRIDE, VP_OFFSET, VP_FIELD_BYTES, VP_LAYOUT_VERSION, EVENT_SLOTS, checkVp, decodeVp, encodeVp, resetVp, type VpNamed, type VpView } from './vp-layout.ts';
export { VP_UNIT, VpStateSchema, type VpState, type VpEntry } from './vp.ts';
export { SYNIC_UNIT, SynicStateSchema, SINT_COUNT, type SynicState, type SintConfig } from './synic.ts';
export { VmbusServerUnit, type RingDir } from './vmbus.ts';
export { VMBUS_UNIT, VmbusStateSchema, INTERFACE_IDS, VERSION_COPPER, offeredConnectionId, gpadlPages, connectedServer, type VmbusState, type Channel, type Gpadl, type OpenRequest } from './vmbus-state.ts';
export { GuestRingPages, Vtl0RingsSchema, type Vtl0Rings, type RingControl } from './vmbus-rings.ts';
export { VMBUS_UNIT_V3, VMBUS_STEP, VmbusStateSchemaV3, NO_MONITOR, legacyRings, withLegacyRings, type VmbusStateV3, type ChannelV3 } from './vmbus-legacy.ts';
export { NvmeManager, CC_ENABLED, CSTS_RDY, nvmeKeepAliveOn, type NvmeState, type Controller } from './nvme.ts';
export { MAX_QUEUE_ENTRIES, SQ_BYTES, QUEUE_BLOCK_BYTES, CID_KEY_BITS, commandFor, cidOf, type Queue } from './nvme-saved.ts';
export { NVME_UNIT, NVME_STEP, NvmeStateSchema, NvmeStateSchemaV1, NO_COALESCING, type NvmeUnitState } from './nvme-unit.ts';
export { Uart16550Unit, SERIAL_UNITS, Uart16550StateSchema, COM_PORTS, UART_BASE_BAUD, FIFO_SIZE, serialUnitName, iirOf, lsrOf, type Uart16550State, type ComPort } from './serial.ts';
export { SERIAL_UNIT_V3, SERIAL_STEP, SerialStateSchema, SerialStateSchemaV1, rxBytes, rxRing, upgradeSerialV1, downgradeSerialV2, uartOfPort, portOfUart, type SerialState, type SerialPort, type RxRing } from './serial-legacy.ts';
export { RtcUnit, RTC_UNIT, RtcStateSchema, CMOS_SIZE, RTC_EPOCH_NS, type RtcState } from './rtc.ts';

/** Every unit's descriptor, in save order. */
export const UNIT_DESCRIPTORS: readonly UnitDescriptor[] = [RTC_UNIT, ...SERIAL_UNITS, PARTITION_UNIT, VMBUS_UNIT];

/**
 * Units older releases wrote that this one reads but no longer writes, and the unit-set steps
 * (lib/state/unit-set.ts) that turn them into today's units, oldest step first.
 */
export const UNIT_SET_HISTORY: UnitSetHistory = {
  retired: [VP_UNIT, SYNIC_UNIT, NVME_UNIT, SERIAL_UNIT_V3, VMBUS_UNIT_V3],
  steps: [PARTITION_STEP, NVME_STEP, SERIAL_STEP, VMBUS_STEP],
};

/** The live units of one paravisor, by role, plus `all` in save order; and the NVMe manager, whose state goes in the init state. */
export interface HclUnits {
  rtc: RtcUnit;
  /** One 16550 per configured COM port, in configuration order. */
  serial: Uart16550Unit[];
  nvme: NvmeManager;
  partition: PartitionUnit;
  vmbus: VmbusServerUnit;
  /** Every state unit; the controller saves them by rank after the NVMe manager. */
  all: StateUnit[];
}

/** Builds every unit in its boot state from the discovered topology and configured devices. */
export function createUnits(ctx: UnitContext): HclUnits {
  const u = {
    rtc: new RtcUnit(ctx),
    serial: ctx.devices.serial.map((s) => new Uart16550Unit(ctx, s.port, s.baud)),
    nvme: new NvmeManager(ctx),
    partition: new PartitionUnit(ctx),
    vmbus: new VmbusServerUnit(ctx),
  };
  return { ...u, all: [u.rtc, ...u.serial, u.partition, u.vmbus] as StateUnit[] };
}
