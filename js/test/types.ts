// Compiled by `npm run typecheck` (never run): index.d.ts describes the API
// as a TypeScript user calls it, and rejects misuse.
import {
  decodeDelta,
  diff,
  encodeDelta,
  JsonDocument,
  OmsAccelError,
  Schema,
  similarity,
  VectorIndex,
  type Violation,
  componentSha256,
} from '../index.js';

const a = new TextEncoder().encode('{"a": 1}');
const delta: Uint8Array = encodeDelta(a, a, { checksum: true });
const back: Uint8Array = decodeDelta(a, delta, { maxOutput: 1 << 20 });
const patch: string = diff('{"a": 1}', a);
const doc = JsonDocument.parse('{"a": [1, 2]}', { maxDepth: 64 });
const n: number | undefined = doc.length('/a');
const violations: Violation[] = Schema.compile('{"type": "object"}', { draft: 'draft7' }).validate(doc);
const index = new VectorIndex(3, { metric: 'l2', storage: 'f16' });
index.add(new Float32Array(6), [1n, 2n]);
const { ids, scores } = index.search([1, 2, 3], 5);
const matrix: Float32Array = similarity([1, 0], [0, 1], 2, 'dot');
try {
  VectorIndex.fromBytes(index.toBytes());
} catch (e) {
  if (e instanceof OmsAccelError) console.log(e.code, e.position?.line);
}
// @ts-expect-error: no such metric
new VectorIndex(3, { metric: 'manhattan' });
// @ts-expect-error: bytes, not a number
encodeDelta(a, 5);
console.log(back, patch, n, violations, ids, scores, matrix, componentSha256);
