//! JSON Schema validation with the `jsonschema` crate: a schema is compiled
//! once (with any extra resources its `$ref`s name) and then validates many
//! documents.

use super::parse::{build, parse, tape, ParseLimits};
use super::tape::{TapeJson, TapeNode};
use crate::{Error, ErrorCode, Result};
use jsonschema::json::Json;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draft {
    Draft4,
    Draft6,
    Draft7,
    Draft201909,
    Draft202012,
}

impl Draft {
    fn to_jsonschema(self) -> jsonschema::Draft {
        match self {
            Draft::Draft4 => jsonschema::Draft::Draft4,
            Draft::Draft6 => jsonschema::Draft::Draft6,
            Draft::Draft7 => jsonschema::Draft::Draft7,
            Draft::Draft201909 => jsonschema::Draft::Draft201909,
            Draft::Draft202012 => jsonschema::Draft::Draft202012,
        }
    }
}

/// One way a document fails its schema: where in the document (an RFC 6901
/// pointer), which keyword of the schema (a pointer into the schema), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub instance_path: String,
    pub schema_path: String,
    pub message: String,
}

/// The caller's resources, served to `$ref`s on demand (so a resource that
/// no reference reaches is never resolved); nothing else can be retrieved.
struct Resources(HashMap<String, Value>);

impl jsonschema::Retrieve for Resources {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> std::result::Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = uri.as_str().trim_end_matches('#');
        self.0.get(key).cloned().ok_or_else(|| {
            format!("{key} is not among the resources given (nothing is fetched from a network)")
                .into()
        })
    }
}

/// The schema compiled for the tape that validating text reads (see
/// `tape`), and, on first use, for the DOM of a parsed `Document`. Only
/// what is used is compiled: each compile in wasm also builds jsonschema's
/// validator of the draft's meta-schema (it keeps none between compiles on
/// wasm targets), 1.5 ms of the 3.0 that compiling both took for a 4 KB
/// schema, and text, the common case, needs only the tape's.
pub struct Schema {
    tape: jsonschema::Validator<TapeJson>,
    dom: OnceLock<jsonschema::Validator>,
    /// What the DOM's validator is compiled from.
    source: Value,
    draft: Option<Draft>,
    resources: HashMap<String, Value>,
}

impl Schema {
    /// Compiles `schema` for `draft` (None: the schema's `$schema`, else
    /// 2020-12). `resources` are (URI, schema) pairs its `$ref`s may name;
    /// nothing is fetched from a network.
    pub fn compile(
        schema: &Value,
        draft: Option<Draft>,
        resources: Vec<(String, Value)>,
    ) -> Result<Self> {
        let invalid = |e| Error::new(ErrorCode::InvalidSchema, format!("invalid schema: {e}"));
        let resources: HashMap<String, Value> = resources.into_iter().collect();
        Ok(Schema {
            tape: build_for(schema, draft, &resources).map_err(invalid)?,
            dom: OnceLock::new(),
            source: schema.clone(),
            draft,
            resources,
        })
    }

    /// The validator of DOMs, compiled on first use.
    fn dom(&self) -> &jsonschema::Validator {
        self.dom.get_or_init(|| {
            build_for(&self.source, self.draft, &self.resources)
                .expect("the same schema, options and resources compiled for the tape")
        })
    }

    /// `compile` from JSON text, each text parsed under `limits`; text that
    /// is not JSON is an invalid schema too.
    pub fn compile_text(
        text: String,
        draft: Option<Draft>,
        resources: Vec<(String, String)>,
        limits: &ParseLimits,
    ) -> Result<Self> {
        let as_schema = |e: Error| Error {
            code: ErrorCode::InvalidSchema,
            message: format!("invalid schema: {}", e.message),
            ..e
        };
        let schema = parse(text, limits).map_err(as_schema)?;
        let resources = resources
            .into_iter()
            .map(|(uri, text)| parse(text, limits).map(|v| (uri, v)).map_err(as_schema))
            .collect::<Result<Vec<_>>>()?;
        Self::compile(&schema, draft, resources)
    }

    pub fn is_valid(&self, instance: &Value) -> bool {
        self.dom().is_valid(instance)
    }

    /// Every violation, in the order the validator finds them.
    pub fn validate(&self, instance: &Value) -> Vec<Violation> {
        violations(self.dom(), instance)
    }

    /// `validate` of JSON `text`, checked under `limits` and read through
    /// its tape: no DOM (which was most of the cost of validating a small
    /// document, and 5.4x a large one's size in memory) and no document
    /// kept. A text whose objects repeat a key is validated through the DOM,
    /// which keeps the last value of a key as the rest of the API does.
    pub fn validate_text(&self, text: String, limits: &ParseLimits) -> Result<Vec<Violation>> {
        read_text(
            &text,
            limits,
            |root| violations(&self.tape, root),
            |dom| self.validate(dom),
        )
    }

    /// `is_valid` of JSON text, read as `validate_text` reads it.
    pub fn is_valid_text(&self, text: String, limits: &ParseLimits) -> Result<bool> {
        read_text(
            &text,
            limits,
            |root| self.tape.is_valid(root),
            |dom| self.is_valid(dom),
        )
    }
}

/// `schema` compiled for the representation `F` (a DOM or a tape), for
/// `draft` (None: the schema's own), its `$ref`s served from `resources`.
fn build_for<F: Json>(
    schema: &Value,
    draft: Option<Draft>,
    resources: &HashMap<String, Value>,
) -> std::result::Result<jsonschema::Validator<F>, jsonschema::ValidationError<'static>> {
    let mut options = jsonschema::options_for::<F>().with_retriever(Resources(resources.clone()));
    if let Some(d) = draft {
        options = options.with_draft(d.to_jsonschema());
    }
    options.build(schema)
}

/// `text` checked under `limits`, then given to `tape` as its tape's root,
/// or to `dom` as a DOM when an object in it repeats a key.
fn read_text<T>(
    text: &str,
    limits: &ParseLimits,
    on_tape: impl FnOnce(TapeNode<'_>) -> T,
    on_dom: impl FnOnce(&Value) -> T,
) -> Result<T> {
    Ok(match tape(text, limits)? {
        Some(t) => on_tape(t.root()),
        None => on_dom(&build(text)?),
    })
}

/// Every violation of `instance`, through either representation.
fn violations<'i, F: Json>(
    validator: &'i jsonschema::Validator<F>,
    instance: F::Node<'i>,
) -> Vec<Violation> {
    // The valid case first: `is_valid` stops at nothing and builds no
    // error, where collecting errors on a valid 5 MB document cost 8x as
    // much (48 ms against 6, natively).
    if validator.is_valid(instance.clone()) {
        return Vec::new();
    }
    validator
        .iter_errors(instance)
        .map(|e| Violation {
            instance_path: e.instance_path().to_string(),
            schema_path: e.schema_path().to_string(),
            message: e.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_and_reports_paths() {
        let s = Schema::compile(
            &json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 3}}, "required": ["n"]}),
            None,
            vec![],
        )
        .unwrap();
        assert!(s.is_valid(&json!({"n": 5})));
        let v = s.validate(&json!({"n": 1}));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].instance_path, "/n");
        assert_eq!(v[0].schema_path, "/properties/n/minimum");
        assert_eq!(s.validate(&json!({})).len(), 1);
        // From text: the same violations, and a syntax error as such.
        let limits = ParseLimits::default();
        assert!(s
            .validate_text(r#"{"n": 5}"#.into(), &limits)
            .unwrap()
            .is_empty());
        let v = s.validate_text(r#"{"n": 1}"#.into(), &limits).unwrap();
        assert_eq!((v.len(), v[0].instance_path.as_str()), (1, "/n"));
        let e = s.validate_text(r#"{"n": "#.into(), &limits).unwrap_err();
        assert_eq!(e.code, ErrorCode::Syntax);
        let deep = "[".repeat(600) + &"]".repeat(600);
        assert_eq!(
            s.validate_text(deep, &limits).unwrap_err().code,
            ErrorCode::LimitExceeded
        );
    }

    /// Text is validated through its tape, a `Document` through its DOM:
    /// both must find the same violations, with the same messages.
    mod tape_and_dom_agree {
        use super::*;
        use proptest::prelude::*;

        fn schema() -> Schema {
            Schema::compile(
                &json!({
                    "type": "object",
                    "required": ["id", "tags"],
                    "properties": {
                        "id": {"type": "string", "pattern": "^[a-c]+$", "minLength": 2},
                        "n": {"type": "integer", "minimum": -5, "multipleOf": 2},
                        "x": {"type": "number", "exclusiveMaximum": 1.5},
                        "tags": {"type": "array", "items": {"enum": ["a", "b\"", 1, null, [1]]},
                                 "uniqueItems": true, "maxItems": 3},
                        "kind": {"const": {"k": [true]}},
                        "sub": {"$ref": "#"}
                    },
                    "propertyNames": {"maxLength": 4},
                    "additionalProperties": {"type": ["boolean", "null", "object"]}
                }),
                None,
                vec![],
            )
            .unwrap()
        }

        fn arb_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-8i64..8).prop_map(Value::from),
                prop_oneof![Just(1.0), Just(2.5), Just(-0.5), Just(1e300)].prop_map(Value::from),
                "[abc\"\u{e9}]{0,4}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(
                        prop_oneof![
                            Just("id".to_owned()),
                            Just("n".to_owned()),
                            Just("x".to_owned()),
                            Just("tags".to_owned()),
                            Just("kind".to_owned()),
                            Just("sub".to_owned()),
                            "[a-z\"]{1,5}"
                        ],
                        inner,
                        0..5,
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn on_any_document(v in arb_value(), pretty in any::<bool>()) {
                let s = schema();
                let text = if pretty {
                    serde_json::to_string_pretty(&v).unwrap()
                } else {
                    serde_json::to_string(&v).unwrap()
                };
                let limits = ParseLimits::default();
                let found = s.validate_text(text.clone(), &limits).unwrap();
                prop_assert_eq!(s.is_valid_text(text, &limits).unwrap(), found.is_empty());
                prop_assert_eq!(found, s.validate(&v));
            }
        }

        #[test]
        fn when_a_key_repeats_the_last_value_counts() {
            let s = schema();
            let text = r#"{"id": 5, "tags": [], "id": "ab"}"#;
            let limits = ParseLimits::default();
            assert!(s.validate_text(text.into(), &limits).unwrap().is_empty());
            let text = r#"{"id": "ab", "tags": [], "id": 5}"#;
            let v = s.validate_text(text.into(), &limits).unwrap();
            assert_eq!(v.len(), 1, "{v:?}");
            assert_eq!(v[0].instance_path, "/id");
        }
    }

    #[test]
    fn invalid_schema_and_resources() {
        let e = Schema::compile(&json!({"type": 12}), None, vec![])
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::InvalidSchema);
        let s = Schema::compile(
            &json!({"$ref": "http://example.com/int.json"}),
            Some(Draft::Draft7),
            vec![(
                "http://example.com/int.json".into(),
                json!({"type": "integer"}),
            )],
        )
        .unwrap();
        assert!(s.is_valid(&json!(3)) && !s.is_valid(&json!("x")));
    }

    #[test]
    fn schema_text_is_parsed_under_the_limits() {
        let limits = ParseLimits::or_default(3, 0);
        let ok = Schema::compile_text(
            r#"{"items": {"type": "integer"}}"#.into(),
            None,
            vec![],
            &limits,
        );
        assert!(ok.unwrap().is_valid(&json!([1])));
        let deep = r#"{"items": {"items": {"items": {}}}}"#.to_string();
        let e = Schema::compile_text(deep, None, vec![], &limits)
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::InvalidSchema);
        let e = Schema::compile_text("{".into(), None, vec![], &limits)
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::InvalidSchema);
        assert!(e.position.is_some(), "the syntax error keeps its position");
    }
}
