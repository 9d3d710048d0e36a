// Loads the native addon (a local build found through `bindings`) and types its surface.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { OpsNative } from './families.js';
import type { CoreNative } from './storage.js';

export type { DType, NativeStorage } from './storage.js';

export type NativeAddon = CoreNative & OpsNative;

const require = createRequire(import.meta.url);
/** The package root: two levels above this file, both in lib/ (sources) and dist/ (compiled). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function load(): NativeAddon {
  const explicit = process.env.LMKIT_ADDON;
  try {
    if (explicit) return require(resolve(explicit)) as NativeAddon;
    const bindings = require('bindings') as (opts: { bindings: string; module_root: string }) => unknown;
    return bindings({ bindings: 'lmkit', module_root: packageRoot }) as NativeAddon;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new Error(
      `lmkit: cannot load the native addon (${why}). ` +
        `Build it with \`npm run build:native\` in ${packageRoot}` +
        (explicit ? ` or fix LMKIT_ADDON=${explicit}` : ''),
    );
  }
}

/** The loaded addon. */
export const native: NativeAddon = load();
