#!/usr/bin/env node
// hclckpt command line: argument handling and printing only; every command lives in
// harness/commands/<group>.ts (listed in harness/commands/program.ts) and calls into harness/ and lib/.
import { CommanderError } from 'commander';
import { HclError } from './lib/errors.ts';
import { buildProgram } from './harness/commands/program.ts';
import { report } from './harness/commands/run.ts';

try {
  await (await buildProgram()).parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // commander already printed its message; help and version exit 0, usage errors exit 2.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    report(e instanceof Error ? e : new HclError('USAGE', String(e)));
  }
}
