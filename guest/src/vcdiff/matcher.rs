//! Match finding for the encoder: which bytes of a target window can be
//! copied from the source segment or from earlier in the window.
//!
//! The source segment is indexed once: a hash of the 24 bytes at every 8th
//! position, with a chain through earlier positions of the same hash. A
//! target window of up to 1 MiB gets the same index as the search moves
//! through it. The
//! target is scanned byte by byte where it does not match; at each position
//! the best of these candidates (each extended forward and backward):
//! - the *predicted* source position, continuing the last source copy at
//!   the same offset (an edit that kept the length),
//! - the offsets a few bytes either side of it, just after a copy ends (an
//!   edit that changed the length a little: most real ones),
//! - the nearest 8-byte matches within a few hundred bytes of the last
//!   copy's place and of the last long copy's, also just after a copy ends
//!   (short runs kept between edits, which no index of longer hashes holds),
//! - the source index's chain (inserts, deletes and moved blocks),
//! - the target index's chain (blocks the new version repeats), and a small
//!   table of recently visited target positions (shorter repeats).
//!
//! "Best" is the copy that saves the most bytes: its length less what its
//! address (priced by a model of the encoder's address cache) and size take.
//! A candidate may reach back over the copies taken before it, which are
//! then shortened or dropped: greedy matching takes a short copy at an edit
//! and a long one just after, and the long one extended backwards often
//! covers both.
//!
//! Tuned on real document histories (tests/corpus.py: consecutive releases
//! of a browser-compatibility dataset), whose structured text repeats the
//! same short runs everywhere: there the first candidate that matches is
//! rarely the right one. Taking the predicted copy whenever it matched
//! 6 bytes, and only the last position of each hash, once made deltas 15x
//! the size of `xdelta3 -9`'s on them, while a generated benchmark of
//! scattered 64-byte rewrites looked better than xdelta3's.

use super::addr_cache::AddrCache;
use super::near;
use super::varint;

const _: () = assert!(
    SRC_HASH_LEN == 24 && SRC_STRIDE == 8,
    "the hash takes three words"
);
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
/// A candidate this long ends the search at its position: the chains are
/// walked only while every candidate so far is shorter. On the real corpus
/// (small documents / the concatenation, bytes of delta, with OVERLAP):
/// 256: 50,090 / 21,357; 1024 (and LAZY_BELOW 128): 49,393 / 20,419, for
/// 15% more instructions on the generated 8 MiB case. (At 32, long ago,
/// the corpus's deltas were 1.1-1.2x as large.)
const LONG_MATCH: usize = 1024;
/// A copy shorter than this is taken only if the next position offers
/// nothing better (lazy matching; 64 cost the small documents 0.6%).
const LAZY_BELOW: usize = 128;
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
const LOCAL_AFTER: usize = 32;

/// The largest target window indexed as the search goes. The index pays
/// most on documents of the size a store holds (the real corpus's small
/// documents' deltas 3% smaller), little on large ones (the concatenation's
/// and data.json's 4-6%), and it cost large windows half their encode speed
/// in wasm (the generated 8 MiB: 189 MB/s without it, 79 with it, on the
/// Rust host): over this size the table of visited positions serves alone.
const TARGET_INDEX_MAX: usize = 1 << 20;
/// Bytes a candidate may reach back over the ops before it. On the real
/// corpus (small documents / the concatenation): 0: 52,769 / 23,763; 64:
/// 52,838 / 24,593; 256: 51,702 / 23,808; 1024: 50,289 / 21,933; 4096 and
/// more: 50,090 / 21,357. (Measured with LONG_MATCH 256.)
const OVERLAP: usize = 4096;
/// A copy shortened below this is dropped for literal bytes.
const MIN_KEPT_COPY: usize = 4;
/// Copies up to this long have their size in the opcode (the default code
/// table); longer ones write it after.
const MAX_SIZE_IN_OPCODE: usize = 18;

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

#[inline(always)]
pub(super) fn load64(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

/// One 8-byte word's part of a hash: consecutive indexed positions share
/// two of their three words, so the index computes each word's part once.
#[inline(always)]
fn word_part(word: u64) -> u64 {
    word.wrapping_mul(K0)
}

/// The hash of three consecutive words from their parts.
#[inline(always)]
fn combine(a0: u64, a1: u64, a2: u64) -> u64 {
    (a0 ^ a1.rotate_left(21) ^ a2.rotate_left(42)).wrapping_mul(K1)
}

/// A hash of the `SRC_HASH_LEN` bytes at `i`.
#[inline(always)]
fn hash_src(b: &[u8], i: usize) -> u64 {
    let part = |w: usize| word_part(load64(b, i + 8 * w));
    combine(part(0), part(1), part(2))
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
/// most `max`: eight bytes at a time, as `match_len`.
#[inline]
fn back_len(a: &[u8], a_pos: usize, b: &[u8], b_pos: usize, max: usize) -> usize {
    let max = max.min(a_pos).min(b_pos);
    let mut k = 0;
    while k + 8 <= max {
        let x = load64(a, a_pos - k - 8) ^ load64(b, b_pos - k - 8);
        if x != 0 {
            return k + (x.leading_zeros() / 8) as usize;
        }
        k += 8;
    }
    while k < max && a[a_pos - 1 - k] == b[b_pos - 1 - k] {
        k += 1;
    }
    k
}

/// Hash index over bytes, every SRC_STRIDE-th position: for each hash, the
/// last indexed position, and from each indexed position the previous one
/// with the same hash (a chain, walked `CHAIN_DEPTH` deep). Structured
/// documents repeat the same 32 bytes hundreds of times; the copy that
/// rebuilds an edit is the one whose match, extended both ways, is longest,
/// rarely the last. The source segment's is built at once; the target
/// window's grows as the search moves on, so that earlier parts of the new
/// version can be copied.
#[derive(Default)]
pub struct ChainIndex {
    shift: u32,
    /// Position + 1 of the last indexed position with each hash; 0 = none.
    head: Vec<u32>,
    /// For the `k`th indexed position, the previous indexed position + 1
    /// with the same hash; 0 = none. Positions are indexed in order, so
    /// this only grows: its length is how many are indexed.
    prev: Vec<u32>,
}

impl ChainIndex {
    /// The index of all of `src`.
    pub fn build(src: &[u8]) -> Self {
        let mut index = ChainIndex::default();
        index.reset(src.len());
        index.extend(src, src.len());
        index
    }

    /// Empties the index, sized for `len` bytes.
    fn reset(&mut self, len: usize) {
        assert!(
            len < u32::MAX as usize,
            "source segments and windows are capped far below 4 GiB"
        );
        let bits = (len / SRC_STRIDE)
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(8, 28);
        self.shift = 64 - bits;
        self.head.clear();
        self.head.resize(1 << bits, 0);
        self.prev.clear();
        self.prev.reserve(len / SRC_STRIDE + 1);
    }

    /// Indexes the positions of `bytes` after those already indexed, up to
    /// (not including) `end`. One pass over the words: consecutive positions
    /// share two of their three words, whose parts of the hash are kept.
    fn extend(&mut self, bytes: &[u8], end: usize) {
        let first = self.prev.len() * SRC_STRIDE;
        let end = end.min((bytes.len() + 1).saturating_sub(SRC_HASH_LEN));
        if first >= end {
            return;
        }
        let count = (end - first).div_ceil(SRC_STRIDE);
        let base = self.prev.len();
        self.prev.resize(base + count, 0);
        let word = |c: &[u8]| word_part(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        let words = &bytes[first..first + (count - 1) * SRC_STRIDE + SRC_HASH_LEN];
        let (mut a0, mut a1) = (word(&words[..8]), word(&words[8..16]));
        let mut insert = |k: usize, a2: u64, a0: u64, a1: u64, prev: &mut u32| {
            let slot = &mut self.head[(combine(a0, a1, a2) >> self.shift) as usize];
            *prev = *slot;
            *slot = (first + k * SRC_STRIDE) as u32 + 1;
        };
        // Four positions a step: in the sandbox each iteration pays an epoch
        // check. Counted (callgrind, docs/architecture.md), the 8 MiB encode
        // with the time limit 234.8M -> 216.4M instructions, natively
        // 112.4M -> 111.3M.
        let fresh = &mut self.prev[base..];
        let whole = fresh.len() / 4 * 4;
        let (quads, rest) = fresh.split_at_mut(whole);
        let mut k = 0;
        for (c, prev) in words[16..].chunks_exact(32).zip(quads.chunks_exact_mut(4)) {
            for j in 0..4 {
                let a2 = word(&c[8 * j..8 * j + 8]);
                insert(k, a2, a0, a1, &mut prev[j]);
                (a0, a1) = (a1, a2);
                k += 1;
            }
        }
        for (c, prev) in words[16 + 8 * whole..].chunks_exact(8).zip(rest) {
            let a2 = word(c);
            insert(k, a2, a0, a1, prev);
            (a0, a1) = (a1, a2);
            k += 1;
        }
    }

    /// The start of the chain of positions with hash `hash`.
    #[inline]
    fn head(&self, hash: u64) -> u32 {
        self.head[(hash >> self.shift) as usize]
    }

    /// The indexed positions of the chain that starts at `head`, latest first.
    #[inline]
    fn chain(&self, head: u32) -> impl Iterator<Item = usize> + '_ {
        let mut v = head;
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

/// What the search keeps between windows to avoid reallocating: recent
/// target positions by the hash of their first 8 bytes, and a model of the
/// address cache the encoder will have.
#[derive(Default)]
pub struct Scratch {
    shift: u32,
    table: Vec<u32>,
    cache: AddrCache,
    target: ChainIndex,
}

impl Scratch {
    fn reset(&mut self, window_len: usize) {
        // Only the positions the search visits are recorded (a few per
        // copy, and the unmatched stretches), so a table of a sixteenth of
        // the window holds them: a table the window's size was most of a
        // small document's encode, in clearing it.
        let bits = (window_len / 16)
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(10, 18);
        self.shift = 64 - bits;
        self.table.clear();
        self.table.resize(1 << bits, 0);
        self.cache.reset();
        // (Empty when the window is too large to index: see TARGET_INDEX_MAX.)
        self.target.reset(if window_len <= TARGET_INDEX_MAX {
            window_len
        } else {
            0
        });
    }
}

struct Candidate {
    op: Op,
    back: usize,
    len: usize,
    /// Bytes the copy saves: its length less what its address and size
    /// take in the delta. Candidates are weighed by it, so that of two
    /// equally long copies the one near the last (an address of a byte or
    /// two) wins over one across the document (three or four).
    gain: isize,
}

/// Appends the pending literal bytes and the copy `c`, moves past it, and
/// records its address in the model of the encoder's address cache. A copy
/// that starts before `lit_start` takes over the end of the ops before it:
/// they are shortened, or dropped where it covers them or too little of
/// them would be left (those bytes become literal again).
fn emit(
    ops: &mut Vec<Op>,
    c: Candidate,
    t: &mut usize,
    lit_start: &mut usize,
    search: &mut Search,
) {
    let start = *t - c.back;
    while start < *lit_start {
        let last = ops
            .last_mut()
            .expect("bytes before lit_start are covered by ops");
        let len = match last {
            Op::Add { len, .. } | Op::CopySource { len, .. } | Op::CopyTarget { len, .. } => len,
        };
        let begins = *lit_start - *len;
        if begins >= start || start - begins < MIN_KEPT_COPY {
            *lit_start = begins;
            ops.pop();
        } else {
            *len = start - begins;
            *lit_start = start;
        }
    }
    if start > *lit_start {
        match ops.last_mut() {
            // A literal left by a dropped copy joins the one before it.
            Some(Op::Add { start: s, len }) if *s + *len == *lit_start => *len = start - *s,
            _ => ops.push(Op::Add {
                start: *lit_start,
                len: start - *lit_start,
            }),
        }
    }
    if let Op::CopySource { pos, .. } = c.op {
        search.offset = Some(pos as isize - start as isize);
    }
    search.cache.note(search.addr(c.op));
    ops.push(c.op);
    *t = start + c.len;
    *lit_start = *t;
}

/// The candidates at one target position, and the state they depend on.
struct Search<'a> {
    src: &'a [u8],
    cache: &'a mut AddrCache,
    /// The target window's positions before the current one.
    target: &'a mut ChainIndex,
    index: &'a ChainIndex,
    tgt: &'a [u8],
    /// Source position minus target position of the last source copy.
    offset: Option<isize>,
    /// The same, of the last long source copy: where the text around an
    /// edit most likely still is, when the last copy came from elsewhere
    /// (a repeated block).
    anchor: isize,
    /// The length of the last copy taken.
    last_len: usize,
}

impl Search<'_> {
    /// The copy's address as the encoder will write it, taking the window's
    /// source segment to start at the segment's first byte (addresses
    /// between source copies, which matter most, are the same either way).
    #[inline]
    fn addr(&self, op: Op) -> u64 {
        match op {
            Op::CopySource { pos, .. } => pos as u64,
            Op::CopyTarget { pos, .. } => (self.src.len() + pos) as u64,
            Op::Add { .. } => unreachable!("only copies have addresses"),
        }
    }

    /// Keeps in `best` the better of it and the copy `op` that starts
    /// `back` bytes before `t` and reaches `fwd` bytes past it, if `fwd`
    /// reaches `min`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn consider(
        &self,
        best: &mut Option<Candidate>,
        op: Op,
        t: usize,
        back: usize,
        fwd: usize,
        min: usize,
        pending: usize,
    ) {
        if fwd < min {
            return;
        }
        let len = back + fwd;
        let here = (self.src.len() + t - back) as u64;
        let size = if len > MAX_SIZE_IN_OPCODE {
            varint::len(len as u64)
        } else {
            0
        };
        // Only the bytes not yet covered count: a copy that reaches back
        // over earlier copies (which emit then shortens) gains what it adds.
        let new = len - back.saturating_sub(pending);
        // An address takes a byte at least: a candidate that cannot beat
        // `best` even so is not costed.
        if best
            .as_ref()
            .is_some_and(|b| (new - size) as isize - 1 < b.gain)
        {
            return;
        }
        let gain = new as isize - (self.cache.cost(self.addr(op), here) + size) as isize;
        if best
            .as_ref()
            .is_none_or(|b| gain > b.gain || (gain == b.gain && len > b.len))
        {
            *best = Some(Candidate {
                op,
                back,
                len,
                gain,
            });
        }
    }

    /// Keeps in `best` the source copy at `p`, if its forward part reaches `min`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn source(
        &self,
        best: &mut Option<Candidate>,
        p: usize,
        t: usize,
        pending: usize,
        reach: usize,
        min: usize,
    ) {
        let fwd = match_len(&self.src[p..], &self.tgt[t..]);
        if fwd < min {
            return;
        }
        let back = back_len(self.src, p, self.tgt, t, reach);
        let op = Op::CopySource {
            pos: p - back,
            len: back + fwd,
        };
        self.consider(best, op, t, back, fwd, min, pending);
    }

    /// Keeps in `best` the copy from target position `p` (before `t`), if
    /// its forward part reaches `min`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn target_copy(
        &self,
        best: &mut Option<Candidate>,
        p: usize,
        t: usize,
        pending: usize,
        reach: usize,
        min: usize,
    ) {
        let tgt = self.tgt;
        let fwd = match_len(&tgt[p..], &tgt[t..]);
        if fwd < min {
            return;
        }
        let back = back_len(tgt, p, tgt, t, reach.min(t - p));
        let op = Op::CopyTarget {
            pos: p - back,
            len: back + fwd,
        };
        self.consider(best, op, t, back, fwd, min, pending);
    }

    /// The copy that covers `t` and saves the most bytes, reaching back
    /// over the literal bytes since `lit_start` and up to OVERLAP bytes of
    /// the ops before; records `t` in the table of visited positions.
    fn best_at(
        &self,
        t: usize,
        lit_start: usize,
        table: &mut [u32],
        shift: u32,
    ) -> Option<Candidate> {
        let (src, tgt) = (self.src, self.tgt);
        let max_back = t - lit_start;
        // Candidates found away from the last copy's offset may reach back
        // over the copies before them (emit shortens those): the copy that
        // rebuilds an edit's surroundings often starts inside the one taken
        // before it, as xdelta3's instruction optimizer also finds.
        let reach = max_back + lit_start.min(OVERLAP);
        let mut best: Option<Candidate> = None;
        // The chains' heads are loaded first: in a large index they are
        // cache misses, which the CPU serves while the cheaper candidates
        // below are tried.
        let heads = (t + SRC_HASH_LEN <= tgt.len()).then(|| {
            let hash = hash_src(tgt, t);
            (self.index.head(hash), self.target.head(hash))
        });
        let predicted = self
            .offset
            .map(|d| t as isize + d)
            .filter(|&p| p >= 0 && (p as usize) < src.len())
            .map(|p| p as usize);
        if let Some(p) = predicted {
            self.source(&mut best, p, t, max_back, max_back, MIN_PREDICTED_MATCH);
            // Just past a copy, an edit that changed the length by a few
            // bytes leaves the rest at a nearby offset.
            let last = src.len().checked_sub(8).filter(|_| t + 8 <= tgt.len());
            if let Some(last) =
                last.filter(|_| max_back < NEAR_UNTIL && max_back.is_multiple_of(NEAR_STEP))
            {
                // MIN_NEAR_MATCH is 8: one comparison of 8 bytes rules out
                // almost every offset before a match is measured.
                let needle = load64(tgt, t);
                for q in p.saturating_sub(NEAR)..=(p + NEAR).min(last) {
                    if q != p && load64(src, q) == needle {
                        self.source(&mut best, q, t, max_back, max_back, MIN_NEAR_MATCH);
                    }
                }
            }
        }
        // Short matches around where this part of the text was: the last
        // copy's place and the last long copy's, after a copy long enough to
        // say where that is (after a short one, in new content, the search
        // found little and was a tenth of a small document's encode in wasm,
        // for 0.5% of the real corpus's deltas). No index holds runs this
        // short; a search of a few hundred bytes finds them.
        let weak =
            self.last_len >= LOCAL_AFTER && best.as_ref().is_none_or(|c| c.len < LOCAL_BELOW);
        if weak && max_back == 0 && t + 8 <= tgt.len() {
            let needle = load64(tgt, t);
            let anchored = t as isize + self.anchor;
            let predicted = predicted.map(|p| p as isize);
            let centres = [predicted, Some(anchored).filter(|&a| Some(a) != predicted)];
            for centre in centres.into_iter().flatten() {
                if centre >= 0 && (centre as usize) + 8 <= src.len() {
                    let c = centre as usize;
                    let (lo, hi) = (c.saturating_sub(LOCAL), (c + LOCAL).min(src.len() - 8));
                    // The nearest 8-byte match from `c` on, and before it.
                    if let Some(i) = near::first(&src[c..hi + 8], needle) {
                        self.source(&mut best, c + i, t, max_back, reach, MIN_NEAR_MATCH);
                    }
                    if let Some(i) = near::last(&src[lo..c + 7], needle) {
                        self.source(&mut best, lo + i, t, max_back, reach, MIN_NEAR_MATCH);
                    }
                }
            }
        }
        let long = |b: &Option<Candidate>| b.as_ref().is_some_and(|c| c.len >= LONG_MATCH);
        if let Some((source_head, target_head)) = heads.filter(|_| !long(&best)) {
            for p in self
                .index
                .chain(source_head)
                .filter(|&p| Some(p) != predicted)
            {
                self.source(&mut best, p, t, max_back, reach, SRC_HASH_LEN);
                if long(&best) {
                    break;
                }
            }
            if !long(&best) {
                for p in self.target.chain(target_head) {
                    self.target_copy(&mut best, p, t, max_back, reach, SRC_HASH_LEN);
                    if long(&best) {
                        break;
                    }
                }
            }
        }
        let slot = (load64(tgt, t).wrapping_mul(K1) >> shift) as usize;
        let prev = table[slot];
        table[slot] = t as u32 + 1;
        if prev != 0 {
            self.target_copy(
                &mut best,
                prev as usize - 1,
                t,
                max_back,
                reach,
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
/// At each position the best of the candidates (see the module's comment);
/// a long one is taken at once, a short one only if the next position
/// offers nothing better (lazy matching: structured text repeats short runs
/// everywhere, and the copy that matters often starts a byte later).
pub fn find_ops(
    src: &[u8],
    index: &ChainIndex,
    tgt: &[u8],
    aligned: isize,
    scratch: &mut Scratch,
    ops: &mut Vec<Op>,
) {
    ops.clear();
    scratch.reset(tgt.len());
    let Scratch {
        shift,
        table,
        cache,
        target,
    } = scratch;
    let n = tgt.len();
    let mut search = Search {
        src,
        cache,
        target,
        index,
        tgt,
        offset: Some(aligned),
        anchor: aligned,
        last_len: usize::MAX,
    };
    let index_target = n <= TARGET_INDEX_MAX;
    let (mut t, mut lit_start) = (0usize, 0usize);
    while t + TGT_HASH_LEN <= n {
        if index_target {
            search.target.extend(tgt, t);
        }
        let mut found = search.best_at(t, lit_start, table, *shift);
        if let Some(c) = &found {
            if c.len < LAZY_BELOW && t + 1 + TGT_HASH_LEN <= n {
                if index_target {
                    search.target.extend(tgt, t + 1);
                }
                if let Some(later) = search.best_at(t + 1, lit_start, table, *shift) {
                    if later.gain > c.gain + 1 {
                        t += 1;
                        found = Some(later);
                    }
                }
            }
        }
        match found {
            Some(c) => {
                search.last_len = c.len;
                let long = matches!(c.op, Op::CopySource { len, .. } if len >= LONG_MATCH);
                emit(ops, c, &mut t, &mut lit_start, &mut search);
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
        let index = ChainIndex::build(src);
        find_ops(src, &index, tgt, 0, &mut Scratch::default(), &mut ops);
        assert_eq!(rebuild(src, &ops, tgt), tgt);
        let (count, added) = summary(&ops);
        assert!(
            count <= 4 && added <= 6,
            "{count} ops, {added} bytes added: {ops:?}"
        );
    }

    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b'a' + (state % 26) as u8
            })
            .collect()
    }

    fn ops_for(src: &[u8], tgt: &[u8]) -> Vec<Op> {
        let mut ops = Vec::new();
        let index = ChainIndex::build(src);
        find_ops(src, &index, tgt, 0, &mut Scratch::default(), &mut ops);
        assert_eq!(rebuild(src, &ops, tgt), tgt);
        ops
    }

    #[test]
    fn a_stretch_the_new_version_repeats_is_one_copy_of_itself() {
        // Records that all begin alike, in a new order: each is a copy of
        // the old version. A stretch over three of them, repeated from
        // inside the first, is one copy of the new version, not three of
        // the old.
        let records: Vec<Vec<u8>> = (0..40)
            .map(|k| [&b"@record:"[..], &noise(k + 10, 92)].concat())
            .collect();
        let src = records.concat();
        let order = [7, 3, 30, 12, 5, 6, 21, 9, 1, 33, 17, 25];
        let mut tgt: Vec<u8> = order.iter().flat_map(|&k| records[k].clone()).collect();
        let from = 4 * 100 + 50; // inside the fifth record of the new order
        tgt.extend_from_within(from..from + 250);
        tgt.extend_from_slice(&records[39]);
        let ops = ops_for(&src, &tgt);
        assert!(
            ops.contains(&Op::CopyTarget {
                pos: from,
                len: 250
            }),
            "the repeated stretch is not one copy: {ops:?}"
        );
    }

    #[test]
    fn a_copy_reaching_back_takes_over_the_short_one_before_it() {
        // The old version has the start of the new one twice: alone, at
        // the aligned place, and then whole elsewhere. The aligned prefix
        // is the first candidate; the whole run, found once the prefix ends,
        // reaches back over it and replaces it.
        let run = noise(3, 600);
        let mut src = run[..20].to_vec();
        src.extend_from_slice(&noise(4, 1001));
        src.extend_from_slice(&run);
        src.extend_from_slice(&noise(5, 500));
        let ops = ops_for(&src, &run);
        assert_eq!(
            ops,
            vec![Op::CopySource {
                pos: 1021,
                len: run.len()
            }],
            "one copy of the whole run"
        );
    }

    #[test]
    fn inputs_shorter_than_any_probe_rebuild() {
        // Sources and targets shorter than the 8 bytes a probe reads, and
        // around it, in bytes that match everywhere.
        for fill in [&b"\0"[..], b"ab", b"abc"] {
            for a in 0..24 {
                for b in 0..48 {
                    let src: Vec<u8> = fill.iter().copied().cycle().take(a).collect();
                    let tgt: Vec<u8> = fill.iter().copied().cycle().skip(1).take(b).collect();
                    ops_for(&src, &tgt);
                }
            }
        }
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
        let index = ChainIndex::build(&src);
        let mut ops = Vec::new();
        find_ops(&src, &index, &tgt, 0, &mut Scratch::default(), &mut ops);
        assert_eq!(rebuild(&src, &ops, &tgt), tgt);
        let (_, added) = summary(&ops);
        assert!(
            added < 40,
            "only edited bytes should be added, got {added}: {ops:?}"
        );
    }
}
