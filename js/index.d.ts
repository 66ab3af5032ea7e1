// Types of oms-accel's JS API (index.js in browsers and node).

/** The WIT error codes a guest error carries. */
export type ErrorCode =
  | 'corrupt'
  | 'truncated'
  | 'wrong-source'
  | 'checksum-mismatch'
  | 'limit-exceeded'
  | 'unsupported'
  | 'invalid-argument'
  | 'io'
  | 'syntax'
  | 'invalid-schema'
  | 'invalid-patch'
  | 'patch-failed'
  | 'unverified';

/** Where in its input an error is: byte offset, and 1-based line and column for text (0 for binary input). */
export interface Position {
  offset: number;
  line: number;
  column: number;
}

/** Base class of every error the component reports. */
export class OmsAccelError extends Error {
  constructor(code: ErrorCode, message: string, position?: Position | null);
  readonly code: ErrorCode;
  readonly position: Position | null;
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

/** sha256 (hex) of the oms_accel.wasm component this package was transpiled from. */
export const componentSha256: string;
/** Its size in bytes. */
export const componentBytes: number;
/** The jco version that transpiled it. */
export const jcoVersion: string;

/** JSON text: a string, or UTF-8 bytes (decoded strictly). */
export type JsonText = string | Uint8Array;
export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView;
export type Vectors = Float32Array | number[];

/** Limits on parsing; 0 means the default (depth 512, 1 GiB). */
export interface ParseOptions {
  maxDepth?: number;
  maxSize?: number;
}

export interface EncodeOptions {
  /** Bytes of the new version per VCDIFF window (0: default, 8 MiB). */
  windowSize?: number;
  /** Most bytes of the old version one window may refer to (0: default, 64 MiB). */
  sourceWindowSize?: number;
  /** Store an Adler-32 checksum of each window (xdelta3's extension); default true. */
  checksum?: boolean;
}

export interface DecodeOptions {
  /** Largest output accepted, in bytes (LimitError beyond); default 4 GiB. */
  maxOutput?: number;
  /** Refuse windows without a checksum (DeltaError `unverified`); default true. */
  verify?: boolean;
}

/** A VCDIFF (RFC 3284) delta turning `oldBytes` into `newBytes`, in the format xdelta3 and every oms-accel backend decode. */
export function encodeDelta(oldBytes: Bytes, newBytes: Bytes, options?: EncodeOptions): Uint8Array;
/** The new version from `oldBytes` and a VCDIFF delta. */
export function decodeDelta(oldBytes: Bytes, delta: Bytes, options?: DecodeOptions): Uint8Array;
/** The RFC 6902 patch (JSON text of an array) turning document `a` into `b`. */
export function diff(a: JsonText, b: JsonText, options?: ParseOptions): string;
/** `doc` with an RFC 6902 patch applied (PatchError if it does not apply). */
export function applyPatch(doc: JsonText, patch: JsonText, options?: ParseOptions): string;
/** `doc` with an RFC 7396 merge patch applied. */
export function mergePatch(doc: JsonText, patch: JsonText, options?: ParseOptions): string;
/** The RFC 8785 canonical form of `doc`. */
export function canonicalize(doc: JsonText, options?: ParseOptions): string;

export type Metric = 'cosine' | 'dot' | 'l2';
export type Storage = 'f32' | 'f16' | 'i8';

/** Scores of every vector of `a` against every vector of `b` (rows of `dimension`), row-major. */
export function similarity(a: Vectors, b: Vectors, dimension: number, metric?: Metric): Float32Array;

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

/** A parsed JSON document, kept inside the component. */
export class JsonDocument {
  private constructor();
  /** Parses strict JSON (RFC 8259); a JsonSyntaxError says where it is not. */
  static parse(source: JsonText, options?: ParseOptions): JsonDocument;
  /** JSON text of the value at an RFC 6901 pointer, or undefined if absent. */
  get(pointer: string): string | undefined;
  kind(pointer: string): JsonType | undefined;
  /** Items of an array, members of an object or characters of a string. */
  length(pointer: string): number | undefined;
  /** Member names of an object, in document order. */
  keys(pointer: string): string[] | undefined;
  toText(pretty?: boolean): string;
}

export type Draft = 'draft4' | 'draft6' | 'draft7' | 'draft201909' | 'draft202012';

export interface Violation {
  /** RFC 6901 pointer to the failing value in the document. */
  instancePath: string;
  /** Pointer to the failing keyword in the schema. */
  schemaPath: string;
  message: string;
}

export interface CompileOptions extends ParseOptions {
  /** Overrides the schema's `$schema`. */
  draft?: Draft;
  /** Schemas `$ref`s may name, by URI (nothing is fetched). */
  resources?: Record<string, JsonText>;
}

/** A compiled JSON Schema. */
export class Schema {
  private constructor();
  static compile(source: JsonText, options?: CompileOptions): Schema;
  validate(doc: JsonDocument | JsonText, options?: ParseOptions): Violation[];
  isValid(doc: JsonDocument | JsonText, options?: ParseOptions): boolean;
}

export interface Hits {
  ids: number[];
  scores: Float32Array;
}

/** An exact vector index. Cosine and dot rank the highest score first, l2 the lowest; ties go to the smaller id. */
export class VectorIndex {
  constructor(dimension: number, options?: { metric?: Metric; storage?: Storage });
  /** An index from the bytes `toBytes` (or Python's `VectorIndex.save`) wrote. */
  static fromBytes(data: Bytes): VectorIndex;
  readonly dimension: number;
  /** Vectors held. */
  readonly size: number;
  /** Adds rows of `dimension` values under `ids` (default: the next numbers); returns how many. */
  add(vectors: Vectors, ids?: Iterable<number | bigint>): number;
  search(query: Vectors, k?: number): Hits;
  searchBatch(queries: Vectors, k?: number): Hits[];
  /** The index in the file format every backend loads. */
  toBytes(): Uint8Array;
}
