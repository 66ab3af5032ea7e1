//! NDJSON / JSON Lines, read a batch of records at a time: each record is
//! parsed, validated against an optional schema, projected onto optional
//! fields, and reported as one line of JSON. Memory is bounded by the
//! largest record, not the file.

use super::parse::{parse_bytes, utf8, ParseLimits};
use super::schema::Schema;
use crate::{Error, Result};
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

/// A batch ends after the record that takes its results past this many
/// bytes, whatever `max_records` says: what a batch holds, and what crosses
/// back in one call, stays near one record's size (512 records of 1 MB each
/// were a 512 MB result: past wasmtime-py's 128 MiB cap for one call).
const BATCH_BYTES: usize = 8 << 20;

pub struct Reader<R> {
    input: R,
    /// Shared: the component's schema resource lends the same compiled schema.
    schema: Option<Rc<Schema>>,
    fields: Vec<String>,
    limits: ParseLimits,
    line_no: u64,
    bytes_read: u64,
    finished: bool,
    line: Vec<u8>,
}

/// What one call to [`Reader::next_batch`] produced.
pub struct Batch {
    /// One JSON object per record, newline-terminated:
    /// `{"line": N, "valid": bool}` plus `"errors"` (schema violations),
    /// `"error"` (a syntax error), `"fields"` (the projection) or `"value"`
    /// (the record, when neither schema nor fields were given).
    pub results: String,
    pub records: u32,
    pub bytes_read: u64,
    pub finished: bool,
}

impl Reader<BufReader<File>> {
    /// A reader of the file at `path`.
    pub fn open(
        path: &str,
        schema: Option<Rc<Schema>>,
        fields: Vec<String>,
        limits: ParseLimits,
    ) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(&format!("opening {path}"), e))?;
        Reader::new(
            BufReader::with_capacity(1 << 20, file),
            schema,
            fields,
            limits,
        )
    }
}

impl<R: BufRead> Reader<R> {
    pub fn new(
        input: R,
        schema: Option<Rc<Schema>>,
        fields: Vec<String>,
        limits: ParseLimits,
    ) -> Result<Self> {
        for f in &fields {
            super::check_pointer(f)?; // once, before any record
        }
        Ok(Reader {
            input,
            schema,
            fields,
            limits,
            line_no: 0,
            bytes_read: 0,
            finished: false,
            line: Vec::new(),
        })
    }

    /// Reads up to `max_records` records (blank lines are skipped), fewer
    /// once their results pass [`BATCH_BYTES`].
    pub fn next_batch(&mut self, max_records: u32) -> Result<Batch> {
        let mut results = String::new();
        let mut records = 0;
        while records < max_records.max(1) && results.len() < BATCH_BYTES && !self.finished {
            let Some(too_long) = self.read_line()? else {
                self.finished = true;
                break;
            };
            let text = trim(&self.line);
            if text.is_empty() && !too_long {
                continue;
            }
            let result = if too_long {
                json!({"line": self.line_no, "valid": false,
                       "error": format!("the record is over the limit of {} bytes", self.limits.max_size)})
            } else {
                self.record(text.to_vec())
            };
            results.push_str(&serde_json::to_string(&result).expect("a Value serializes"));
            results.push('\n');
            records += 1;
        }
        Ok(Batch {
            results,
            records,
            bytes_read: self.bytes_read,
            finished: self.finished,
        })
    }

    fn record(&self, text: Vec<u8>) -> Value {
        let failed = |e: Error| json!({"line": self.line_no, "valid": false, "error": e.message});
        // Validation alone reads the record through its tape (see `tape`);
        // a projection, or the record itself, needs its DOM (`value`).
        let (value, errors) = match &self.schema {
            Some(schema) if self.fields.is_empty() => {
                match utf8(text).and_then(|t| schema.validate_text(t, &self.limits)) {
                    Ok(errors) => (None, Some(errors)),
                    Err(e) => return failed(e),
                }
            }
            _ => match parse_bytes(text, &self.limits) {
                Ok(v) => {
                    let errors = self.schema.as_ref().map(|s| s.validate(&v));
                    (Some(v), errors)
                }
                Err(e) => return failed(e),
            },
        };
        let mut out = Map::new();
        out.insert("line".into(), json!(self.line_no));
        out.insert(
            "valid".into(),
            json!(errors.as_ref().is_none_or(|e| e.is_empty())),
        );
        if let Some(errors) = errors {
            let list: Vec<Value> = errors
                .into_iter()
                .map(|v| json!({"instance_path": v.instance_path, "schema_path": v.schema_path, "message": v.message}))
                .collect();
            out.insert("errors".into(), Value::Array(list));
        }
        let Some(value) = value else {
            return Value::Object(out);
        };
        if !self.fields.is_empty() {
            let projected: Map<String, Value> = self
                .fields
                .iter()
                .map(|f| (f.clone(), value.pointer(f).cloned().unwrap_or(Value::Null)))
                .collect();
            out.insert("fields".into(), Value::Object(projected));
        } else if self.schema.is_none() {
            out.insert("value".into(), value);
        }
        Value::Object(out)
    }

    /// The next line into `self.line`: `None` at the end, `Some(true)` when
    /// it was over the size limit (the rest of it is skipped unread).
    fn read_line(&mut self) -> Result<Option<bool>> {
        self.line.clear();
        let limit = self.limits.max_size.saturating_add(1);
        let n = (&mut self.input)
            .take(limit)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| Error::io("reading the NDJSON file", e))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.bytes_read += n as u64;
        let too_long = n as u64 == limit && self.line.last() != Some(&b'\n');
        if too_long {
            self.line.clear();
            loop {
                let buf = self
                    .input
                    .fill_buf()
                    .map_err(|e| Error::io("reading the NDJSON file", e))?;
                if buf.is_empty() {
                    break;
                }
                let (used, done) = match buf.iter().position(|&b| b == b'\n') {
                    Some(p) => (p + 1, true),
                    None => (buf.len(), false),
                };
                self.input.consume(used);
                self.bytes_read += used as u64;
                if done {
                    break;
                }
            }
        }
        Ok(Some(too_long))
    }
}

fn trim(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b" \t\r\n".contains(b))
        .map_or(0, |p| p + 1);
    let start = line[..end]
        .iter()
        .position(|b| !b" \t".contains(b))
        .unwrap_or(end);
    &line[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch's results, one JSON value per line.
    fn results(b: &Batch) -> Vec<Value> {
        b.results
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn validates_projects_and_reports_bad_lines() {
        let data = b"{\"a\":1,\"b\":{\"c\":2}}\n\n{\"a\":\"x\"}\nnot json\n{\"a\":3}".to_vec();
        let schema = Schema::compile(
            &json!({"properties": {"a": {"type": "integer"}}}),
            None,
            vec![],
        )
        .unwrap();
        let mut r = Reader::new(
            &data[..],
            Some(Rc::new(schema)),
            vec!["/b/c".into()],
            ParseLimits::default(),
        )
        .unwrap();
        let b = r.next_batch(2).unwrap();
        assert_eq!(b.records, 2);
        assert!(!b.finished);
        let lines = results(&b);
        assert_eq!(lines[0]["fields"]["/b/c"], json!(2));
        assert_eq!(lines[1]["line"], json!(3));
        assert_eq!(lines[1]["valid"], json!(false));
        let b = r.next_batch(10).unwrap();
        assert!(b.finished);
        let lines = results(&b);
        assert!(lines[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("line 1 column 1: invalid literal"));
        assert_eq!(lines[1]["valid"], json!(true));
        assert_eq!(b.bytes_read, data.len() as u64);
    }

    #[test]
    fn an_oversized_record_is_skipped_not_buffered() {
        let mut data = b"{\"a\":\"".to_vec();
        data.extend(std::iter::repeat_n(b'x', 10_000));
        data.extend_from_slice(b"\"}\n[1]\n");
        let limits = ParseLimits {
            max_size: 100,
            ..ParseLimits::default()
        };
        let mut r = Reader::new(&data[..], None, vec![], limits).unwrap();
        let b = r.next_batch(10).unwrap();
        let lines = results(&b);
        assert!(lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("over the limit"));
        assert_eq!(lines[1]["value"], json!([1]));
        assert_eq!(lines[1]["line"], json!(2));
    }

    #[test]
    fn a_batch_ends_once_its_results_pass_its_byte_budget() {
        // Records of 3 MiB: the third takes a batch's results past 8 MiB.
        let record = format!("[\"{}\"]\n", "x".repeat(3 << 20));
        let data = record.repeat(5);
        let mut r = Reader::new(data.as_bytes(), None, vec![], ParseLimits::default()).unwrap();
        let counts: Vec<u32> = std::iter::from_fn(|| {
            let b = r.next_batch(100).unwrap();
            (b.records > 0).then_some(b.records)
        })
        .collect();
        assert_eq!(counts, [3, 2]);
    }
}
