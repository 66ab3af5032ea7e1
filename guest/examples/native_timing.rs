//! The guest's own code compiled natively, timed on the inputs the Python
//! benchmarks hand it (files they wrote), so that the price of the sandbox
//! is a ratio measured in one run on the same bytes: `benches/*.py` print it
//! as the `guest native` row. cargo bench (benches/) times the same
//! functions on inputs of its own, with statistics.
//!
//! Usage (each prints `name seconds` lines, the best of REPEAT runs):
//!   native_timing vcdiff OLD NEW REPEAT
//!   native_timing json-get DOC POINTER REPEAT
//!   native_timing json-validate SCHEMA DOC REPEAT
//!   native_timing vector ROWS.f32 QUERIES.f32 DIM K SHARDS REPEAT

use std::time::Instant;

use oms_accel_guest::json::{parse, Document, ParseLimits, Schema};
use oms_accel_guest::vcdiff::{decode, encode, EncodeOptions};
use oms_accel_guest::vector::{Index, Metric, Storage};

fn best<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut best = f64::INFINITY;
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        let r = std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn f32s(path: &str) -> Vec<f32> {
    read(path)
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .expect("missing argument: see the usage in the source")
    };
    let num = |i: usize| arg(i).parse::<usize>().expect("a number");
    match arg(0) {
        "vcdiff" => {
            let (old, new, repeat) = (read(arg(1)), read(arg(2)), num(3));
            let (t, delta) = best(repeat, || {
                encode(&old, &new, EncodeOptions::default()).expect("encode")
            });
            println!("encode {t}");
            let (t, back) = best(repeat, || {
                decode(&old, &delta, u64::MAX, true).expect("decode")
            });
            assert!(back == new, "decoded wrongly");
            println!("decode {t}");
            println!("delta_bytes {}", delta.len());
        }
        "json-get" => {
            let (text, pointer, repeat) = (
                String::from_utf8(read(arg(1))).expect("UTF-8"),
                arg(2),
                num(3),
            );
            let (t, doc) = best(repeat, || {
                Document::parse(text.clone(), ParseLimits::default()).expect("parse")
            });
            println!("parse {t}");
            let (t, _) = best(repeat * 100, || {
                doc.get(pointer).expect("get").map(str::len)
            });
            println!("get_parsed {t}");
        }
        "json-validate" => {
            let schema = String::from_utf8(read(arg(1))).expect("UTF-8");
            let (text, repeat) = (String::from_utf8(read(arg(2))).expect("UTF-8"), num(3));
            let schema = Schema::compile_text(schema, None, Vec::new(), &ParseLimits::default())
                .expect("schema");
            // What the component does for validate(text): the text to a DOM, then
            // the validator on it (the clone, a memcpy, stands for the lowering).
            let limits = ParseLimits::default();
            let (t, errors) = best(repeat, || {
                schema
                    .validate_text(text.clone(), &limits)
                    .expect("parse")
                    .len()
            });
            println!("validate {t}");
            println!("violations {errors}");
            // Its two parts: the text to a DOM, and the validator on the DOM.
            let (t, dom) = best(repeat, || parse(text.clone(), &limits).expect("parse"));
            println!("to_dom {t}");
            let (t, _) = best(repeat, || schema.is_valid(&dom));
            println!("is_valid_on_dom {t}");
        }
        "vector" => {
            // The sandbox's price is the ratio of the component to this, so
            // this runs the same 128-bit code the component runs (SSE2
            // here, simd128 there), not the AVX2 the native backend picks.
            oms_accel_guest::vector::simd::set_level(
                oms_accel_guest::vector::simd::Level::Baseline,
            );
            let (rows, queries) = (f32s(arg(1)), f32s(arg(2)));
            let (dim, k, shards, repeat) = (num(3), num(4), num(5), num(6));
            let n = rows.len() / dim;
            let per = n.div_ceil(shards);
            // One index per shard, searched on a thread each, as VectorIndex
            // does with `threads=shards`.
            let indexes: Vec<Index> = (0..shards)
                .map(|s| {
                    let (a, b) = (s * per, ((s + 1) * per).min(n));
                    let mut index =
                        Index::new(dim as u32, Metric::Cosine, Storage::F32).expect("index");
                    let ids: Vec<u64> = (a as u64..b as u64).collect();
                    index.add(&rows[a * dim..b * dim], &ids).expect("add");
                    index
                })
                .collect();
            let search = |q: &[f32]| {
                std::thread::scope(|scope| {
                    let running: Vec<_> = indexes
                        .iter()
                        .map(|i| scope.spawn(move || i.search_batch(q, k).expect("search")))
                        .collect();
                    running
                        .into_iter()
                        .map(|h| h.join().expect("search thread").len())
                        .sum::<usize>()
                })
            };
            let (t, _) = best(repeat, || search(&queries[..dim]));
            println!("one_query {t}");
            let (t, _) = best(repeat, || search(&queries));
            println!("batch {t}");
        }
        other => panic!("unknown operation {other:?}"),
    }
}
