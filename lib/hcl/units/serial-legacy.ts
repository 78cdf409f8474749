import { Type, type Static } from '@sinclair/typebox';
import { HclError } from '../../errors.ts';
import { SAVE_RANK, bytes, field, fieldsGeneration, nameKeyed, u64, uint, type UnitDescriptor, type UnitSetStep, type UnitStates } from '../../state/index.ts';
import { COM_PORTS, FIFO_SIZE, SERIAL_UNITS, iirOf, lsrOf, serialUnitName, type ComPort, type Uart16550State } from './serial.ts';

/**
 * `serial.16550`, the unit generations 1-3 wrote: every UART in one unit, `ports[]` in
 * configuration order, with IIR, LSR and a transmit counter saved and the receive FIFO as a
 * 16-byte ring. Release generation 4 retired it for one `serial.uart16550` unit per COM port,
 * as OpenHCL registers them (SERIAL_STEP); its descriptor stays so older snapshots still decode.
 */

const LSR_OE = 0x02;

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

/** The retired `serial.16550` unit: read from older snapshots, never written. */
export const SERIAL_UNIT_V3: UnitDescriptor = {
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

/** One generation-3 port as a `serial.uart16550` state: IIR and LSR are derived now, the tx counter is not saved state. */
export function uartOfPort(p: SerialPort): Uart16550State {
  return {
    ier: p.ier, lcr: p.lcr, mcr: p.mcr, msr: p.msr, fcr: p.fcr, dll: p.dll, dlm: p.dlm, scratch: p.scr,
    thrEmptyAcknowledged: !p.threPending, rxOverrun: (p.lsr & LSR_OE) !== 0, txBuffer: new Uint8Array(0), rxBuffer: rxBytes(p.rx),
  };
}

/**
 * A `serial.uart16550` state as the generation-3 port `port`: IIR and LSR as a read would
 * return them, the FIFO from slot 0. The transmit counter starts again at 0: OpenHCL's device
 * keeps its byte counts in statistics that servicing does not save. STATE_GENERATION when the
 * state holds bytes that release could not (pending transmit bytes, more than a 16-byte FIFO).
 */
export function portOfUart(port: ComPort, s: Uart16550State): SerialPort {
  const name = serialUnitName(port);
  if (s.txBuffer.length > 0) throw new HclError('STATE_GENERATION', `${name}: generation 3 cannot express ${s.txBuffer.length} pending transmit bytes`);
  if (s.rxBuffer.length > FIFO_SIZE) throw new HclError('STATE_GENERATION', `${name}: generation 3 holds at most ${FIFO_SIZE} received bytes, not ${s.rxBuffer.length}`);
  return {
    port, ier: s.ier, iir: iirOf(s), fcr: s.fcr, lcr: s.lcr, mcr: s.mcr, lsr: lsrOf(s), msr: s.msr, scr: s.scratch,
    dll: s.dll, dlm: s.dlm, threPending: !s.thrEmptyAcknowledged, rx: rxRing(s.rxBuffer), txCount: 0n,
  };
}

/** Release generation 4: `serial.16550`'s ports become one unit each, named as OpenHCL names them. */
export const SERIAL_STEP: UnitSetStep = {
  generation: 4,
  retires: ['serial.16550'],
  produces: SERIAL_UNITS.map((d) => d.name),
  why: 'each COM port is its own serial.uart16550 unit, serial-com1..serial-com4, as OpenHCL registers them',
  up: (retired, init) => {
    const old = retired.get('serial.16550') as SerialState | undefined;
    const units: UnitStates = new Map();
    (old?.ports ?? []).forEach((p, i) => {
      const port = COM_PORTS.find((c) => c === p.port);
      if (port === undefined || units.has(serialUnitName(port))) {
        throw new HclError('STATE_SCHEMA', `serial.16550: ports[${i}].port: ${JSON.stringify(p.port)} is not a COM port of its own (com1..com4, each once)`);
      }
      units.set(serialUnitName(port), uartOfPort(p));
    });
    return { units, init };
  },
  // The ports go back in the order the units were saved, which is configuration order.
  down: (produced, init) => {
    const ports = [...produced].map(([name, s]) => portOfUart(COM_PORTS.find((c) => serialUnitName(c) === name)!, s as Uart16550State));
    return { units: new Map([['serial.16550', { ports }]]), init };
  },
};
