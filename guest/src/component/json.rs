//! Exports of the `json` interface.

use super::exports::oms::accel::json as wit;
use super::oms::accel::types;
use super::Component;
use crate::json::{self, ndjson, patch, Draft, ParseLimits, Schema};
use crate::Error;
use serde_json::Value;
use std::cell::RefCell;
use std::fs::File;
use std::io::BufReader;
use std::rc::Rc;

type WitResult<T> = Result<T, types::Error>;

fn limits(o: wit::ParseOptions) -> ParseLimits {
    let d = ParseLimits::default();
    ParseLimits {
        max_depth: if o.max_depth == 0 { d.max_depth } else { o.max_depth },
        max_size: if o.max_size == 0 { d.max_size } else { o.max_size },
    }
}

fn parse(text: String) -> Result<Value, Error> {
    json::parse(text, &ParseLimits::default())
}

pub struct DocumentResource(Value);

impl DocumentResource {
    fn at(&self, pointer: &str) -> Result<Option<&Value>, Error> {
        json::get(&self.0, pointer)
    }
}

impl wit::GuestDocument for DocumentResource {
    fn parse(text: String, options: wit::ParseOptions) -> WitResult<wit::Document> {
        let value = json::parse(text, &limits(options))?;
        Ok(wit::Document::new(DocumentResource(value)))
    }

    fn parse_file(path: String, options: wit::ParseOptions) -> WitResult<wit::Document> {
        let limits = limits(options);
        let size = std::fs::metadata(&path).map_err(|e| Error::io(&format!("reading {path}"), e))?.len();
        if size > limits.max_size {
            return Err(Error::limit(format!("{path} is {size} bytes, over the limit of {} bytes", limits.max_size)).into());
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&format!("reading {path}"), e))?;
        Ok(wit::Document::new(DocumentResource(json::parse_bytes(bytes, &limits)?)))
    }

    fn get(&self, pointer: String) -> WitResult<Option<String>> {
        Ok(self.at(&pointer)?.map(|v| json::to_text(v, false)))
    }

    fn kind(&self, pointer: String) -> WitResult<Option<wit::JsonType>> {
        Ok(self.at(&pointer)?.map(|v| match v {
            Value::Null => wit::JsonType::Null,
            Value::Bool(_) => wit::JsonType::Boolean,
            Value::Number(_) => wit::JsonType::Number,
            Value::String(_) => wit::JsonType::String,
            Value::Array(_) => wit::JsonType::Array,
            Value::Object(_) => wit::JsonType::Object,
        }))
    }

    fn length(&self, pointer: String) -> WitResult<Option<u64>> {
        Ok(self.at(&pointer)?.and_then(|v| match v {
            Value::Array(a) => Some(a.len() as u64),
            Value::Object(o) => Some(o.len() as u64),
            Value::String(s) => Some(s.chars().count() as u64),
            _ => None,
        }))
    }

    fn keys(&self, pointer: String) -> WitResult<Option<Vec<String>>> {
        Ok(self.at(&pointer)?.and_then(|v| v.as_object().map(|o| o.keys().cloned().collect())))
    }

    fn to_text(&self, pretty: bool) -> String {
        json::to_text(&self.0, pretty)
    }
}

/// Shared, so an NDJSON reader can keep using a schema past the call that
/// lent it.
pub struct SchemaResource(Rc<Schema>);

fn draft(d: wit::Draft) -> Draft {
    match d {
        wit::Draft::Draft4 => Draft::Draft4,
        wit::Draft::Draft6 => Draft::Draft6,
        wit::Draft::Draft7 => Draft::Draft7,
        wit::Draft::Draft201909 => Draft::Draft201909,
        wit::Draft::Draft202012 => Draft::Draft202012,
    }
}

impl wit::GuestSchema for SchemaResource {
    fn compile(text: String, d: Option<wit::Draft>, resources: Vec<(String, String)>) -> WitResult<wit::Schema> {
        let as_schema = |e: Error| Error::invalid(format!("invalid schema: {}", e.message));
        let schema = parse(text).map_err(as_schema)?;
        let resources = resources
            .into_iter()
            .map(|(uri, text)| parse(text).map(|v| (uri, v)).map_err(as_schema))
            .collect::<Result<Vec<_>, _>>()?;
        let compiled = Schema::compile(&schema, d.map(draft), resources)?;
        Ok(wit::Schema::new(SchemaResource(Rc::new(compiled))))
    }

    fn validate(&self, doc: wit::DocumentBorrow<'_>) -> Vec<wit::Violation> {
        self.0
            .validate(&doc.get::<DocumentResource>().0)
            .into_iter()
            .map(|v| wit::Violation {
                instance_path: v.instance_path,
                schema_path: v.schema_path,
                message: v.message,
            })
            .collect()
    }

    fn is_valid(&self, doc: wit::DocumentBorrow<'_>) -> bool {
        self.0.is_valid(&doc.get::<DocumentResource>().0)
    }
}

pub struct NdjsonResource(RefCell<Result<ndjson::Reader<BufReader<File>>, Error>>);

impl wit::GuestNdjsonReader for NdjsonResource {
    fn new(path: String, schema: Option<wit::SchemaBorrow<'_>>, fields: Vec<String>, options: wit::ParseOptions) -> Self {
        let schema = schema.map(|s| Rc::clone(&s.get::<SchemaResource>().0));
        let reader = File::open(&path)
            .map_err(|e| Error::io(&format!("opening {path}"), e))
            .and_then(|f| ndjson::Reader::new(BufReader::with_capacity(1 << 20, f), schema, fields, limits(options)));
        NdjsonResource(RefCell::new(reader))
    }

    fn next_batch(&self, max_records: u32) -> WitResult<wit::Batch> {
        let mut state = self.0.borrow_mut();
        let reader = state.as_mut().map_err(|e| types::Error::from(e.clone()))?;
        let b = reader.next_batch(max_records)?;
        Ok(wit::Batch {
            results: b.results,
            records: b.records,
            bytes_read: b.bytes_read,
            finished: b.finished,
        })
    }
}

impl wit::Guest for Component {
    type Document = DocumentResource;
    type Schema = SchemaResource;
    type NdjsonReader = NdjsonResource;

    fn diff(a: String, b: String) -> WitResult<String> {
        Ok(json::to_text(&patch::diff(&parse(a)?, &parse(b)?), false))
    }

    fn apply_patch(doc: String, ops: String) -> WitResult<String> {
        let mut doc = parse(doc)?;
        patch::apply(&mut doc, &parse(ops)?)?;
        Ok(json::to_text(&doc, false))
    }

    fn merge_patch(doc: String, merge: String) -> WitResult<String> {
        let mut doc = parse(doc)?;
        patch::merge(&mut doc, &parse(merge)?);
        Ok(json::to_text(&doc, false))
    }

    fn canonicalize(doc: String) -> WitResult<String> {
        Ok(json::canonical::canonicalize(&parse(doc)?)?)
    }
}
