// Scores and top-k of a batch of queries against a slab of rows.
//
// One workgroup per (chunk of CHUNK rows, query): its threads score the
// chunk's rows into workgroup memory, then k rounds of a parallel argmax
// pick the chunk's best k, ties to the smaller row. The host merges the
// chunks' candidates. Keys are "higher is better": the dot product (rows
// and queries are unit length for cosine), or minus the L2 distance.
//
// No NaN or infinity is used as a marker: WGSL lets implementations assume
// there are none. Rows already picked are flagged in a bit set instead.

struct Params {
    rows: u32,   // rows in this slab
    dim: u32,
    k: u32,
    l2: u32,     // 1: minus the Euclidean distance; 0: the dot product
    chunks: u32, // workgroups along x
    query_base: u32,
}

const WG: u32 = 256u;
const CHUNK: u32 = 1024u;
const MAX_DIM: u32 = 2048u;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read> rows: array<f32>;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> query: array<f32, MAX_DIM>;
var<workgroup> keys: array<f32, CHUNK>;
var<workgroup> taken: array<u32, 32>; // CHUNK bits
var<workgroup> best_key: array<f32, WG>;
var<workgroup> best_row: array<u32, WG>;

fn better(ka: f32, ra: u32, kb: f32, rb: u32) -> bool {
    return ka > kb || (ka == kb && ra < rb);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let chunk = wg.x;
    let q = wg.y;
    for (var d = lid; d < p.dim; d += WG) {
        query[d] = queries[(p.query_base + q) * p.dim + d];
    }
    if (lid < 32u) {
        taken[lid] = 0u;
    }
    workgroupBarrier();

    let start = chunk * CHUNK;
    for (var j = 0u; j < CHUNK / WG; j++) {
        let local = j * WG + lid;
        let r = start + local;
        var key = 0.0;
        if (r < p.rows) {
            let base = r * p.dim;
            var acc = 0.0;
            if (p.l2 == 1u) {
                for (var d = 0u; d < p.dim; d++) {
                    let t = query[d] - rows[base + d];
                    acc += t * t;
                }
                key = -sqrt(acc);
            } else {
                for (var d = 0u; d < p.dim; d++) {
                    acc += query[d] * rows[base + d];
                }
                key = acc;
            }
        }
        keys[local] = key;
    }
    workgroupBarrier();

    for (var round = 0u; round < p.k; round++) {
        var bk = 0.0;
        var br = NONE;
        for (var j = 0u; j < CHUNK / WG; j++) {
            let local = j * WG + lid;
            let free = (taken[local >> 5u] >> (local & 31u)) & 1u;
            if (start + local < p.rows && free == 0u) {
                let kk = keys[local];
                if (br == NONE || better(kk, local, bk, br)) {
                    bk = kk;
                    br = local;
                }
            }
        }
        best_key[lid] = bk;
        best_row[lid] = br;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) {
                let ok = best_key[lid + s];
                let orow = best_row[lid + s];
                if (orow != NONE && (best_row[lid] == NONE || better(ok, orow, best_key[lid], best_row[lid]))) {
                    best_key[lid] = ok;
                    best_row[lid] = orow;
                }
            }
            workgroupBarrier();
        }
        if (lid == 0u) {
            let o = ((q * p.chunks) + chunk) * p.k + round;
            let row = best_row[0];
            if (row != NONE) {
                out[o] = vec2<u32>(bitcast<u32>(best_key[0]), start + row);
                taken[row >> 5u] |= 1u << (row & 31u);
            } else {
                out[o] = vec2<u32>(0u, NONE);
            }
        }
        workgroupBarrier();
    }
}
