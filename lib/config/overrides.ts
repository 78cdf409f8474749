import { HclError } from '../errors.ts';
import type { VmConfig } from './schema.ts';

/** One typed override on a config path, as given by `--set KEY=VALUE`. */
export interface Override {
  /** Config path with dots and indexes: `cmdline.host`, `vps[3].vnode`. */
  path: string;
  /** The value after coercion to the type found at that path. */
  value: unknown;
}

/** Short names accepted for the most common paths (`keepAlive=false` → `keepAlive.nvme`). */
const ALIASES: Record<string, string> = { keepAlive: 'keepAlive.nvme' };

const POLICY: Record<string, string> = { static: 'static', 'append-chosen': 'append-chosen', append_chosen: 'append-chosen' };

/** Splits `a.b[3].c` into keys and indexes; OVERRIDE_INVALID on a malformed path. */
export function splitPath(path: string): Array<string | number> {
  if (!/^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*|\[\d+\])*$/.test(path)) {
    throw new HclError('OVERRIDE_INVALID', `override ${path}: not a config path (use a.b[3].c)`);
  }
  const out: Array<string | number> = [];
  for (const m of path.matchAll(/([A-Za-z_]\w*)|\[(\d+)\]/g)) out.push(m[1] ?? Number(m[2]));
  return out;
}

/** Parses `KEY=VALUE` text into a path and raw text (the value is typed by `applyOverrides`). */
export function parseSet(text: string): { path: string; raw: string } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new HclError('OVERRIDE_INVALID', `override ${JSON.stringify(text)}: expected KEY=VALUE`);
  const key = text.slice(0, eq).trim();
  return { path: ALIASES[key] ?? key, raw: text.slice(eq + 1) };
}

function coerce(path: string, current: unknown, raw: string): unknown {
  if (typeof current === 'string') return path === 'cmdline.policy' ? (POLICY[raw] ?? raw) : raw;
  if (typeof current === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new HclError('OVERRIDE_INVALID', `override ${path}: ${JSON.stringify(raw)} is not a number`);
    return n;
  }
  if (typeof current === 'boolean') {
    if (raw === 'true' || raw === 'on' || raw === '1') return true;
    if (raw === 'false' || raw === 'off' || raw === '0') return false;
    throw new HclError('OVERRIDE_INVALID', `override ${path}: ${JSON.stringify(raw)} is not a boolean (true|false)`);
  }
  // Objects and arrays (or absent optional fields) take JSON.
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw new HclError('OVERRIDE_INVALID', `override ${path}: value must be JSON here, got ${JSON.stringify(raw)}`);
  }
}

/**
 * Applies `KEY=VALUE` overrides to a copy of `config`, typing each value after what is at the
 * path now. It does not judge what an override means: a topology change is the shim's to refuse.
 * The result still has to pass `validateConfig`.
 */
export function applyOverrides(config: VmConfig, sets: string[]): { config: VmConfig; applied: Override[] } {
  const next = structuredClone(config) as unknown as Record<string, unknown>;
  const applied: Override[] = [];
  for (const text of sets) {
    const { path, raw } = parseSet(text);
    const keys = splitPath(path);
    let parent: Record<string | number, unknown> = next;
    for (const [i, k] of keys.slice(0, -1).entries()) {
      const child = parent[k];
      if (typeof child !== 'object' || child === null) {
        throw new HclError('OVERRIDE_INVALID', `override ${path}: ${keys.slice(0, i + 1).join('.')} does not exist in the config`);
      }
      parent = child as Record<string | number, unknown>;
    }
    const last = keys[keys.length - 1] as string | number;
    if (Array.isArray(parent) ? typeof last !== 'number' || last > parent.length : typeof last === 'number') {
      throw new HclError('OVERRIDE_INVALID', `override ${path}: index does not match the config's shape`);
    }
    if (!Array.isArray(parent) && !(last in parent) && !OPTIONAL_ROOTS.has(path)) {
      throw new HclError('OVERRIDE_INVALID', `override ${path}: no such setting`);
    }
    const value = coerce(path, parent[last], raw);
    parent[last] = value;
    applied.push({ path, value });
  }
  return { config: next as unknown as VmConfig, applied };
}

/** Optional settings that may be absent in a config and still be set. */
const OPTIONAL_ROOTS = new Set(['distances', 'mmio.vtl2', 'aarch64']);
