//! Native speed of the vector kernels and the flat index over 100k x 384
//! f32 rows (the shape of benches/vector_bench.py): one query, a batch of 64,
//! and the f16 and i8 storages.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oms_accel_guest::vector::{dot, similarity, Index, Metric, Storage};

const DIM: usize = 384;
const ROWS: usize = 100_000;

/// Deterministic values in [-1, 1), so the bench needs no rand crate.
fn values(n: usize, mut seed: u64) -> Vec<f32> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rows = values(ROWS * DIM, 1);
    let queries = values(64 * DIM, 2);
    let ids: Vec<u64> = (0..ROWS as u64).collect();
    let mut g = c.benchmark_group("vector");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((DIM * 4) as u64));
    g.bench_function("dot 384", |b| b.iter(|| dot(&queries[..DIM], &rows[..DIM])));
    for storage in [Storage::F32, Storage::F16, Storage::I8] {
        let mut index = Index::new(DIM as u32, Metric::Cosine, storage).unwrap();
        index.add(&rows, &ids).unwrap();
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("{storage:?} search 1 of 100k"), |b| {
            b.iter(|| index.search(&queries[..DIM], 10).unwrap())
        });
        g.throughput(Throughput::Elements(64));
        g.bench_function(format!("{storage:?} batch 64 of 100k"), |b| {
            b.iter(|| index.search_batch(&queries, 10).unwrap())
        });
    }
    // `similarity()`'s shape in the Python benchmark: 64 x 16k, one thread.
    g.throughput(Throughput::Elements(64 * 16_000));
    g.bench_function("similarity 64 x 16k", |b| {
        b.iter(|| similarity(&queries, &rows[..16_000 * DIM], DIM, Metric::Cosine).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
