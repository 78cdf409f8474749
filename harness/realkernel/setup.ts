import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HclError } from '../../lib/errors.ts';
import { run, tail, type ExecResult } from './exec.ts';
import { buildInitramfs, initramfsId, initScript } from './initramfs.ts';

/**
 * `hclckpt kernel setup`: installs qemu and dtc, fetches Debian's arm64 cloud kernel and a
 * static busybox through apt, and builds the initramfs, all cached under one directory with a
 * stamp so a second run does no apt work (docs: shared/reference/real-kernel.md).
 */

/** Everything a boot needs, as absolute paths. */
export interface KernelAssets {
  dir: string;
  /** Debian package name of the kernel image ("linux-image-6.1.0-…-cloud-arm64"). */
  kernelPackage: string;
  kernel: string;
  initrd: string;
  busybox: string;
}

/** One step `setupKernel` ran or skipped, with its wall time. */
export interface SetupStep {
  name: string;
  ms: number;
  skipped: boolean;
}

/** Result of `setupKernel`: the assets, each step, and whether the stamp made it a no-op. */
export interface SetupResult {
  assets: KernelAssets;
  steps: SetupStep[];
  cached: boolean;
}

const STAMP = 'stamp.json';
const HOST_TOOLS = ['qemu-system-aarch64', 'dtc'] as const;

/** The cache directory: `HCLCKPT_KERNEL_DIR`, else `~/.cache/hclckpt/kernel`. */
export function kernelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['HCLCKPT_KERNEL_DIR'] ?? join(homedir(), '.cache', 'hclckpt', 'kernel');
}

/** The assets recorded by a finished setup in `dir`, or undefined when setup has not run there. */
export function findAssets(dir: string = kernelCacheDir()): KernelAssets | undefined {
  const p = join(dir, STAMP);
  if (!existsSync(p)) return undefined;
  try {
    const s = JSON.parse(readFileSync(p, 'utf8')) as KernelAssets & { initSha256?: string };
    const ok = [s.kernel, s.initrd, s.busybox].every((f) => typeof f === 'string' && existsSync(f));
    return ok ? { dir, kernelPackage: s.kernelPackage, kernel: s.kernel, initrd: s.initrd, busybox: s.busybox } : undefined;
  } catch {
    return undefined;
  }
}

async function which(tool: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${tool}`])).code === 0;
}

/** Runs setup; every failing step throws KERNEL_SETUP_FAILED naming the step and quoting its output. */
export async function setupKernel(opts: { dir?: string; log?: (line: string) => void } = {}): Promise<SetupResult> {
  const dir = opts.dir ?? kernelCacheDir();
  const log = opts.log ?? ((): void => undefined);
  const steps: SetupStep[] = [];
  const step = async (name: string, cmd: string, args: string[], cwd?: string): Promise<ExecResult> => {
    log(`kernel setup: ${name}`);
    const r = await run(cmd, args, cwd === undefined ? {} : { cwd });
    steps.push({ name, ms: r.ms, skipped: false });
    if (r.code !== 0) {
      throw new HclError('KERNEL_SETUP_FAILED', `kernel setup: step "${name}" failed (exit ${r.code}): ${tail(r.stderr || r.stdout, 6)}`);
    }
    return r;
  };
  const skip = (name: string): void => void steps.push({ name, ms: 0, skipped: true });

  const missingTools = [];
  for (const t of HOST_TOOLS) if (!(await which(t))) missingTools.push(t);
  const known = findAssets(dir);
  const script = initScript();
  const stampPath = join(dir, STAMP);
  if (known !== undefined && missingTools.length === 0) {
    const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as { initSha256?: string };
    if (stamp.initSha256 === initramfsId(script)) return { assets: known, steps, cached: true };
  }

  mkdirSync(dir, { recursive: true });
  let updated = false;
  const update = async (): Promise<void> => {
    await step('apt-get update', 'apt-get', ['update', '-qq']);
    updated = true;
  };
  if (missingTools.length > 0) {
    await update();
    await step('apt-get install qemu-system-arm device-tree-compiler cpio', 'apt-get', [
      'install', '-y', '-qq', '--no-install-recommends', 'qemu-system-arm', 'device-tree-compiler', 'cpio',
    ]);
  } else skip('apt-get install (tools present)');

  let kernelPackage = known?.kernelPackage;
  let kernel = known?.kernel;
  let busybox = known?.busybox;
  if (kernel === undefined || busybox === undefined || kernelPackage === undefined) {
    const archs = await step('dpkg --print-foreign-architectures', 'dpkg', ['--print-foreign-architectures']);
    if (!archs.stdout.split(/\s+/).includes('arm64')) {
      await step('dpkg --add-architecture arm64', 'dpkg', ['--add-architecture', 'arm64']);
      await update();
    } else if (!updated) await update();
    const deps = await step('apt-cache depends linux-image-cloud-arm64:arm64', 'apt-cache', ['depends', 'linux-image-cloud-arm64:arm64']);
    const m = /Depends: (linux-image-[^\s:]+)/.exec(deps.stdout);
    if (m?.[1] === undefined) {
      throw new HclError('KERNEL_SETUP_FAILED', `kernel setup: step "resolve kernel" found no linux-image dependency in: ${tail(deps.stdout, 4)}`);
    }
    kernelPackage = m[1];
    const debs = join(dir, 'debs');
    rmSync(debs, { recursive: true, force: true });
    mkdirSync(debs, { recursive: true });
    await step(`apt-get download ${kernelPackage}:arm64 busybox-static:arm64`, 'apt-get', ['download', '-qq', `${kernelPackage}:arm64`, 'busybox-static:arm64'], debs);
    const files = readdirSync(debs);
    const kdeb = files.find((f) => f.startsWith(`${kernelPackage}_`) && f.endsWith('.deb'));
    const bdeb = files.find((f) => f.startsWith('busybox-static_') && f.endsWith('.deb'));
    if (kdeb === undefined || bdeb === undefined) {
      throw new HclError('KERNEL_SETUP_FAILED', `kernel setup: step "apt-get download" left no .deb for ${kdeb === undefined ? kernelPackage : 'busybox-static'} in ${debs}`);
    }
    for (const [deb, into] of [[kdeb, 'kernel'], [bdeb, 'bb']] as const) {
      rmSync(join(dir, into), { recursive: true, force: true });
      await step(`dpkg-deb -x ${deb}`, 'dpkg-deb', ['-x', join(debs, deb), join(dir, into)]);
    }
    const vmlinuz = readdirSync(join(dir, 'kernel', 'boot')).find((f) => f.startsWith('vmlinuz-'));
    if (vmlinuz === undefined) throw new HclError('KERNEL_SETUP_FAILED', `kernel setup: step "dpkg-deb -x" found no vmlinuz in ${kdeb}`);
    kernel = join(dir, 'kernel', 'boot', vmlinuz);
    busybox = join(dir, 'bb', 'bin', 'busybox');
    if (!existsSync(busybox)) throw new HclError('KERNEL_SETUP_FAILED', `kernel setup: step "dpkg-deb -x" found no bin/busybox in ${bdeb}`);
  } else skip('download kernel and busybox (cached)');

  const t0 = performance.now();
  const initrd = join(dir, 'initrd.gz');
  writeFileSync(initrd, buildInitramfs(readFileSync(busybox), script));
  steps.push({ name: 'build initramfs', ms: Math.round(performance.now() - t0), skipped: false });
  const assets: KernelAssets = { dir, kernelPackage, kernel, initrd, busybox };
  writeFileSync(stampPath, `${JSON.stringify({ ...assets, initSha256: initramfsId(script) }, null, 2)}\n`);
  return { assets, steps, cached: false };
}

/** The assets, or KERNEL_SETUP_FAILED telling the user to run `hclckpt kernel setup`. */
export function requireAssets(dir: string = kernelCacheDir()): KernelAssets {
  const a = findAssets(dir);
  if (a === undefined) {
    throw new HclError('KERNEL_SETUP_FAILED', `kernel check: no kernel assets in ${dir}; run \`hclckpt kernel setup\` first`);
  }
  return a;
}
