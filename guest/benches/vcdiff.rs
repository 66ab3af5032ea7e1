//! Native speed of the VCDIFF codec on document-like data: 8 MiB, 1% of
//! bytes edited in scattered runs, a few inserts and deletes (the same
//! shape as benches/rust_vs_python.py).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oms_accel_guest::vcdiff::{decode, encode, EncodeOptions};

/// A deterministic xorshift, so the bench needs no rand crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn document(size: usize, rng: &mut Rng) -> Vec<u8> {
    let words = [
        "class",
        "property",
        "label",
        "domain",
        "range",
        "subClassOf",
        "comment",
        "Person",
    ];
    let mut out = b"{\"entities\": [".to_vec();
    let mut i = 0u64;
    while out.len() < size {
        let w = words[rng.below(words.len() as u64) as usize];
        out.extend_from_slice(
            format!("{{\"id\": \"urn:oms:{i}\", \"type\": \"{w}\", \"rank\": {}, \"note\": \"{w} {}\"}},\n", rng.below(1000), rng.next() % 100_000).as_bytes(),
        );
        i += 1;
    }
    out.truncate(size);
    out
}

fn edit(old: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut new = old.to_vec();
    let mut edited = 0;
    while edited < old.len() / 100 {
        let run = 1 + rng.below(16) as usize;
        let at = rng.below((new.len() - run) as u64) as usize;
        for b in &mut new[at..at + run] {
            *b = b'a' + rng.below(26) as u8;
        }
        edited += run;
    }
    for _ in 0..4 {
        let at = rng.below(new.len() as u64) as usize;
        new.splice(at..at, b"<inserted block of new text>".iter().copied());
        let at = rng.below(new.len() as u64 - 100) as usize;
        new.drain(at..at + 64);
    }
    new
}

fn bench(c: &mut Criterion) {
    let mut rng = Rng(0x5EED);
    let old = document(8 << 20, &mut rng);
    let new = edit(&old, &mut rng);
    let delta = encode(&old, &new, EncodeOptions::default()).unwrap();
    let mut g = c.benchmark_group("vcdiff-8MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(new.len() as u64));
    g.bench_function("encode", |b| {
        b.iter(|| encode(&old, &new, EncodeOptions::default()).unwrap())
    });
    g.bench_function("decode", |b| {
        b.iter(|| decode(&old, &delta, u64::MAX, true).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
