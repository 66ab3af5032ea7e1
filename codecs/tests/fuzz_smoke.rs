//! A smoke run of the native fuzz targets' bodies (`oms_accel_codecs::fuzz`)
//! over valid deltas and every truncation and a spread of byte changes of
//! them: the harnesses cannot rot, and the cheapest findings are caught by
//! `cargo test`. `make fuzz` runs the real thing, coverage-guided.

use oms_accel_codecs::{fuzz, xdelta, zstd_frame};

fn versions() -> (Vec<u8>, Vec<u8>) {
    let old: Vec<u8> = (0..400u32)
        .flat_map(|i| format!("{{\"id\": {i}, \"label\": \"item {}\"}},\n", i % 97).into_bytes())
        .collect();
    let mut new = old.clone();
    new.splice(100..100, b"inserted text ".iter().copied());
    new[3000] = b'X';
    new.truncate(new.len() - 200);
    (old, new)
}

/// `delta` whole, cut at every length, and with bytes changed along it.
fn damaged(delta: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..=delta.len()).map(|n| delta[..n].to_vec()).collect();
    for at in 0..delta.len() {
        for value in [0u8, 0xff, delta[at] ^ 0x01, delta[at] ^ 0x80] {
            let mut d = delta.to_vec();
            d[at] = value;
            out.push(d);
        }
    }
    out
}

#[test]
fn zstd_delta_decode_over_damaged_deltas() {
    let (old, new) = versions();
    let delta = zstd_frame::compress(&new, 3, Some(&old)).unwrap();
    for d in damaged(&delta) {
        fuzz::zstd_delta_decode(&old, &d);
        fuzz::zstd_delta_decode(&old[..old.len() / 2], &d);
    }
}

#[test]
fn xdelta3_decode_over_damaged_deltas() {
    let (old, new) = versions();
    let delta = xdelta::encode(&old, &new).unwrap();
    for d in damaged(&delta) {
        fuzz::xdelta3_decode(&old, &d);
    }
}
