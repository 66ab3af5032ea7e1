//! Exports of the `json` interface: type conversions only.

use super::exports::oms::accel::json as wit;
use super::oms::accel::types;
use super::Component;
use crate::json::{self, ndjson, Document, Draft, Kind, ParseLimits, Schema};
use crate::wire;
use std::cell::RefCell;
use std::fs::File;
use std::io::BufReader;
use std::rc::Rc;

type WitResult<T> = Result<T, types::Error>;

impl From<wit::ParseOptions> for ParseLimits {
    fn from(o: wit::ParseOptions) -> Self {
        ParseLimits::or_default(o.max_depth, o.max_size)
    }
}

impl From<wit::Draft> for Draft {
    fn from(d: wit::Draft) -> Self {
        match d {
            wit::Draft::Draft4 => Draft::Draft4,
            wit::Draft::Draft6 => Draft::Draft6,
            wit::Draft::Draft7 => Draft::Draft7,
            wit::Draft::Draft201909 => Draft::Draft201909,
            wit::Draft::Draft202012 => Draft::Draft202012,
        }
    }
}

impl From<Kind> for wit::JsonType {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Null => wit::JsonType::Null,
            Kind::Boolean => wit::JsonType::Boolean,
            Kind::Number => wit::JsonType::Number,
            Kind::String => wit::JsonType::String,
            Kind::Array => wit::JsonType::Array,
            Kind::Object => wit::JsonType::Object,
        }
    }
}

pub struct DocumentResource(Document);

impl wit::GuestDocument for DocumentResource {
    fn parse(text: String, options: wit::ParseOptions) -> WitResult<wit::Document> {
        let doc = Document::parse(text, options.into())?;
        Ok(wit::Document::new(DocumentResource(doc)))
    }

    fn get(&self, pointer: String) -> WitResult<Option<String>> {
        Ok(self.0.get(&pointer)?.map(str::to_string))
    }

    fn kind(&self, pointer: String) -> WitResult<Option<wit::JsonType>> {
        Ok(self.0.kind(&pointer)?.map(Into::into))
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

    fn get_or_file(
        &self,
        pointer: String,
        inline_max: u64,
        path: String,
    ) -> WitResult<Option<String>> {
        match self.0.get(&pointer)? {
            Some(text) => Ok(Some(wire::text_or_file(text.into(), inline_max, &path)?)),
            None => Ok(None),
        }
    }

    fn keys_or_file(
        &self,
        pointer: String,
        inline_max: u64,
        path: String,
    ) -> WitResult<Option<String>> {
        match self.0.keys(&pointer)? {
            Some(keys) => {
                let text = serde_json::to_string(&keys).expect("strings serialize");
                Ok(Some(wire::text_or_file(text.into(), inline_max, &path)?))
            }
            None => Ok(None),
        }
    }

    fn to_text_or_file(&self, pretty: bool, inline_max: u64, path: String) -> WitResult<String> {
        Ok(wire::text_or_file(
            self.0.to_text(pretty).into(),
            inline_max,
            &path,
        )?)
    }
}

/// Shared, so an NDJSON reader can keep using a schema past the call that
/// lent it.
pub struct SchemaResource(Rc<Schema>);

impl wit::GuestSchema for SchemaResource {
    fn compile(
        text: String,
        draft: Option<wit::Draft>,
        resources: Vec<(String, String)>,
        options: wit::ParseOptions,
    ) -> WitResult<wit::Schema> {
        let schema = Schema::compile_text(text, draft.map(Into::into), resources, &options.into())?;
        Ok(wit::Schema::new(SchemaResource(Rc::new(schema))))
    }

    fn validate(&self, doc: wit::DocumentBorrow<'_>) -> Vec<wit::Violation> {
        violations(self.0.validate(doc.get::<DocumentResource>().0.value()))
    }

    fn is_valid(&self, doc: wit::DocumentBorrow<'_>) -> bool {
        self.0.is_valid(doc.get::<DocumentResource>().0.value())
    }

    fn validate_text(
        &self,
        text: String,
        options: wit::ParseOptions,
    ) -> WitResult<Vec<wit::Violation>> {
        Ok(violations(self.0.validate_text(text, &options.into())?))
    }

    fn validate_or_file(
        &self,
        doc: wit::DocumentBorrow<'_>,
        inline_max: u64,
        path: String,
    ) -> WitResult<Option<Vec<wit::Violation>>> {
        let found = self.0.validate(doc.get::<DocumentResource>().0.value());
        violations_or_file(found, inline_max, &path)
    }

    fn validate_text_or_file(
        &self,
        text: String,
        options: wit::ParseOptions,
        inline_max: u64,
        path: String,
    ) -> WitResult<Option<Vec<wit::Violation>>> {
        let found = self.0.validate_text(text, &options.into())?;
        violations_or_file(found, inline_max, &path)
    }

    fn is_valid_text(&self, text: String, options: wit::ParseOptions) -> WitResult<bool> {
        Ok(self.0.is_valid_text(text, &options.into())?)
    }
}

/// `found` as the WIT's `*-or-file` calls give it back: in the call if it
/// takes at most `inline_max` bytes there (its strings, and a record of
/// three pointers and lengths each), else written to `path` as JSON.
fn violations_or_file(
    found: Vec<crate::json::Violation>,
    inline_max: u64,
    path: &str,
) -> WitResult<Option<Vec<wit::Violation>>> {
    let bytes: usize = found
        .iter()
        .map(|v| 24 + v.instance_path.len() + v.schema_path.len() + v.message.len())
        .sum();
    if bytes as u64 <= inline_max {
        return Ok(Some(violations(found)));
    }
    let rows: Vec<[&str; 3]> = found
        .iter()
        .map(|v| [&*v.instance_path, &*v.schema_path, &*v.message])
        .collect();
    let text = serde_json::to_vec(&rows).expect("strings serialize");
    wire::write_whole(path, &text)?;
    Ok(None)
}

fn violations(found: Vec<crate::json::Violation>) -> Vec<wit::Violation> {
    found
        .into_iter()
        .map(|v| wit::Violation {
            instance_path: v.instance_path,
            schema_path: v.schema_path,
            message: v.message,
        })
        .collect()
}

/// (WIT methods take `&self`: the reader sits in a `RefCell`.)
pub struct NdjsonResource(RefCell<ndjson::Reader<BufReader<File>>>);

impl wit::GuestNdjsonReader for NdjsonResource {
    fn open(
        path: String,
        schema: Option<wit::SchemaBorrow<'_>>,
        fields: Vec<String>,
        options: wit::ParseOptions,
    ) -> WitResult<wit::NdjsonReader> {
        let schema = schema.map(|s| Rc::clone(&s.get::<SchemaResource>().0));
        let reader = ndjson::Reader::open(&path, schema, fields, options.into())?;
        Ok(wit::NdjsonReader::new(NdjsonResource(RefCell::new(reader))))
    }

    fn next_batch(&self, max_records: u32) -> WitResult<wit::Batch> {
        let b = self.0.borrow_mut().next_batch(max_records)?;
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

    fn diff(a: String, b: String, options: wit::ParseOptions) -> WitResult<String> {
        Ok(json::text::diff(a, b, &options.into())?)
    }

    fn apply_patch(doc: String, patch: String, options: wit::ParseOptions) -> WitResult<String> {
        Ok(json::text::apply_patch(doc, patch, &options.into())?)
    }

    fn merge_patch(doc: String, patch: String, options: wit::ParseOptions) -> WitResult<String> {
        Ok(json::text::merge_patch(doc, patch, &options.into())?)
    }

    fn canonicalize(doc: String, options: wit::ParseOptions) -> WitResult<String> {
        Ok(json::text::canonicalize(doc, &options.into())?)
    }

    fn text_op_or_file(
        op: wit::TextOp,
        a: String,
        b: String,
        options: wit::ParseOptions,
        inline_max: u64,
        path: String,
    ) -> WitResult<String> {
        let text = match op {
            wit::TextOp::Diff => Self::diff(a, b, options)?,
            wit::TextOp::ApplyPatch => Self::apply_patch(a, b, options)?,
            wit::TextOp::MergePatch => Self::merge_patch(a, b, options)?,
            wit::TextOp::Canonicalize => Self::canonicalize(a, options)?,
        };
        Ok(wire::text_or_file(text.into(), inline_max, &path)?)
    }
}
