import { Type, type Static } from '@sinclair/typebox';
import { SAVE_RANK, bytes, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor } from '../../state/index.ts';
import { UnitBase, type UnitContext } from './base.ts';

/**
 * `serial.16550`: 16550A UARTs (National Semiconductor PC16550D data sheet). Registers are
 * accessed by offset 0..7 with LCR.DLAB selecting the divisor latch; transmit is instantaneous
 * (the host drains THR at once); received bytes wait in a 16-byte FIFO.
 */

/** The UART input clock divided by 16: divisor = 115200 / baud. */
export const UART_BASE_BAUD = 115_200;
/** Receive FIFO depth of a 16550A. */
export const FIFO_SIZE = 16;

// Register bits (data sheet table II).
const LCR_DLAB = 0x80;
const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;

// Registers of a port, the same in every generation.
const registerFields = {
  port: field(1, Type.String()),
  ier: field(2, uint(8)),
  iir: field(3, uint(8)),
  fcr: field(4, uint(8)),
  lcr: field(5, uint(8)),
  mcr: field(6, uint(8)),
  lsr: field(7, uint(8)),
  msr: field(8, uint(8)),
  scr: field(9, uint(8)),
  dll: field(10, uint(8)),
  dlm: field(11, uint(8)),
  /** A THR-empty interrupt is latched (cleared by reading IIR or writing THR). */
  threPending: field(12, Type.Boolean()),
};
const txCount = field(14, u64('bytes the guest has transmitted'));

/** One port, generation 1: received bytes as a plain byte array, oldest first. */
export const SerialPortSchemaV1 = Type.Object({ ...registerFields, rxFifo: field(13, bytes(FIFO_SIZE)), txCount });
/** The `serial.16550` unit's saved state, generation 1 (kept exactly: golden snapshots use it). */
export const SerialStateSchemaV1 = Type.Object({ ports: field(1, Type.Array(SerialPortSchemaV1)) });

/** The receive FIFO as the hardware holds it: a 16-byte ring, the oldest byte at `head`. */
export const RxRingSchema = Type.Object({
  ring: field(1, Type.Uint8Array({ minByteLength: FIFO_SIZE, maxByteLength: FIFO_SIZE })),
  head: field(2, Type.Integer({ minimum: 0, maximum: FIFO_SIZE - 1 })),
  count: field(3, Type.Integer({ minimum: 0, maximum: FIFO_SIZE })),
});
export type RxRing = Static<typeof RxRingSchema>;

/** One port's registers and receive FIFO (generation 2: the FIFO is a ring). */
// Field 13 held generation 1's byte-array FIFO: reserved, so no later field reuses its number.
export const SerialPortSchema = Type.Object({ ...registerFields, rx: field(15, RxRingSchema), txCount }, { reserved: [13] });
export type SerialPort = Static<typeof SerialPortSchema>;

/** The `serial.16550` unit's saved state (current generation). */
export const SerialStateSchema = Type.Object({ ports: field(1, Type.Array(SerialPortSchema)) });
export type SerialState = Static<typeof SerialStateSchema>;

/** The bytes waiting in a ring, oldest first. */
export function rxBytes(rx: RxRing): Uint8Array {
  return Uint8Array.from({ length: rx.count }, (_, i) => rx.ring[(rx.head + i) % FIFO_SIZE] ?? 0);
}

/** A ring holding `bytes` from slot 0. */
export function rxRing(bytes: Uint8Array): RxRing {
  const ring = new Uint8Array(FIFO_SIZE);
  ring.set(bytes.subarray(0, FIFO_SIZE));
  return { ring, head: 0, count: Math.min(bytes.length, FIFO_SIZE) };
}

type PortV1 = Static<typeof SerialPortSchemaV1>;

/** Generation 1 → 2: the byte array becomes a ring with the oldest byte in slot 0. */
export function upgradeSerialV1(previous: unknown): unknown {
  const s = previous as { ports: PortV1[] };
  return { ports: s.ports.map(({ rxFifo, ...regs }) => ({ ...regs, rx: rxRing(rxFifo) })) };
}

/** Generation 2 → 1: always possible, the ring's live bytes in order are the old array. */
export function downgradeSerialV2(current: unknown): unknown {
  const s = current as SerialState;
  return { ports: s.ports.map(({ rx, ...regs }) => ({ ...regs, rxFifo: rxBytes(rx) })) };
}

/** Descriptor of the `serial.16550` unit. */
export const SERIAL_UNIT: UnitDescriptor = {
  name: 'serial.16550',
  package: 'openvmm.serial.16550',
  message: 'SavedState',
  saveRank: SAVE_RANK.other,
  generations: [
    { generation: 1, schema: nameKeyed(SerialStateSchemaV1) },
    { generation: 2, schema: nameKeyed(SerialStateSchema), upgrade: upgradeSerialV1, downgrade: downgradeSerialV2 },
    fieldsGeneration(SerialStateSchema),
  ],
};

/** The 16550 UARTs, addressed by configuration order (0-based). */
export class SerialUnit extends UnitBase<SerialState> {
  constructor(ctx: UnitContext) {
    super(SERIAL_UNIT, ctx);
  }

  defaultState(): SerialState {
    return {
      ports: this.ctx.devices.serial.map((s) => {
        // Firmware has programmed the configured baud rate and 8N1.
        const div = Math.max(1, Math.round(UART_BASE_BAUD / s.baud));
        return {
          port: s.port, ier: 0, iir: 0x01, fcr: 0, lcr: 0x03, mcr: 0, lsr: LSR_THRE | LSR_TEMT, msr: 0, scr: 0,
          dll: div & 0xff, dlm: (div >> 8) & 0xff, threPending: false, rx: rxRing(new Uint8Array(0)), txCount: 0n,
        };
      }),
    };
  }

  /** Guest transmits one byte (a THR write). */
  write(port: number, byte: number): void {
    this.writeReg(port, 0, byte);
  }

  /** Host delivers one byte to the receiver; a full FIFO sets the overrun error. */
  receive(port: number, byte: number): void {
    const p = this.#port(port);
    this.#byte(byte, 'receive');
    if (p.rx.count >= ((p.fcr & FCR_ENABLE) !== 0 ? FIFO_SIZE : 1)) p.lsr |= LSR_OE;
    else {
      p.rx.ring[(p.rx.head + p.rx.count) % FIFO_SIZE] = byte;
      p.rx.count++;
    }
    this.#update(p);
  }

  /** Guest writes register `offset` (0..7). */
  writeReg(port: number, offset: number, value: number): void {
    const p = this.#port(port);
    this.#byte(value, `write offset ${offset}`);
    const dlab = (p.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case 0:
        if (dlab) p.dll = value;
        else {
          p.txCount += 1n;
          p.threPending = true;
        }
        break;
      case 1:
        if (dlab) p.dlm = value;
        else {
          // Enabling the THRE interrupt while THR is empty raises it at once.
          if ((value & IER_THRE) !== 0 && (p.ier & IER_THRE) === 0) p.threPending = true;
          p.ier = value & 0x0f;
        }
        break;
      case 2:
        p.fcr = value & 0xc9;
        if ((value & FCR_CLEAR_RX) !== 0 || (value & FCR_ENABLE) === 0) p.rx = rxRing(new Uint8Array(0));
        break;
      case 3: p.lcr = value; break;
      case 4: p.mcr = value & 0x1f; break;
      case 5: break; // LSR is read-only.
      case 6: break; // MSR is read-only.
      case 7: p.scr = value; break;
      default: throw this.invalid(`write: offset ${offset} not in 0..7`);
    }
    this.#update(p);
  }

  /** Guest reads register `offset` (0..7), with the read side effects of the real UART. */
  readReg(port: number, offset: number): number {
    const p = this.#port(port);
    const dlab = (p.lcr & LCR_DLAB) !== 0;
    let v: number;
    switch (offset) {
      case 0:
        if (dlab) v = p.dll;
        else {
          v = 0;
          if (p.rx.count > 0) {
            v = p.rx.ring[p.rx.head] ?? 0;
            // The slot is zeroed so saved state holds only live bytes.
            p.rx.ring[p.rx.head] = 0;
            p.rx.head = (p.rx.head + 1) % FIFO_SIZE;
            p.rx.count--;
          }
        }
        break;
      case 1: v = dlab ? p.dlm : p.ier; break;
      case 2:
        v = p.iir;
        if ((v & 0x0f) === 0x02) p.threPending = false;
        break;
      case 3: v = p.lcr; break;
      case 4: v = p.mcr; break;
      case 5:
        v = p.lsr;
        p.lsr &= ~LSR_OE;
        break;
      case 6: v = p.msr; break;
      case 7: v = p.scr; break;
      default: throw this.invalid(`read: offset ${offset} not in 0..7`);
    }
    this.#update(p);
    return v;
  }

  /** Recomputes LSR.DR and IIR (priority: line status, received data, THR empty). */
  #update(p: SerialPort): void {
    p.lsr = p.rx.count > 0 ? p.lsr | LSR_DR : p.lsr & ~LSR_DR;
    const fifoBits = (p.fcr & FCR_ENABLE) !== 0 ? 0xc0 : 0;
    let id = 0x01;
    if ((p.ier & IER_RLS) !== 0 && (p.lsr & LSR_OE) !== 0) id = 0x06;
    else if ((p.ier & IER_RDA) !== 0 && (p.lsr & LSR_DR) !== 0) id = 0x04;
    else if ((p.ier & IER_THRE) !== 0 && p.threPending) id = 0x02;
    p.iir = fifoBits | id;
  }

  #port(port: number): SerialPort {
    return this.at(this.state.ports, port, 'port');
  }

  #byte(v: number, where: string): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw this.invalid(`${where}: value ${v} is not a byte`);
  }
}
