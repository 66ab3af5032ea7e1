//! Exports of the `vector` interface.

use super::exports::oms::accel::vector as wit;
use super::oms::accel::types;
use super::Component;
use crate::vector::{self, Hit, Index, Metric, Storage};
use crate::Error;
use std::cell::RefCell;

type WitResult<T> = Result<T, types::Error>;

fn metric(m: wit::Metric) -> Metric {
    match m {
        wit::Metric::Cosine => Metric::Cosine,
        wit::Metric::Dot => Metric::Dot,
        wit::Metric::L2 => Metric::L2,
    }
}

fn hit(h: Hit) -> wit::Hit {
    wit::Hit {
        id: h.id,
        score: h.score,
    }
}

fn read(path: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::io(&format!("reading {path}"), e))
}

/// A file of little-endian values of `N` bytes each.
fn read_values<const N: usize, T>(path: &str, from: fn([u8; N]) -> T) -> Result<Vec<T>, Error> {
    let bytes = read(path)?;
    if bytes.len() % N != 0 {
        return Err(Error::invalid(format!(
            "{path} is {} bytes, not a whole number of {N}-byte values",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(N)
        .map(|c| from(c.try_into().unwrap()))
        .collect())
}

/// Writes `bytes` to `path` through a temporary file, so that `path` is
/// either the whole new file or what it was before.
fn write_whole(path: &str, bytes: &[u8]) -> Result<(), Error> {
    let tmp = format!("{path}.part");
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(&format!("writing {path}"), e)
    })
}

/// Each query's hits as records of id u64 and score f32, little-endian.
fn hit_records(results: &[Vec<Hit>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(results.iter().map(|r| r.len() * 12).sum());
    for h in results.iter().flatten() {
        out.extend_from_slice(&h.id.to_le_bytes());
        out.extend_from_slice(&h.score.to_le_bytes());
    }
    out
}

/// Lower-case hex, the byte carrier of `search-hex`.
mod hex {
    use crate::Error;

    pub fn encode(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for &b in bytes {
            out.push(DIGITS[usize::from(b >> 4)] as char);
            out.push(DIGITS[usize::from(b & 15)] as char);
        }
        out
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, Error> {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        let t = text.as_bytes();
        if t.len() % 2 != 0 {
            return Err(Error::invalid("hex of odd length"));
        }
        t.chunks_exact(2)
            .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| Error::invalid("not hex"))
    }
}

pub struct IndexResource(RefCell<Index>);

impl wit::GuestIndex for IndexResource {
    fn new(dimension: u32, m: wit::Metric, storage: wit::Storage) -> Self {
        let storage = match storage {
            wit::Storage::F32 => Storage::F32,
            wit::Storage::F16 => Storage::F16,
            wit::Storage::I8 => Storage::I8,
        };
        // A constructor cannot fail in WIT: the host checks the dimension
        // first, and an out-of-range one is clamped here to stay harmless.
        let dimension = dimension.clamp(1, vector::index::MAX_DIM);
        IndexResource(RefCell::new(
            Index::new(dimension, metric(m), storage).expect("dimension in range"),
        ))
    }

    fn load(path: String) -> WitResult<wit::Index> {
        let index = Index::from_bytes(&read(&path)?)?;
        Ok(wit::Index::new(IndexResource(RefCell::new(index))))
    }

    fn dimension(&self) -> u32 {
        self.0.borrow().dim() as u32
    }

    fn metric(&self) -> wit::Metric {
        match self.0.borrow().metric() {
            Metric::Cosine => wit::Metric::Cosine,
            Metric::Dot => wit::Metric::Dot,
            Metric::L2 => wit::Metric::L2,
        }
    }

    fn storage(&self) -> wit::Storage {
        match self.0.borrow().storage() {
            Storage::F32 => wit::Storage::F32,
            Storage::F16 => wit::Storage::F16,
            Storage::I8 => wit::Storage::I8,
        }
    }

    fn len(&self) -> u64 {
        self.0.borrow().len() as u64
    }

    fn add_file(&self, vectors_path: String, ids_path: String) -> WitResult<u64> {
        let values = read_values(&vectors_path, f32::from_le_bytes)?;
        let ids = read_values(&ids_path, u64::from_le_bytes)?;
        self.add(values, ids)
    }

    fn add(&self, vectors: Vec<f32>, ids: Vec<u64>) -> WitResult<u64> {
        self.0.borrow_mut().add(&vectors, &ids)?;
        Ok(ids.len() as u64)
    }

    fn search(&self, query: Vec<f32>, k: u32) -> WitResult<Vec<wit::Hit>> {
        let hits = self.0.borrow().search(&query, k as usize)?;
        Ok(hits.into_iter().map(hit).collect())
    }

    fn search_file(&self, queries_path: String, k: u32, out_path: String) -> WitResult<u64> {
        let queries = read_values(&queries_path, f32::from_le_bytes)?;
        let results = self.0.borrow().search_batch(&queries, k as usize)?;
        write_whole(&out_path, &hit_records(&results))?;
        Ok(results.len() as u64)
    }

    fn search_hex(&self, queries: String, k: u32) -> WitResult<String> {
        let bytes = hex::decode(&queries)?;
        if bytes.len() % 4 != 0 {
            return Err(Error::invalid("the queries are not whole f32 values").into());
        }
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let results = self.0.borrow().search_batch(&values, k as usize)?;
        Ok(hex::encode(&hit_records(&results)))
    }

    fn save(&self, path: String) -> WitResult<()> {
        Ok(write_whole(&path, &self.0.borrow().to_bytes())?)
    }
}

impl wit::Guest for Component {
    type Index = IndexResource;

    fn similarity(a: Vec<f32>, b: Vec<f32>, dimension: u32, m: wit::Metric) -> WitResult<Vec<f32>> {
        Ok(vector::similarity(&a, &b, dimension as usize, metric(m))?)
    }

    fn similarity_file(
        a_path: String,
        b_path: String,
        dimension: u32,
        m: wit::Metric,
        out_path: String,
    ) -> WitResult<u64> {
        let a = read_values(&a_path, f32::from_le_bytes)?;
        let b = read_values(&b_path, f32::from_le_bytes)?;
        let matrix = vector::similarity(&a, &b, dimension as usize, metric(m))?;
        let bytes: Vec<u8> = matrix.iter().flat_map(|x| x.to_le_bytes()).collect();
        write_whole(&out_path, &bytes)?;
        Ok((a.len() / dimension.max(1) as usize) as u64)
    }
}
