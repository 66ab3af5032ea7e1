//! The bodies of the fuzz targets (`fuzz/`, run by cargo fuzz), here so
//! that the unit tests run them too (`fuzz_smoke` in `tests/`) and the
//! harnesses cannot rot. Each takes arbitrary bytes and panics only on a
//! finding: a crash, a broken invariant, a disagreement with the reference.
//! Inputs that carry two parts are split by their first two bytes (a
//! little-endian length of the first part, modulo what is there).

use crate::json::{self, scan, ParseLimits};
use crate::{vcdiff, vector};
use serde_json::Value;

/// Output cap of the decoders under fuzzing: big enough for any input the
/// fuzzer makes to expand into, small enough that a delta that claims more
/// is refused (never allocated).
pub const MAX_OUTPUT: u64 = 16 << 20;

/// (first, second) parts of `data`.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    if data.len() < 2 {
        return (&[], data);
    }
    let rest = &data[2..];
    let n = usize::from(u16::from_le_bytes([data[0], data[1]])) % (rest.len() + 1);
    rest.split_at(n)
}

/// A VCDIFF delta decoded against a source: an error or an output, never a
/// panic, a hang or an allocation past the cap.
pub fn vcdiff_decode(data: &[u8]) {
    let (source, delta) = split(data);
    for verify in [false, true] {
        if let Ok(out) = vcdiff::decode(source, delta, MAX_OUTPUT, verify) {
            assert!(out.len() as u64 <= MAX_OUTPUT, "output past the cap");
        }
    }
}

/// Encoding then decoding gives back the new version, for any pair, with
/// small windows too (several windows, source windows that slide).
pub fn vcdiff_roundtrip(data: &[u8]) {
    let (old, new) = split(data);
    // Default windows, and the smallest (1 KiB: several windows, a source
    // window that slides).
    for (window_size, source_window, checksum) in [(0, 0, true), (1024, 1024, false)] {
        let options = vcdiff::EncodeOptions {
            window_size,
            source_window,
            checksum,
        };
        let delta = vcdiff::encode(old, new, options).expect("encoding never fails on bytes");
        let back =
            vcdiff::decode(old, &delta, new.len() as u64, checksum).expect("our delta decodes");
        assert_eq!(back, new, "round trip");
    }
}

/// simd-json's verdict on `text`, and its structural index when valid.
pub fn simd_json_index(text: &[u8]) -> Option<Vec<u32>> {
    let mut copy = text.to_vec();
    let mut buffers = simd_json::Buffers::new(text.len());
    let mut tape = simd_json::Tape(Vec::new());
    simd_json::fill_tape(&mut copy, &mut buffers, &mut tape).ok()?;
    drop(tape);
    let si = buffers.structural_indexes();
    Some(si[..si.partition_point(|&p| (p as usize) < text.len())].to_vec())
}

/// The scan is held to serde_json (strict RFC 8259) and simd-json: what it
/// accepts, serde_json accepts and simd-json indexes exactly as it does
/// (each bracket paired with its closer); what it refuses, one of them
/// refuses. (serde_json alone accepts integers past u64, as floats;
/// simd-json alone accepts lone surrogates and a long number run into a
/// literal.) And parsing agrees with serde_json on the value; text that is
/// not UTF-8 is refused.
pub fn json_scan(text: &[u8]) {
    if std::str::from_utf8(text).is_err() {
        // The scan reads bytes whose UTF-8 the parser after it checks
        // (it accepts bytes of 0x80 and above only inside strings): the
        // parser must refuse them.
        let limits = ParseLimits {
            max_depth: 1024,
            max_size: 1 << 30,
        };
        assert!(
            json::parse_bytes(text.to_vec(), &limits).is_err(),
            "parsed text that is not UTF-8"
        );
        return;
    }
    let ours = scan::index(text, 1024);
    assert_eq!(
        scan::check(text, 1024).is_ok(),
        ours.is_ok(),
        "check and index disagree"
    );
    let strict = serde_json::from_slice::<Value>(text);
    match ours {
        Ok(ix) => {
            let reference = strict.unwrap_or_else(|e| {
                panic!(
                    "accepted what serde_json refuses ({e}): {:?}",
                    String::from_utf8_lossy(text)
                )
            });
            let pos = simd_json_index(text).expect("accepted what simd-json refuses");
            assert_eq!(ix.pos, pos, "structural index");
            for (k, &c) in ix.close.iter().enumerate() {
                let open = text[ix.pos[k] as usize];
                if matches!(open, b'{' | b'[') {
                    assert_eq!(text[ix.pos[c as usize] as usize], open + 2, "bracket pairs");
                } else {
                    assert_eq!(c, 0);
                }
            }
            let limits = ParseLimits {
                max_depth: 1024,
                max_size: 1 << 30,
            };
            let value =
                json::parse_bytes(text.to_vec(), &limits).expect("what the scan accepts parses");
            assert_eq!(value, reference, "parsed value");
        }
        Err(e) => assert!(
            strict.is_err() || simd_json_index(text).is_none(),
            "refused what both accept: {e:?}"
        ),
    }
}

fn text(part: &[u8]) -> Option<String> {
    String::from_utf8(part.to_vec()).ok()
}

/// A schema and an instance (as JSON text) through compile and validate:
/// errors, never panics; `is_valid` agrees with `validate`.
pub fn json_schema(data: &[u8]) {
    let (a, b) = split(data);
    let (Some(schema), Some(instance)) = (text(a), text(b)) else {
        return;
    };
    let limits = ParseLimits {
        max_depth: 128,
        max_size: 1 << 20,
    };
    let Ok(compiled) = json::Schema::compile_text(schema, None, Vec::new(), &limits) else {
        return;
    };
    if let Ok(found) = compiled.validate_text(instance.clone(), &limits) {
        let valid = compiled
            .is_valid_text(instance, &limits)
            .expect("it parsed once");
        assert_eq!(valid, found.is_empty(), "is_valid and validate disagree");
    }
}

/// A document and an RFC 6902 patch: applied or refused, never a panic; a
/// refused patch leaves the document as it was; the diff of two documents
/// applies to the first and gives the second.
pub fn json_patch(data: &[u8]) {
    let (a, b) = split(data);
    let (Ok(doc), Ok(patch)) = (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) else {
        return;
    };
    let mut patched = doc.clone();
    if json::patch::apply(&mut patched, &patch).is_err() {
        assert_eq!(patched, doc, "a refused patch changed the document");
    }
    let mut merged = doc.clone();
    json::patch::merge(&mut merged, &patch);
    let d = json::patch::diff(&doc, &patch);
    let mut rebuilt = doc;
    json::patch::apply(&mut rebuilt, &d).expect("a diff applies");
    assert_eq!(rebuilt, patch, "the diff rebuilds the second document");
}

/// Arbitrary bytes as an index file: refused, or an index that searches.
pub fn vector_index_load(data: &[u8]) {
    if let Ok(index) = vector::format::read(data) {
        let query = vec![0.5f32; index.dim()];
        let hits = index.search(&query, 3).expect("a loaded index searches");
        assert!(hits.len() <= index.len().min(3));
        assert_eq!(
            vector::format::read(&index.to_bytes())
                .map(|i| i.len())
                .ok(),
            Some(index.len())
        );
    }
}
