import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildKernelCommandLine, hostIsTrusted, parseShimOptions, userCommandLine, type CmdlineInputs } from '../../lib/shim/index.ts';
import { expectError } from './expect.ts';

// The whole line for a fixed configuration, written out by reading openhcl_boot main.rs
// build_kernel_command_line (not from hclckpt's output): each KERNEL_PARAMETERS entry with
// `write!(cmdline, "{p} ")`, then X86_KERNEL_PARAMETERS (AARCH64_KERNEL_PARAMETERS is empty),
// then NON_HARDWARE_ISOLATED "swiotlb=1,1 ", `console=` + "ttyS2,{current_speed} " (Ns16550) or
// "ttyAMA0,{current_speed} " (Pl011) when the host is trusted, OPENHCL_CONFIDENTIAL=1 only when
// isolated, OPENHCL_CONFIDENTIAL_DEBUG=1 when confidential debug, "OPENHCL_NVME_KEEP_ALIVE=" +
// ["disabled,"] + "host,"|"nohost," + "privatepool "|"noprivatepool ", the sidecar's
// "boot_cpus=…", "hv_vmbus.message_connection_id=0x{:x} " (the contains() check sees only the
// generated words), and last partition_info.cmdline with nothing in between.
const COMMON = 'loglevel=8 log_buf_len=128K printk.time=1 console_msg_format=syslog uio_hv_generic.no_mask=1 '
  + 'coredump_filter=0x33 cpufreq.off=1 cpuidle.off=1 cryptomgr.notests idle=halt initcall_blacklist=init_real_mode,sbf_init '
  + 'lpj=3000000 no_timer_check noxsave oops=panic panic_on_warn=0 panic_print=0 panic=-1 printk.devkmsg=on reboot=t '
  + 'rootfstype=tmpfs sysctl.vm.compaction_proactiveness=0 tsc=reliable unknown_nmi_panic=1 vfio_pci.ids=1414:00ba '
  + 'vfio.enable_unsafe_noiommu_mode=1 rdinit=/underhill-init OPENHCL_NVME_VFIO=1 hv_storvsc.storvsc_vcpus_per_sub_channel=2048 '
  + 'hv_storvsc.storvsc_max_hw_queues=2 hv_storvsc.storvsc_ringbuffer_size=0x8000 MIMALLOC_ARENA_EAGER_COMMIT=0 acpi=off ';
const X86 = `${COMMON}clearcpuid=pcid iommu=off pci=off `;

const input: CmdlineInputs = {
  arch: 'x86_64', isolation: 'none', trusted: true, com3: { kind: 'ns16550', base: 0x3e8n, speed: 115200 }, confidentialDebug: false,
  keepAlive: { disabled: false, host: true, privatePool: true }, bootCpus: [0, 16], vmbusConnectionId: 0x800074, user: 'panic=-1 host=2',
};

test('whole kernel command line, x86_64 (derived from main.rs build_kernel_command_line)', () => {
  assert.is(buildKernelCommandLine(input),
    `${X86}swiotlb=1,1 console=ttyS2,115200 OPENHCL_NVME_KEEP_ALIVE=host,privatepool boot_cpus=0,16 hv_vmbus.message_connection_id=0x800074 panic=-1 host=2`);
});

test('whole kernel command line, aarch64 (derived from main.rs build_kernel_command_line)', () => {
  const arm: CmdlineInputs = { ...input, arch: 'aarch64', com3: { kind: 'pl011', base: 0x900_0000n, intid: 1, speed: 115200 }, bootCpus: undefined, keepAlive: { disabled: false, host: false, privatePool: true } };
  assert.is(buildKernelCommandLine(arm),
    `${COMMON}swiotlb=1,1 console=ttyAMA0,115200 OPENHCL_NVME_KEEP_ALIVE=nohost,privatepool hv_vmbus.message_connection_id=0x800074 panic=-1 host=2`);
});

const cases: Array<[string, Partial<CmdlineInputs>, string]> = [
  ['snp: big swiotlb, untrusted console, confidential, no pool', { isolation: 'snp', trusted: false, bootCpus: undefined, keepAlive: { disabled: false, host: true, privatePool: false }, user: '' },
    `${X86}swiotlb=4096,1 console=ttynull OPENHCL_CONFIDENTIAL=1 OPENHCL_NVME_KEEP_ALIVE=host,noprivatepool hv_vmbus.message_connection_id=0x800074 `],
  ['snp with confidential debug: console trusted, CONFIDENTIAL_DEBUG written', { isolation: 'snp', confidentialDebug: true, bootCpus: undefined, user: 'x' },
    `${X86}swiotlb=4096,1 console=ttyS2,115200 OPENHCL_CONFIDENTIAL=1 OPENHCL_CONFIDENTIAL_DEBUG=1 OPENHCL_NVME_KEEP_ALIVE=host,privatepool hv_vmbus.message_connection_id=0x800074 x`],
  ['keep-alive disabled on the command line', { keepAlive: { disabled: true, host: true, privatePool: true }, bootCpus: undefined, com3: undefined, user: '' },
    `${X86}swiotlb=1,1 console=ttynull OPENHCL_NVME_KEEP_ALIVE=disabled,host,privatepool hv_vmbus.message_connection_id=0x800074 `],
  ['a user connection id does not suppress the generated one', { bootCpus: undefined, user: 'hv_vmbus.message_connection_id=0x5' },
    `${X86}swiotlb=1,1 console=ttyS2,115200 OPENHCL_NVME_KEEP_ALIVE=host,privatepool hv_vmbus.message_connection_id=0x800074 hv_vmbus.message_connection_id=0x5`],
];
for (const [name, change, want] of cases) {
  test(`kernel command line: ${name}`, () => assert.is(buildKernelCommandLine({ ...input, ...change }), want));
}

// host_params/dt read_from_dt: the measured line, then for APPEND_CHOSEN with a trusted host
// `write!(" {}", parsed.command_line)` — the space is written even for empty bootargs.
const merges: Array<[string, 'static' | 'append-chosen', 'none' | 'snp', string, string, string]> = [
  ['static policy ignores bootargs', 'static', 'none', 'A=1', 'host=2', 'A=1'],
  ['append-chosen, trusted', 'append-chosen', 'none', 'A=1', 'host=2', 'A=1 host=2'],
  ['append-chosen, isolated: host not trusted', 'append-chosen', 'snp', 'A=1', 'host=2', 'A=1'],
  ['append-chosen, isolated with confidential debug', 'append-chosen', 'snp', 'A=1 OPENHCL_CONFIDENTIAL_DEBUG=1', 'host=2', 'A=1 OPENHCL_CONFIDENTIAL_DEBUG=1 host=2'],
  ['append-chosen, empty static line', 'append-chosen', 'none', '', 'host=2', ' host=2'],
  ['append-chosen, empty bootargs', 'append-chosen', 'none', 'A=1', '', 'A=1 '],
];
for (const [name, policy, iso, line, bootargs, want] of merges) {
  test(`user command line: ${name}`, () => {
    assert.is(userCommandLine({ policy, line }, bootargs, hostIsTrusted(iso, line)), want);
  });
}

// openhcl_boot cmdline.rs BootCommandLineOptions::parse.
test('options: sidecar comma list, unknown words change nothing, later words win', () => {
  assert.is(parseShimOptions('OPENHCL_SIDECAR=off OPENHCL_SIDECAR=log').sidecar, 'log');
  assert.is(parseShimOptions('OPENHCL_SIDECAR=off OPENHCL_SIDECAR=fast').sidecar, 'off');
  assert.is(parseShimOptions('OPENHCL_SIDECAR=log,off').sidecar, 'off');
});

test('options: confidential debug and keep-alive opt-out turn on for any value but 0 and stay on', () => {
  const o = parseShimOptions('OPENHCL_CONFIDENTIAL_DEBUG=1 OPENHCL_DISABLE_NVME_KEEP_ALIVE=1 OPENHCL_IGVM_VTL2_GPA_POOL_CONFIG=debug');
  assert.equal([o.confidentialDebug, o.disableNvmeKeepAlive, o.sidecar, o.gpaPoolConfig], [true, true, 'on', 'debug']);
  assert.is(parseShimOptions('OPENHCL_CONFIDENTIAL_DEBUG=false').confidentialDebug, true);
  assert.is(parseShimOptions('OPENHCL_CONFIDENTIAL_DEBUG=1 OPENHCL_CONFIDENTIAL_DEBUG=0').confidentialDebug, true);
  assert.is(parseShimOptions('OPENHCL_CONFIDENTIAL_DEBUG OPENHCL_CONFIDENTIAL_DEBUG=0').confidentialDebug, false);
  assert.is(parseShimOptions('OPENHCL_DISABLE_NVME_KEEP_ALIVE=0').disableNvmeKeepAlive, false);
});

test('kernel command line over 0x2000 bytes is SHIM_CMDLINE_TOO_LONG', () => {
  expectError(() => buildKernelCommandLine({ ...input, user: 'x'.repeat(0x2000) }), 'SHIM_CMDLINE_TOO_LONG', 'exceed 8192');
});

test.run();
