//! Dot product, squared L2 distance and norm of an f32 query against a row
//! stored as f32, f16 or i8 (`Element`), converted to f32 lane by lane.
//!
//! Sixteen independent accumulators per pair (`portable_block`): LLVM turns
//! the loop into SIMD (SSE natively) because no lane depends on another,
//! which a single running sum would forbid (float addition is not
//! associative), and the AVX2, AVX-512 and wasm simd128 kernels keep the
//! same lanes. The same independence makes the result a fixed order of
//! additions: the same on every target.

const LANES: usize = 16;

/// What is summed over the lanes of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// x * y: the dot product.
    Product,
    /// (x - y)^2: the squared Euclidean distance.
    SquaredDifference,
    /// x * y, with the query x already multiplied by the row type's
    /// `Element::QUERY_SCALE` and the rows read without it
    /// (`Element::load4_simd128_prescaled`): the same products, one
    /// multiply fewer per four values read. Wasm only (`Index::scan`).
    #[cfg(target_arch = "wasm32")]
    ScaledProduct,
}

/// A stored vector component: f32, IEEE half precision (`F16`), or i8.
pub trait Element: Copy {
    fn to_f32(self) -> f32;

    /// Sixteen values from `p` as f32, in two AVX registers (lanes 0-7 and
    /// 8-15), converted by the hardware (F16C for halves).
    ///
    /// # Safety
    /// `p` points to sixteen readable values; the CPU runs AVX2 and F16C.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load16_avx2(p: *const Self) -> [core::arch::x86_64::__m256; 2];

    /// The same sixteen values in one AVX-512 register.
    ///
    /// # Safety
    /// `p` points to sixteen readable values; the CPU runs AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load16_avx512(p: *const Self) -> core::arch::x86_64::__m512;

    /// Four values from `p` as f32, in one v128 (wasm's simd128),
    /// converted exactly as `to_f32` converts each.
    ///
    /// # Safety
    /// `p` points to four readable values.
    #[cfg(target_arch = "wasm32")]
    unsafe fn load4_simd128(p: *const Self) -> core::arch::wasm32::v128;

    /// What a query may be multiplied by for `load4_simd128_prescaled`
    /// to read rows of this type (`Term::ScaledProduct`); 1 where that
    /// saves nothing.
    #[cfg(target_arch = "wasm32")]
    const QUERY_SCALE: f32 = 1.0;

    /// `load4_simd128`'s values divided by `QUERY_SCALE`, exactly.
    ///
    /// # Safety
    /// `p` points to four readable values.
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    unsafe fn load4_simd128_prescaled(p: *const Self) -> core::arch::wasm32::v128 {
        // SAFETY: passed on from the caller.
        unsafe { Self::load4_simd128(p) }
    }

    /// `block` for rows of this type.
    ///
    /// In wasm, written with simd128 intrinsics (`simd128::block`): what
    /// LLVM makes of the portable loop, Cranelift compiles into code about
    /// five times slower than the native build of the same loop. For f16
    /// and i8 rows (converted lane by lane there) one query over 100k x 384
    /// on two threads, the Rust host, went from 36.6 to 9.3 ms and from
    /// 11.0 to 5.0-5.7 (f32: 6.6-7.1), a batch of 64 from 606 to 172 ms and
    /// from 327 to 147 (f32: 143). Same lanes, same order of additions, so
    /// the same results.
    #[inline(always)]
    fn block<const Q: usize, const R: usize>(
        queries: [&[f32]; Q],
        rows: [&[Self]; R],
        term: Term,
    ) -> [[f32; R]; Q] {
        #[cfg(target_arch = "wasm32")]
        return match term {
            Term::Product => simd128::block::<Self, Q, R, false, false>(queries, rows),
            Term::SquaredDifference => simd128::block::<Self, Q, R, true, false>(queries, rows),
            Term::ScaledProduct => simd128::block::<Self, Q, R, false, true>(queries, rows),
        };
        #[cfg(not(target_arch = "wasm32"))]
        match term {
            Term::Product => portable_block(queries, rows, |x, y| x * y),
            Term::SquaredDifference => portable_block(queries, rows, |x, y| (x - y) * (x - y)),
        }
    }
}

impl Element for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn load16_avx2(p: *const f32) -> [core::arch::x86_64::__m256; 2] {
        use core::arch::x86_64::*;
        [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load16_avx512(p: *const f32) -> core::arch::x86_64::__m512 {
        core::arch::x86_64::_mm512_loadu_ps(p)
    }

    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    unsafe fn load4_simd128(p: *const f32) -> core::arch::wasm32::v128 {
        // SAFETY: passed on from the caller; v128.load needs no alignment.
        unsafe { core::arch::wasm32::v128_load(p.cast()) }
    }
}

impl Element for i8 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn load16_avx2(p: *const i8) -> [core::arch::x86_64::__m256; 2] {
        use core::arch::x86_64::*;
        let eight = |p: *const i8| {
            _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast::<__m128i>())))
        };
        [eight(p), eight(p.add(8))]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load16_avx512(p: *const i8) -> core::arch::x86_64::__m512 {
        use core::arch::x86_64::*;
        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p.cast::<__m128i>())))
    }

    /// Four bytes, sign-extended twice and converted (exact: every i8 is
    /// an f32).
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    unsafe fn load4_simd128(p: *const i8) -> core::arch::wasm32::v128 {
        use core::arch::wasm32::*;
        // SAFETY: passed on from the caller; the load needs no alignment.
        let bytes = unsafe { v128_load32_zero(p.cast()) };
        f32x4_convert_i32x4(i32x4_extend_low_i16x8(i16x8_extend_low_i8x16(bytes)))
    }
}

/// The bits of an IEEE 754 half-precision number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub struct F16(pub u16);

impl Element for F16 {
    /// Branch-free (so it vectorizes): the magnitude's bits moved into an
    /// f32 and scaled by 2^112 re-biases the exponent, subnormals included.
    /// Stored halves are finite (`F16::from_f32` refuses the rest).
    #[inline(always)]
    fn to_f32(self) -> f32 {
        let magnitude =
            f32::from_bits(u32::from(self.0 & 0x7fff) << 13) * f32::from_bits(0x7780_0000);
        f32::from_bits(magnitude.to_bits() | (u32::from(self.0 & 0x8000) << 16))
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn load16_avx2(p: *const F16) -> [core::arch::x86_64::__m256; 2] {
        use core::arch::x86_64::*;
        let eight = |p: *const F16| _mm256_cvtph_ps(_mm_loadu_si128(p.cast::<__m128i>()));
        [eight(p), eight(p.add(8))]
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load16_avx512(p: *const F16) -> core::arch::x86_64::__m512 {
        use core::arch::x86_64::*;
        _mm512_cvtph_ps(_mm256_loadu_si256(p.cast::<__m256i>()))
    }

    /// `to_f32` four lanes at a time (wasm has no half-precision
    /// conversion), with the sign kept in place instead of or-ed in after:
    /// the halves' bits in place (`load4_simd128_prescaled`) times 2^112,
    /// a product that is exact and symmetric in the sign, so the bits are
    /// `to_f32`'s with four instructions, not seven.
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    unsafe fn load4_simd128(p: *const F16) -> core::arch::wasm32::v128 {
        use core::arch::wasm32::*;
        // SAFETY: passed on from the caller.
        let bits = unsafe { Self::load4_simd128_prescaled(p) };
        f32x4_mul(bits, f32x4_splat(Self::QUERY_SCALE))
    }

    /// 2^112: the factor between a half's bits moved into an f32's
    /// (`load4_simd128_prescaled`) and its value.
    #[cfg(target_arch = "wasm32")]
    const QUERY_SCALE: f32 = f32::from_bits(0x7780_0000);

    /// Each half sign-extended and shifted puts its sign in bit 31 and its
    /// magnitude in bits 13-27 (the mask clears the extension's copies in
    /// 28-30): an f32 of the half's value over 2^112, exactly (a subnormal
    /// half gives a subnormal f32, no bit lost). A query multiplied by
    /// 2^112 (exact while it stays finite) times these gives the products
    /// of the query and the halves, bit for bit: each side of a product
    /// is exact, so both round the same real number. One query over 100k x
    /// 384 halves, top-10 cosine on two threads, the Rust host, in
    /// alternate runs: 9.7-10.4 ms -> 8.2-8.7.
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    unsafe fn load4_simd128_prescaled(p: *const F16) -> core::arch::wasm32::v128 {
        use core::arch::wasm32::*;
        // SAFETY: passed on from the caller (F16 is a transparent u16); the
        // load needs no alignment.
        let h = unsafe { i32x4_load_extend_i16x4(p.cast()) };
        v128_and(i32x4_shl(h, 13), u32x4_splat(0x8fff_e000))
    }
}

impl F16 {
    /// The nearest half (ties to even), or None beyond its range (65504).
    pub fn from_f32(x: f32) -> Option<F16> {
        let h = half::f16::from_f32(x);
        h.is_finite().then(|| F16(h.to_bits()))
    }
}

/// How a block of pairs is summed: `Portable` (LLVM's vectorization of
/// `portable_block` for the target's baseline, and simd128 intrinsics in
/// wasm) or, on x86_64, `Avx2` and `Avx512` (intrinsics, `x86::block`;
/// LLVM's own AVX2 code for the portable loop ran at a third of their speed
/// unless tuned for one CPU). All give the same bits.
pub trait Kernel {
    /// `Element::block`, this kernel's way.
    ///
    /// # Safety
    /// The CPU runs the instructions the kernel uses (`Avx2`: AVX2, F16C;
    /// `Avx512`: AVX-512F as well).
    unsafe fn block<T: Element, const Q: usize, const R: usize>(
        queries: [&[f32]; Q],
        rows: [&[T]; R],
        term: Term,
    ) -> [[f32; R]; Q];

    /// Asks the CPU to start loading `row` into its outer caches, where the
    /// kernel has a way to (a hint: no fault, no effect on results).
    #[inline(always)]
    fn prefetch<T>(_row: &[T]) {}
}

pub struct Portable;

impl Kernel for Portable {
    #[inline(always)]
    unsafe fn block<T: Element, const Q: usize, const R: usize>(
        queries: [&[f32]; Q],
        rows: [&[T]; R],
        term: Term,
    ) -> [[f32; R]; Q] {
        T::block(queries, rows, term)
    }
}

/// The x86_64 kernels: `x86::block` over the registers `V`, rows
/// prefetched into L2.
#[cfg(target_arch = "x86_64")]
pub struct Wide<V>(std::marker::PhantomData<V>);

/// AVX2 and F16C: a pair's sixteen lanes in two `__m256`.
#[cfg(target_arch = "x86_64")]
pub type Avx2 = Wide<[core::arch::x86_64::__m256; 2]>;

/// AVX-512F: a pair's sixteen lanes in one `__m512`, half the instructions.
#[cfg(target_arch = "x86_64")]
pub type Avx512 = Wide<core::arch::x86_64::__m512>;

#[cfg(target_arch = "x86_64")]
impl<V: x86::Lanes> Kernel for Wide<V> {
    #[inline(always)]
    unsafe fn block<T: Element, const Q: usize, const R: usize>(
        queries: [&[f32]; Q],
        rows: [&[T]; R],
        term: Term,
    ) -> [[f32; R]; Q] {
        match term {
            Term::Product => x86::block::<V, T, Q, R, false>(queries, rows),
            Term::SquaredDifference => x86::block::<V, T, Q, R, true>(queries, rows),
        }
    }

    /// Every cache line of `row` into L2 (`T2`: not L1, which the rows
    /// being scored need). The hardware prefetchers alone left a single
    /// query at two thirds of the memory's speed (`PREFETCH_BYTES` has the
    /// numbers).
    #[inline(always)]
    fn prefetch<T>(row: &[T]) {
        let p = row.as_ptr().cast::<i8>();
        let bytes = std::mem::size_of_val(row);
        let mut at = 0;
        while at < bytes {
            // SAFETY: a prefetch never faults, and `at` stays within `row`.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T2 }>(p.add(at))
            };
            at += 64;
        }
    }
}

/// Sum over i of a[i] * b[i]. The slices must have the same length.
pub fn dot<T: Element>(a: &[f32], b: &[T]) -> f32 {
    T::block([a], [b], Term::Product)[0][0]
}

/// Sum over i of (a[i] - b[i])^2. The slices must have the same length.
pub fn squared_l2<T: Element>(a: &[f32], b: &[T]) -> f32 {
    T::block([a], [b], Term::SquaredDifference)[0][0]
}

/// The Euclidean norm of `a`.
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Sum over i of term(a[i], b[i]), in the lanes and order of `block`.
#[inline(always)]
pub fn reduce<T: Element>(a: &[f32], b: &[T], term: impl Fn(f32, f32) -> f32 + Copy) -> f32 {
    portable_block::<T, 1, 1>([a], [b], term)[0][0]
}

/// The sums of `term` of each of the Q queries against each of the R rows,
/// at once (`Element::block` picks the implementation):
/// a chunk of a row, once loaded, serves every query (a batch search is
/// bound by arithmetic, not memory, and this is what makes it so). Every
/// pair is summed in the same order whatever Q and R are, so a score does
/// not depend on how searches were grouped.
#[inline(always)]
pub fn portable_block<T: Element, const Q: usize, const R: usize>(
    queries: [&[f32]; Q],
    rows: [&[T]; R],
    term: impl Fn(f32, f32) -> f32 + Copy,
) -> [[f32; R]; Q] {
    let dim = queries[0].len();
    for q in &queries {
        assert_eq!(q.len(), dim, "vectors of different lengths");
    }
    for r in &rows {
        assert_eq!(r.len(), dim, "vectors of different lengths");
    }
    let mut acc = [[[0.0f32; LANES]; R]; Q];
    // Every index below is static, so that the accumulators live in
    // (SIMD) registers: an index only known at run time would put them in
    // memory, and in wasm every memory access is bounds-checked.
    let step = |acc: &mut [[[f32; LANES]; R]; Q], x: [[f32; LANES]; Q], y: [[f32; LANES]; R]| {
        for q in 0..Q {
            for r in 0..R {
                for l in 0..LANES {
                    acc[q][r][l] += term(x[q][l], y[r][l]);
                }
            }
        }
    };
    let whole = dim / LANES;
    for c in 0..whole {
        let x = queries.map(|q| -> [f32; LANES] { q[c * LANES..][..LANES].try_into().unwrap() });
        let y = rows.map(|r| -> [f32; LANES] {
            let chunk: &[T; LANES] = r[c * LANES..][..LANES].try_into().unwrap();
            chunk.map(Element::to_f32)
        });
        step(&mut acc, x, y);
    }
    if !dim.is_multiple_of(LANES) {
        // The tail, padded with zeros (a zero term leaves a lane as it was).
        let pad = |v: &mut dyn Iterator<Item = f32>| {
            let mut out = [0.0f32; LANES];
            for (o, x) in out.iter_mut().zip(v) {
                *o = x;
            }
            out
        };
        let x = queries.map(|q| pad(&mut q[whole * LANES..].iter().copied()));
        let y = rows.map(|r| pad(&mut r[whole * LANES..].iter().map(|e| e.to_f32())));
        step(&mut acc, x, y);
    }
    let mut out = [[0.0f32; R]; Q];
    for q in 0..Q {
        for r in 0..R {
            // Pairwise, so that the sum's rounding error stays small.
            let a = &mut acc[q][r];
            let mut width = LANES;
            while width > 1 {
                width /= 2;
                for l in 0..width {
                    a[l] += a[l + width];
                }
            }
            out[q][r] = a[0];
        }
    }
    out
}

#[cfg(target_arch = "wasm32")]
mod simd128 {
    use super::{Element, LANES};
    use core::arch::wasm32::*;

    const _: () = assert!(LANES == 16, "four v128 per pair");

    /// Four values at `p` as f32: divided by `T::QUERY_SCALE` if `SCALED`.
    ///
    /// # Safety
    /// `p` points to four readable values.
    #[inline(always)]
    unsafe fn load4<T: Element, const SCALED: bool>(p: *const T) -> v128 {
        // SAFETY: passed on from the caller.
        unsafe {
            if SCALED {
                T::load4_simd128_prescaled(p)
            } else {
                T::load4_simd128(p)
            }
        }
    }

    /// The sixteen values at `p`, as four v128 of f32 (`load4`).
    ///
    /// # Safety
    /// `p` points to sixteen readable values.
    #[inline(always)]
    unsafe fn load<T: Element, const SCALED: bool>(p: *const T) -> [v128; 4] {
        // SAFETY: passed on from the caller.
        unsafe {
            [
                load4::<T, SCALED>(p),
                load4::<T, SCALED>(p.add(4)),
                load4::<T, SCALED>(p.add(8)),
                load4::<T, SCALED>(p.add(12)),
            ]
        }
    }

    /// The lanes of `v` from `from` on (fewer than sixteen), zero-padded,
    /// divided by `T::QUERY_SCALE` if `SCALED` (a power of two: exact, as
    /// `load4` is). One lane at a time: `copy_from_slice` into a buffer
    /// would be a memcpy, a call (see `block`).
    #[inline(always)]
    fn padded<T: Element, const SCALED: bool>(v: &[T], from: usize) -> [v128; 4] {
        let scale = if SCALED { 1.0 / T::QUERY_SCALE } else { 1.0 };
        let mut out = [0.0f32; 16];
        for (k, o) in out.iter_mut().enumerate() {
            if let Some(&x) = v.get(from + k) {
                *o = x.to_f32() * scale;
            }
        }
        // SAFETY: `out` is sixteen f32.
        unsafe { load::<f32, false>(out.as_ptr()) }
    }

    /// Shaped for Cranelift. A value live across a call (which clobbers
    /// every vector register) is kept in a stack slot, and the epoch check
    /// at each loop's back edge has a call on its slow path: so the
    /// accumulators are stored and reloaded every iteration, and that
    /// store-to-load latency lengthens each accumulator's chain of
    /// additions. Four steps an iteration pay it once per 64 lanes (one
    /// query over 100k x 384 on two threads, the Rust host: 9.9-10.2 ->
    /// 8.6-9.1 ms, measured side by side). Nothing else calls: the tail is
    /// padded lane by lane, and the loads are unchecked (the slices'
    /// lengths are asserted once), where a failed check would call the
    /// panic handler. Rows of halves or bytes are converted as they are
    /// loaded (`Element::load4_simd128`), four lanes at a time.
    pub fn block<T: Element, const Q: usize, const R: usize, const L2: bool, const SCALED: bool>(
        queries: [&[f32]; Q],
        rows: [&[T]; R],
    ) -> [[f32; R]; Q] {
        let dim = queries[0].len();
        assert!(queries.iter().all(|q| q.len() == dim) && rows.iter().all(|r| r.len() == dim));
        let mut acc = [[[f32x4_splat(0.0); 4]; R]; Q];
        // An accumulator plus one term: a product, or a squared difference.
        let add_term = |a: v128, x: v128, y: v128| {
            let t = if L2 {
                let d = f32x4_sub(x, y);
                f32x4_mul(d, d)
            } else {
                f32x4_mul(x, y)
            };
            f32x4_add(a, t)
        };
        let step = |acc: &mut [[[v128; 4]; R]; Q], x: [[v128; 4]; Q], y: [[v128; 4]; R]| {
            for q in 0..Q {
                for r in 0..R {
                    for j in 0..4 {
                        acc[q][r][j] = add_term(acc[q][r][j], x[q][j], y[r][j]);
                    }
                }
            }
        };
        let whole = dim - dim % 16;
        // The step over lanes at..at + 16, for at + 16 <= whole.
        let step_at = |acc: &mut [[[v128; 4]; R]; Q], at: usize| {
            debug_assert!(at + 16 <= whole);
            if Q == 1 {
                // One query: `step`'s sums with each v128 loaded just before
                // its use, the order LLVM then emits (loading whole steps
                // first, as `step`'s arguments, measured 7.2-7.7 -> 6.6-6.7 ms
                // for one query over 100k x 384 on two threads, two streams).
                // Cranelift does not keep it: its egraph pass places each
                // pure instruction (every multiply and add) just before its
                // first side-effecting use, and a load (which may trap) is
                // one, so an iteration's loads run first and are spilled
                // until the arithmetic at the loop's back edge (`perf
                // annotate`). A volatile store of each accumulator after its
                // update pins the arithmetic in place (no spill left):
                // measured the same speed, 5.6-6.1 ms against 5.5-6.0, with
                // `f32x4.relaxed_madd` as well 6.2-6.8 against 6.3-6.9: the
                // single query waits on memory, not on these instructions
                // (`SINGLE_ROWS` in index.rs). A batch, whose rows are in
                // cache and whose query values serve every row, was 10%
                // slower with per-use loads.
                #[allow(clippy::needless_range_loop)] // j also places the loads
                for j in 0..4 {
                    // SAFETY: every slice holds `dim` values (asserted),
                    // and at + 4j + 4 <= whole <= dim.
                    let x = unsafe { f32::load4_simd128(queries[0].as_ptr().add(at + 4 * j)) };
                    for r in 0..R {
                        // SAFETY: as for `x`.
                        let y = unsafe { load4::<T, SCALED>(rows[r].as_ptr().add(at + 4 * j)) };
                        acc[0][r][j] = add_term(acc[0][r][j], x, y);
                    }
                }
            } else {
                // SAFETY: every slice holds `dim` values (asserted), and at + 16 <= whole <= dim.
                let (x, y) = unsafe {
                    (
                        queries.map(|q| load::<f32, false>(q.as_ptr().add(at))),
                        rows.map(|r| load::<T, SCALED>(r.as_ptr().add(at))),
                    )
                };
                step(acc, x, y);
            }
        };
        let mut i = 0;
        while i + 64 <= whole {
            for u in 0..4 {
                step_at(&mut acc, i + 16 * u);
            }
            i += 64;
        }
        while i < whole {
            step_at(&mut acc, i);
            i += 16;
        }
        if whole < dim {
            step(
                &mut acc,
                queries.map(|q| padded::<f32, false>(q, whole)),
                rows.map(|r| padded::<T, SCALED>(r, whole)),
            );
        }
        // The portable version's pairwise sum: lanes i += i+8, i += i+4,
        // i += i+2, i += i+1, where lanes 4j..4j+3 are acc[j].
        acc.map(|per_row| {
            per_row.map(|[a0, a1, a2, a3]| {
                let b0 = f32x4_add(a0, a2);
                let b1 = f32x4_add(a1, a3);
                let c = f32x4_add(b0, b1);
                let l = |n| match n {
                    0 => f32x4_extract_lane::<0>(c),
                    1 => f32x4_extract_lane::<1>(c),
                    2 => f32x4_extract_lane::<2>(c),
                    _ => f32x4_extract_lane::<3>(c),
                };
                (l(0) + l(2)) + (l(1) + l(3))
            })
        })
    }
}

/// The AVX2 and AVX-512 kernels: one `block`, over the registers that hold
/// a pair's sixteen lanes (`Lanes`): two `__m256` or one `__m512`. Each
/// lane is multiplied then added (never fused) in the portable order, and
/// reduced pairwise as `portable_block` does (l += l+8, l += l+4, l += l+2,
/// l += l+1), so both widths give its bits.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Element, LANES};
    use core::arch::x86_64::*;

    const _: () = assert!(LANES == 16, "two __m256 or one __m512 per pair");

    /// A pair's sixteen lanes in registers of one width.
    ///
    /// # Safety
    /// Every method needs the CPU to run that width (`[__m256; 2]`: AVX2
    /// and F16C; `__m512`: AVX-512F as well).
    pub trait Lanes: Copy {
        unsafe fn zero() -> Self;
        /// Sixteen values from `p` (readable), as f32.
        unsafe fn load<T: Element>(p: *const T) -> Self;
        /// `self` plus, lane by lane, `x * y` or (L2) `(x - y)^2`.
        unsafe fn add_term<const L2: bool>(self, x: Self, y: Self) -> Self;
        /// The sixteen lanes summed pairwise.
        unsafe fn sum(self) -> f32;
    }

    impl Lanes for [__m256; 2] {
        #[inline(always)]
        unsafe fn zero() -> Self {
            [_mm256_setzero_ps(); 2]
        }

        #[inline(always)]
        unsafe fn load<T: Element>(p: *const T) -> Self {
            T::load16_avx2(p)
        }

        #[inline(always)]
        unsafe fn add_term<const L2: bool>(self, x: Self, y: Self) -> Self {
            let mut sum = self;
            for j in 0..2 {
                let t = if L2 {
                    let d = _mm256_sub_ps(x[j], y[j]);
                    _mm256_mul_ps(d, d)
                } else {
                    _mm256_mul_ps(x[j], y[j])
                };
                sum[j] = _mm256_add_ps(self[j], t);
            }
            sum
        }

        #[inline(always)]
        unsafe fn sum(self) -> f32 {
            let [a0, a1] = self;
            let c = _mm256_add_ps(a0, a1);
            let d = _mm_add_ps(_mm256_castps256_ps128(c), _mm256_extractf128_ps::<1>(c));
            let e = _mm_add_ps(d, _mm_movehl_ps(d, d));
            let f = _mm_add_ss(e, _mm_shuffle_ps::<1>(e, e));
            _mm_cvtss_f32(f)
        }
    }

    impl Lanes for __m512 {
        #[inline(always)]
        unsafe fn zero() -> Self {
            _mm512_setzero_ps()
        }

        #[inline(always)]
        unsafe fn load<T: Element>(p: *const T) -> Self {
            T::load16_avx512(p)
        }

        #[inline(always)]
        unsafe fn add_term<const L2: bool>(self, x: Self, y: Self) -> Self {
            let t = if L2 {
                let d = _mm512_sub_ps(x, y);
                _mm512_mul_ps(d, d)
            } else {
                _mm512_mul_ps(x, y)
            };
            _mm512_add_ps(self, t)
        }

        #[inline(always)]
        unsafe fn sum(self) -> f32 {
            // Lanes 0-7 and 8-15 as two __m256: the same pairwise sum.
            let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(self)));
            [_mm512_castps512_ps256(self), high].sum()
        }
    }

    /// Sixteen values of `v` from `at`, zeros past its end.
    #[inline(always)]
    unsafe fn padded<V: Lanes, T: Element>(v: &[T], at: usize) -> V {
        let mut out = [0.0f32; 16];
        for (o, x) in out.iter_mut().zip(&v[at..]) {
            *o = x.to_f32();
        }
        V::load(out.as_ptr())
    }

    /// `portable_block` in registers `V`.
    ///
    /// # Safety
    /// The CPU runs `V`'s instructions. Not a `target_feature` function, so
    /// that it can be always inlined into its caller, which is one (a call
    /// per row block cost 30% of a batch when LLVM chose not to inline it).
    #[inline(always)]
    pub unsafe fn block<V: Lanes, T: Element, const Q: usize, const R: usize, const L2: bool>(
        queries: [&[f32]; Q],
        rows: [&[T]; R],
    ) -> [[f32; R]; Q] {
        let dim = queries[0].len();
        assert!(queries.iter().all(|q| q.len() == dim) && rows.iter().all(|r| r.len() == dim));
        let mut acc = [[V::zero(); R]; Q];
        // Functions and loops, not closures: a closure (an array's `map`
        // included) does not inherit the caller's target features, and
        // LLVM then left every intrinsic in it a call (a batch of 8 over
        // 20k x 128 ran 7x slower).
        #[inline(always)]
        unsafe fn step<V: Lanes, const Q: usize, const R: usize, const L2: bool>(
            acc: &mut [[V; R]; Q],
            x: [V; Q],
            y: [V; R],
        ) {
            for q in 0..Q {
                for r in 0..R {
                    acc[q][r] = acc[q][r].add_term::<L2>(x[q], y[r]);
                }
            }
        }
        let whole = dim - dim % 16;
        let mut i = 0;
        while i < whole {
            // SAFETY: i + 16 <= whole <= dim, the length of every slice.
            let x = queries.map(|q| V::load(q.as_ptr().add(i)));
            let y = rows.map(|r| V::load(r.as_ptr().add(i)));
            step::<V, Q, R, L2>(&mut acc, x, y);
            i += 16;
        }
        if whole < dim {
            step::<V, Q, R, L2>(
                &mut acc,
                queries.map(|q| padded(q, whole)),
                rows.map(|r| padded(r, whole)),
            );
        }
        let mut out = [[0.0f32; R]; Q];
        for q in 0..Q {
            for r in 0..R {
                out[q][r] = acc[q][r].sum();
            }
        }
        out
    }
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
    fn halves_convert_exactly() {
        for bits in 0..=u16::MAX {
            let h = half::f16::from_bits(bits);
            if h.is_finite() {
                assert_eq!(
                    F16(bits).to_f32().to_bits(),
                    h.to_f32().to_bits(),
                    "{bits:#x}"
                );
            }
        }
        assert_eq!(F16::from_f32(1.0), Some(F16(0x3c00)));
        assert_eq!(F16::from_f32(65504.0), Some(F16(0x7bff)));
        assert_eq!(F16::from_f32(70000.0), None);
        assert_eq!(dot(&[2.0, 3.0], &[F16(0x3c00), F16(0xc000)]), -4.0);
        assert_eq!(dot(&[2.0, 3.0], &[1i8, -2]), -4.0);
    }

    #[test]
    fn small_and_empty() {
        assert_eq!(dot::<f32>(&[], &[]), 0.0);
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
        assert_eq!(squared_l2(&[1.0, 2.0], &[4.0, 6.0]), 25.0);
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
    }
}
