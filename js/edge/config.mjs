// Writes edge/workerd.capnp: workerd's configuration for edge/worker.js,
// with every module it imports listed under the path it is imported by
// (workerd resolves imports by module name, not through node_modules).
//
//   node edge/config.mjs [ADDRESS]     (default 127.0.0.1:8787)
//   node_modules/.bin/workerd serve edge/workerd.capnp
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coreModules } from '../build/component.js';

const edge = dirname(fileURLToPath(import.meta.url));
const root = join(edge, '..');
const address = process.argv[2] ?? '127.0.0.1:8787';

// worker.js imports these three by name: a jco that splits the component
// otherwise needs worker.js changed too.
const expected = ['oms_accel.core.wasm', 'oms_accel.core2.wasm', 'oms_accel.core3.wasm'];
if (JSON.stringify(coreModules) !== JSON.stringify(expected)) {
  throw new Error(`jco made core modules ${coreModules}, worker.js imports ${expected}`);
}
const shims = 'node_modules/@bytecodealliance/preview2-shim/dist/browser';
const modules = [
  ['edge/worker.js', 'esModule'],
  ['api.js', 'esModule'],
  ['build/oms_accel.js', 'esModule'],
  ['build/component.js', 'esModule'],
  ...coreModules.map((m) => [`build/${m}`, 'wasm']),
  ...readdirSync(join(root, shims))
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => [`${shims}/${f}`, 'esModule']),
  ['demo/data/embeddings.f32', 'data'],
  ['demo/data/labels.json', 'json'],
];
const list = modules.map(([name, kind]) => `    (name = "${name}", ${kind} = embed "../${name}"),`).join('\n');
writeFileSync(
  join(edge, 'workerd.capnp'),
  `# Written by edge/config.mjs.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "oms-accel", worker = .worker)],
  sockets = [(name = "http", address = "${address}", http = (), service = "oms-accel")],
);

const worker :Workerd.Worker = (
  modules = [
${list}
  ],
  compatibilityDate = "2026-11-01",
);
`,
);
console.log(join(edge, 'workerd.capnp'));
