import pkg from '../package.json' with { type: 'json' };

/** hclckpt's version from package.json; the build inlines it, so it holds in dist/ too. */
export const TOOL_VERSION: string = pkg.version;
