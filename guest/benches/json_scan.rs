//! Native speed of the JSON scan (strict validation and the structural
//! index a `Document` keeps) and of a lookup through that index, on a 10 MB
//! document of ontology entities (the shape of benches/json_bench.py).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oms_accel_guest::json::{scan, Document, ParseLimits};

fn document(entities: usize) -> String {
    let mut out = String::from("{\"version\": 3, \"entities\": [");
    for i in 0..entities {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            "{{\"id\": \"urn:oms:{i}\", \"label\": \"Entity {i} \\u00e9\", \"rank\": {}, \"score\": {}.5, \"tags\": [\"a\", \"b\", null, true], \"props\": {{\"domain\": \"d{}\", \"range\": [1, 2, 3]}}}}",
            i % 1000,
            i % 97,
            i % 13
        ));
    }
    out.push_str("]}");
    out
}

fn bench(c: &mut Criterion) {
    let text = document(70_000);
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("scan check", |b| {
        b.iter(|| scan::check(text.as_bytes(), 512).unwrap())
    });
    g.bench_function("scan index", |b| {
        b.iter(|| scan::index(text.as_bytes(), 512).unwrap().pos.len())
    });
    g.bench_function("parse document", |b| {
        b.iter(|| Document::parse(text.clone(), ParseLimits::default()).unwrap())
    });
    let doc = Document::parse(text.clone(), ParseLimits::default()).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("get last entity", |b| {
        b.iter(|| {
            doc.get("/entities/69999/props/range/2")
                .unwrap()
                .unwrap()
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
