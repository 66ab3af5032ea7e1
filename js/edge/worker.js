// oms-accel at the edge: a Workers-style module (a `fetch` handler) over the
// same component, run by workerd (`npm run edge` in js/; config.mjs writes
// its configuration). Everything is imported statically, as Workers
// require: the core modules as compiled wasm modules, the WASI shims (the
// browser build of preview2-shim), the demo's embeddings as data.
//
// A JSON API; bytes cross as base64:
//   GET  /v1/info                              {componentSha256, embeddings, dimension}
//   POST /v1/delta/encode  {old, new}          {delta, size}
//   POST /v1/delta/decode  {old, delta}        {new, size}
//   POST /v1/json/diff     {a, b}              {patch}          (RFC 6902, JSON text)
//   POST /v1/json/validate {schema, document}  {valid, violations}
//   POST /v1/vector/search {query, k}          {ids, scores, labels}
// An error is {"error": {name, code, message, position}}: 400 for what the
// component refused, 404, 405, 413 (bodies over 32 MiB), 415 (not JSON).
import * as cli from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/cli.js';
import * as clocks from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/clocks.js';
import * as filesystem from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/filesystem.js';
import * as io from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/io.js';
import * as random from '../node_modules/@bytecodealliance/preview2-shim/dist/browser/random.js';
import { createApi, wasiImports, OmsAccelError } from '../api.js';
import { componentSha256 } from '../build/component.js';
import { instantiate } from '../build/oms_accel.js';
import core from '../build/oms_accel.core.wasm';
import core2 from '../build/oms_accel.core2.wasm';
import core3 from '../build/oms_accel.core3.wasm';
import vectors from '../demo/data/embeddings.f32';
import meta from '../demo/data/labels.json';

const MAX_BODY = 32 << 20;
const modules = { 'oms_accel.core.wasm': core, 'oms_accel.core2.wasm': core2, 'oms_accel.core3.wasm': core3 };

// Instantiated at the first request, not at start-up: Workers allow no
// random values at global scope, and the guest may ask for some.
let ready;
function api() {
  ready ??= instantiate((name) => modules[name], wasiImports({ cli, clocks, filesystem, io, random })).then((root) => {
    const oms = createApi(root);
    const index = new oms.VectorIndex(meta.dimension, { metric: 'cosine' });
    index.add(new Float32Array(vectors));
    return { oms, index };
  });
  return ready;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const fromBase64 = (s, what) => {
  if (typeof s !== 'string') throw new HttpError(400, `${what} must be a base64 string`);
  try {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  } catch {
    throw new HttpError(400, `${what} is not valid base64`);
  }
};
const toBase64 = (bytes) => {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};
const text = (v, what) => {
  if (typeof v !== 'string') throw new HttpError(400, `${what} must be JSON text (a string)`);
  return v;
};

const routes = {
  '/v1/delta/encode': ({ oms }, body) => {
    const delta = oms.encodeDelta(fromBase64(body.old, 'old'), fromBase64(body.new, 'new'));
    return { delta: toBase64(delta), size: delta.length };
  },
  '/v1/delta/decode': ({ oms }, body) => {
    const out = oms.decodeDelta(fromBase64(body.old, 'old'), fromBase64(body.delta, 'delta'), { maxOutput: MAX_BODY * 8 });
    return { new: toBase64(out), size: out.length };
  },
  '/v1/json/diff': ({ oms }, body) => ({ patch: oms.diff(text(body.a, 'a'), text(body.b, 'b')) }),
  '/v1/json/validate': ({ oms }, body) => {
    const violations = oms.Schema.compile(text(body.schema, 'schema')).validate(text(body.document, 'document'));
    return { valid: violations.length === 0, violations };
  },
  '/v1/vector/search': ({ index }, body) => {
    if (!Array.isArray(body.query)) throw new HttpError(400, 'query must be an array of numbers');
    const { ids, scores } = index.search(body.query, body.k ?? 10);
    return { ids, scores: Array.from(scores), labels: ids.map((id) => meta.labels[id]) };
  },
};

const reply = (status, value) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

async function handle(request) {
  const { pathname } = new URL(request.url);
  if (pathname === '/v1/info') {
    if (request.method !== 'GET') throw new HttpError(405, 'use GET');
    const { index } = await api();
    return reply(200, { componentSha256, embeddings: index.size, dimension: index.dimension });
  }
  const route = routes[pathname];
  if (!route) throw new HttpError(404, `no route ${pathname}`);
  if (request.method !== 'POST') throw new HttpError(405, 'use POST');
  if (!(request.headers.get('content-type') ?? '').startsWith('application/json')) {
    throw new HttpError(415, 'the body must be application/json');
  }
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY) throw new HttpError(413, `bodies are limited to ${MAX_BODY} bytes`);
  const raw = await request.arrayBuffer();
  if (raw.byteLength > MAX_BODY) throw new HttpError(413, `bodies are limited to ${MAX_BODY} bytes`);
  let body;
  try {
    body = JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    throw new HttpError(400, `the body is not JSON: ${e.message}`);
  }
  if (body === null || typeof body !== 'object') throw new HttpError(400, 'the body must be a JSON object');
  return reply(200, route(await api(), body));
}

export default {
  async fetch(request) {
    try {
      return await handle(request);
    } catch (e) {
      if (e instanceof OmsAccelError) {
        const { name, code, message, position } = e;
        return reply(400, { error: { name, code, message, position } });
      }
      if (e instanceof HttpError) return reply(e.status, { error: { name: 'HttpError', code: null, message: e.message, position: null } });
      return reply(500, { error: { name: 'InternalError', code: null, message: String(e), position: null } });
    }
  },
};
