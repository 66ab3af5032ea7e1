//! A parsed document that stays text: parsing validates it (strictly, with
//! simd-json) and lookups navigate the text; the `serde_json::Value` DOM is
//! built only when something needs it (schema validation, re-printing), and
//! then kept. A lookup in a large document so costs a scan, not a DOM.

use super::parse::{build, validate, ParseLimits};
use super::{get, navigate};
use crate::Result;
use serde_json::Value;
use std::cell::OnceCell;

pub struct Document {
    text: String,
    dom: OnceCell<Value>,
}

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Boolean,
    Number,
    String,
    Array,
    Object,
}

impl Document {
    pub fn parse(text: String, limits: ParseLimits) -> Result<Self> {
        validate(text.as_bytes(), &limits)?;
        Ok(Document {
            text,
            dom: OnceCell::new(),
        })
    }

    /// The byte range of the value at `pointer`.
    fn range(&self, pointer: &str) -> Result<Option<(usize, usize)>> {
        get(&Value::Null, pointer)?; // checks the pointer's syntax
        Ok(navigate::find(self.text.as_bytes(), pointer))
    }

    /// JSON text of the value at `pointer`, as it stands in the document.
    pub fn get(&self, pointer: &str) -> Result<Option<&str>> {
        Ok(self.range(pointer)?.map(|(a, b)| &self.text[a..b]))
    }

    pub fn kind(&self, pointer: &str) -> Result<Option<Kind>> {
        Ok(self
            .range(pointer)?
            .map(|(a, _)| match self.text.as_bytes()[a] {
                b'n' => Kind::Null,
                b't' | b'f' => Kind::Boolean,
                b'"' => Kind::String,
                b'[' => Kind::Array,
                b'{' => Kind::Object,
                _ => Kind::Number,
            }))
    }

    /// Items of an array, members of an object, characters of a string.
    pub fn length(&self, pointer: &str) -> Result<Option<u64>> {
        let Some((a, b)) = self.range(pointer)? else {
            return Ok(None);
        };
        let bytes = self.text.as_bytes();
        Ok(match bytes[a] {
            b'[' | b'{' => Some(navigate::count(bytes, a) as u64),
            b'"' => Some(
                serde_json::from_str::<String>(&self.text[a..b])
                    .map_or(0, |s| s.chars().count() as u64),
            ),
            _ => None,
        })
    }

    /// Member names of an object, in document order.
    pub fn keys(&self, pointer: &str) -> Result<Option<Vec<String>>> {
        let Some((a, _)) = self.range(pointer)? else {
            return Ok(None);
        };
        Ok((self.text.as_bytes()[a] == b'{').then(|| navigate::keys(self.text.as_bytes(), a)))
    }

    /// The whole document as a DOM, built on first use.
    pub fn value(&self) -> &Value {
        self.dom.get_or_init(|| {
            build(self.text.as_bytes().to_vec()).expect("the text was validated when parsed")
        })
    }

    pub fn to_text(&self, pretty: bool) -> String {
        super::to_text(self.value(), pretty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_without_a_dom_and_builds_one_on_demand() {
        let d = Document::parse(
            r#" {"a": [1, {"b": "x\"y"}], "n": null, "s": "h\u00e9llo"} "#.into(),
            ParseLimits::default(),
        )
        .unwrap();
        assert_eq!(d.get("/a/1/b").unwrap(), Some(r#""x\"y""#));
        assert_eq!(d.get("/a/2").unwrap(), None);
        assert_eq!(d.kind("/n").unwrap(), Some(Kind::Null));
        assert_eq!(d.length("/a").unwrap(), Some(2));
        assert_eq!(d.length("/s").unwrap(), Some(5));
        assert_eq!(
            d.keys("").unwrap(),
            Some(vec!["a".into(), "n".into(), "s".into()])
        );
        assert!(d.dom.get().is_none());
        assert_eq!(
            d.to_text(false),
            r#"{"a":[1,{"b":"x\"y"}],"n":null,"s":"héllo"}"#
        );
        assert!(d.get("bad").is_err());
        assert!(Document::parse("[1,]".into(), ParseLimits::default()).is_err());
    }
}
