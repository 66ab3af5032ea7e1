//! Exports of the `json` interface.

use super::exports::oms::accel::json as wit;
use super::oms::accel::types;
use super::Component;
use crate::json::{self, ndjson, patch, Document, Draft, Kind, ParseLimits, Schema};
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
        max_depth: if o.max_depth == 0 {
            d.max_depth
        } else {
            o.max_depth
        },
        max_size: if o.max_size == 0 {
            d.max_size
        } else {
            o.max_size
        },
    }
}

fn parse(text: String) -> Result<Value, Error> {
    json::parse(text, &ParseLimits::default())
}

pub struct DocumentResource(Document);

impl wit::GuestDocument for DocumentResource {
    fn parse(text: String, options: wit::ParseOptions) -> WitResult<wit::Document> {
        Ok(wit::Document::new(DocumentResource(Document::parse(
            text,
            limits(options),
        )?)))
    }

    fn parse_file(path: String, options: wit::ParseOptions) -> WitResult<wit::Document> {
        let limits = limits(options);
        let size = std::fs::metadata(&path)
            .map_err(|e| Error::io(&format!("reading {path}"), e))?
            .len();
        if size > limits.max_size {
            return Err(Error::limit(format!(
                "{path} is {size} bytes, over the limit of {} bytes",
                limits.max_size
            ))
            .into());
        }
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&format!("reading {path}"), e))?;
        let text = String::from_utf8(bytes)
            .map_err(|e| Error::corrupt(format!("{path} is not UTF-8: {e}")))?;
        Ok(wit::Document::new(DocumentResource(Document::parse(
            text, limits,
        )?)))
    }

    fn get(&self, pointer: String) -> WitResult<Option<String>> {
        Ok(self.0.get(&pointer)?.map(str::to_string))
    }

    fn kind(&self, pointer: String) -> WitResult<Option<wit::JsonType>> {
        Ok(self.0.kind(&pointer)?.map(|k| match k {
            Kind::Null => wit::JsonType::Null,
            Kind::Boolean => wit::JsonType::Boolean,
            Kind::Number => wit::JsonType::Number,
            Kind::String => wit::JsonType::String,
            Kind::Array => wit::JsonType::Array,
            Kind::Object => wit::JsonType::Object,
        }))
    }

    fn length(&self, pointer: String) -> WitResult<Option<u64>> {
        Ok(self.0.length(&pointer)?)
    }

    fn keys(&self, pointer: String) -> WitResult<Option<Vec<String>>> {
        Ok(self.0.keys(&pointer)?)
    }

    fn to_text(&self, pretty: bool) -> String {
        self.0.to_text(pretty)
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
    fn compile(
        text: String,
        d: Option<wit::Draft>,
        resources: Vec<(String, String)>,
    ) -> WitResult<wit::Schema> {
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
            .validate(doc.get::<DocumentResource>().0.value())
            .into_iter()
            .map(|v| wit::Violation {
                instance_path: v.instance_path,
                schema_path: v.schema_path,
                message: v.message,
            })
            .collect()
    }

    fn is_valid(&self, doc: wit::DocumentBorrow<'_>) -> bool {
        self.0.is_valid(doc.get::<DocumentResource>().0.value())
    }
}

pub struct NdjsonResource(RefCell<Result<ndjson::Reader<BufReader<File>>, Error>>);

impl wit::GuestNdjsonReader for NdjsonResource {
    fn new(
        path: String,
        schema: Option<wit::SchemaBorrow<'_>>,
        fields: Vec<String>,
        options: wit::ParseOptions,
    ) -> Self {
        let schema = schema.map(|s| Rc::clone(&s.get::<SchemaResource>().0));
        let reader = File::open(&path)
            .map_err(|e| Error::io(&format!("opening {path}"), e))
            .and_then(|f| {
                ndjson::Reader::new(
                    BufReader::with_capacity(1 << 20, f),
                    schema,
                    fields,
                    limits(options),
                )
            });
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
