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

use super::index::{Index, Rows, Storage};
use super::kernels::F16;
use super::topk::Hit;
use super::Metric;
use crate::{Error, Result};
use std::ops::Range;

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
    let mut out =
        Vec::with_capacity(HEADER_LEN + record_len(index.dim, index.storage()) * index.len());
    out.extend_from_slice(&header(
        index.dim as u32,
        index.metric,
        index.storage(),
        index.len() as u64,
    ));
    push_records(index, 0..index.len(), &mut out);
    out
}

/// The records of `rows` (clamped to the index), in memory asked for
/// fallibly: how a host takes a large index out a part at a time, so that
/// guest memory never holds the whole file beside the rows.
pub fn records(index: &Index, rows: Range<usize>) -> Result<Vec<u8>> {
    let rows = rows.start.min(index.len())..rows.end.min(index.len());
    let mut out = Vec::new();
    let len = rows.len() * record_len(index.dim, index.storage());
    out.try_reserve_exact(len)
        .map_err(|_| Error::limit(format!("out of memory for {len} bytes of index records")))?;
    push_records(index, rows, &mut out);
    Ok(out)
}

/// Appends the records of `rows` to `out`.
fn push_records(index: &Index, rows: Range<usize>, out: &mut Vec<u8>) {
    for r in rows {
        out.extend_from_slice(&index.ids[r].to_le_bytes());
        match &index.rows {
            Rows::F32(data) => put_le(out, data.row(r), |x| x.to_le_bytes()),
            Rows::F16(data) => put_le(out, data.row(r), |x| x.0.to_le_bytes()),
            Rows::I8 { values, scales } => {
                out.extend_from_slice(&scales[r].to_le_bytes());
                out.extend(values.row(r).iter().map(|&x| x as u8));
            }
        }
    }
}

/// Appends `values` as their `N` bytes each. Written into room made first,
/// not pushed value by value, so that the loop is a plain copy on a
/// little-endian target (wasm's included): pushed, the guest took 0.43 s
/// to hand out 147 MiB of f32 rows.
fn put_le<T: Copy, const N: usize>(out: &mut Vec<u8>, values: &[T], bytes: fn(T) -> [u8; N]) {
    let start = out.len();
    out.resize(start + values.len() * N, 0);
    for (dst, &v) in out[start..].chunks_exact_mut(N).zip(values) {
        dst.copy_from_slice(&bytes(v));
    }
}

/// An index from a file, every field checked.
pub fn read(bytes: &[u8]) -> Result<Index> {
    let body = bytes.get(HEADER_LEN..).unwrap_or_default();
    let mut reader = Reader::new(&bytes[..bytes.len().min(HEADER_LEN)], body.len() as u64)?;
    reader.push(body)?;
    Ok(reader.finish())
}

/// An index read from a file in pieces: the header, then its records in
/// blocks of whole records. Memory holds the rows and one block, never the
/// whole file beside them.
pub struct Reader(Index);

impl Reader {
    /// An empty index for `header` (the file's first `HEADER_LEN` bytes,
    /// or all of a shorter file), with room for its records, after checking
    /// that the file's `body_len` bytes past the header are exactly them.
    pub fn new(header: &[u8], body_len: u64) -> Result<Self> {
        if header.len() < HEADER_LEN || &header[..8] != MAGIC {
            return Err(Error::corrupt("not an oms-accel vector index (bad magic)"));
        }
        let dim = u32::from_le_bytes(header[8..12].try_into().unwrap());
        let metric = match header[12] {
            0 => Metric::Cosine,
            1 => Metric::Dot,
            2 => Metric::L2,
            m => return Err(Error::corrupt(format!("unknown metric code {m}"))),
        };
        let storage = match header[13] {
            0 => Storage::F32,
            1 => Storage::F16,
            2 => Storage::I8,
            s => return Err(Error::corrupt(format!("unknown storage code {s}"))),
        };
        let count = u64::from_le_bytes(header[16..24].try_into().unwrap());
        let mut index = Index::new(dim, metric, storage).map_err(|e| Error::corrupt(e.message))?;
        let record = record_len(index.dim, storage) as u64;
        let held = body_len / record;
        if !body_len.is_multiple_of(record) || held < count {
            return Err(Error::truncated(format!(
                "the index says {count} vectors but its file holds {}",
                body_len as f64 / record as f64
            )));
        }
        if held > count {
            return Err(Error::corrupt(format!(
                "the index says {count} vectors but its file holds {held}"
            )));
        }
        index.reserve(count as usize)?;
        Ok(Reader(index))
    }

    /// Bytes of one record.
    pub fn record_len(&self) -> usize {
        record_len(self.0.dim, self.0.storage())
    }

    /// Appends whole records; see `append_records`.
    pub fn push(&mut self, records: &[u8]) -> Result<()> {
        append_records(&mut self.0, records)
    }

    pub fn finish(self) -> Index {
        self.0
    }
}

/// Appends records in the file's form to `index`, every field checked: all
/// of them, or none when one is refused. How a host that passes lists fast
/// loads a large index a part at a time.
pub fn append_records(index: &mut Index, records: &[u8]) -> Result<()> {
    let record = record_len(index.dim, index.storage());
    if !records.len().is_multiple_of(record) {
        return Err(Error::truncated(format!(
            "{} bytes are not whole index records of {record} bytes",
            records.len()
        )));
    }
    let n = records.len() / record;
    index.reserve(n)?;
    let before = index.len();
    let appended = push_checked(index, records, record);
    if appended.is_err() {
        index.truncate(before);
    }
    appended
}

/// Stores each record of `records` after the rows of `index`; stops at the
/// first refused one.
fn push_checked(index: &mut Index, records: &[u8], record: usize) -> Result<()> {
    let first = index.len();
    for (i, rec) in records.chunks_exact(record).enumerate() {
        let rest = &rec[8..];
        let bad = || Error::corrupt(format!("vector {} of the index is not finite", first + i));
        match &mut index.rows {
            // Converted first and checked after (the row is taken back when
            // refused): both loops are then plain enough to vectorize.
            Rows::F32(data) => data.push_row(|out| {
                let start = out.len();
                out.extend(
                    rest.chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
                );
                match super::first_non_finite(&out[start..]) {
                    Some(_) => Err(bad()),
                    None => Ok(()),
                }
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
                values.push_row(|out| {
                    out.extend(rest[4..].iter().map(|&b| b as i8));
                    Ok(())
                })?;
                scales.push(s);
            }
        }
        index
            .ids
            .push(u64::from_le_bytes(rec[..8].try_into().unwrap()));
    }
    Ok(())
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
    fn records_go_out_and_in_a_part_at_a_time() {
        let rows: Vec<Vec<f32>> = (0..7)
            .map(|i| vec![i as f32, 1.0, -0.5 * i as f32])
            .collect();
        for storage in [Storage::F32, Storage::F16, Storage::I8] {
            let index = index_of(&rows, Metric::Cosine, storage);
            let whole = write(&index);
            let record = record_len(3, storage);
            // Parts of three records, the last short, and one past the end.
            let parts: Vec<Vec<u8>> = (0..9)
                .step_by(3)
                .map(|r| records(&index, r..r + 3).unwrap())
                .collect();
            assert_eq!(
                parts.iter().map(Vec::len).collect::<Vec<_>>(),
                [3 * record, 3 * record, record]
            );
            assert_eq!(parts.concat(), whole[HEADER_LEN..]);
            assert!(records(&index, 9..12).unwrap().is_empty());
            let mut back = Index::new(3, Metric::Cosine, storage).unwrap();
            for part in &parts {
                append_records(&mut back, part).unwrap();
            }
            assert_eq!(write(&back), whole, "{storage:?}");
            // A refused record (the fifth, not finite) takes back the part's
            // first four: the index is as it was.
            let mut bad = whole[HEADER_LEN..].to_vec();
            let at = 4 * record + 8 + if storage == Storage::I8 { 0 } else { 4 };
            bad[at..at + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
            if storage == Storage::F16 {
                bad[at..at + 2].copy_from_slice(&0x7c00u16.to_le_bytes());
            }
            let e = append_records(&mut back, &bad).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::Corrupt);
            assert!(e.message.contains("vector 11 "), "{e}");
            assert_eq!(write(&back), whole, "{storage:?}");
            let e = append_records(&mut back, &bad[..record - 1]).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::Truncated);
            assert_eq!(back.len(), 7);
            // A reader fed in blocks builds the same index.
            let mut reader =
                Reader::new(&whole[..HEADER_LEN], (whole.len() - HEADER_LEN) as u64).unwrap();
            for block in whole[HEADER_LEN..].chunks(2 * reader.record_len()) {
                reader.push(block).unwrap();
            }
            assert_eq!(write(&reader.finish()), whole);
        }
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
