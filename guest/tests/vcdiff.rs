//! The VCDIFF codec, natively: round trips, streaming, hostile input.

use oms_accel_guest::vcdiff::{decode, encode, Decoder, EncodeOptions, Encoder, SliceSource};
use oms_accel_guest::ErrorCode;
use proptest::prelude::*;

fn opts() -> EncodeOptions {
    EncodeOptions::default()
}

fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect()
}

#[test]
fn round_trips_edge_cases() {
    let big = pseudo_random(100_000, 7);
    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (vec![], vec![]),
        (vec![], b"hello".to_vec()),
        (b"hello".to_vec(), vec![]),
        (b"hello".to_vec(), b"hello".to_vec()),
        (vec![0; 10_000], vec![0; 20_000]),
        (big.clone(), big.clone()),
        (big.clone(), big[5000..].to_vec()),
        (big[..50_000].to_vec(), big.clone()),
        (vec![], big.repeat(3)),
    ];
    for (old, new) in cases {
        let delta = encode(&old, &new, opts()).unwrap();
        assert_eq!(decode(&old, &delta, u64::MAX, true).unwrap(), new);
    }
}

#[test]
fn small_edits_give_small_deltas() {
    let old = pseudo_random(1 << 20, 3);
    let mut new = old.clone();
    for i in (0..new.len()).step_by(10_000) {
        new[i] ^= 0xFF;
    }
    let delta = encode(&old, &new, opts()).unwrap();
    assert!(
        delta.len() < 1000,
        "delta of {} bytes for 105 edits",
        delta.len()
    );
    assert_eq!(decode(&old, &delta, u64::MAX, true).unwrap(), new);
}

#[test]
fn many_windows_and_a_moving_source_window() {
    let old = pseudo_random(300_000, 11);
    let mut new = old.clone();
    new[150_000] ^= 1;
    let small = EncodeOptions {
        window_size: 16 * 1024,
        source_window: 64 * 1024,
        checksum: true,
    };
    let delta = encode(&old, &new, small).unwrap();
    assert!(delta.len() < 20_000, "{}", delta.len());
    assert_eq!(decode(&old, &delta, u64::MAX, true).unwrap(), new);
}

#[test]
fn streaming_steps_report_progress() {
    let old = pseudo_random(50_000, 5);
    let new = pseudo_random(50_000, 6);
    let o = EncodeOptions {
        window_size: 8192,
        ..opts()
    };
    let mut enc = Encoder::new(SliceSource(&old), &new[..], Vec::new(), o).unwrap();
    enc.set_total(new.len() as u64);
    let mut steps = 0;
    while !enc.step().unwrap().finished {
        steps += 1;
    }
    assert_eq!(steps, 7);
    let delta = enc.into_output();
    let mut dec = Decoder::new(SliceSource(&old), &delta[..], Vec::new(), u64::MAX, true);
    let mut last = 0;
    loop {
        let p = dec.step().unwrap();
        assert!(p.done >= last);
        last = p.done;
        if p.finished {
            break;
        }
    }
    assert_eq!(last, delta.len() as u64);
    assert_eq!(dec.into_output(), new);
}

#[test]
fn output_cap_is_enforced() {
    let new = vec![7u8; 100_000];
    let delta = encode(b"", &new, opts()).unwrap();
    assert_eq!(
        decode(b"", &delta, 99_999, true).unwrap_err().code,
        ErrorCode::LimitExceeded
    );
    assert_eq!(decode(b"", &delta, 100_000, true).unwrap(), new);
}

#[test]
fn wrong_source_and_checksum_are_detected() {
    let old = pseudo_random(10_000, 1);
    let mut new = old.clone();
    new[500] ^= 1;
    let delta = encode(&old, &new, opts()).unwrap();
    assert_eq!(
        decode(&old[..100], &delta, u64::MAX, true)
            .unwrap_err()
            .code,
        ErrorCode::WrongSource
    );
    let mut other = old.clone();
    other[9000] ^= 1;
    assert_eq!(
        decode(&other, &delta, u64::MAX, true).unwrap_err().code,
        ErrorCode::ChecksumMismatch
    );
}

#[test]
fn a_delta_without_checksums_decodes_only_unverified() {
    let old = pseudo_random(10_000, 1);
    let mut new = old.clone();
    new[500] ^= 1;
    let bare = EncodeOptions {
        checksum: false,
        ..opts()
    };
    let delta = encode(&old, &new, bare).unwrap();
    let mut other = old.clone();
    other[9000] ^= 1;
    // Verified, it is refused whatever the old version, before any output.
    for source in [&old, &other] {
        let e = decode(source, &delta, u64::MAX, true).unwrap_err();
        assert_eq!(e.code, ErrorCode::Unverified, "{}", e.message);
    }
    // Unverified, the right old version rebuilds `new` and a wrong one
    // silently does not: what the caller opts into.
    assert_eq!(decode(&old, &delta, u64::MAX, false).unwrap(), new);
    assert_ne!(decode(&other, &delta, u64::MAX, false).unwrap(), new);
}

#[test]
fn bad_headers_are_typed_errors() {
    for (bytes, code) in [
        (&b""[..], ErrorCode::Truncated),
        (&b"\xD6\xC3"[..], ErrorCode::Truncated),
        (&b"\x28\xB5\x2F\xFD\x00"[..], ErrorCode::Corrupt),
        (&b"\xD6\xC3\xC4\x00\x02"[..], ErrorCode::Unsupported),
        (&b"\xD6\xC3\xC4\x00\x00\x02"[..], ErrorCode::Unsupported),
        (
            &b"\xD6\xC3\xC4\x00\x00\x00\xFF\xFF\xFF\xFF\x0F"[..],
            ErrorCode::Truncated,
        ),
        // A window claiming a 2^40-byte target: refused before allocating.
        (
            &b"\xD6\xC3\xC4\x00\x00\x00\x0A\xA0\x80\x80\x80\x80\x00\x00\x00\x00\x00"[..],
            ErrorCode::Corrupt,
        ),
    ] {
        assert_eq!(
            decode(b"", bytes, u64::MAX, true).unwrap_err().code,
            code,
            "{bytes:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn round_trip(old in proptest::collection::vec(0u8..4, 0..3000),
                  edits in proptest::collection::vec((any::<u16>(), 0u8..4, any::<u8>()), 0..20)) {
        let mut new = old.clone();
        for (at, kind, byte) in edits {
            let at = if new.is_empty() { 0 } else { at as usize % new.len() };
            match kind {
                0 if !new.is_empty() => new[at] = byte,
                1 => new.insert(at, byte),
                2 if !new.is_empty() => { new.remove(at); }
                _ => new.extend_from_slice(&old[..old.len().min(40)]),
            }
        }
        let delta = encode(&old, &new, opts()).unwrap();
        prop_assert_eq!(decode(&old, &delta, u64::MAX, true).unwrap(), new);
    }

    /// Any corruption of a valid delta gives an error or, where the damage
    /// hits bytes the checksum covers only indirectly, the right length;
    /// never a panic.
    #[test]
    fn mutated_deltas_never_panic(seed in any::<u64>(), flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6), cut in any::<u16>()) {
        let old = pseudo_random(2000, seed);
        let mut new = old.clone();
        new.splice(100..110, pseudo_random(30, seed ^ 9));
        let mut delta = encode(&old, &new, opts()).unwrap();
        for (at, byte) in flips {
            let i = at as usize % delta.len();
            delta[i] ^= byte | 1;
        }
        let _ = decode(&old, &delta, 1 << 20, true);
        let cut = cut as usize % delta.len();
        prop_assert!(decode(&old, &delta[..cut], 1 << 20, true).is_err());
    }
}

fn reference_adler32(data: &[u8]) -> u32 {
    let mut a = adler2::Adler32::new();
    a.write_slice(data);
    a.checksum()
}

#[test]
fn adler32_matches_the_reference_at_every_block_boundary() {
    use oms_accel_guest::vcdiff::adler32;
    // The worst case for the lane sums: all 0xff, across block and chunk edges.
    for len in [
        0,
        1,
        15,
        16,
        17,
        5552,
        32767,
        32768,
        32769,
        65536 + 31,
        1 << 20,
    ] {
        let ones = vec![0xffu8; len];
        assert_eq!(adler32(&ones), reference_adler32(&ones), "0xff x {len}");
        let noise = pseudo_random(len, len as u64 + 1);
        assert_eq!(adler32(&noise), reference_adler32(&noise), "noise x {len}");
    }
}

proptest! {
    #[test]
    fn adler32_matches_the_reference(data in proptest::collection::vec(any::<u8>(), 0..100_000)) {
        prop_assert_eq!(oms_accel_guest::vcdiff::adler32(&data), reference_adler32(&data));
    }
}
