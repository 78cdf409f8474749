import { gzipSync } from 'node:zlib';
import { encodeCpio, type CpioEntry } from '../../lib/abi/index.ts';
import { sha256Hex } from '../../lib/bytes/index.ts';

/**
 * The guest side of the real-kernel check: a busybox initramfs whose /init prints what the
 * kernel made of the device tree between marker lines on the serial console, then powers off.
 * `report.ts` parses that output; the marker text is defined here once for both.
 */

/** Prefix of every marker line the init script prints. */
export const MARK = '@@hclckpt';

/** Section kinds: exact text, base64 of raw bytes, base64 of gzip of raw bytes, absent file. */
export type SectionKind = 'text' | 'b64' | 'b64gz' | 'missing';

// Each `sec` prints a begin line, the command's output, one extra newline (so a file without a
// trailing newline still ends before the end marker; the parser removes exactly that one) and
// an end line. printk is silenced first so kernel messages cannot land inside a section.
const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec 0</dev/console 1>/dev/console 2>&1
dmesg -n 1
M=${MARK}
sec() { local k=$1 n=$2; shift 2; echo "$M:begin $k $n"; "$@"; echo; echo "$M:end $n"; }
gz64() { gzip -c "$1" | base64; }
file() { if [ -e "$3" ]; then sec "$1" "$2" "$4" "$3"; else echo "$M:begin missing $2"; echo "$M:end $2"; fi; }
echo "$M:start"
file text cmdline /proc/cmdline cat
for f in possible present online; do file text cpu/$f /sys/devices/system/cpu/$f cat; done
for f in possible online; do file text node/$f /sys/devices/system/node/$f cat; done
for d in /sys/devices/system/node/node*; do
  [ -d "$d" ] || continue
  nd=\${d##*/}
  for f in cpulist distance meminfo; do file text node/$nd/$f $d/$f cat; done
done
file text meminfo /proc/meminfo cat
sec text zoneinfo grep -E '^Node|^ +(spanned|present|managed) ' /proc/zoneinfo
cd /proc/device-tree && sec text dt-listing sh -c 'find . | sort' && cd /
if [ -d /proc/device-tree/openhcl ]; then
  cd /proc/device-tree
  for f in $(find openhcl -type f | sort); do sec b64 dt/$f base64 $f; done
  cd /
fi
file b64gz fdt /sys/firmware/fdt gz64
echo "$M:done"
poweroff -f
`;

/**
 * Where the script is installed: /init (Linux's default) and /underhill-init, because the shim's
 * command line carries OpenHCL's `rdinit=/underhill-init` and no -append may override it.
 */
export const INIT_PATHS: readonly string[] = ['init', 'underhill-init'];

/** The /init script (busybox sh) that prints every section and powers off. */
export function initScript(): string {
  return INIT_SCRIPT;
}

/** Identity of the initramfs layout for a script: setup rebuilds the cached initrd when it changes. */
export function initramfsId(script: string): string {
  return sha256Hex(new TextEncoder().encode(`${INIT_PATHS.join(',')}\n${script}`));
}

/**
 * A gzip-compressed newc initramfs holding `busybox` (a static arm64 binary) as /bin/busybox,
 * the script at every INIT_PATHS entry, /dev/console and the mount points. Deterministic for the same inputs.
 */
export function buildInitramfs(busybox: Uint8Array, script: string = initScript()): Uint8Array {
  const none = new Uint8Array(0);
  const dir = (name: string): CpioEntry => ({ name, mode: 0o040755, data: none });
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev', 'tmp'].map(dir),
    { name: 'dev/console', mode: 0o020600, data: none, rdev: { major: 5, minor: 1 } },
    { name: 'bin/busybox', mode: 0o100755, data: busybox },
    ...INIT_PATHS.map((name) => ({ name, mode: 0o100755, data: new TextEncoder().encode(script) })),
  ];
  return gzipSync(encodeCpio(entries), { level: 9 });
}
