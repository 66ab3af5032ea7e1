//! The bytes an index and its results are written as, shared with every
//! backend (the pure-Python one writes and reads the same files).
//!
//! An index file, little-endian: the magic `OMSVECS1`, then dimension u32,
//! metric u8 (0 cosine, 1 dot, 2 l2), storage u8 (0 f32, 1 f16, 2 i8), two
//! zero bytes, count u64; then `count` records of id u64, the scale f32 (i8
//! only) and the row as stored (normalized, for cosine). Records are
//! independent, so the files of several shards concatenate under one header.
//!
//! Search results: per query, its hits as records of id u64 and score f32.

use super::index::{reserve, Index, Rows, Storage};
use super::kernels::F16;
use super::topk::Hit;
use super::Metric;
use crate::{Error, Result};

pub const MAGIC: &[u8; 8] = b"OMSVECS1";
pub const HEADER_LEN: usize = 24;
/// Bytes of one search hit: id u64, score f32.
pub const HIT_LEN: usize = 12;

/// The file header of an index.
pub fn header(dim: u32, metric: Metric, storage: Storage, count: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&dim.to_le_bytes());
    h[12] = match metric {
        Metric::Cosine => 0,
        Metric::Dot => 1,
        Metric::L2 => 2,
    };
    h[13] = match storage {
        Storage::F32 => 0,
        Storage::F16 => 1,
        Storage::I8 => 2,
    };
    h[16..24].copy_from_slice(&count.to_le_bytes());
    h
}

/// Bytes of one record: the id, the scale (i8 only) and the row.
pub fn record_len(dim: usize, storage: Storage) -> usize {
    8 + if storage == Storage::I8 { 4 } else { 0 } + dim * storage.bytes()
}

/// `index` as a file.
pub fn write(index: &Index) -> Vec<u8> {
    let d = index.dim;
    let storage = index.storage();
    let record = record_len(d, storage);
    let mut out = Vec::with_capacity(HEADER_LEN + record * index.len());
    out.extend_from_slice(&header(d as u32, index.metric, storage, index.len() as u64));
    for (r, id) in index.ids.iter().enumerate() {
        out.extend_from_slice(&id.to_le_bytes());
        match &index.rows {
            Rows::F32(data) => data
                .row(r)
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Rows::F16(data) => data
                .row(r)
                .iter()
                .for_each(|x| out.extend_from_slice(&x.0.to_le_bytes())),
            Rows::I8 { values, scales } => {
                out.extend_from_slice(&scales[r].to_le_bytes());
                out.extend(values.row(r).iter().map(|&x| x as u8));
            }
        }
    }
    out
}

/// An index from a file, every field checked.
pub fn read(bytes: &[u8]) -> Result<Index> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(Error::corrupt("not an oms-accel vector index (bad magic)"));
    }
    let dim = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let metric = match bytes[12] {
        0 => Metric::Cosine,
        1 => Metric::Dot,
        2 => Metric::L2,
        m => return Err(Error::corrupt(format!("unknown metric code {m}"))),
    };
    let storage = match bytes[13] {
        0 => Storage::F32,
        1 => Storage::F16,
        2 => Storage::I8,
        s => return Err(Error::corrupt(format!("unknown storage code {s}"))),
    };
    let count = u64::from_le_bytes(bytes[16..24].try_into().unwrap());
    let mut index = Index::new(dim, metric, storage).map_err(|e| Error::corrupt(e.message))?;
    let record = record_len(index.dim, storage);
    let body = &bytes[HEADER_LEN..];
    let expected = (body.len() / record) as u64;
    if !body.len().is_multiple_of(record) || expected < count {
        return Err(Error::truncated(format!(
            "the index says {count} vectors but its file holds {}",
            body.len() as f64 / record as f64
        )));
    }
    if expected > count {
        return Err(Error::corrupt(format!(
            "the index says {count} vectors but its file holds {expected}"
        )));
    }
    let n = count as usize;
    reserve(&mut index.ids, n)?;
    match &mut index.rows {
        Rows::F32(data) => data.reserve(n)?,
        Rows::F16(data) => data.reserve(n)?,
        Rows::I8 { values, scales } => {
            values.reserve(n)?;
            reserve(scales, n)?;
        }
    }
    for (i, rec) in body.chunks_exact(record).enumerate() {
        index
            .ids
            .push(u64::from_le_bytes(rec[..8].try_into().unwrap()));
        let rest = &rec[8..];
        let bad = || Error::corrupt(format!("vector {i} of the index is not finite"));
        match &mut index.rows {
            Rows::F32(data) => data.push_row(|out| {
                for c in rest.chunks_exact(4) {
                    let x = f32::from_le_bytes(c.try_into().unwrap());
                    if !x.is_finite() {
                        return Err(bad());
                    }
                    out.push(x);
                }
                Ok(())
            })?,
            Rows::F16(data) => data.push_row(|out| {
                for c in rest.chunks_exact(2) {
                    let h = u16::from_le_bytes(c.try_into().unwrap());
                    if h & 0x7c00 == 0x7c00 {
                        return Err(bad());
                    }
                    out.push(F16(h));
                }
                Ok(())
            })?,
            Rows::I8 { values, scales } => {
                let s = f32::from_le_bytes(rest[..4].try_into().unwrap());
                if !s.is_finite() || s < 0.0 {
                    return Err(bad());
                }
                scales.push(s);
                values.push_row(|out| {
                    out.extend(rest[4..].iter().map(|&b| b as i8));
                    Ok(())
                })?;
            }
        }
    }
    Ok(index)
}

/// Each query's hits, one after another, as records of id u64 and score f32.
pub fn hit_records(results: &[Vec<Hit>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(results.iter().map(|r| r.len() * HIT_LEN).sum());
    for h in results.iter().flatten() {
        out.extend_from_slice(&h.id.to_le_bytes());
        out.extend_from_slice(&h.score.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(rows: &[Vec<f32>], metric: Metric, storage: Storage) -> Index {
        let mut index = Index::new(rows[0].len() as u32, metric, storage).unwrap();
        let ids: Vec<u64> = (0..rows.len() as u64).map(|i| i * 10).collect();
        index.add(&rows.concat(), &ids).unwrap();
        index
    }

    #[test]
    fn files_round_trip_and_refuse_damage() {
        for storage in [Storage::F32, Storage::F16, Storage::I8] {
            let index = index_of(
                &[vec![1.0, -2.0, 0.5], vec![0.0, 0.0, 0.0]],
                Metric::L2,
                storage,
            );
            let bytes = write(&index);
            assert_eq!(bytes.len(), HEADER_LEN + 2 * record_len(3, storage));
            let back = read(&bytes).unwrap();
            assert_eq!(write(&back), bytes);
            assert_eq!(
                back.search(&[1.0, 1.0, 1.0], 2).unwrap(),
                index.search(&[1.0, 1.0, 1.0], 2).unwrap()
            );
            assert!(read(&bytes[..bytes.len() - 1]).is_err());
            let mut extra = bytes.clone();
            extra.extend_from_slice(&bytes[HEADER_LEN..]);
            assert!(read(&extra).unwrap_err().message.contains("holds 4"));
            let mut bad = bytes.clone();
            bad[0] = b'X';
            assert!(read(&bad).is_err());
            for (at, value) in [(12, 3u8), (13, 3u8)] {
                let mut code = bytes.clone();
                code[at] = value;
                assert_eq!(read(&code).unwrap_err().code, crate::ErrorCode::Corrupt);
            }
            let mut huge = bytes.clone();
            huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
            assert_eq!(read(&huge).unwrap_err().code, crate::ErrorCode::Truncated);
        }
        let mut nan = write(&index_of(&[vec![1.0]], Metric::Dot, Storage::F32));
        nan[HEADER_LEN + 8..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(read(&nan).unwrap_err().message.contains("not finite"));
    }

    #[test]
    fn hits_are_twelve_bytes_each() {
        let hits = vec![
            vec![Hit { id: 7, score: 0.5 }],
            vec![Hit { id: 1, score: -1.0 }, Hit { id: 2, score: 2.0 }],
        ];
        let bytes = hit_records(&hits);
        assert_eq!(bytes.len(), 3 * HIT_LEN);
        assert_eq!(&bytes[..8], &7u64.to_le_bytes());
        assert_eq!(&bytes[8..12], &0.5f32.to_le_bytes());
        assert_eq!(&bytes[32..36], &2.0f32.to_le_bytes());
    }
}
