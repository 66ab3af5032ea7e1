// The idiomatic API over the component's exports, whatever loaded them
// (index.js in browsers and node, edge.js in workerd). Bytes are
// Uint8Array, vectors Float32Array; a guest error is thrown as an
// OmsAccelError subclass chosen by its code, never by its message.

/** Base class of every error the component reports. */
export class OmsAccelError extends Error {
  /**
   * @param {string} code the WIT error code (`corrupt`, `syntax`, ...)
   * @param {string} message
   * @param {{offset: number, line: number, column: number} | null} position
   */
  constructor(code, message, position = null) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.position = position;
  }
}
/** A delta that is corrupt, truncated, made from another source, fails its checksum or cannot be verified. */
export class DeltaError extends OmsAccelError {}
/** JSON text that is not strict RFC 8259; `position` says where. */
export class JsonSyntaxError extends OmsAccelError {}
/** A JSON Schema that is invalid for its draft or names a missing resource. */
export class SchemaError extends OmsAccelError {}
/** A JSON Patch that is malformed (`invalid-patch`) or does not apply (`patch-failed`). */
export class PatchError extends OmsAccelError {}
/** A vector index's bytes that are not one, or are damaged. */
export class VectorError extends OmsAccelError {}
/** A limit was reached: output size, depth, document size, memory. */
export class LimitError extends OmsAccelError {}
/** An argument out of range or of the wrong kind (a dimension, NaN, a pointer). */
export class ArgumentError extends OmsAccelError {}

const BY_CODE = {
  'limit-exceeded': LimitError,
  'invalid-argument': ArgumentError,
  syntax: JsonSyntaxError,
  'invalid-schema': SchemaError,
  'invalid-patch': PatchError,
  'patch-failed': PatchError,
};

/** The typed error for a guest error `{code, message, position}`; `fallback` for format codes. */
function guestError(payload, fallback) {
  const Cls = BY_CODE[payload.code] ?? fallback;
  const p = payload.position;
  const position = p ? { offset: Number(p.offset), line: p.line, column: p.column } : null;
  return new Cls(payload.code, payload.message, position);
}

/** `f()`, with a guest error (jco's ComponentError carrying the WIT `error`) rethrown typed. */
function call(fallback, f) {
  try {
    return f();
  } catch (e) {
    if (e && e.payload && typeof e.payload.code === 'string') throw guestError(e.payload, fallback);
    throw e;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON text as a string: a Uint8Array is decoded as strict UTF-8. */
function text(value, what) {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      throw new JsonSyntaxError('syntax', `${what} is not valid UTF-8`, { offset: 0, line: 0, column: 0 });
    }
  }
  throw new ArgumentError('invalid-argument', `${what} must be a string or a Uint8Array, not ${typeof value}`);
}

function bytes(value, what) {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new ArgumentError('invalid-argument', `${what} must be a Uint8Array, not ${typeof value}`);
}

function floats(value, what) {
  if (value instanceof Float32Array) return value;
  if (Array.isArray(value)) return Float32Array.from(value);
  throw new ArgumentError('invalid-argument', `${what} must be a Float32Array or an array of numbers`);
}

function parseOptions({ maxDepth = 0, maxSize = 0 } = {}) {
  return { maxDepth, maxSize: BigInt(maxSize) };
}

const METRICS = ['cosine', 'dot', 'l2'];
const STORAGES = ['f32', 'f16', 'i8'];

function choice(value, allowed, what) {
  if (!allowed.includes(value)) {
    throw new ArgumentError('invalid-argument', `unknown ${what} ${JSON.stringify(value)}: one of ${allowed.join(', ')}`);
  }
  return value;
}

/** Hits in search-batch's record layout: per hit, an id (u64 LE) then a score (f32 LE). */
function hits(raw, count) {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const ids = new Array(count);
  const scores = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    ids[i] = Number(view.getBigUint64(i * 12, true));
    scores[i] = view.getFloat32(i * 12 + 8, true);
  }
  return { ids, scores };
}

/**
 * The WASI imports jco's `instantiate` asks for (`wasi:cli/terminal-input`,
 * ...), from preview2-shim's modules by package: `{cli, clocks, ...}`.
 */
export function wasiImports(shims) {
  const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  return new Proxy(
    {},
    {
      get(_, name) {
        const [pkg, iface] = String(name).replace(/^wasi:/, '').split('/');
        const found = shims[pkg]?.[camel(iface)];
        if (found === undefined) throw new Error(`no WASI shim for ${String(name)}`);
        return found;
      },
    },
  );
}

/**
 * The API over an instantiated component (`root`: what jco's `instantiate`
 * returned).
 */
export function createApi(root) {
  const { delta, json, vector } = root;

  /** A parsed JSON document, kept inside the component. */
  class JsonDocument {
    #doc;
    constructor(doc) {
      this.#doc = doc;
    }
    /** Parses strict JSON (RFC 8259); a JsonSyntaxError says where it is not. */
    static parse(source, options) {
      const t = text(source, 'the document');
      return new JsonDocument(call(OmsAccelError, () => json.Document.parse(t, parseOptions(options))));
    }
    /** JSON text of the value at an RFC 6901 pointer, or undefined if absent. */
    get(pointer) {
      return call(ArgumentError, () => this.#doc.get(pointer));
    }
    /** The JSON type at `pointer` ('null', 'boolean', 'number', 'string', 'array', 'object'), or undefined. */
    kind(pointer) {
      return call(ArgumentError, () => this.#doc.kind(pointer));
    }
    /** Items of an array, members of an object or characters of a string at `pointer`, or undefined. */
    length(pointer) {
      const n = call(ArgumentError, () => this.#doc.length(pointer));
      return n === undefined ? undefined : Number(n);
    }
    /** Member names of the object at `pointer`, in document order, or undefined. */
    keys(pointer) {
      return call(ArgumentError, () => this.#doc.keys(pointer));
    }
    /** The document as JSON text. */
    toText(pretty = false) {
      return this.#doc.toText(pretty);
    }
    /** @internal */
    get handle() {
      return this.#doc;
    }
  }

  /** A compiled JSON Schema (drafts 4, 6, 7, 2019-09, 2020-12). */
  class Schema {
    #schema;
    constructor(schema) {
      this.#schema = schema;
    }
    /**
     * Compiles `source`; `draft` overrides its `$schema`, `resources` maps
     * URIs to schema texts that `$ref`s may name (nothing is fetched).
     */
    static compile(source, { draft, resources = {}, ...options } = {}) {
      const t = text(source, 'the schema');
      const pairs = Object.entries(resources).map(([uri, s]) => [uri, text(s, uri)]);
      return new Schema(call(SchemaError, () => json.Schema.compile(t, draft, pairs, parseOptions(options))));
    }
    /** Every violation of `doc` (a JsonDocument, or JSON text): `{instancePath, schemaPath, message}`. */
    validate(doc, options) {
      if (doc instanceof JsonDocument) return this.#schema.validate(doc.handle);
      const t = text(doc, 'the document');
      return call(OmsAccelError, () => this.#schema.validateText(t, parseOptions(options)));
    }
    /** Whether `doc` (a JsonDocument, or JSON text) is valid. */
    isValid(doc, options) {
      if (doc instanceof JsonDocument) return this.#schema.isValid(doc.handle);
      const t = text(doc, 'the document');
      return call(OmsAccelError, () => this.#schema.isValidText(t, parseOptions(options)));
    }
  }

  // How fromBytes hands a loaded index to the constructor.
  const LOADED = Symbol('loaded');
  let loaded;

  /** An exact vector index (cosine, dot or l2; f32, f16 or i8 storage). */
  class VectorIndex {
    #index;
    /**
     * An empty index of vectors of `dimension` (1..65536) components.
     * Cosine and dot rank the highest score first, l2 the lowest.
     */
    constructor(dimension, { metric = 'cosine', storage = 'f32' } = {}) {
      if (dimension === LOADED) {
        this.#index = loaded;
        return;
      }
      choice(metric, METRICS, 'metric');
      choice(storage, STORAGES, 'storage');
      this.#index = call(ArgumentError, () => vector.Index.create(dimension, metric, storage));
    }
    /** An index from the bytes `toBytes` (or Python's `VectorIndex.save`) wrote. */
    static fromBytes(data) {
      const raw = bytes(data, 'the index');
      loaded = call(VectorError, () => vector.Index.fromBytes(raw));
      try {
        return new VectorIndex(LOADED);
      } finally {
        loaded = undefined;
      }
    }
    /** Components per vector. */
    get dimension() {
      return this.#index.dimension();
    }
    /** Vectors held. */
    get size() {
      return Number(this.#index.len());
    }
    /**
     * Adds `vectors` (rows of `dimension` f32, one after another) under
     * `ids` (default: the next numbers from `size`). Nothing is added when
     * any vector is refused (NaN, infinity, a wrong length).
     */
    add(vectors, ids) {
      const v = floats(vectors, 'the vectors');
      const first = this.size;
      const keys = ids === undefined
        ? BigUint64Array.from({ length: Math.floor(v.length / this.dimension) }, (_, i) => BigInt(first + i))
        : BigUint64Array.from(ids, (x) => BigInt(x));
      return Number(call(ArgumentError, () => this.#index.add(v, keys)));
    }
    /** The `k` best hits for `query`: `{ids, scores}`, best first, ties to the smaller id. */
    search(query, k = 10) {
      const q = floats(query, 'the query');
      const found = call(ArgumentError, () => this.#index.search(q, k));
      return { ids: found.map((h) => Number(h.id)), scores: Float32Array.from(found, (h) => h.score) };
    }
    /** `search` for each row of `queries`. */
    searchBatch(queries, k = 10) {
      const q = floats(queries, 'the queries');
      const raw = call(ArgumentError, () => this.#index.searchBatch(q, k));
      const per = Math.min(k, this.size);
      const n = Math.floor(q.length / this.dimension);
      return Array.from({ length: n }, (_, i) => hits(raw.subarray(i * per * 12, (i + 1) * per * 12), per));
    }
    /** The index in the file format every backend loads (Python's `VectorIndex.load` included). */
    toBytes() {
      return this.#index.toBytes();
    }
  }

  return {
    /**
     * A VCDIFF (RFC 3284) delta turning `oldBytes` into `newBytes`, in the
     * format xdelta3 and every oms-accel backend decode.
     */
    encodeDelta(oldBytes, newBytes, { windowSize = 0, sourceWindowSize = 0, checksum = true } = {}) {
      const o = bytes(oldBytes, 'the old version');
      const n = bytes(newBytes, 'the new version');
      return call(DeltaError, () => delta.encode(o, n, { windowSize, sourceWindowSize, checksum }));
    },
    /**
     * The new version from `oldBytes` and a VCDIFF delta. `verify` refuses a
     * window without a checksum; `maxOutput` caps the output (LimitError).
     */
    decodeDelta(oldBytes, deltaBytes, { maxOutput = 2 ** 32, verify = true } = {}) {
      const o = bytes(oldBytes, 'the old version');
      const d = bytes(deltaBytes, 'the delta');
      return call(DeltaError, () => delta.decode(o, d, BigInt(maxOutput), verify));
    },
    /** The RFC 6902 patch (JSON text of an array) turning document `a` into `b`. */
    diff(a, b, options) {
      const [x, y] = [text(a, 'the first document'), text(b, 'the second document')];
      return call(OmsAccelError, () => json.diff(x, y, parseOptions(options)));
    },
    /** `doc` with an RFC 6902 patch applied (PatchError if it does not apply). */
    applyPatch(doc, patch, options) {
      const [d, p] = [text(doc, 'the document'), text(patch, 'the patch')];
      return call(PatchError, () => json.applyPatch(d, p, parseOptions(options)));
    },
    /** `doc` with an RFC 7396 merge patch applied. */
    mergePatch(doc, patch, options) {
      const [d, p] = [text(doc, 'the document'), text(patch, 'the patch')];
      return call(OmsAccelError, () => json.mergePatch(d, p, parseOptions(options)));
    },
    /** The RFC 8785 canonical form of `doc`. */
    canonicalize(doc, options) {
      const d = text(doc, 'the document');
      return call(OmsAccelError, () => json.canonicalize(d, parseOptions(options)));
    },
    /**
     * Scores of every vector of `a` against every vector of `b` (rows of
     * `dimension`), row-major: `a`'s count rows of `b`'s count.
     */
    similarity(a, b, dimension, metric = 'cosine') {
      choice(metric, METRICS, 'metric');
      const [x, y] = [floats(a, 'the first batch'), floats(b, 'the second batch')];
      return call(ArgumentError, () => vector.similarity(x, y, dimension, metric));
    },
    JsonDocument,
    Schema,
    VectorIndex,
  };
}
