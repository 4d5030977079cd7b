// Bundles DevTools' heap snapshot worker (TypeScript) for Node. The i18n module is replaced
// by a stub: the worker only uses it to format progress messages.
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'node_modules');

export async function bundleDevTools(outfile) {
  let esbuild;
  try {
    esbuild = await import(path.join(modules, 'esbuild', 'lib', 'main.js'));
  } catch (e) {
    throw new Error(`tests/consumers/node_modules is missing: run \`make test\` or \`npm ci\` in tests/consumers (${e.message})`);
  }
  const stub = {
    name: 'i18n-stub',
    setup(build) {
      build.onResolve({filter: /(^|\/)i18n\/i18n\.js$/}, () => ({path: 'i18n', namespace: 'stub'}));
      build.onLoad({filter: /.*/, namespace: 'stub'}, () => ({
        contents: `const str = (s) => s;
export const i18n = {
  serializeUIString: (s, v) => JSON.stringify({string: s, values: v || {}}),
  registerUIStrings: () => ({}), getLocalizedString: (_, s) => s, lockedString: str, lockedLazyString: (s) => () => s,
  getLazilyComputedLocalizedString: (_, s) => () => s,
};
export const i18nTypes = {};
export const ByteUtilities = {};
export const TimeUtilities = {};`,
        loader: 'js',
      }));
    },
  };
  await esbuild.build({
    entryPoints: [path.join(here, 'devtools_entry.ts')],
    bundle: true, platform: 'node', format: 'esm', outfile, logLevel: 'error',
    nodePaths: [modules], plugins: [stub],
  });
  return import(outfile);
}
