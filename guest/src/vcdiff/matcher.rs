//! Match finding for the encoder: which bytes of a target window can be
//! copied from the source segment or from earlier in the window.
//!
//! The source segment is indexed once: a hash of the 24 bytes at every 8th
//! position, with a chain through earlier positions of the same hash. The
//! target is scanned byte by byte where it does not match; at each position
//! the longest of these candidates (each extended forward and backward):
//! - the *predicted* source position, continuing the last source copy at
//!   the same offset (an edit that kept the length),
//! - the offsets a few bytes either side of it, just after a copy ends (an
//!   edit that changed the length a little: most real ones),
//! - the nearest 8-byte matches within a few hundred bytes of the last
//!   copy's place and of the last long copy's, also just after a copy ends
//!   (short runs kept between edits, which no index of longer hashes holds),
//! - the source index's chain (inserts, deletes and moved blocks),
//! - a small hash of earlier target positions (content repeated in the
//!   new version but absent from the old).
//!
//! Tuned on real document histories (tests/corpus.py: consecutive releases
//! of a browser-compatibility dataset), whose structured text repeats the
//! same short runs everywhere: there the first candidate that matches is
//! rarely the right one. Taking the predicted copy whenever it matched
//! 6 bytes, and only the last position of each hash, once made deltas 15x
//! the size of `xdelta3 -9`'s on them, while a generated benchmark of
//! scattered 64-byte rewrites looked better than xdelta3's.

/// Bytes hashed per source index entry: 16 finds shorter matches but, in
/// structured text, fills chains with repeats (the corpus's deltas grew).
pub const SRC_HASH_LEN: usize = 24;
/// Distance between indexed source positions. Measured on the real corpus
/// (its 246 small documents / the 18 MB concatenation, bytes of delta):
/// stride 8 60.9K / 38.5K, stride 16 64K / 43.7K for about 1.3x the time.
pub const SRC_STRIDE: usize = 8;
/// Candidates tried per source lookup: 16 against 8 made the concatenation's
/// delta 7% smaller.
pub const CHAIN_DEPTH: usize = 16;
/// Bytes hashed per target table entry.
const TGT_HASH_LEN: usize = 8;
/// Shortest copies worth an instruction and an address.
const MIN_PREDICTED_MATCH: usize = 6;
const MIN_TARGET_MATCH: usize = 12;
/// A candidate this long ends the search at its position: the chain is
/// walked, and the target table tried, only while every candidate so far
/// is shorter (at 32 instead, the corpus's deltas were 1.1-1.2x as large).
const LONG_MATCH: usize = 256;
/// A copy shorter than this is taken only if the next position offers
/// nothing longer (lazy matching).
const LAZY_BELOW: usize = 64;
/// Offsets probed either side of the predicted one, at every NEAR_STEP-th
/// position of the first NEAR_UNTIL bytes after a copy ends (backward
/// extension recovers the positions in between), for matches of at least
/// MIN_NEAR_MATCH.
const NEAR: usize = 8;
const NEAR_UNTIL: usize = 32;
const NEAR_STEP: usize = 4;
const MIN_NEAR_MATCH: usize = 8;
/// Bytes searched either side of the two places for short matches, at the
/// first position after a copy while no candidate there reaches
/// LOCAL_BELOW: on the real corpus this took the small documents' deltas
/// from 1.23x to 1.11x `xdelta3 -9`'s and the concatenation's from 1.34x to
/// 0.89x. (Searching at every NEAR_STEP-th position too gained 0.5% on the
/// small documents for 1.4x their encode time; 128 bytes lost 1-5%.)
const LOCAL: usize = 256;
const LOCAL_BELOW: usize = 16;

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

/// A hash of the `SRC_HASH_LEN` bytes at `i`.
#[inline(always)]
fn hash_src(b: &[u8], i: usize) -> u64 {
    const K: [u64; 4] = [K0, K1, K2, K3];
    let mut h = 0u64;
    for w in 0..SRC_HASH_LEN / 8 {
        h ^= load64(b, i + 8 * w)
            .wrapping_mul(K[w % 4])
            .rotate_left(21 * w as u32);
    }
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

/// Hash index over a source segment: for each hash, the last indexed
/// position, and from each indexed position the previous one with the same
/// hash (a chain, walked `CHAIN_DEPTH` deep). Structured documents repeat
/// the same 32 bytes hundreds of times; the copy that rebuilds an edit is
/// the one whose match, extended both ways, is longest, rarely the last.
pub struct SourceIndex {
    shift: u32,
    /// Position + 1 of the last indexed position with each hash; 0 = none.
    head: Vec<u32>,
    /// For indexed position `i` (at `i / SRC_STRIDE`), the previous indexed
    /// position + 1 with the same hash; 0 = none.
    prev: Vec<u32>,
}

impl SourceIndex {
    pub fn build(src: &[u8]) -> Self {
        assert!(
            src.len() < u32::MAX as usize,
            "source segments are capped far below 4 GiB"
        );
        let entries = src.len() / SRC_STRIDE;
        let bits = entries
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(8, 28);
        let mut head = vec![0u32; 1 << bits];
        let mut prev = vec![0u32; entries + 1];
        let shift = 64 - bits;
        if src.len() >= SRC_HASH_LEN {
            for i in (0..=src.len() - SRC_HASH_LEN).step_by(SRC_STRIDE) {
                let slot = &mut head[(hash_src(src, i) >> shift) as usize];
                prev[i / SRC_STRIDE] = *slot;
                *slot = i as u32 + 1;
            }
        }
        SourceIndex { shift, head, prev }
    }

    /// Indexed positions whose hash is that of `tgt[t..]`, latest first.
    #[inline]
    fn candidates(&self, tgt: &[u8], t: usize) -> impl Iterator<Item = usize> + '_ {
        let mut v = self.head[(hash_src(tgt, t) >> self.shift) as usize];
        std::iter::from_fn(move || {
            (v != 0).then(|| {
                let p = v as usize - 1;
                v = self.prev[p / SRC_STRIDE];
                p
            })
        })
        .take(CHAIN_DEPTH)
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

/// The candidates at one target position, and the state they depend on.
struct Search<'a> {
    src: &'a [u8],
    index: &'a SourceIndex,
    tgt: &'a [u8],
    /// Source position minus target position of the last source copy.
    offset: Option<isize>,
    /// The same, of the last long source copy: where the text around an
    /// edit most likely still is, when the last copy came from elsewhere
    /// (a repeated block).
    anchor: isize,
}

impl Search<'_> {
    /// Keeps in `best` the source copy at `p`, if its forward part reaches `min`.
    #[inline]
    fn source(
        &self,
        best: &mut Option<Candidate>,
        p: usize,
        t: usize,
        max_back: usize,
        min: usize,
    ) {
        let fwd = match_len(&self.src[p..], &self.tgt[t..]);
        let back = back_len(self.src, p, self.tgt, t, max_back);
        consider(
            best,
            Op::CopySource {
                pos: p - back,
                len: back + fwd,
            },
            back,
            fwd,
            min,
        );
    }

    /// The longest copy that covers `t`, reaching back at most to
    /// `lit_start`; records `t` in the target table.
    fn best_at(&self, t: usize, lit_start: usize, table: &mut TargetTable) -> Option<Candidate> {
        let (src, tgt) = (self.src, self.tgt);
        let max_back = t - lit_start;
        let mut best: Option<Candidate> = None;
        let predicted = self
            .offset
            .map(|d| t as isize + d)
            .filter(|&p| p >= 0 && (p as usize) < src.len())
            .map(|p| p as usize);
        if let Some(p) = predicted {
            self.source(&mut best, p, t, max_back, MIN_PREDICTED_MATCH);
            // Just past a copy, an edit that changed the length by a few
            // bytes leaves the rest at a nearby offset.
            if max_back < NEAR_UNTIL && max_back % NEAR_STEP == 0 {
                for k in 1..=NEAR {
                    for q in [p.wrapping_sub(k), p + k] {
                        if q < src.len() {
                            self.source(&mut best, q, t, max_back, MIN_NEAR_MATCH);
                        }
                    }
                }
            }
        }
        // Short matches around where this part of the text was: the last
        // copy's place and the last long copy's. No index holds runs this
        // short; a search of a few hundred bytes finds them.
        let weak = best.as_ref().is_none_or(|c| c.len < LOCAL_BELOW);
        if weak && max_back == 0 && t + 8 <= tgt.len() {
            let needle = load64(tgt, t);
            let anchored = t as isize + self.anchor;
            let predicted = predicted.map(|p| p as isize);
            let centres = [predicted, Some(anchored).filter(|&a| Some(a) != predicted)];
            for centre in centres.into_iter().flatten() {
                if centre >= 0 && (centre as usize) + 8 <= src.len() {
                    let c = centre as usize;
                    let (lo, hi) = (c.saturating_sub(LOCAL), (c + LOCAL).min(src.len() - 8));
                    // The nearest 8-byte match after `c`, then before it.
                    let bytes = needle.to_le_bytes();
                    if let Some(i) = memchr::memmem::find(&src[c..hi + 8], &bytes) {
                        self.source(&mut best, c + i, t, max_back, MIN_NEAR_MATCH);
                    }
                    if let Some(i) = memchr::memmem::rfind(&src[lo..c + 7], &bytes) {
                        self.source(&mut best, lo + i, t, max_back, MIN_NEAR_MATCH);
                    }
                }
            }
        }
        let long = |b: &Option<Candidate>| b.as_ref().is_some_and(|c| c.len >= LONG_MATCH);
        if !long(&best) && t + SRC_HASH_LEN <= tgt.len() {
            for p in self
                .index
                .candidates(tgt, t)
                .filter(|&p| Some(p) != predicted)
            {
                self.source(&mut best, p, t, max_back, SRC_HASH_LEN);
                if long(&best) {
                    break;
                }
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
        best
    }
}

/// Finds the ops that rebuild `tgt` from `src` (indexed by `index`) and
/// itself, appending them to `ops` (cleared first). `aligned` is where in
/// `src` the target's first byte most likely came from (the same place in
/// the old version): the first prediction, which in repetitive text no
/// hash chain would reach.
///
/// At each position the longest of: the predicted source copy (continuing
/// the last one's offset), the offsets near it, the source index's chain
/// and the target table; a long one is taken at once, a short one only if
/// the next position offers nothing longer (lazy matching: structured text
/// repeats short runs everywhere, and the copy that matters often starts a
/// byte later).
pub fn find_ops(
    src: &[u8],
    index: &SourceIndex,
    tgt: &[u8],
    aligned: isize,
    table: &mut TargetTable,
    ops: &mut Vec<Op>,
) {
    ops.clear();
    table.reset(tgt.len());
    let n = tgt.len();
    let mut search = Search {
        src,
        index,
        tgt,
        offset: Some(aligned),
        anchor: aligned,
    };
    let (mut t, mut lit_start) = (0usize, 0usize);
    while t + TGT_HASH_LEN <= n {
        let mut found = search.best_at(t, lit_start, table);
        if let Some(c) = &found {
            if c.len < LAZY_BELOW && t + 1 + TGT_HASH_LEN <= n {
                if let Some(later) = search.best_at(t + 1, lit_start, table) {
                    if later.len > c.len + 1 {
                        t += 1;
                        found = Some(later);
                    }
                }
            }
        }
        match found {
            Some(c) => {
                let long = matches!(c.op, Op::CopySource { len, .. } if len >= LONG_MATCH);
                emit(ops, c, &mut t, &mut lit_start, &mut search.offset);
                if long {
                    search.anchor = search.offset.expect("a source copy sets it");
                }
            }
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

    fn summary(ops: &[Op]) -> (usize, usize) {
        let added = ops
            .iter()
            .map(|op| match op {
                Op::Add { len, .. } => *len,
                _ => 0,
            })
            .sum();
        (ops.len(), added)
    }

    #[test]
    fn a_length_changing_edit_in_repeated_structure_costs_a_few_ops() {
        // Structured text repeats the same short runs everywhere: after an
        // edit that changes the length, the copy at the old offset still
        // matches a few bytes at a time, and the last indexed position of a
        // run is another record's. The rest must be one copy at the new offset.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut record = |_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            format!(
                "      \"browser{}\": {{\n        \"version_added\": \"{}\"\n      }},\n",
                state % 7,
                state % 40
            )
        };
        let src: String = (0..3000).map(&mut record).collect();
        let at = src.len() / 3;
        let at = at + src[at..].find("\"1\"").expect("a version");
        let tgt = format!("{}\"1.0.1\"{}", &src[..at], &src[at + 3..]);
        let (src, tgt) = (src.as_bytes(), tgt.as_bytes());
        let mut ops = Vec::new();
        let index = SourceIndex::build(src);
        find_ops(src, &index, tgt, 0, &mut TargetTable::default(), &mut ops);
        assert_eq!(rebuild(src, &ops, tgt), tgt);
        let (count, added) = summary(&ops);
        assert!(
            count <= 4 && added <= 6,
            "{count} ops, {added} bytes added: {ops:?}"
        );
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
        find_ops(&src, &index, &tgt, 0, &mut TargetTable::default(), &mut ops);
        assert_eq!(rebuild(&src, &ops, &tgt), tgt);
        let (_, added) = summary(&ops);
        assert!(
            added < 40,
            "only edited bytes should be added, got {added}: {ops:?}"
        );
    }
}
