import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIFO_SIZE, SerialUnit, UART_BASE_BAUD, rxBytes } from '../../../lib/hcl/units/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

const unit = () => new SerialUnit(testContext());

test('divisor latch comes from the configured baud and is reached through DLAB', () => {
  const s = unit();
  testContext().devices.serial.forEach((cfg, i) => {
    s.writeReg(i, 3, 0x83);
    const div = s.readReg(i, 0) | (s.readReg(i, 1) << 8);
    assert.is(div, UART_BASE_BAUD / cfg.baud, cfg.port);
    s.writeReg(i, 3, 0x03);
  });
  s.writeReg(0, 3, 0x80);
  s.writeReg(0, 0, 0x30);
  assert.is(s.view().ports[0]?.dll, 0x30);
  assert.is(s.view().ports[0]?.txCount, 0n, 'a DLL write is not a transmit');
});

test('THR writes count bytes and raise the THRE interrupt, cleared by reading IIR', () => {
  const s = unit();
  s.writeReg(0, 1, 0x02); // IER: THRE
  assert.is(s.readReg(0, 2) & 0x0f, 0x02);
  assert.is(s.readReg(0, 2) & 0x0f, 0x01, 'reading IIR acknowledged it');
  for (const b of [0x41, 0x42, 0x43]) s.write(0, b);
  assert.is(s.view().ports[0]?.txCount, 3n);
  assert.is(s.readReg(0, 2) & 0x0f, 0x02);
});

test('received bytes fill the FIFO in order; overflow sets OE, reading LSR clears it', () => {
  const s = unit();
  s.writeReg(0, 2, 0x07); // FCR: enable and clear FIFOs
  s.writeReg(0, 1, 0x05); // IER: RDA + RLS
  for (let i = 0; i < FIFO_SIZE + 1; i++) s.receive(0, i);
  assert.is(s.view().ports[0]?.rx.count, FIFO_SIZE);
  assert.is(s.readReg(0, 2), 0xc6, 'line status outranks data, FIFO bits set');
  const lsr = s.readReg(0, 5);
  assert.ok((lsr & 0x03) === 0x03, 'DR and OE');
  assert.is(s.readReg(0, 5) & 0x02, 0, 'OE cleared by the read');
  assert.is(s.readReg(0, 2), 0xc4, 'received data available');
  const got = Array.from({ length: FIFO_SIZE }, () => s.readReg(0, 0));
  assert.equal(got, Array.from({ length: FIFO_SIZE }, (_, i) => i));
  assert.is(s.readReg(0, 5) & 0x01, 0, 'DR clear when empty');
});

test('without FIFO mode the receiver holds one byte', () => {
  const s = unit();
  s.receive(1, 7);
  s.receive(1, 8);
  assert.equal([...rxBytes(s.view().ports[1]!.rx)], [7]);
  assert.is(s.readReg(1, 5) & 0x02, 0x02);
});

test('scratch register round-trips and LSR/MSR writes are ignored', () => {
  const s = unit();
  s.writeReg(1, 7, 0xa5);
  s.writeReg(1, 5, 0x00);
  assert.is(s.readReg(1, 7), 0xa5);
  assert.is(s.readReg(1, 5) & 0x60, 0x60, 'transmitter still empty');
});

const invalid: Array<[string, (s: SerialUnit) => unknown, string]> = [
  ['port that does not exist', (s) => s.write(2, 0x41), 'serial.16550: port 2 does not exist'],
  ['value not a byte', (s) => s.write(0, 256), 'value 256 is not a byte'],
  ['write offset out of range', (s) => s.writeReg(0, 8, 0), 'offset 8 not in 0..7'],
  ['read offset out of range', (s) => s.readReg(0, -1), 'offset -1 not in 0..7'],
  ['receive non-byte', (s) => s.receive(0, 1.5), 'value 1.5 is not a byte'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(unit()), 'HCL_DEVICE_INVALID', msg));

test.run();
