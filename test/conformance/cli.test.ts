import { fileURLToPath } from 'node:url';
import { conformance } from './suite.ts';

// The repo's own binary (the built dist/ through bin/hclckpt.mjs); CI runs the same suite
// against the installed npm tarball (test/conformance/installed.ts).
conformance([process.execPath, fileURLToPath(new URL('../../bin/hclckpt.mjs', import.meta.url))], 'bin/hclckpt.mjs').run();
