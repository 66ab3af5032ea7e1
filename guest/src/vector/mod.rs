//! Vector similarity: the kernels (cosine, dot, L2) and exact top-k.
//!
//! Plain Rust, tested natively against a float64 reference; the component
//! exports the index through the WIT interface `vector`. Scores: cosine similarity and dot product rank highest first; L2
//! is the Euclidean distance and ranks lowest first. A zero vector has
//! cosine similarity 0 with everything. Inputs must be finite: NaN and
//! infinities are refused where vectors enter (`check_finite`), so the
//! kernels never see them and every ranking is a total order.

pub mod format;
pub mod index;
pub mod kernels;
mod rows;
pub mod simd;
pub mod topk;

pub use index::{check_similarity, similarity, similarity_each, similarity_shape, Index, Storage};
pub use kernels::{dot, norm, squared_l2};
pub use topk::{top_k, Hit, TopK};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Cosine,
    Dot,
    L2,
}

impl Metric {
    /// True when a higher score is a better match.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::L2)
    }

    /// The score of `a` against `b` (same length).
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Dot => dot(a, b),
            Metric::L2 => squared_l2(a, b).sqrt(),
            Metric::Cosine => {
                let denom = norm(a) * norm(b);
                if denom == 0.0 {
                    0.0
                } else {
                    (dot(a, b) / denom).clamp(-1.0, 1.0)
                }
            }
        }
    }
}

/// Refuses NaN and infinities, naming the first offending position.
pub fn check_finite(values: &[f32], dim: usize) -> Result<()> {
    match first_non_finite(values) {
        None => Ok(()),
        Some(i) => Err(non_finite(values, i, dim)),
    }
}

/// Where the first NaN or infinity of `values` is.
pub(crate) fn first_non_finite(values: &[f32]) -> Option<usize> {
    // A chunk at a time, without an early exit inside it, so that the test
    // vectorizes (a plain `position` checked a value a cycle or worse:
    // seconds for a million vectors); the position is found in the bad chunk.
    const CHUNK: usize = 256;
    let bad_chunk = values
        .chunks(CHUNK)
        .position(|c| c.iter().fold(false, |bad, v| bad | !v.is_finite()))?;
    let start = bad_chunk * CHUNK;
    values[start..]
        .iter()
        .position(|v| !v.is_finite())
        .map(|i| start + i)
}

/// The refusal of the value at `values[i]`, vectors being `dim` long.
pub(crate) fn non_finite(values: &[f32], i: usize, dim: usize) -> Error {
    Error::invalid(format!(
        "vector {} has a non-finite value ({}) at position {}",
        i / dim.max(1),
        values[i],
        i % dim.max(1)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_zero_vectors_is_zero_and_scores_are_bounded() {
        assert_eq!(Metric::Cosine.score(&[0.0; 4], &[1.0, 2.0, 3.0, 4.0]), 0.0);
        assert_eq!(Metric::Cosine.score(&[1.0, 2.0], &[2.0, 4.0]), 1.0);
        assert_eq!(Metric::Cosine.score(&[1.0, 0.0], &[-3.0, 0.0]), -1.0);
        assert_eq!(Metric::L2.score(&[0.0, 3.0], &[4.0, 0.0]), 5.0);
        assert!(!Metric::L2.higher_is_better() && Metric::Dot.higher_is_better());
    }

    #[test]
    fn refuses_non_finite_values() {
        assert!(check_finite(&[1.0, 2.0, 3.0, 4.0], 2).is_ok());
        let e = check_finite(&[1.0, 2.0, 3.0, f32::NAN], 2).unwrap_err();
        assert!(e.message.contains("vector 1") && e.message.contains("position 1"));
        assert!(check_finite(&[f32::INFINITY], 1).is_err());
        // The first bad value is named, wherever its chunk is.
        let mut long = vec![0.5f32; 1000];
        long[700] = f32::NEG_INFINITY;
        long[900] = f32::NAN;
        let e = check_finite(&long, 10).unwrap_err();
        assert!(
            e.message.contains("vector 70 ") && e.message.contains("position 0"),
            "{}",
            e.message
        );
    }
}
