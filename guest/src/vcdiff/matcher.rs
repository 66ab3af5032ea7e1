//! Match finding for the encoder: which bytes of a target window can be
//! copied from the source segment or from earlier in the window.
//!
//! The source segment is indexed once (a hash of the 32 bytes at every
//! 16th position); the target is scanned byte by byte where it does not
//! match, with three candidates at each position:
//! - the *predicted* source position, continuing the last source copy at
//!   the same offset (an edit that kept the length: the common case),
//! - the source index (resynchronizes after inserts and deletes),
//! - a small hash of earlier target positions (content repeated in the
//!   new version but absent from the old).
//!
//! Every candidate is extended forward and backward, so the stride of the
//! index costs no match bytes, only matches shorter than 47 bytes that the
//! other two candidates don't find.

/// Bytes hashed per source index entry.
pub const SRC_HASH_LEN: usize = 32;
/// Distance between indexed source positions. Building the index is most
/// of the encoder's time, in scattered writes to its table: at 16 the table
/// is half the size of 8's, and the 8 MiB benchmark's matching took 13 ms in wasm
/// instead of 21, for a delta 0.6% larger (32: 11 ms, 4.7% larger).
pub const SRC_STRIDE: usize = 16;
/// Bytes hashed per target table entry.
const TGT_HASH_LEN: usize = 8;
/// Shortest copies worth an instruction and an address.
const MIN_PREDICTED_MATCH: usize = 6;
const MIN_TARGET_MATCH: usize = 12;
/// After a source copy ends, only the predicted position is tried for this
/// many bytes: most edits keep their length and end within it, and the
/// predicted check touches memory the copy just read, while a hash probe
/// is two cache misses. Backward extension recovers what this skips.
const PREDICTED_ONLY: usize = 24;

/// One step of a window's reconstruction. Positions are in the target
/// window (`Add`, `CopyTarget`) or the indexed source segment (`CopySource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add { start: usize, len: usize },
    CopySource { pos: usize, len: usize },
    CopyTarget { pos: usize, len: usize },
}

const K0: u64 = 0x9E37_79B9_7F4A_7C15;
const K1: u64 = 0xC2B2_AE3D_27D4_EB4F;
const K2: u64 = 0x1656_67B1_9E37_79F9;
const K3: u64 = 0x85EB_CA77_C2B2_AE63;

#[inline(always)]
fn load64(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

#[inline(always)]
fn hash32(b: &[u8], i: usize) -> u64 {
    let h = load64(b, i).wrapping_mul(K0)
        ^ load64(b, i + 8).wrapping_mul(K1).rotate_left(21)
        ^ load64(b, i + 16).wrapping_mul(K2).rotate_left(42)
        ^ load64(b, i + 24).wrapping_mul(K3);
    h.wrapping_mul(K0)
}

/// Length of the common prefix of `a` and `b`, eight bytes at a time.
#[inline]
pub fn match_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = load64(a, i) ^ load64(b, i);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes before `a_pos` in `a` and `b_pos` in `b` are equal, at
/// most `max`.
#[inline]
fn back_len(a: &[u8], a_pos: usize, b: &[u8], b_pos: usize, max: usize) -> usize {
    let max = max.min(a_pos).min(b_pos);
    let mut k = 0;
    while k < max && a[a_pos - 1 - k] == b[b_pos - 1 - k] {
        k += 1;
    }
    k
}

/// Hash index over a source segment.
pub struct SourceIndex {
    shift: u32,
    /// Position + 1 of the last indexed position with each hash; 0 = none.
    table: Vec<u32>,
}

impl SourceIndex {
    pub fn build(src: &[u8]) -> Self {
        assert!(
            src.len() < u32::MAX as usize,
            "source segments are capped far below 4 GiB"
        );
        let entries = src.len() / SRC_STRIDE;
        let bits = (entries.max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(8, 28);
        let mut table = vec![0u32; 1 << bits];
        let shift = 64 - bits;
        if src.len() >= SRC_HASH_LEN {
            for i in (0..=src.len() - SRC_HASH_LEN).step_by(SRC_STRIDE) {
                table[(hash32(src, i) >> shift) as usize] = i as u32 + 1;
            }
        }
        SourceIndex { shift, table }
    }

    #[inline]
    fn lookup(&self, tgt: &[u8], t: usize) -> Option<usize> {
        let v = self.table[(hash32(tgt, t) >> self.shift) as usize];
        (v != 0).then(|| v as usize - 1)
    }
}

/// Recent target positions by the hash of their first 8 bytes; reused
/// across windows to avoid reallocating.
#[derive(Default)]
pub struct TargetTable {
    shift: u32,
    table: Vec<u32>,
}

impl TargetTable {
    fn reset(&mut self, window_len: usize) {
        let bits = window_len
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(8, 20);
        self.shift = 64 - bits;
        self.table.clear();
        self.table.resize(1 << bits, 0);
    }

    #[inline]
    fn slot(&self, tgt: &[u8], t: usize) -> usize {
        (load64(tgt, t).wrapping_mul(K1) >> self.shift) as usize
    }
}

struct Candidate {
    op: Op,
    back: usize,
    len: usize,
}

/// Keeps the longer of `best` and a candidate whose forward part reaches `min`.
fn consider(best: &mut Option<Candidate>, op: Op, back: usize, fwd: usize, min: usize) {
    let len = back + fwd;
    if fwd >= min && best.as_ref().is_none_or(|b| len > b.len) {
        *best = Some(Candidate { op, back, len });
    }
}

/// Appends the pending literal bytes and the copy `c`, and moves past it.
fn emit(
    ops: &mut Vec<Op>,
    c: Candidate,
    t: &mut usize,
    lit_start: &mut usize,
    offset: &mut Option<isize>,
) {
    let start = *t - c.back;
    if start > *lit_start {
        ops.push(Op::Add {
            start: *lit_start,
            len: start - *lit_start,
        });
    }
    if let Op::CopySource { pos, .. } = c.op {
        *offset = Some(pos as isize - start as isize);
    }
    ops.push(c.op);
    *t = start + c.len;
    *lit_start = *t;
}

/// Finds the ops that rebuild `tgt` from `src` (indexed by `index`) and
/// itself, appending them to `ops` (cleared first).
pub fn find_ops(
    src: &[u8],
    index: &SourceIndex,
    tgt: &[u8],
    table: &mut TargetTable,
    ops: &mut Vec<Op>,
) {
    ops.clear();
    table.reset(tgt.len());
    let n = tgt.len();
    let (mut t, mut lit_start) = (0usize, 0usize);
    // Source position minus target position of the last source copy.
    let mut offset: Option<isize> = None;
    while t + TGT_HASH_LEN <= n {
        let max_back = t - lit_start;
        let mut best: Option<Candidate> = None;
        let predicted = offset
            .map(|d| t as isize + d)
            .filter(|&p| p >= 0 && (p as usize) < src.len());
        if let Some(p) = predicted {
            let p = p as usize;
            let fwd = match_len(&src[p..], &tgt[t..]);
            let back = back_len(src, p, tgt, t, max_back);
            consider(
                &mut best,
                Op::CopySource {
                    pos: p - back,
                    len: back + fwd,
                },
                back,
                fwd,
                MIN_PREDICTED_MATCH,
            );
        }
        if predicted.is_some() && max_back < PREDICTED_ONLY {
            if let Some(c) = best.take() {
                emit(ops, c, &mut t, &mut lit_start, &mut offset);
            } else {
                t += 1;
            }
            continue;
        }
        if t + SRC_HASH_LEN <= n {
            if let Some(p) = index
                .lookup(tgt, t)
                .filter(|&p| Some(p as isize) != predicted)
            {
                let fwd = match_len(&src[p..], &tgt[t..]);
                let back = back_len(src, p, tgt, t, max_back);
                consider(
                    &mut best,
                    Op::CopySource {
                        pos: p - back,
                        len: back + fwd,
                    },
                    back,
                    fwd,
                    SRC_HASH_LEN,
                );
            }
        }
        let slot = table.slot(tgt, t);
        let prev = table.table[slot];
        table.table[slot] = t as u32 + 1;
        if prev != 0 {
            let p = prev as usize - 1;
            let fwd = match_len(&tgt[p..], &tgt[t..]);
            let back = back_len(tgt, p, tgt, t, max_back.min(t - p));
            consider(
                &mut best,
                Op::CopyTarget {
                    pos: p - back,
                    len: back + fwd,
                },
                back,
                fwd,
                MIN_TARGET_MATCH,
            );
        }

        match best {
            Some(c) => emit(ops, c, &mut t, &mut lit_start, &mut offset),
            // Long stretches without a match (new content) are scanned with a
            // growing step, as LZ4 does; backward extension recovers the
            // bytes a step skips once a match is found.
            None => t += 1 + ((t - lit_start) >> 9).min(15),
        }
    }
    if lit_start < n {
        ops.push(Op::Add {
            start: lit_start,
            len: n - lit_start,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(src: &[u8], ops: &[Op], tgt: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &op in ops {
            match op {
                Op::Add { start, len } => out.extend_from_slice(&tgt[start..start + len]),
                Op::CopySource { pos, len } => out.extend_from_slice(&src[pos..pos + len]),
                Op::CopyTarget { pos, len } => {
                    for i in 0..len {
                        out.push(out[pos + i]);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn finds_edits_inserts_and_repeats() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let src: Vec<u8> = (0..20_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let mut tgt = src.clone();
        tgt[5000..5004].copy_from_slice(b"EDIT");
        tgt.splice(9000..9000, b"INSERTED BYTES".iter().copied());
        tgt.drain(15000..15100);
        let repeat = tgt[100..300].to_vec();
        tgt.extend_from_slice(&repeat);
        let index = SourceIndex::build(&src);
        let mut ops = Vec::new();
        find_ops(&src, &index, &tgt, &mut TargetTable::default(), &mut ops);
        assert_eq!(rebuild(&src, &ops, &tgt), tgt);
        let added: usize = ops
            .iter()
            .map(|op| {
                if let Op::Add { len, .. } = op {
                    *len
                } else {
                    0
                }
            })
            .sum();
        assert!(
            added < 40,
            "only edited bytes should be added, got {added}: {ops:?}"
        );
    }
}
