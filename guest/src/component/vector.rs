//! Exports of the `vector` interface: type conversions only.

use super::exports::oms::accel::vector as wit;
use super::oms::accel::types;
use super::Component;
use crate::vector::{self, format, Hit, Index, Metric, Storage};
use crate::wire;
use crate::Error;
use std::cell::RefCell;

type WitResult<T> = Result<T, types::Error>;

impl From<wit::Metric> for Metric {
    fn from(m: wit::Metric) -> Self {
        match m {
            wit::Metric::Cosine => Metric::Cosine,
            wit::Metric::Dot => Metric::Dot,
            wit::Metric::L2 => Metric::L2,
        }
    }
}

impl From<wit::Storage> for Storage {
    fn from(s: wit::Storage) -> Self {
        match s {
            wit::Storage::F32 => Storage::F32,
            wit::Storage::F16 => Storage::F16,
            wit::Storage::I8 => Storage::I8,
        }
    }
}

impl From<Hit> for wit::Hit {
    fn from(h: Hit) -> Self {
        wit::Hit {
            id: h.id,
            score: h.score,
        }
    }
}

fn f32s(bytes: &[u8]) -> WitResult<Vec<f32>> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Error::invalid("the queries are not whole f32 values").into());
    }
    Ok(wire::values(bytes, f32::from_le_bytes)?)
}

/// (WIT methods take `&self`: the index sits in a `RefCell`.)
pub struct IndexResource(RefCell<Index>);

impl wit::GuestIndex for IndexResource {
    fn create(dimension: u32, m: wit::Metric, storage: wit::Storage) -> WitResult<wit::Index> {
        let index = Index::new(dimension, m.into(), storage.into())?;
        Ok(wit::Index::new(IndexResource(RefCell::new(index))))
    }

    fn load(path: String) -> WitResult<wit::Index> {
        let open = |head: &[u8], rest| {
            let reader = format::Reader::new(head, rest)?;
            let record = reader.record_len();
            Ok((reader, record))
        };
        let reader = wire::read_blocks(&path, format::HEADER_LEN, open, |r, block| r.push(block))?;
        Ok(wit::Index::new(IndexResource(RefCell::new(
            reader.finish(),
        ))))
    }

    fn add_file(&self, vectors_path: String, ids_path: String) -> WitResult<u64> {
        let values = wire::read_values(&vectors_path, f32::from_le_bytes)?;
        let ids = wire::read_values(&ids_path, u64::from_le_bytes)?;
        self.add(values, ids)
    }

    fn add(&self, vectors: Vec<f32>, ids: Vec<u64>) -> WitResult<u64> {
        self.0.borrow_mut().add(&vectors, &ids)?;
        Ok(ids.len() as u64)
    }

    fn truncate(&self, len: u64) {
        self.0
            .borrow_mut()
            .truncate(len.try_into().unwrap_or(usize::MAX));
    }

    fn len(&self) -> u64 {
        self.0.borrow().len() as u64
    }

    fn dimension(&self) -> u32 {
        self.0.borrow().dim() as u32
    }

    fn search(&self, query: Vec<f32>, k: u32) -> WitResult<Vec<wit::Hit>> {
        let hits = self.0.borrow().search(&query, k as usize)?;
        Ok(hits.into_iter().map(Into::into).collect())
    }

    fn search_file(&self, queries_path: String, k: u32, out_path: String) -> WitResult<u64> {
        let queries = wire::read_values(&queries_path, f32::from_le_bytes)?;
        let results = self.0.borrow().search_batch(&queries, k as usize)?;
        wire::write_whole(&out_path, &format::hit_records(&results))?;
        Ok(results.len() as u64)
    }

    fn search_hex(&self, queries: String, k: u32) -> WitResult<String> {
        let values = f32s(&wire::hex_decode(&queries)?)?;
        let results = self.0.borrow().search_batch(&values, k as usize)?;
        Ok(wire::hex_encode(&format::hit_records(&results)))
    }

    fn save(&self, path: String) -> WitResult<()> {
        let index = self.0.borrow();
        let head = format::header(
            index.dim() as u32,
            index.metric(),
            index.storage(),
            index.len() as u64,
        );
        let per = (wire::BLOCK / format::record_len(index.dim(), index.storage())).max(1);
        let blocks = (0..index.len())
            .step_by(per)
            .map(|r| format::records(&index, r..r + per));
        Ok(wire::write_parts(
            &path,
            std::iter::once(Ok(head.to_vec())).chain(blocks),
        )?)
    }

    fn from_bytes(data: Vec<u8>) -> WitResult<wit::Index> {
        let index = format::read(&data)?;
        Ok(wit::Index::new(IndexResource(RefCell::new(index))))
    }

    fn to_bytes(&self) -> Vec<u8> {
        format::write(&self.0.borrow())
    }

    fn records(&self, start: u64, count: u64) -> WitResult<Vec<u8>> {
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        let end = start.saturating_add(usize::try_from(count).unwrap_or(usize::MAX));
        Ok(format::records(&self.0.borrow(), start..end)?)
    }

    fn add_records(&self, records: Vec<u8>) -> WitResult<u64> {
        let mut index = self.0.borrow_mut();
        let before = index.len();
        format::append_records(&mut index, &records)?;
        Ok((index.len() - before) as u64)
    }

    fn search_batch(&self, queries: Vec<f32>, k: u32) -> WitResult<Vec<u8>> {
        let results = self.0.borrow().search_batch(&queries, k as usize)?;
        Ok(format::hit_records(&results))
    }
}

impl wit::Guest for Component {
    type Index = IndexResource;

    fn similarity(a: Vec<f32>, b: Vec<f32>, dimension: u32, m: wit::Metric) -> WitResult<Vec<f32>> {
        Ok(vector::similarity(&a, &b, dimension as usize, m.into())?)
    }

    fn similarity_file(
        a_path: String,
        b_path: String,
        dimension: u32,
        m: wit::Metric,
        out_path: String,
    ) -> WitResult<u64> {
        let a = wire::read_values(&a_path, f32::from_le_bytes)?;
        let b = wire::read_values(&b_path, f32::from_le_bytes)?;
        let matrix = vector::similarity(&a, &b, dimension as usize, m.into())?;
        let bytes: Vec<u8> = matrix.iter().flat_map(|x| x.to_le_bytes()).collect();
        wire::write_whole(&out_path, &bytes)?;
        Ok((a.len() / dimension.max(1) as usize) as u64)
    }
}
