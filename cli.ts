#!/usr/bin/env node
// hclckpt command line: argument handling and printing only; every command lives in
// harness/commands/<group>.ts (listed in harness/commands/program.ts) and calls into harness/ and lib/.
import { main } from './harness/commands/program.ts';

// A reader that goes away (`hclckpt igvm decode F | head -1`) is not an error: stop quietly, as
// coreutils and git do, keeping the exit code the command had so far.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}
await main(process.argv);
