import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CMOS_SIZE, RTC_EPOCH_NS, RtcUnit } from '../../../lib/hcl/units/index.ts';
import { testContext, throwsHcl } from './fixture.ts';

const S = 1_000_000_000n;
const unit = () => new RtcUnit(testContext());
const read = (r: RtcUnit, reg: number) => (r.writeIndex(reg), r.readData());
const write = (r: RtcUnit, reg: number, v: number) => (r.writeIndex(reg), r.writeData(v));
const bcd = (v: number) => ((Math.floor(v / 10) << 4) | (v % 10));

test('time registers show the clock in BCD after ticks', () => {
  const r = unit();
  assert.is(r.view().cmos.length, CMOS_SIZE);
  const ticks = [3n * S, 59n * S, 3600n * S + 1n];
  let t = RTC_EPOCH_NS;
  for (const d of ticks) {
    r.tick(d);
    t += d;
    const date = new Date(Number(t / 1_000_000n));
    assert.is(read(r, 0), bcd(date.getUTCSeconds()));
    assert.is(read(r, 2), bcd(date.getUTCMinutes()));
    assert.is(read(r, 4), bcd(date.getUTCHours()));
    assert.is(read(r, 9), bcd(date.getUTCFullYear() % 100));
  }
  assert.is(r.view().clockNs, t);
});

test('binary and 12-hour modes encode the hour register', () => {
  const r = unit();
  r.tick(13n * 3600n * S); // 13:00
  write(r, 0x0b, 0x04); // binary, 12-hour
  r.tick(S);
  assert.is(read(r, 4), 0x80 | 1, '1 PM');
  write(r, 0x0b, 0x06);
  r.tick(S);
  assert.is(read(r, 4), 13);
});

test('setting the time through SET loads the clock from the registers', () => {
  const r = unit();
  write(r, 0x0b, 0x82); // SET, 24h, BCD
  for (const [reg, v] of [[0, 0x30], [2, 0x15], [4, 0x09], [7, 0x02], [8, 0x03], [9, 0x25]] as const) write(r, reg, v);
  write(r, 0x0b, 0x02);
  assert.is(r.view().clockNs, BigInt(Date.UTC(2025, 2, 2, 9, 15, 30)) * 1_000_000n);
});

test('alarm fires once the time matches, and reading C acknowledges it', () => {
  const r = unit();
  write(r, 0x0b, 0x22); // AIE, 24h
  write(r, 1, 0x05);
  write(r, 3, 0xff); // any minute
  write(r, 5, 0x00);
  r.tick(4n * S);
  assert.is(read(r, 0x0c) & 0xa0, 0, 'not yet at :05');
  r.tick(2n * S);
  assert.is(read(r, 0x0c) & 0xa0, 0xa0, 'AF and IRQF');
  assert.is(read(r, 0x0c), 0, 'cleared by the read');
});

test('index port: bit 7 masks NMI and registers C and D are read-only', () => {
  const r = unit();
  r.writeIndex(0x8d);
  assert.ok(r.view().nmiDisabled);
  assert.is(r.view().index, 0x0d);
  const d = r.readData();
  r.writeData(0);
  assert.is(r.readData(), d);
});

const invalid: Array<[string, (r: RtcUnit) => unknown, string]> = [
  ['negative tick', (r) => r.tick(-1n), 'tick: negative duration'],
  ['index not a byte', (r) => r.writeIndex(0x100), 'index: value 256 is not a byte'],
  ['data not a byte', (r) => r.writeData(-1), 'data: value -1 is not a byte'],
];
for (const [what, op, msg] of invalid) test(`invalid op: ${what}`, () => throwsHcl(() => op(unit()), 'HCL_DEVICE_INVALID', `rtc.cmos: ${msg}`));

test.run();
