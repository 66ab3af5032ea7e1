// oms-accel in browsers and node: the component (build/, transpiled by jco
// from the Python package's oms_accel.wasm) instantiated once, when this
// module is first imported, with preview2-shim's WASI (its browser build in
// browsers, its node build in node: the package's export conditions pick).
// The component needs no files, network or clock to do its work, and never
// blocks on a poll, so nothing here needs JSPI.
import * as cli from '@bytecodealliance/preview2-shim/cli';
import * as clocks from '@bytecodealliance/preview2-shim/clocks';
import * as filesystem from '@bytecodealliance/preview2-shim/filesystem';
import * as io from '@bytecodealliance/preview2-shim/io';
import * as random from '@bytecodealliance/preview2-shim/random';
import { instantiate } from './build/oms_accel.js';
import { createApi, wasiImports } from './api.js';

export {
  OmsAccelError,
  DeltaError,
  JsonSyntaxError,
  SchemaError,
  PatchError,
  VectorError,
  LimitError,
  ArgumentError,
} from './api.js';
export { componentSha256, componentBytes, jcoVersion } from './build/component.js';

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

/** A core module of build/, compiled (streamed from the server in a browser). */
async function coreModule(name) {
  const url = new URL(`./build/${name}`, import.meta.url);
  if (isNode) {
    const { readFile } = await import('node:fs/promises');
    return WebAssembly.compile(await readFile(url));
  }
  return WebAssembly.compileStreaming(fetch(url));
}

const api = createApi(await instantiate(coreModule, wasiImports({ cli, clocks, filesystem, io, random })));

export const {
  encodeDelta,
  decodeDelta,
  diff,
  applyPatch,
  mergePatch,
  canonicalize,
  similarity,
  JsonDocument,
  Schema,
  VectorIndex,
} = api;
