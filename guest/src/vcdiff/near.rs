//! The nearest place of 8 given bytes in a few hundred: the matcher's
//! short-match search around where the text last was.
//!
//! memchr's `memmem` did this before, but in wasm its simd128 searcher cost
//! five times its AVX2 one natively and was an eighth of a small document's
//! encode: a searcher is built per needle, and the nearest match before a
//! place took a forward search through all of them. The needle here is
//! always 8 bytes and the haystack short, so a prefilter on its first and
//! last bytes, 16 positions per step, from either end, serves both
//! directions at once.

use super::matcher::load64;

/// 16 positions per step of the prefilter.
const LANES: usize = 16;
/// The prefilter's step reads the 16 bytes at `i` and those at `i + 7`.
const SPAN: usize = LANES + 7;

/// Bit `j` set when the byte at `i + j` is `first` and the one at `i + j + 7`
/// is `last` (`hay[i..i + SPAN]` in bounds).
#[inline(always)]
fn pair_mask(hay: &[u8], i: usize, first: u8, last: u8) -> u32 {
    let window = &hay[i..i + SPAN];
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        // SAFETY: `window` has SPAN = 23 bytes: both 16-byte loads (at 0
        // and 7) are in it; v128_load needs no alignment.
        let (a, b) = unsafe {
            (
                v128_load(window.as_ptr().cast::<v128>()),
                v128_load(window.as_ptr().add(7).cast::<v128>()),
            )
        };
        let hit = v128_and(
            i8x16_eq(a, u8x16_splat(first)),
            i8x16_eq(b, u8x16_splat(last)),
        );
        u32::from(i8x16_bitmask(hit))
    }
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86_64; both 16-byte loads are in
        // `window`, and _mm_loadu_si128 needs no alignment.
        unsafe {
            let a = _mm_loadu_si128(window.as_ptr().cast::<__m128i>());
            let b = _mm_loadu_si128(window.as_ptr().add(7).cast::<__m128i>());
            let hit = _mm_and_si128(
                _mm_cmpeq_epi8(a, _mm_set1_epi8(first as i8)),
                _mm_cmpeq_epi8(b, _mm_set1_epi8(last as i8)),
            );
            _mm_movemask_epi8(hit) as u32
        }
    }
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    {
        (0..LANES).fold(0, |m, j| {
            m | (u32::from((window[j] == first) & (window[j + 7] == last)) << j)
        })
    }
}

/// The first `i` with `hay[i..i + 8]` equal to `needle` (little-endian).
pub fn first(hay: &[u8], needle: u64) -> Option<usize> {
    let positions = (hay.len() + 1).checked_sub(8)?;
    let [f, .., l] = needle.to_le_bytes();
    let mut i = 0;
    while i + SPAN <= hay.len() {
        let mut m = pair_mask(hay, i, f, l);
        while m != 0 {
            let p = i + m.trailing_zeros() as usize;
            if load64(hay, p) == needle {
                return Some(p);
            }
            m &= m - 1;
        }
        i += LANES;
    }
    (i..positions).find(|&p| load64(hay, p) == needle)
}

/// The last `i` with `hay[i..i + 8]` equal to `needle` (little-endian).
pub fn last(hay: &[u8], needle: u64) -> Option<usize> {
    let positions = (hay.len() + 1).checked_sub(8)?;
    let [f, .., l] = needle.to_le_bytes();
    // Steps of LANES positions down from the end; what is left at the
    // start (fewer than LANES) is checked one by one.
    let mut end = positions;
    while end >= LANES {
        let i = end - LANES;
        let mut m = pair_mask(hay, i, f, l);
        while m != 0 {
            let p = i + 31 - m.leading_zeros() as usize;
            if load64(hay, p) == needle {
                return Some(p);
            }
            m &= !(1 << (p - i));
        }
        end = i;
    }
    (0..end).rev().find(|&p| load64(hay, p) == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(hay: &[u8], needle: &[u8; 8]) -> Vec<usize> {
        hay.windows(8)
            .enumerate()
            .filter(|(_, w)| w == needle)
            .map(|(i, _)| i)
            .collect()
    }

    proptest! {
        // A small alphabet, so that first and last bytes often agree and
        // the full check decides; lengths around the step's edges.
        #[test]
        fn first_and_last_are_the_extreme_matches(
            hay in prop::collection::vec(0u8..3, 0..120),
            needle in prop::array::uniform8(0u8..3),
        ) {
            let all = naive(&hay, &needle);
            let word = u64::from_le_bytes(needle);
            prop_assert_eq!(first(&hay, word), all.first().copied());
            prop_assert_eq!(last(&hay, word), all.last().copied());
        }
    }

    #[test]
    fn short_haystacks_have_no_match() {
        let needle = u64::from_le_bytes(*b"abcdefgh");
        assert_eq!(first(b"abcdefg", needle), None);
        assert_eq!(last(b"", needle), None);
        assert_eq!(first(b"abcdefgh", needle), Some(0));
        assert_eq!(last(b"abcdefgh", needle), Some(0));
    }
}
