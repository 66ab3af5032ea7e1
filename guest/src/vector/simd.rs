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
//!
//! Also here: the size of this CPU's last-level cache, which decides how far
//! ahead the native kernels prefetch (`Index`'s `PREFETCH_*`).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

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

/// Assumed where the size cannot be read (not Linux, no sysfs): a common
/// server L3.
const DEFAULT_LAST_LEVEL_CACHE: usize = 32 << 20;

/// Bytes of the largest CPU cache: what sysfs says for CPU 0's highest-level
/// cache on Linux, else `DEFAULT_LAST_LEVEL_CACHE`. Read once.
pub fn last_level_cache() -> usize {
    static BYTES: OnceLock<usize> = OnceLock::new();
    *BYTES.get_or_init(|| read_last_level_cache().unwrap_or(DEFAULT_LAST_LEVEL_CACHE))
}

/// The `size` of the `index*` entry with the highest `level` under
/// `/sys/devices/system/cpu/cpu0/cache` ("491520K", "32M").
fn read_last_level_cache() -> Option<usize> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let dir = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).ok();
    dir.flatten()
        .filter_map(|entry| {
            let level: u32 = read(entry.path().join("level"))?.trim().parse().ok()?;
            let size = parse_cache_size(&read(entry.path().join("size"))?)?;
            Some((level, size))
        })
        .max()
        .map(|(_, size)| size)
}

/// "491520K", "32M" or a plain byte count, as sysfs writes a cache's size.
fn parse_cache_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.as_bytes().last()? {
        b'K' => (&text[..text.len() - 1], 1 << 10),
        b'M' => (&text[..text.len() - 1], 1 << 20),
        b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sizes_as_sysfs_writes_them() {
        assert_eq!(parse_cache_size("491520K\n"), Some(480 << 20));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("4096"), Some(4096));
        assert_eq!(parse_cache_size("K"), None);
        assert_eq!(parse_cache_size("lots"), None);
        assert_eq!(parse_cache_size("99999999999999999999G"), None);
        assert!(last_level_cache() > 0);
    }

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
