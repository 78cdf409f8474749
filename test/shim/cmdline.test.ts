import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildKernelCommandLine, generatedParameters, hostIsTrusted, parseShimOptions, userCommandLine, type CmdlineInputs } from '../../lib/shim/index.ts';
import { expectError } from './expect.ts';

const X86 = generatedParameters('x86_64').join(' ');
const ARM = generatedParameters('aarch64').join(' ');
const input: CmdlineInputs = {
  arch: 'x86_64', isolation: 'none', trusted: true, console: 'ttyS2,115200', nvmeKeepAlive: false, bootCpus: undefined,
  vmbusConnectionId: 0x800074, user: '',
};

const cases: Array<[string, Partial<CmdlineInputs>, string]> = [
  ['plain x86', {}, `${X86} swiotlb=1,1 console=ttyS2,115200 hv_vmbus.message_connection_id=0x800074`],
  ['arm64 without x86 extras', { arch: 'aarch64', console: 'ttyAMA0' }, `${ARM} swiotlb=1,1 console=ttyAMA0 hv_vmbus.message_connection_id=0x800074`],
  ['snp: big swiotlb, untrusted console, confidential', { isolation: 'snp', trusted: false }, `${X86} swiotlb=4096,1 console=ttynull OPENHCL_CONFIDENTIAL=1 hv_vmbus.message_connection_id=0x800074`],
  ['vbs: small swiotlb, confidential', { isolation: 'vbs', trusted: false }, `${X86} swiotlb=1,1 console=ttynull OPENHCL_CONFIDENTIAL=1 hv_vmbus.message_connection_id=0x800074`],
  ['no COM3', { console: undefined }, `${X86} swiotlb=1,1 console=ttynull hv_vmbus.message_connection_id=0x800074`],
  ['keep-alive and sidecar', { nvmeKeepAlive: true, bootCpus: [0, 32] }, `${X86} swiotlb=1,1 console=ttyS2,115200 OPENHCL_NVME_KEEP_ALIVE=1 boot_cpus=0,32 hv_vmbus.message_connection_id=0x800074`],
  ['user connection id wins', { user: 'hv_vmbus.message_connection_id=0x5 a=b' }, `${X86} swiotlb=1,1 console=ttyS2,115200 hv_vmbus.message_connection_id=0x5 a=b`],
];
for (const [name, change, want] of cases) {
  test(`kernel command line: ${name}`, () => assert.is(buildKernelCommandLine({ ...input, ...change }), want));
}

const merges: Array<[string, 'static' | 'append-chosen', 'none' | 'snp', string, string]> = [
  ['static policy ignores bootargs', 'static', 'none', 'A=1', 'A=1'],
  ['append-chosen, trusted', 'append-chosen', 'none', 'A=1', 'A=1 host=2'],
  ['append-chosen, isolated: host not trusted', 'append-chosen', 'snp', 'A=1', 'A=1'],
  ['append-chosen, isolated with confidential debug', 'append-chosen', 'snp', 'A=1 OPENHCL_CONFIDENTIAL_DEBUG=1', 'A=1 OPENHCL_CONFIDENTIAL_DEBUG=1 host=2'],
  ['append-chosen, empty static line', 'append-chosen', 'none', '', 'host=2'],
];
for (const [name, policy, iso, line, want] of merges) {
  test(`user command line: ${name}`, () => {
    assert.is(userCommandLine({ policy, line }, 'host=2', hostIsTrusted(iso, line)), want);
  });
}

test('options: later values win, sidecar off/on/log, keep-alive opt-out', () => {
  assert.equal(parseShimOptions('OPENHCL_SIDECAR=off OPENHCL_SIDECAR=log'), { confidentialDebug: false, sidecar: 'log', disableNvmeKeepAlive: false });
  const o = parseShimOptions('OPENHCL_CONFIDENTIAL_DEBUG=1 OPENHCL_DISABLE_NVME_KEEP_ALIVE=1 OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG=debug');
  assert.is(o.confidentialDebug, true);
  assert.is(o.disableNvmeKeepAlive, true);
  assert.is(o.sidecar, 'on');
  assert.is(o.gpaPoolConfig, 'debug');
});

test('kernel command line over 0x2000 bytes is SHIM_CMDLINE_TOO_LONG', () => {
  expectError(() => buildKernelCommandLine({ ...input, user: 'x'.repeat(0x2000) }), 'SHIM_CMDLINE_TOO_LONG', 'exceed 8192');
});

test.run();
