import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OP_KINDS, mulberry32, parseWorkload, runWorkload } from '../../harness/workload.ts';
import { createUnits } from '../../lib/hcl/units/index.ts';
import { HvPartition } from '../../lib/hv/index.ts';
import { encodeCanonical } from '../../lib/state/codec.ts';
import { checkSchema } from '../../lib/state/unit.ts';
import { testContext, throwsHcl } from '../hcl/units/fixture.ts';

/** Runs a workload on a fresh partition; returns the report and the canonical bytes of every state. */
function run(seed: number, steps: number, ctx = testContext()) {
  const u = createUnits(ctx);
  const hv = new HvPartition(ctx.topology);
  const report = runWorkload(u, hv, { seed, steps });
  return { report, bytes: encodeCanonical({ units: u.all.map((x) => [x.name, x.save()]), hv: hv.save() }) };
}

test('same seed and steps give the same states and report', () => {
  for (const [seed, steps] of [[1, 500], [0xdeadbeef, 3000]] as const) {
    const a = run(seed, steps);
    const b = run(seed, steps);
    assert.equal(a.bytes, b.bytes);
    assert.equal(a.report, b.report);
  }
});

test('a different seed or step count gives different states', () => {
  const base = run(7, 1000).bytes;
  assert.not.equal(run(8, 1000).bytes, base);
  // Not 999: one step can leave every state as it was (a UART THR write re-arming an unacknowledged THRE, a read of an empty FIFO).
  assert.not.equal(run(7, 900).bytes, base);
});

test('every step applies exactly one operation and every kind is exercised', () => {
  const { report } = run(3, 5000);
  assert.is(OP_KINDS.reduce((n, k) => n + report.ops[k], 0), 5000);
  for (const k of OP_KINDS) assert.ok(report.ops[k] > 0, `${k} ran`);
});

test('a partition without devices still runs: device kinds yield to the others', () => {
  const ctx = testContext(2, 'aarch64');
  ctx.devices = { nvme: [], serial: [], channels: [] };
  const { report } = run(4, 2000, ctx);
  assert.equal([report.ops.uart, report.ops.nvme, report.ops.vmbus], [0, 0, 0]);
  assert.is(OP_KINDS.reduce((n, k) => n + report.ops[k], 0), 2000);
});

test('every seed leaves each unit in a state its schema and a fresh unit\'s restore accept (1 and 5 VPs, both architectures)', () => {
  for (const ctx of [testContext(1), testContext(5, 'aarch64')]) {
    for (let seed = 100; seed < 110; seed++) {
      const u = createUnits(ctx);
      runWorkload(u, new HvPartition(ctx.topology), { seed, steps: 2000 });
      const fresh = createUnits(ctx);
      for (const unit of u.all) {
        const saved = unit.save();
        checkSchema(`${unit.name} after seed ${seed}`, unit.schema, saved);
        const other = fresh.all.find((x) => x.name === unit.name)!;
        other.restore(saved);
        assert.equal(other.save(), saved, `${unit.name} after seed ${seed}: a fresh unit restores it unchanged`);
      }
    }
  }
});

test('zero steps leaves the boot state', () => {
  const ctx = testContext();
  const u = createUnits(ctx);
  const hv = new HvPartition(ctx.topology);
  runWorkload(u, hv, { seed: 9, steps: 0 });
  assert.equal(u.all.map((x) => x.save()), u.all.map((x) => x.defaultState()));
  assert.equal(hv.save(), HvPartition.resetState(ctx.topology));
});

test('mulberry32 is deterministic and stays in [0, 1)', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.equal(xs, Array.from({ length: 1000 }, () => b()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size > 990);
});

const good: Array<[string, number, number]> = [['42:1000', 42, 1000], ['0x10:0', 16, 0], [' 4294967295 : 10000000 ', 0xffff_ffff, 10_000_000]];
for (const [text, seed, steps] of good) test(`parseWorkload(${JSON.stringify(text)})`, () => assert.equal(parseWorkload(text), { seed, steps }));

const badInput: Array<[string, string]> = [
  ['42', 'expected SEED:STEPS'],
  ['a:1', 'expected SEED:STEPS'],
  ['1:-5', 'expected SEED:STEPS'],
  ['1:2:3', 'expected SEED:STEPS'],
  ['4294967296:1', 'seed 4294967296 is not a u32'],
  ['1:10000001', 'steps 10000001 exceeds 10000000'],
];
for (const [text, msg] of badInput) {
  test(`parseWorkload rejects ${JSON.stringify(text)} as USAGE, or OVERRIDE_INVALID from an override`, () => {
    throwsHcl(() => parseWorkload(text), 'USAGE', msg);
    throwsHcl(() => parseWorkload(text, 'OVERRIDE_INVALID'), 'OVERRIDE_INVALID', `workload ${JSON.stringify(text)}: ${msg}`);
  });
}

test.run();
