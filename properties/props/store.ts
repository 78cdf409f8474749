import fc from 'fast-check';
import { define } from '../define.ts';
import { concurrentCommands, storeCommands, storeSetup, storeTeardown } from './store-commands.ts';

/** store-model: the snapshot store against its model, sequentially and with interleavings. */

/** Number of commands a counterexample ran (fast-check prints the executed ones, comma-separated). */
const commandCount = (cmds: unknown): number => String(cmds).split(',').filter((c) => c.trim() !== '').length;

/** (7a) Any sequence of save/restore/rm/gc/export-import/corrupt/reopen keeps the store equal to the model. */
export const storeModel = define({
  name: 'store-model',
  description: 'the snapshot store behaves like its model under save, restore, rm, gc, export/import, corruption and reopen',
  defaultRuns: 25,
  seam: 'gc-drops-live-blob',
  size: (ce) => commandCount(ce[0]),
  build: ({ replayPath, plant }) => fc.asyncProperty(fc.commands(storeCommands(), { maxCommands: 30, ...(replayPath === undefined ? {} : { replayPath }) }), async (cmds) => {
    const { model, real } = await storeSetup(null, plant);
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
    } finally {
      await storeTeardown(real);
    }
  }),
});

/** (7b) The same model with concurrent operations, in every order fast-check's scheduler picks. */
export const storeModelAsync = define({
  name: 'store-model-async',
  description: 'the snapshot store matches its model when saves, gc and other commands interleave',
  defaultRuns: 20,
  seam: 'gc-drops-live-blob',
  size: (ce) => commandCount(ce[2]),
  build: ({ replayPath, plant }) => fc.asyncProperty(fc.scheduler(), fc.scheduler(), fc.commands([...storeCommands(), ...concurrentCommands()], { maxCommands: 20, ...(replayPath === undefined ? {} : { replayPath }) }), async (s, inner, cmds) => {
    const { model, real } = await storeSetup(inner, plant);
    try {
      await fc.scheduledModelRun(s, () => ({ model, real }), cmds);
    } finally {
      await storeTeardown(real);
    }
  }),
});
