import { Type, type Static } from '@sinclair/typebox';
import type { VmConfig } from '../../config/index.ts';
import { SAVE_RANK, bytes, field, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * One 16550 UART as openvmm's serial_16550 emulates it (vm/devices/serial/serial_16550/src/lib.rs):
 * each COM port is its own chipset device and state unit, `serial-com1`..`serial-com4`
 * (vmm_core/vm_manifest_builder `attach_serial_16550`), saving `serial.uart16550.SavedState`.
 * IIR and LSR are not state: they are computed from it on every read, as the real device does.
 * Transmit is instantaneous (the host drains THR at once, so the tx buffer stays empty).
 */

/** The UART input clock divided by 16: divisor = 115200 / baud. */
export const UART_BASE_BAUD = 115_200;
/** Receive FIFO depth of a 16550A (serial_16550 spec.rs `FIFO_SIZE`). */
export const FIFO_SIZE = 16;
/** Bounds of the real device's buffers (lib.rs `TX_BUFFER_MAX`, `RX_BUFFER_MAX`). */
const BUFFER_MAX = 256;

// Register bits (serial_16550 spec.rs bitfields).
const LCR_DLAB = 0x80;
const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const IER_MS = 0x08;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const FCR_CLEAR_TX = 0x04;
/** FCR bits the device keeps: enable, DMA mode, trigger level (clear bits and reserved dropped). */
const FCR_KEPT = 0xc9;
/** MSR change bits (cts_change, dsr_change, ri_went_low, dcd_change), cleared by reading MSR. */
const MSR_CHANGES = 0x0f;
// spec.rs `InterruptSource`, shifted into IIR bits 1..3.
const SRC_MODEM_STATUS = 0;
const SRC_THR_EMPTY = 1;
const SRC_RECEIVED_DATA = 2;
const SRC_LINE_STATUS = 3;
const SRC_RECEIVE_TIMEOUT = 6;
/** RX trigger levels by FCR bits 6..7 (spec.rs `RxFifoInterruptTrigger`). */
const TRIGGER = [1, 4, 8, 14] as const;

/** serial_16550 lib.rs `save_restore::state::SavedState`: the real fields with their `#[mesh(N)]` numbers. */
export const Uart16550StateSchema = Type.Object({
  ier: field(1, uint(8)),
  lcr: field(2, uint(8)),
  mcr: field(3, uint(8)),
  msr: field(4, uint(8)),
  fcr: field(5, uint(8)),
  dll: field(6, uint(8)),
  dlm: field(7, uint(8)),
  scratch: field(8, uint(8)),
  /** The guest read IIR while it reported THR empty; the next THR or IER write re-arms it. */
  thrEmptyAcknowledged: field(9, Type.Boolean()),
  rxOverrun: field(10, Type.Boolean()),
  txBuffer: field(11, bytes(BUFFER_MAX, 'bytes not yet taken by the backend')),
  rxBuffer: field(12, bytes(BUFFER_MAX, 'received bytes, oldest first')),
});
export type Uart16550State = Static<typeof Uart16550StateSchema>;

/** A configured COM port name. */
export type ComPort = VmConfig['devices']['serial'][number]['port'];
/** The COM ports in unit order. */
export const COM_PORTS: readonly ComPort[] = ['com1', 'com2', 'com3', 'com4'];

/** The state unit name OpenHCL gives a COM port's 16550 (vm_manifest_builder `attach_serial_16550`). */
export function serialUnitName(port: ComPort): string {
  return `serial-${port}`;
}

/** One descriptor per COM port: the same type, package `serial.uart16550`, introduced by release generation 4. */
export const SERIAL_UNITS: readonly UnitDescriptor[] = COM_PORTS.map((port) => ({
  name: serialUnitName(port),
  package: 'serial.uart16550',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [{ generation: 4, schema: Uart16550StateSchema, wire: 'fields' }],
}));

/** The interrupt the device signals, by priority (lib.rs `State::pending_interrupt`); undefined when none. */
function pendingInterrupt(s: Uart16550State): number | undefined {
  if ((s.ier & IER_RLS) !== 0 && s.rxOverrun) return SRC_LINE_STATUS;
  if ((s.ier & IER_RDA) !== 0 && s.rxBuffer.length > 0) {
    const trigger = (s.fcr & FCR_ENABLE) !== 0 ? TRIGGER[s.fcr >> 6] ?? 1 : 1;
    return s.rxBuffer.length >= trigger ? SRC_RECEIVED_DATA : SRC_RECEIVE_TIMEOUT;
  }
  if ((s.ier & IER_THRE) !== 0 && s.txBuffer.length === 0 && !s.thrEmptyAcknowledged) return SRC_THR_EMPTY;
  if ((s.ier & IER_MS) !== 0 && (s.msr & MSR_CHANGES) !== 0) return SRC_MODEM_STATUS;
  return undefined;
}

/** IIR as a read returns it, without the read's side effect (lib.rs `State::read_isr`). */
export function iirOf(s: Uart16550State): number {
  const src = pendingInterrupt(s);
  return ((s.fcr & FCR_ENABLE) !== 0 ? 0xc0 : 0) | (src === undefined ? 0x01 : src << 1);
}

/** LSR as a read returns it, without the read's side effect (lib.rs `State::read_lsr`). */
export function lsrOf(s: Uart16550State): number {
  const thrEmpty = s.txBuffer.length === 0 ? LSR_THRE | LSR_TEMT : 0;
  return (s.rxBuffer.length > 0 ? LSR_DR : 0) | (s.rxOverrun ? LSR_OE : 0) | thrEmpty;
}

/** A 16550 UART on one COM port. */
export class Uart16550Unit extends UnitBase<Uart16550State> {
  constructor(
    ctx: UnitContext,
    readonly port: ComPort,
    private readonly baud: number,
  ) {
    super(SERIAL_UNITS[COM_PORTS.indexOf(port)]!, ctx);
  }

  defaultState(): Uart16550State {
    // Firmware has programmed the configured baud rate and 8N1; the rest is the device's reset
    // state (lib.rs `State::new`), with no modem lines modelled (MSR 0).
    const div = Math.max(1, Math.round(UART_BASE_BAUD / this.baud));
    return {
      ier: 0, lcr: 0x03, mcr: 0, msr: 0, fcr: 0, dll: div & 0xff, dlm: (div >> 8) & 0xff, scratch: 0xff,
      thrEmptyAcknowledged: false, rxOverrun: false, txBuffer: new Uint8Array(0), rxBuffer: new Uint8Array(0),
    };
  }

  /** Guest transmits one byte (a THR write). */
  write(byte: number): void {
    this.writeReg(0, byte);
  }

  /**
   * Host delivers one byte to the receiver; a full FIFO (16 bytes, 1 without FIFO mode) sets
   * the overrun error, as the hardware does. (The real device pulls from its backend only while
   * its 256-byte buffer has room.)
   */
  receive(byte: number): void {
    this.#byte(byte, 'receive');
    const s = this.state;
    if (s.rxBuffer.length >= ((s.fcr & FCR_ENABLE) !== 0 ? FIFO_SIZE : 1)) s.rxOverrun = true;
    else s.rxBuffer = Uint8Array.of(...s.rxBuffer, byte);
  }

  /** Guest writes register `offset` (0..7), as lib.rs `Serial16550::write` does. */
  writeReg(offset: number, value: number): void {
    this.#byte(value, `write offset ${offset}`);
    const s = this.state;
    const dlab = (s.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case 0:
        if (dlab) s.dll = value;
        else s.thrEmptyAcknowledged = false; // sent at once: the THR is empty again
        break;
      case 1:
        if (dlab) s.dlm = value;
        else {
          s.ier = value & 0x0f;
          s.thrEmptyAcknowledged = false;
        }
        break;
      case 2:
        if ((value & FCR_ENABLE) === 0) s.fcr = 0;
        else {
          if ((value & FCR_CLEAR_RX) !== 0) s.rxBuffer = new Uint8Array(0);
          if ((value & FCR_CLEAR_TX) !== 0) s.txBuffer = new Uint8Array(0);
          s.fcr = value & FCR_KEPT;
        }
        break;
      case 3: s.lcr = value; break;
      case 4: s.mcr = value & 0x1f; break;
      case 5: // RST (`write_reset`): registers to reset values; divisor, scratch and buffers stay.
        Object.assign(s, { ier: 0, lcr: 0, mcr: 0, msr: 0, fcr: 0, thrEmptyAcknowledged: false, rxOverrun: false });
        break;
      case 6: break; // MSR is read-only.
      case 7: s.scratch = value; break;
      default: throw this.invalid(`write: offset ${offset} not in 0..7`);
    }
  }

  /** Guest reads register `offset` (0..7), with the read side effects of lib.rs `Serial16550::read`. */
  readReg(offset: number): number {
    const s = this.state;
    const dlab = (s.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case 0: {
        if (dlab) return s.dll;
        const v = s.rxBuffer[0] ?? 0;
        s.rxBuffer = s.rxBuffer.slice(1);
        return v;
      }
      case 1: return dlab ? s.dlm : s.ier;
      case 2: {
        const v = iirOf(s);
        if (pendingInterrupt(s) === SRC_THR_EMPTY) s.thrEmptyAcknowledged = true;
        return v;
      }
      case 3: return s.lcr;
      case 4: return s.mcr;
      case 5: {
        const v = lsrOf(s);
        s.rxOverrun = false;
        return v;
      }
      case 6: {
        const v = s.msr;
        s.msr &= ~MSR_CHANGES;
        return v;
      }
      case 7: return s.scratch;
      default: throw this.invalid(`read: offset ${offset} not in 0..7`);
    }
  }

  #byte(v: number, where: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw this.invalid(`${where}: value ${v} is not a byte`);
  }
}
