import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex } from '../lib/bytes/index.ts';
import { presetConfig, type VmConfig } from '../lib/config/index.ts';
import { canonicalJson } from '../lib/diff/canonical-json.ts';
import { decodeSnapshot } from '../lib/snapshot/decode.ts';
import type { DecodedSnapshot } from '../lib/snapshot/index.ts';
import { defaultRegistry } from '../lib/snapshot/registry.ts';
import { openStore, readArchive } from '../lib/store/index.ts';
import { bootWithWorkload, saveVm } from '../harness/servicing.ts';

/**
 * Golden snapshots, one set per saved-state generation, kept forever: `gen<N>/<preset>.hclsnap`
 * plus `gen<N>/<preset>.json` holding the config, the command that made it and the expected
 * decoded summary. `npm run snapshots:update` rewrites only the current generation's set.
 */

/** The folder holding every generation's set. */
export const GOLDEN_DIR = dirname(fileURLToPath(import.meta.url));
/** Presets each generation keeps. */
export const GOLDEN_PRESETS = ['small', 'numa'] as const;
/** The fixed workload that runs before each golden save. */
export const GOLDEN_WORKLOAD = { seed: 42, steps: 400 } as const;

/** What the tests check a golden against. */
export interface GoldenSummary {
  id: string;
  name: string;
  generation: number;
  usermodeVersion: string;
  topology: unknown;
  /** Per unit: package, generation and sha256 of the canonical JSON of its saved state. */
  units: Record<string, { package: string; generation: number; sha256: string }>;
  hvSha256: string;
}

/** A golden's side file. */
export interface GoldenRecord {
  preset: string;
  generation: number;
  command: string;
  madeBy: string;
  config: VmConfig;
  summary: GoldenSummary;
}

const digest = (v: unknown) => sha256Hex(new TextEncoder().encode(canonicalJson(v)));

/** The summary of a decoded snapshot, exactly as stored (no upgrade applied). */
export function goldenSummary(d: DecodedSnapshot): GoldenSummary {
  const info = d.manifest.info ?? {};
  return {
    id: d.manifest.id ?? '', name: d.manifest.name ?? '', generation: Number(info['generation']),
    usermodeVersion: String(info['usermodeVersion']), topology: info['topology'],
    units: Object.fromEntries(Object.entries(d.units).sort(([a], [b]) => a.localeCompare(b)).map(([n, u]) => [n, { package: u.package, generation: u.generation, sha256: digest(u.state) }])),
    hvSha256: digest(d.hv),
  };
}

/** Every generation folder present (`gen1`, `gen2`, …), ascending. */
export function goldenGenerations(): number[] {
  return readdirSync(GOLDEN_DIR).map((f) => /^gen(\d+)$/.exec(f)?.[1]).filter((g): g is string => g !== undefined).map(Number).sort((a, b) => a - b);
}

/** Writes `gen<generation>/<preset>.{hclsnap,json}` from an exported archive. */
export async function writeGolden(generation: number, preset: string, archive: Uint8Array, command: string, madeBy: string): Promise<void> {
  const dir = join(GOLDEN_DIR, `gen${generation}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${preset}.hclsnap`);
  writeFileSync(file, archive);
  const decoded = decodeSnapshot(await readArchive(file));
  const config = decoded.manifest.info?.['config'] as VmConfig;
  const record: GoldenRecord = { preset, generation, command, madeBy, config, summary: goldenSummary(decoded) };
  writeFileSync(join(dir, `${preset}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

/** The current generation: the newest any unit or unit-set step writes. */
export function currentGoldenGeneration(): number {
  return defaultRegistry().newestGeneration();
}

/** `npm run snapshots:update`: regenerates the current generation's set and never touches older ones. */
async function update(): Promise<void> {
  const generation = currentGoldenGeneration();
  const tmp = mkdtempSync(join(tmpdir(), 'hclckpt-golden-'));
  const { version } = JSON.parse(readFileSync(join(GOLDEN_DIR, '..', 'package.json'), 'utf8')) as { version: string };
  const store = await openStore(join(tmp, 'store'));
  try {
    for (const preset of GOLDEN_PRESETS) {
      const config = presetConfig(preset);
      const saved = await saveVm(bootWithWorkload(config, GOLDEN_WORKLOAD), store, { name: `golden-${preset}`, workload: { ...GOLDEN_WORKLOAD } });
      const out = join(tmp, `${preset}.hclsnap`);
      await store.exportSnapshot(saved.id, out);
      const command = `hclckpt save --preset ${preset} --workload ${GOLDEN_WORKLOAD.seed}:${GOLDEN_WORKLOAD.steps} --name golden-${preset} && hclckpt export golden-${preset} ${preset}.hclsnap`;
      await writeGolden(generation, preset, readFileSync(out), command, `hclckpt ${version} (npm run snapshots:update)`);
      process.stdout.write(`wrote snapshots/gen${generation}/${preset}.hclsnap (${saved.bytes} bytes)\n`);
    }
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && existsSync(GOLDEN_DIR)) await update();
