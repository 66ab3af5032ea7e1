//! Which SIMD the scoring loop runs with, natively.
//!
//! The kernels (`kernels`) are portable Rust written so that LLVM turns their
//! sixteen independent lanes into SIMD: simd128 in wasm, the target's
//! baseline natively (SSE2 on x86_64, NEON on aarch64). On x86_64 the loop
//! is also compiled for AVX2 and for AVX-512 (`Index::scan_*`), and the
//! widest this CPU runs is chosen at run time. Every width performs the same
//! operations in the same order (Rust never fuses a multiply and an add on
//! its own), so the scores are bit-identical at every level, and to the
//! component's; the tests hold them to that.

use std::sync::atomic::{AtomicU8, Ordering};

/// An instruction set the scoring loop is compiled for, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The target's own: simd128 (wasm), SSE2 (x86_64), NEON (aarch64).
    Baseline = 1,
    Avx2 = 2,
    Avx512 = 3,
}

/// 0 until detected.
static LEVEL: AtomicU8 = AtomicU8::new(0);

impl Level {
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline if cfg!(target_arch = "wasm32") => "simd128",
            Level::Baseline if cfg!(target_arch = "aarch64") => "neon",
            Level::Baseline if cfg!(target_arch = "x86_64") => "sse2",
            Level::Baseline => "baseline",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Whether this CPU runs it (and this build has it).
    pub fn supported(self) -> bool {
        match self {
            Level::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && Level::Avx2.supported()
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    fn widest() -> Level {
        Level::ALL
            .into_iter()
            .rfind(|l| l.supported())
            .unwrap_or(Level::Baseline)
    }
}

/// The level in use: the widest this CPU runs unless `set_level` chose another.
#[inline]
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        1 => Level::Baseline,
        2 => Level::Avx2,
        3 => Level::Avx512,
        _ => {
            let widest = Level::widest();
            LEVEL.store(widest as u8, Ordering::Relaxed);
            widest
        }
    }
}

/// Uses `wanted` from now on, or the widest supported below it; returns the
/// level in effect. (For tests and benchmarks: every level gives the same
/// scores, so a change while searches run changes only their speed.)
pub fn set_level(wanted: Level) -> Level {
    let chosen = Level::ALL
        .into_iter()
        .rfind(|l| *l <= wanted && l.supported())
        .unwrap_or(Level::Baseline);
    LEVEL.store(chosen as u8, Ordering::Relaxed);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_clamped_to_what_runs() {
        assert_eq!(set_level(Level::Baseline), Level::Baseline);
        assert_eq!(level(), Level::Baseline);
        let widest = set_level(Level::Avx512);
        assert!(widest.supported());
        assert_eq!(level(), widest);
        let names: std::collections::HashSet<_> = Level::ALL.map(Level::name).into();
        assert_eq!(names.len(), 3);
    }
}
