import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIFO_SIZE, SERIAL_STEP, SERIAL_UNITS, UART_BASE_BAUD, Uart16550Unit, createUnits, portOfUart, rxBytes, uartOfPort, type SerialPort } from '../../../lib/hcl/units/index.ts';
import type { InitState } from '../../../lib/state/init-state.ts';
import { testContext, throwsHcl } from './fixture.ts';

// Expected values come from openvmm vm/devices/serial/serial_16550/src/lib.rs (`State` methods
// named in each test) and spec.rs (register bitfields, InterruptSource numbers).
const uart = (i = 0) => createUnits(testContext()).serial[i]!;

test('one unit per configured COM port, named and typed as OpenHCL registers it', () => {
  // vm_manifest_builder attach_serial_16550: "serial-com1".."serial-com4"; lib.rs SavedState: package serial.uart16550.
  const u = createUnits(testContext());
  assert.equal(u.serial.map((s) => [s.name, s.package]), [['serial-com1', 'serial.uart16550'], ['serial-com3', 'serial.uart16550']]);
  assert.equal(SERIAL_UNITS.map((d) => `${d.name} ${d.package}.${d.message}`), [
    'serial-com1 serial.uart16550.SavedState', 'serial-com2 serial.uart16550.SavedState',
    'serial-com3 serial.uart16550.SavedState', 'serial-com4 serial.uart16550.SavedState',
  ]);
});

test('the saved state has the real fields in their #[mesh(N)] order', () => {
  // save_restore::state::SavedState: ier 1, lcr 2, mcr 3, msr 4, fcr 5, dll 6, dlm 7, scratch 8,
  // thr_empty_acknowledged 9, rx_overrun 10, tx_buffer 11, rx_buffer 12.
  const props = (SERIAL_UNITS[0]!.generations[0]!.schema as unknown as { properties: Record<string, { field: number }> }).properties;
  assert.equal(Object.entries(props).map(([k, v]) => `${v.field}:${k}`), [
    '1:ier', '2:lcr', '3:mcr', '4:msr', '5:fcr', '6:dll', '7:dlm', '8:scratch', '9:thrEmptyAcknowledged', '10:rxOverrun', '11:txBuffer', '12:rxBuffer',
  ]);
});

test('divisor latch comes from the configured baud and is reached through DLAB', () => {
  testContext().devices.serial.forEach((cfg, i) => {
    const s = uart(i);
    s.writeReg(3, 0x83);
    assert.is(s.readReg(0) | (s.readReg(1) << 8), UART_BASE_BAUD / cfg.baud, cfg.port);
  });
  const s = uart();
  s.writeReg(3, 0x80);
  s.writeReg(0, 0x30);
  assert.is(s.view().dll, 0x30);
  assert.is(s.view().scratch, 0xff, 'scratch keeps its reset value (State::new)');
});

test('THRE interrupt: raised while unacknowledged, acknowledged by reading IIR, re-armed by THR and IER writes', () => {
  const s = uart();
  s.writeReg(1, 0x02); // IER: THRE
  assert.is(s.readReg(2), 0x02, 'THR_EMPTY (1) in bits 1..3');
  assert.is(s.readReg(2), 0x01, 'read_isr set thr_empty_acknowledged');
  s.write(0x41);
  assert.is(s.view().thrEmptyAcknowledged, false, 'write_thr clears the acknowledgement');
  assert.is(s.readReg(2), 0x02);
  s.writeReg(1, 0x02);
  assert.is(s.readReg(2), 0x02, 'write_ier clears it too');
});

test('received bytes fill the FIFO in order; overflow sets the overrun, reading LSR clears it', () => {
  const s = uart();
  s.writeReg(2, 0x07); // FCR: enable, clear both FIFOs
  assert.is(s.view().fcr, 0x01, 'write_fcr drops the clear bits');
  s.writeReg(1, 0x05); // IER: RDA + RLS
  for (let i = 0; i < FIFO_SIZE + 1; i++) s.receive(i);
  assert.is(s.view().rxBuffer.length, FIFO_SIZE);
  assert.is(s.readReg(2), 0xc6, 'line status outranks data, FIFO bits set');
  assert.is(s.readReg(5) & 0x63, 0x63, 'DR, OE, THRE, TEMT');
  assert.is(s.readReg(5) & 0x02, 0, 'read_lsr cleared rx_overrun');
  assert.is(s.readReg(2), 0xc4, 'received data available');
  assert.equal(Array.from({ length: FIFO_SIZE }, () => s.readReg(0)), Array.from({ length: FIFO_SIZE }, (_, i) => i));
  assert.is(s.readReg(5) & 0x01, 0, 'DR clear when empty');
});

test('below the FIFO trigger level the interrupt is a receive timeout (pending_interrupt)', () => {
  const s = uart();
  s.writeReg(2, 0xc1); // FIFO on, trigger 14 bytes
  s.writeReg(1, 0x01);
  s.receive(0x41);
  assert.is(s.readReg(2), 0xcc, 'RECEIVE_TIMEOUT (6) in bits 1..3');
});

test('without FIFO mode the receiver holds one byte; turning FIFOs off zeroes FCR', () => {
  const s = uart(1);
  s.receive(7);
  s.receive(8);
  assert.equal([...s.view().rxBuffer], [7]);
  assert.is(s.readReg(5) & 0x02, 0x02);
  s.writeReg(2, 0xc8);
  assert.is(s.view().fcr, 0, 'write_fcr without enable_fifos');
});

test('a write to offset 5 resets the registers but keeps divisor, scratch and buffers (write_reset)', () => {
  const s = uart();
  s.writeReg(7, 0xa5);
  s.writeReg(1, 0x0f);
  s.receive(9);
  s.writeReg(5, 0);
  assert.equal([s.view().ier, s.view().lcr, s.view().scratch, [...s.view().rxBuffer], s.view().dll], [0, 0, 0xa5, [9], 1]);
});

const invalid: Array<[string, (s: Uart16550Unit) => unknown, string]> = [
  ['value not a byte', (s) => s.write(256), 'serial-com1: write offset 0: value 256 is not a byte'],
  ['write offset out of range', (s) => s.writeReg(8, 0), 'offset 8 not in 0..7'],
  ['read offset out of range', (s) => s.readReg(-1), 'offset -1 not in 0..7'],
  ['receive non-byte', (s) => s.receive(1.5), 'value 1.5 is not a byte'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(uart()), 'HCL_DEVICE_INVALID', msg));

// The generation-4 unit-set step: `serial.16550` (all ports, IIR/LSR/txCount saved, ring FIFO) ↔ one unit per port.
const INIT = {} as InitState;

test('step up and down: a generation-3 port with its FIFO wrapped round the ring comes back with the same bytes and registers', () => {
  const ring = new Uint8Array(FIFO_SIZE);
  ring[15] = 0x61;
  ring[0] = 0x62;
  const port: SerialPort = {
    port: 'com3', ier: 0x07, iir: 0xc6, fcr: 0x01, lcr: 0x03, mcr: 0x08, lsr: 0x63, msr: 0, scr: 0x11, dll: 12, dlm: 0,
    threPending: true, rx: { ring, head: 15, count: 2 }, txCount: 5n,
  };
  const up = SERIAL_STEP.up(new Map([['serial.16550', { ports: [port] }]]), INIT).units;
  assert.equal([...up.keys()], ['serial-com3']);
  const s = up.get('serial-com3') as ReturnType<typeof uartOfPort>;
  assert.equal([s.scratch, s.thrEmptyAcknowledged, s.rxOverrun, [...s.rxBuffer]], [0x11, false, true, [0x61, 0x62]]);
  const back = (SERIAL_STEP.down(up, INIT).units.get('serial.16550') as { ports: SerialPort[] }).ports[0]!;
  // IIR and LSR come back as the device computes them; the FIFO starts at slot 0; the counter is not saved state.
  assert.equal({ ...back, rx: rxBytes(back.rx) }, { ...port, rx: Uint8Array.of(0x61, 0x62), txCount: 0n });
  assert.equal(SERIAL_STEP.down(SERIAL_STEP.up(SERIAL_STEP.down(up, INIT).units, INIT).units, INIT), SERIAL_STEP.down(up, INIT));
});

test('step down keeps configuration order and refuses what generation 3 cannot hold', () => {
  const u = createUnits(testContext());
  u.serial[1]!.receive(3);
  const ports = (SERIAL_STEP.down(new Map(u.serial.map((x) => [x.name, x.save()])), INIT).units.get('serial.16550') as { ports: SerialPort[] }).ports;
  assert.equal(ports.map((p) => [p.port, p.rx.count]), [['com1', 0], ['com3', 1]]);
  const big = { ...u.serial[0]!.save(), rxBuffer: new Uint8Array(FIFO_SIZE + 1) };
  throwsHcl(() => portOfUart('com1', big), 'STATE_GENERATION', 'serial-com1: generation 3 holds at most 16 received bytes, not 17');
  throwsHcl(() => portOfUart('com1', { ...big, txBuffer: Uint8Array.of(1) }), 'STATE_GENERATION', 'serial-com1: generation 3 cannot express 1 pending transmit bytes');
});

test('step up refuses a port name that is no COM port, or one given twice', () => {
  const p = (port: string) => ({ ...portOfUart('com1', uart().save()), port });
  throwsHcl(() => SERIAL_STEP.up(new Map([['serial.16550', { ports: [p('ttyS0')] }]]), INIT), 'STATE_SCHEMA', 'serial.16550: ports[0].port: "ttyS0" is not a COM port');
  throwsHcl(() => SERIAL_STEP.up(new Map([['serial.16550', { ports: [p('com2'), p('com2')] }]]), INIT), 'STATE_SCHEMA', 'ports[1].port: "com2"');
});

test.run();
