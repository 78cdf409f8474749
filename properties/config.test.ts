import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { validateConfig } from '../lib/config/validate.ts';
import { applyOverrides } from '../lib/config/overrides.ts';
import { topologyFromConfig } from '../lib/config/derive.ts';
import { compareTopology, topologyViolations } from '../lib/hcl/invariants.ts';
import { arbPreservingOverride, arbTopologyChangingOverride, arbVmConfig } from './arbitraries.ts';
import { propRuns } from './laws.ts';

const setText = (o: { path: string; value: unknown }): string =>
  `${o.path}=${typeof o.value === 'string' ? o.value : JSON.stringify(o.value)}`;

test('arbVmConfig: every generated config passes validateConfig and the topology invariants', () => {
  fc.assert(
    fc.property(arbVmConfig(), (c) => {
      validateConfig(c);
      assert.equal(topologyViolations(topologyFromConfig(c)), []);
    }),
    { numRuns: propRuns(25) },
  );
});

test('arbVmConfig: covers both architectures, large VP counts and many nodes', () => {
  const sample = fc.sample(arbVmConfig(), { numRuns: 400, seed: 42 });
  assert.ok(sample.some((c) => c.arch === 'x86_64') && sample.some((c) => c.arch === 'aarch64'));
  assert.ok(sample.some((c) => c.vps.length > 255), 'some configs need x2APIC');
  assert.ok(sample.filter((c) => c.vps.length <= 8).length > sample.length / 3, 'most configs are small');
  assert.ok(sample.some((c) => c.numa.length > 8));
  assert.ok(sample.every((c) => c.vps.length <= 2048 && c.numa.length <= 64));
  assert.ok(fc.sample(arbVmConfig({ maxVps: 4, arch: 'aarch64' }), 50).every((c) => c.vps.length <= 4 && c.arch === 'aarch64'));
});

test('arbPreservingOverride keeps the config valid and the topology unchanged', () => {
  const arb = arbVmConfig({ maxVps: 64 }).chain((c) => fc.tuple(fc.constant(c), arbPreservingOverride(c)));
  fc.assert(
    fc.property(arb, ([c, o]) => {
      const next = applyOverrides(c, [setText(o)]).config;
      validateConfig(next);
      assert.equal(compareTopology(topologyFromConfig(c), topologyFromConfig(next)), []);
    }),
    { numRuns: propRuns(25) },
  );
});

test('arbTopologyChangingOverride always changes the topology', () => {
  const arb = arbVmConfig({ maxVps: 64 }).chain((c) => fc.tuple(fc.constant(c), arbTopologyChangingOverride(c)));
  fc.assert(
    fc.property(arb, ([c, o]) => {
      const next = applyOverrides(c, [setText(o)]).config;
      assert.ok(compareTopology(topologyFromConfig(c), topologyFromConfig(next)).length > 0, setText(o));
    }),
    { numRuns: propRuns(25) },
  );
});

test.run();
