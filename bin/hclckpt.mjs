#!/usr/bin/env node
// Launcher: runs cli.ts through tsx's loader so the TypeScript sources are the only build.
import { register } from 'tsx/esm/api';
register();
await import('../cli.ts');
