import fc from 'fast-check';

/**
 * Preloaded by test/run.sh: every fast-check run of the suite that does not pick its own seed uses
 * this one, so a CI run is repeatable and a failure reproduces. HCLCKPT_PROP_SEED picks another;
 * the seed in use is printed once, and fast-check repeats it in every failure report.
 */
const env = Number(process.env['HCLCKPT_PROP_SEED']);
const seed = Number.isSafeInteger(env) && process.env['HCLCKPT_PROP_SEED'] !== '' ? env | 0 : 20261201;
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
process.stderr.write(`fast-check seed ${seed} (HCLCKPT_PROP_SEED to change)\n`);
