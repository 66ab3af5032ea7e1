// Runs one operation of the oms-accel component in node, through the
// bindings jco transpiled into ./build (`make build` makes them). Python's
// tests/test_jco.py drives it and checks its results against the wasmtime-py
// backends: the same component, the same answers, off Python.
//
//   node run.mjs encode OLD NEW OUT       a VCDIFF delta, written to OUT
//   node run.mjs decode OLD DELTA OUT     the new version, written to OUT
//   node run.mjs get DOC POINTER          {"value": text or null}
//   node run.mjs search DIM VECTORS QUERY K   {"hits": [[id, score]...]}
//
// (VECTORS and QUERY: raw little-endian f32.) A guest error prints
// {"error": {"code", "message", "position"}} and exits 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { delta, json, vector } from './build/oms_accel.js';

const [op, ...args] = process.argv.slice(2);
const f32 = (path) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

const ops = {
  encode: ([old, neu, out]) => {
    const options = { windowSize: 0, sourceWindowSize: 0, checksum: true };
    writeFileSync(out, delta.encode(readFileSync(old), readFileSync(neu), options));
    return {};
  },
  decode: ([old, d, out]) => {
    writeFileSync(out, delta.decode(readFileSync(old), readFileSync(d), 1n << 32n, true));
    return {};
  },
  get: ([doc, pointer]) => {
    const options = { maxDepth: 512, maxSize: 1n << 30n };
    const value = json.Document.parse(readFileSync(doc, 'utf8'), options).get(pointer);
    return { value: value ?? null };
  },
  search: ([dim, vectors, query, k]) => {
    const index = vector.Index.create(Number(dim), 'cosine', 'f32');
    const rows = f32(vectors);
    const ids = BigUint64Array.from({ length: rows.length / Number(dim) }, (_, i) => BigInt(i));
    index.add(rows, ids);
    return { hits: index.search(f32(query), Number(k)).map((h) => [Number(h.id), h.score]) };
  },
};

try {
  if (!(op in ops)) throw new Error(`unknown operation ${op}`);
  console.log(JSON.stringify(ops[op](args)));
} catch (e) {
  // jco throws a guest's `result` error as a ComponentError with the payload.
  if (e.payload === undefined) throw e;
  // (A position's offset is a u64: a BigInt in JS.)
  const plain = (_, v) => (typeof v === 'bigint' ? Number(v) : v);
  console.log(JSON.stringify({ error: e.payload }, plain));
  process.exitCode = 1;
}
