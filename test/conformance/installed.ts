import { conformance } from './suite.ts';

/**
 * `node --import tsx test/conformance/installed.ts PREFIX`: the conformance suite against the
 * `hclckpt` that `npm install hclckpt-*.tgz` put in PREFIX/node_modules/.bin (.ci/package.sh).
 */
const prefix = process.argv[2];
if (prefix === undefined) {
  process.stderr.write('usage: installed.ts PREFIX\n');
  process.exit(2);
}
conformance([`${prefix}/node_modules/.bin/hclckpt`], 'installed tarball').run();
