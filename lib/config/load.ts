import { readFile } from 'node:fs/promises';
import { HclError } from '../errors.ts';
import { VmConfigSchema, type VmConfig } from './schema.ts';
import { validateConfig } from './validate.ts';

/**
 * Offset of the first JSON syntax error in `text` (RFC 8259 grammar), or -1 when it parses.
 * V8's JSON.parse does not always say where it failed, so this small scanner does.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      const ch = text.charCodeAt(i);
      if (ch < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 4;
        else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m === null) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    return num();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    if (typeof at === 'number') return at;
    throw at;
  }
}

/** 1-based line and column of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** Parses JSON text; JSON_INVALID names `where` with the line and column of the first error. */
export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const at = Math.max(0, jsonErrorOffset(text));
    const { line, col } = lineCol(text, at);
    const why = at >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[at])}`;
    throw new HclError('JSON_INVALID', `${where}: invalid JSON at line ${line} column ${col}: ${why}`, {
      cause: e,
      context: { line, col, offset: at },
    });
  }
}

/** Reads, parses and validates a VmConfig file (FILE_NOT_FOUND, FILE_IO, JSON_INVALID, CONFIG_INVALID). */
export async function loadConfig(file: string): Promise<VmConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') throw new HclError('FILE_NOT_FOUND', `${file}: no such file`, { cause: e });
    throw new HclError('FILE_IO', `${file}: cannot read: ${(e as Error).message}`, { cause: e });
  }
  return validateConfig(parseJson(text, file), file);
}

/** The VmConfig JSON Schema (draft 7 keywords as TypeBox emits them), as a plain object. */
export function configJsonSchema(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(VmConfigSchema)) as Record<string, unknown>;
}
