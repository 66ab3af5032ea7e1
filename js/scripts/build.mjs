// Transpiles oms_accel.wasm, the very component the Python package loads,
// into ./build with jco: its core modules as files and a JS `instantiate`
// that takes them (so browsers, node and workerd each load them their own
// way), plus build/component.js, which records the sha256 of the component
// it came from: `componentSha256` in the package is that proof.
//
//   node scripts/build.mjs [COMPONENT [OUT]]
//   (default: the Python package's component, into ./build)
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transpile } from '@bytecodealliance/jco';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const source = process.argv[2] ?? join(root, '..', 'python-host', 'oms_accel', 'oms_accel.wasm');
const out = process.argv[3] ?? join(root, 'build');

const component = readFileSync(source);
const { files } = await transpile(component, {
  name: 'oms_accel',
  instantiation: 'async',
  // Every core module a file, none inlined as base64: workerd refuses to
  // compile wasm at run time, and a browser streams a file as it compiles.
  base64Cutoff: 0,
  quiet: true,
});
const jco = JSON.parse(readFileSync(join(root, 'node_modules', '@bytecodealliance', 'jco', 'package.json'), 'utf8'));
const sha256 = createHash('sha256').update(component).digest('hex');
const modules = Object.keys(files).filter((f) => f.endsWith('.wasm')).sort();

rmSync(out, { recursive: true, force: true });
for (const [name, bytes] of Object.entries(files)) {
  mkdirSync(dirname(join(out, name)), { recursive: true });
  writeFileSync(join(out, name), bytes);
}
writeFileSync(
  join(out, 'component.js'),
  `// Written by scripts/build.mjs: what ./oms_accel.js was transpiled from.
/** sha256 (hex) of the oms_accel.wasm component these bindings were made from. */
export const componentSha256 = ${JSON.stringify(sha256)};
/** Its size in bytes. */
export const componentBytes = ${component.length};
/** The jco version that transpiled it. */
export const jcoVersion = ${JSON.stringify(jco.version)};
/** The core modules ./oms_accel.js instantiates, by the names it asks for. */
export const coreModules = ${JSON.stringify(modules)};
`,
);
console.log(`${out}: ${Object.keys(files).length} files from ${source} (sha256 ${sha256.slice(0, 16)}...)`);
