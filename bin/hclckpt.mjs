#!/usr/bin/env node
// Launcher: runs the compiled CLI in dist/ (`npm run build`; `npm ci` and `npm pack` build it).
await import('../dist/cli.js');
