// Runs one operation of the oms-accel JS package (js/, the component
// transpiled by jco) in node. Python's tests/js/test_node.py drives it and
// checks its results against the wasmtime-py backends: the same component,
// the same answers, off Python.
//
//   node run.mjs encode OLD NEW OUT       a VCDIFF delta, written to OUT
//   node run.mjs decode OLD DELTA OUT     the new version, written to OUT
//   node run.mjs get DOC POINTER          {"value": text or null}
//   node run.mjs search DIM VECTORS QUERY K   {"hits": [[id, score]...]}
//
// (VECTORS and QUERY: raw little-endian f32.) An error prints
// {"error": {"name", "code", "message", "position"}} and exits 1.
import { readFileSync, writeFileSync } from 'node:fs';
import * as oms from '../../js/index.js';

const [op, ...args] = process.argv.slice(2);
const f32 = (path) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};

const ops = {
  encode: ([old, neu, out]) => {
    writeFileSync(out, oms.encodeDelta(readFileSync(old), readFileSync(neu)));
    return {};
  },
  decode: ([old, d, out]) => {
    writeFileSync(out, oms.decodeDelta(readFileSync(old), readFileSync(d)));
    return {};
  },
  get: ([doc, pointer]) => ({ value: oms.JsonDocument.parse(readFileSync(doc)).get(pointer) ?? null }),
  search: ([dim, vectors, query, k]) => {
    const index = new oms.VectorIndex(Number(dim));
    index.add(f32(vectors));
    const { ids, scores } = index.search(f32(query), Number(k));
    return { hits: ids.map((id, i) => [id, scores[i]]) };
  },
};

try {
  if (!(op in ops)) throw new Error(`unknown operation ${op}`);
  console.log(JSON.stringify(ops[op](args)));
} catch (e) {
  if (!(e instanceof oms.OmsAccelError)) throw e;
  const { name, code, message, position } = e;
  console.log(JSON.stringify({ error: { name, code, message, position } }));
  process.exitCode = 1;
}
