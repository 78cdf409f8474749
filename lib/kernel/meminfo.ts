// Text of /proc/meminfo and /sys/devices/system/node/nodeN/meminfo in Linux 6.1's exact layout
// (fs/proc/meminfo.c, drivers/base/node.c): each label carries its literal padding, then the
// value right-aligned in a fixed width (%8lu, or %5lu for counts), then " kB" where Linux has it.
// The layouts were checked against a real arm64 6.1 boot (test/realkernel/fixtures).

/** One line: the literal label with its padding, the value's field width, and whether it is in kB. */
type Line = readonly [label: string, width: number, kb: boolean];

const kb = (label: string, width = 8): Line => [label, width, true];
const count = (label: string): Line => [label, 5, false];

const NODE_LINES: readonly Line[] = [
  kb('MemTotal:       '), kb('MemFree:        '), kb('MemUsed:        '), kb('SwapCached:     '),
  kb('Active:         '), kb('Inactive:       '), kb('Active(anon):   '), kb('Inactive(anon): '),
  kb('Active(file):   '), kb('Inactive(file): '), kb('Unevictable:    '), kb('Mlocked:        '),
  kb('Dirty:          '), kb('Writeback:      '), kb('FilePages:      '), kb('Mapped:         '),
  kb('AnonPages:      '), kb('Shmem:          '), kb('KernelStack:    '), kb('PageTables:     '),
  kb('SecPageTables:  '), kb('NFS_Unstable:   '), kb('Bounce:         '), kb('WritebackTmp:   '),
  kb('KReclaimable:   '), kb('Slab:           '), kb('SReclaimable:   '), kb('SUnreclaim:     '),
  kb('AnonHugePages:  '), kb('ShmemHugePages: '), kb('ShmemPmdMapped: '), kb('FileHugePages: '),
  kb('FilePmdMapped: '), count('HugePages_Total: '), count('HugePages_Free:  '), count('HugePages_Surp:  '),
];

const PROC_LINES: readonly Line[] = [
  kb('MemTotal:       '), kb('MemFree:        '), kb('MemAvailable:   '), kb('Buffers:        '),
  kb('Cached:         '), kb('SwapCached:     '), kb('Active:         '), kb('Inactive:       '),
  kb('Active(anon):   '), kb('Inactive(anon): '), kb('Active(file):   '), kb('Inactive(file): '),
  kb('Unevictable:    '), kb('Mlocked:        '), kb('SwapTotal:      '), kb('SwapFree:       '),
  kb('Dirty:          '), kb('Writeback:      '), kb('AnonPages:      '), kb('Mapped:         '),
  kb('Shmem:          '), kb('KReclaimable:   '), kb('Slab:           '), kb('SReclaimable:   '),
  kb('SUnreclaim:     '), kb('KernelStack:    '), kb('PageTables:     '), kb('SecPageTables:  '),
  kb('NFS_Unstable:   '), kb('Bounce:         '), kb('WritebackTmp:   '), kb('CommitLimit:    '),
  kb('Committed_AS:   '), kb('VmallocTotal:   '), kb('VmallocUsed:    '), kb('VmallocChunk:   '),
  kb('Percpu:         '), kb('HardwareCorrupted: ', 5), kb('AnonHugePages:  '), kb('ShmemHugePages: '),
  kb('ShmemPmdMapped: '), kb('FileHugePages:  '), kb('FilePmdMapped:  '), kb('CmaTotal:       '),
  kb('CmaFree:        '), count('HugePages_Total:   '), count('HugePages_Free:    '), count('HugePages_Rsvd:    '),
  count('HugePages_Surp:    '), kb('Hugepagesize:   '), kb('Hugetlb:        '),
];

function render(lines: readonly Line[], prefix: string, values: Readonly<Record<string, number | bigint>>): string {
  let out = '';
  for (const [label, width, inKb] of lines) {
    const key = label.slice(0, label.indexOf(':'));
    out += `${prefix}${label}${String(values[key] ?? 0).padStart(width)}${inKb ? ' kB' : ''}\n`;
  }
  return out;
}

/** /sys/devices/system/node/nodeN/meminfo for a node with `totalKb` of RAM, all of it free. */
export function nodeMeminfo(node: number, totalKb: number): string {
  return render(NODE_LINES, `Node ${node} `, { MemTotal: totalKb, MemFree: totalKb });
}

/** Kernel virtual address space for vmalloc, per architecture (4 KiB pages, 48-bit VA). */
const VMALLOC_TOTAL_KB = { x86_64: 34359738367n, aarch64: 133143592960n } as const;

/**
 * /proc/meminfo for `totalKb` of RAM: the model's kernel uses nothing, so free and available
 * equal the total; CommitLimit is half of it (overcommit_ratio 50, no swap).
 */
export function procMeminfo(totalKb: number, arch: 'x86_64' | 'aarch64'): string {
  return render(PROC_LINES, '', {
    MemTotal: totalKb, MemFree: totalKb, MemAvailable: totalKb, CommitLimit: Math.floor(totalKb / 2),
    VmallocTotal: VMALLOC_TOTAL_KB[arch], Hugepagesize: 2048,
  });
}
