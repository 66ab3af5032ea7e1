//! A parsed document that stays text: parsing validates it (strictly, in
//! one pass of `scan`) and keeps its structural index, and lookups navigate the text
//! through that index; the `serde_json::Value` DOM is built only when
//! something needs it (schema validation, re-printing), and then kept. A
//! lookup in a large document so costs the members it passes, not a DOM.

use super::check_pointer;
use super::navigate::Structure;
use super::parse::{build, index, ParseLimits};
use crate::Result;
use serde_json::Value;
use std::cell::OnceCell;

pub struct Document {
    text: String,
    structure: Structure,
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
        let structure = index(text.as_bytes(), &limits, Structure::new)?;
        Ok(Document {
            text,
            structure,
            dom: OnceCell::new(),
        })
    }

    /// The structural slot of the value at `pointer`.
    fn slot(&self, pointer: &str) -> Result<Option<usize>> {
        check_pointer(pointer)?;
        Ok(self.structure.find(self.text.as_bytes(), pointer))
    }

    /// JSON text of the value at `pointer`, as it stands in the document.
    pub fn get(&self, pointer: &str) -> Result<Option<&str>> {
        Ok(self.slot(pointer)?.map(|k| {
            let (a, b) = self.structure.range(self.text.as_bytes(), k);
            &self.text[a..b]
        }))
    }

    pub fn kind(&self, pointer: &str) -> Result<Option<Kind>> {
        Ok(self
            .slot(pointer)?
            .map(|k| match self.structure.byte(self.text.as_bytes(), k) {
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
        let Some(k) = self.slot(pointer)? else {
            return Ok(None);
        };
        let bytes = self.text.as_bytes();
        let (a, b) = self.structure.range(bytes, k);
        Ok(match bytes[a] {
            b'[' | b'{' => Some(self.structure.count(bytes, k) as u64),
            b'"' => Some(
                serde_json::from_str::<String>(&self.text[a..b])
                    .map_or(0, |s| s.chars().count() as u64),
            ),
            _ => None,
        })
    }

    /// Member names of an object, in document order.
    pub fn keys(&self, pointer: &str) -> Result<Option<Vec<String>>> {
        let Some(k) = self.slot(pointer)? else {
            return Ok(None);
        };
        let bytes = self.text.as_bytes();
        Ok((self.structure.byte(bytes, k) == b'{').then(|| self.structure.keys(bytes, k)))
    }

    /// The whole document as a DOM, built on first use.
    pub fn value(&self) -> &Value {
        self.dom
            .get_or_init(|| build(&self.text).expect("the text was validated when parsed"))
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
