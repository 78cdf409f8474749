import * as assert from 'uvu/assert';
import { isHclError, type HclErrorCode } from '../../lib/errors.ts';

/** Asserts that `fn` throws an HclError with `code` whose message contains `text`. */
export function expectError(fn: () => unknown, code: HclErrorCode, text: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isHclError(e, code), `expected ${code}, got ${String((e as { code?: unknown }).code)}: ${(e as Error).message}`);
    assert.ok((e as Error).message.includes(text), `message "${(e as Error).message}" lacks "${text}"`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}
