//! Dot product, squared L2 distance and norm over f32 slices.
//!
//! Sixteen independent accumulators: LLVM turns each loop into SIMD (wasm
//! simd128, SSE/AVX natively) because no lane depends on another, which a
//! single running sum would forbid (float addition is not associative).
//! The same independence makes the result a fixed order of additions: the
//! same on every target.

const LANES: usize = 16;

/// Sum over i of a[i] * b[i]. The slices must have the same length.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    reduce(a, b, |x, y| x * y)
}

/// Sum over i of (a[i] - b[i])^2. The slices must have the same length.
pub fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    reduce(a, b, |x, y| (x - y) * (x - y))
}

/// The Euclidean norm of `a`.
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

#[inline(always)]
fn reduce(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    assert_eq!(a.len(), b.len(), "vectors of different lengths");
    let mut acc = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += term(x[i], y[i]);
        }
    }
    for (i, (&x, &y)) in ra.iter().zip(rb).enumerate() {
        acc[i] += term(x, y);
    }
    // Pairwise, so that the sum's rounding error stays small.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    acc[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(a: &[f32], b: &[f32]) -> (f64, f64) {
        let d = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
        let l = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
            .sum();
        (d, l)
    }

    proptest! {
        #[test]
        fn agrees_with_a_float64_reference(pairs in proptest::collection::vec((-1.0f32..1.0, -1.0f32..1.0), 0..700)) {
            let (a, b): (Vec<f32>, Vec<f32>) = pairs.into_iter().unzip();
            let (d, l) = reference(&a, &b);
            // Error bound of a sum of n terms of magnitude <= 1 (and 4 for L2).
            let tol = 1e-6 * (a.len() as f64 + 1.0);
            prop_assert!((dot(&a, &b) as f64 - d).abs() <= tol, "dot {} vs {}", dot(&a, &b), d);
            prop_assert!((squared_l2(&a, &b) as f64 - l).abs() <= 4.0 * tol);
        }
    }

    #[test]
    fn small_and_empty() {
        assert_eq!(dot(&[], &[]), 0.0);
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
        assert_eq!(squared_l2(&[1.0, 2.0], &[4.0, 6.0]), 25.0);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
    }
}
