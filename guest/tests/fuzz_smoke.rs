//! A smoke run of every fuzz target's body (`oms_accel_guest::fuzz`, what
//! cargo fuzz runs in `fuzz/`) over seeds made here and a few thousand
//! deterministic mutations of them: the harnesses cannot rot, and the
//! cheapest findings are caught by `cargo test`. `make fuzz` runs the real
//! thing, coverage-guided.

use oms_accel_guest::fuzz;
use oms_accel_guest::vcdiff::{self, EncodeOptions};
use oms_accel_guest::vector::{Index, Metric, Storage};

/// `first` and `second` as one fuzz input (the targets' split).
fn join(first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut out = (first.len() as u16).to_le_bytes().to_vec();
    out.extend_from_slice(first);
    out.extend_from_slice(second);
    out
}

/// Deterministic mutations of `seed`: bit flips, byte sets, truncations,
/// and a duplicated span, as a fuzzer's first moves would be.
fn mutations(seed: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ seed.len() as u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = vec![seed.to_vec()];
    for i in 0..n {
        let mut m = seed.to_vec();
        if m.is_empty() {
            m.push(next() as u8);
        }
        let at = (next() as usize) % m.len();
        match i % 4 {
            0 => m[at] ^= 1 << (next() % 8),
            1 => m[at] = [0, 0xff, 0x7f, 0x80, b'"', b'{', b']'][(next() % 7) as usize],
            2 => m.truncate(at),
            _ => {
                let span = m[at..].iter().take(16).copied().collect::<Vec<_>>();
                m.splice(at..at, span);
            }
        }
        out.push(m);
    }
    out
}

fn versions() -> (Vec<u8>, Vec<u8>) {
    let old: Vec<u8> = (0..3000u32)
        .flat_map(|i| format!("{{\"id\": {i}, \"label\": \"item {}\"}},\n", i % 97).into_bytes())
        .take(6000)
        .collect();
    let mut new = old.clone();
    new.splice(100..100, b"inserted text ".iter().copied());
    new[3000] = b'X';
    new.truncate(5500);
    (old, new)
}

#[test]
fn vcdiff_targets() {
    let (old, new) = versions();
    for opts in [
        EncodeOptions {
            window_size: 1 << 20,
            source_window: 1 << 20,
            checksum: true,
        },
        EncodeOptions {
            window_size: 1024,
            source_window: 1024,
            checksum: false,
        },
    ] {
        let delta = vcdiff::encode(&old, &new, opts).unwrap();
        for m in mutations(&delta, 1500) {
            fuzz::vcdiff_decode(&join(&old, &m));
        }
    }
    for m in mutations(&join(&old[..800], &new[..900]), 300) {
        fuzz::vcdiff_roundtrip(&m);
    }
    fuzz::vcdiff_roundtrip(&[]);
    fuzz::vcdiff_decode(&[]);
}

const DOCS: &[&str] = &[
    r#"{"a": [1, 2.5, -3e10, true, null, "x\u00e9\n"], "b": {"c": {}}}"#,
    r#"[[], {}, [{"k": "v"}], 18446744073709551615, -0.0, 1e-400]"#,
    r#""\ud83d\ude00""#,
];

#[test]
fn json_targets() {
    for doc in DOCS {
        for m in mutations(doc.as_bytes(), 800) {
            fuzz::json_scan(&m);
        }
    }
    let schema = r##"{"type": "object", "properties": {"a": {"type": "array", "items": {"type": ["number", "boolean", "null", "string"]}, "maxItems": 5}}, "required": ["b"], "additionalProperties": {"$ref": "#/$defs/o"}, "$defs": {"o": {"type": "object", "minProperties": 1}}}"##;
    for m in mutations(&join(schema.as_bytes(), DOCS[0].as_bytes()), 600) {
        fuzz::json_schema(&m);
    }
    let patch = r#"[{"op": "add", "path": "/b/d", "value": 1}, {"op": "remove", "path": "/a/0"}, {"op": "test", "path": "/a/0", "value": 2.5}, {"op": "move", "from": "/b", "path": "/e"}]"#;
    for m in mutations(&join(DOCS[0].as_bytes(), patch.as_bytes()), 600) {
        fuzz::json_patch(&m);
    }
}

#[test]
fn vector_target() {
    for storage in [Storage::F32, Storage::F16, Storage::I8] {
        let mut index = Index::new(8, Metric::Cosine, storage).unwrap();
        let rows: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        index.add(&rows, &[3, 1, 4, 1000, 5]).unwrap();
        for m in mutations(&index.to_bytes(), 800) {
            fuzz::vector_index_load(&m);
        }
    }
}
