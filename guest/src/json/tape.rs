//! A JSON text as a flat tape of its values, which the validator reads
//! through jsonschema's `Json` trait instead of a serde_json DOM.
//!
//! Building the DOM was most of validating a text: three quarters of a
//! 4 KB document's call in wasm (an `IndexMap` with SipHash per object, an
//! allocation per string), and 5.4x a large document's size in memory. The
//! tape is written by `scan` as it checks the text (one pass for both), 20
//! bytes per value; strings and numbers stay in the text and are read when
//! a keyword asks for them.
//!
//! Objects are matched against keys by a pass over their members (the
//! validator is told so, see `KEYS_PER_LOOKUP`). A text with a repeated key
//! in an object gets no tape: serde_json's map keeps the last value at the
//! first key's place, and the DOM path gives exactly that.

use super::navigate::decode_string;
use super::scan::{count, scan, ByteClass, Invalid, Sink};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use super::scan::{i8x16_eq, u8x16_splat, v128, v128_or};
use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use jsonschema::JsonType;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    True,
    False,
    Number,
    String,
    Array,
    Object,
}

/// One value of the text.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    kind: Kind,
    /// A string with an escape, which must be decoded to be read.
    escaped: bool,
    /// Its bytes in the text: `start..end`.
    start: u32,
    end: u32,
    /// The entry after it and everything inside it.
    next: u32,
    /// Items of an array, members of an object.
    count: u32,
}

pub struct Tape<'t> {
    text: &'t str,
    entries: Vec<Entry>,
}

impl<'t> Tape<'t> {
    /// The tape of `text`, built as `scan` checks it (strict JSON nested at
    /// most `max_depth` deep: one pass for both); None when an object in it
    /// repeats a key.
    pub fn parse(text: &'t str, max_depth: u32) -> Result<Option<Self>, Invalid> {
        let builder = Builder {
            text,
            entries: Vec::with_capacity(entries_at_most(text.as_bytes())),
            open: Vec::new(),
            repeats: false,
        };
        let built = scan(text.as_bytes(), max_depth, builder)?;
        Ok((!built.repeats).then_some(Tape {
            text,
            entries: built.entries,
        }))
    }

    pub fn root(&self) -> TapeNode<'_> {
        TapeNode {
            text: self.text,
            entries: &self.entries,
            at: 0,
        }
    }
}

/// The scanner's sink that writes the tape.
struct Builder<'t> {
    text: &'t str,
    entries: Vec<Entry>,
    /// The entries of the containers open at this point.
    open: Vec<usize>,
    /// An object closed so far repeats a key.
    repeats: bool,
}

impl Builder<'_> {
    /// An entry for the value at `start..end`, counted as an element of
    /// the array it is in (an object counts its members by their keys).
    #[inline(always)]
    fn value(&mut self, kind: Kind, start: usize, end: usize, escaped: bool) {
        if let Some(&top) = self.open.last() {
            if self.entries[top].kind == Kind::Array {
                self.entries[top].count += 1;
            }
        }
        self.push(kind, start, end, escaped);
    }

    #[inline(always)]
    fn push(&mut self, kind: Kind, start: usize, end: usize, escaped: bool) {
        let next = offset(self.entries.len() + 1);
        self.entries.push(Entry {
            kind,
            escaped,
            start: offset(start),
            end: offset(end),
            next,
            count: 0,
        });
    }
}

impl Sink for Builder<'_> {
    #[inline(always)]
    fn mark(&mut self, _: usize) -> u32 {
        0
    }

    #[inline(always)]
    fn pair(&mut self, _: u32, _: u32) {}

    #[inline(always)]
    fn scalar(&mut self, start: usize, end: usize, escaped: bool) {
        let kind = match self.text.as_bytes()[start] {
            b'"' => Kind::String,
            b't' => Kind::True,
            b'f' => Kind::False,
            b'n' => Kind::Null,
            _ => Kind::Number,
        };
        self.value(kind, start, end, escaped);
    }

    #[inline(always)]
    fn key(&mut self, start: usize, end: usize, escaped: bool) {
        let top = *self.open.last().expect("a key is inside an object");
        self.entries[top].count += 1;
        self.push(Kind::String, start, end, escaped);
    }

    #[inline(always)]
    fn open(&mut self, object: bool, start: usize) {
        let kind = if object { Kind::Object } else { Kind::Array };
        // (its end and next are set when it closes)
        self.value(kind, start, start, false);
        self.open.push(self.entries.len() - 1);
    }

    #[inline(always)]
    fn close(&mut self, end: usize) {
        let top = self.open.pop().expect("a container closes after it opens");
        let next = offset(self.entries.len());
        let e = &mut self.entries[top];
        e.end = offset(end);
        e.next = next;
        if e.kind == Kind::Object && e.count > 1 && !self.repeats {
            self.repeats = repeats_a_key(self.text, &self.entries, top);
        }
    }
}

/// At most how many entries the tape of `text` has: every value but the
/// first follows a ',' or opens a container's contents ('[' or '{'), and
/// every key comes before a ':' (those inside strings only loosen the
/// bound). Sized so, the tape is never grown: a grown `Vec` in wasm leaves
/// the pages of the one it replaced in use, and growing from a guess of a
/// value per 16 bytes held 1.4x the text's size of them (on the ontology
/// sample, a value per 9 bytes). Counted 16 bytes a step in wasm (LLVM's
/// own loop added a tenth to the validation of 4 KB there).
fn entries_at_most(text: &[u8]) -> usize {
    count::<EntryMark>(text) + 1
}

/// The bytes that bound a tape's entries: ',' ':' '[' '{'.
struct EntryMark;

impl ByteClass for EntryMark {
    #[inline(always)]
    fn has(b: u8) -> bool {
        matches!(b, b',' | b':' | b'[' | b'{')
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn lanes(v: v128) -> v128 {
        // '[' and '{' differ only in 0x20.
        v128_or(
            v128_or(
                i8x16_eq(v, u8x16_splat(b',')),
                i8x16_eq(v, u8x16_splat(b':')),
            ),
            i8x16_eq(v128_or(v, u8x16_splat(0x20)), u8x16_splat(b'{')),
        )
    }
}

fn offset(i: usize) -> u32 {
    u32::try_from(i).expect("texts are capped far below 4 GiB")
}

/// Whether the object at `at` has two members with the same key.
///
/// Objects of up to `SMALL` members whose keys have no escapes (nearly all)
/// compare their keys' raw bytes in place: collecting them in a `Vec` for
/// every object was a third of building the tape of a 4 KB document.
fn repeats_a_key(text: &str, entries: &[Entry], at: usize) -> bool {
    const SMALL: usize = 16;
    let count = entries[at].count as usize;
    if count <= SMALL {
        let b = text.as_bytes();
        let mut keys = [&b[..0]; SMALL];
        let mut k = at + 1;
        let mut plain = true;
        for key in keys.iter_mut().take(count) {
            let e = &entries[k];
            plain &= !e.escaped;
            *key = &b[e.start as usize..e.end as usize];
            // The member's value is the entry after its key.
            k = entries[k + 1].next as usize;
        }
        if plain {
            let keys = &keys[..count];
            return keys
                .iter()
                .enumerate()
                .any(|(i, key)| keys[i + 1..].contains(key));
        }
    }
    let node = TapeNode {
        text,
        entries,
        at: at as u32,
    };
    let mut keys: Vec<Cow<'_, str>> = TapeObject(node).members().map(|(k, _)| k).collect();
    if keys.len() <= 8 {
        return keys
            .iter()
            .enumerate()
            .any(|(i, k)| keys[i + 1..].contains(k));
    }
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}

/// The representation jsonschema is compiled for (`Validator<TapeJson>`).
pub struct TapeJson;

/// Backs the string nodes of `propertyNames`: one string's tape.
#[derive(Default)]
pub struct StringBuffer {
    text: String,
    entries: Vec<Entry>,
}

impl Json for TapeJson {
    type Node<'a> = TapeNode<'a>;
    type PreparedKey = String;
    type StringBuffer = StringBuffer;
    /// A key lookup is itself a pass over the members.
    const KEYS_PER_LOOKUP: usize = 1 << 16;
    const ACYCLIC: bool = true;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>(
        buffer: &mut StringBuffer,
        string: &str,
        f: impl FnOnce(TapeNode<'_>) -> T,
    ) -> T {
        buffer.text = serde_json::to_string(string).expect("a string serializes");
        buffer.entries.clear();
        buffer.entries.push(Entry {
            kind: Kind::String,
            escaped: buffer.text.contains('\\'),
            start: 0,
            end: offset(buffer.text.len()),
            next: 1,
            count: 0,
        });
        f(TapeNode {
            text: &buffer.text,
            entries: &buffer.entries,
            at: 0,
        })
    }
}

/// One value of a tape.
#[derive(Clone, Copy)]
pub struct TapeNode<'a> {
    text: &'a str,
    entries: &'a [Entry],
    at: u32,
}

impl<'a> TapeNode<'a> {
    fn entry(&self) -> &'a Entry {
        &self.entries[self.at as usize]
    }

    fn raw(&self) -> &'a str {
        let e = self.entry();
        &self.text[e.start as usize..e.end as usize]
    }

    fn at(&self, at: u32) -> Self {
        TapeNode { at, ..*self }
    }

    /// The string's value (it is a string).
    fn string(&self) -> Cow<'a, str> {
        let raw = self.raw();
        if self.entry().escaped {
            Cow::Owned(decode_string(raw.as_bytes()))
        } else {
            Cow::Borrowed(&raw[1..raw.len() - 1])
        }
    }
}

impl<'a> Node<'a, TapeJson> for TapeNode<'a> {
    type Object = TapeObject<'a>;
    type Array = TapeArray<'a>;
    type Number = serde_json::Number;

    fn as_object(&self) -> Option<TapeObject<'a>> {
        (self.entry().kind == Kind::Object).then_some(TapeObject(*self))
    }

    fn as_array(&self) -> Option<TapeArray<'a>> {
        (self.entry().kind == Kind::Array).then_some(TapeArray(*self))
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        (self.entry().kind == Kind::String).then(|| self.string())
    }

    /// Read from the text as the DOM reads it (serde_json's own number
    /// parser), so that both paths see the same numbers.
    fn as_number(&self) -> Option<serde_json::Number> {
        (self.entry().kind == Kind::Number)
            .then(|| self.raw().parse().expect("a validated JSON number"))
    }

    fn is_number(&self) -> bool {
        self.entry().kind == Kind::Number
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.entry().kind {
            Kind::True => Some(true),
            Kind::False => Some(false),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        self.entry().kind == Kind::Null
    }

    fn json_type(&self) -> JsonType {
        match self.entry().kind {
            Kind::Null => JsonType::Null,
            Kind::True | Kind::False => JsonType::Boolean,
            Kind::Number => JsonType::Number,
            Kind::String => JsonType::String,
            Kind::Array => JsonType::Array,
            Kind::Object => JsonType::Object,
        }
    }

    /// `enum` and `const` of strings without building a `Value`.
    fn equals_value(&self, expected: &Value) -> bool {
        match (self.entry().kind, expected) {
            (Kind::String, Value::String(s)) => self.string() == s.as_str(),
            (Kind::String, _) => false,
            _ => jsonschema::json::cmp::equal(&self.to_value(), expected),
        }
    }

    /// For error messages and the rarer keywords: the value as the DOM has it.
    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(serde_json::from_str(self.raw()).expect("validated JSON"))
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::tagged(
            self.entries.as_ptr() as usize,
            self.at,
        ))
    }
}

/// The members of an object: key and value, in the text's order.
pub struct Members<'a> {
    node: TapeNode<'a>,
    left: u32,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, TapeNode<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let key = self.node;
        let value = key.at(key.at + 1);
        self.node = key.at(value.entry().next);
        Some((key.string(), value))
    }
}

#[derive(Clone, Copy)]
pub struct TapeObject<'a>(TapeNode<'a>);

impl<'a> Object<'a, TapeJson> for TapeObject<'a> {
    type Node = TapeNode<'a>;
    type MemberName = Cow<'a, str>;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        self.0.entry().count as usize
    }

    /// A pass over the members (an unescaped key is compared where it
    /// stands in the text).
    fn get(&self, key: &String) -> Option<TapeNode<'a>> {
        self.members()
            .find(|(name, _)| name == key.as_str())
            .map(|(_, value)| value)
    }

    fn members(&self) -> Members<'a> {
        Members {
            node: self.0.at(self.0.at + 1),
            left: self.0.entry().count,
        }
    }
}

/// The items of an array, in order.
pub struct Items<'a> {
    node: TapeNode<'a>,
    left: u32,
}

impl<'a> Iterator for Items<'a> {
    type Item = TapeNode<'a>;

    fn next(&mut self) -> Option<TapeNode<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let item = self.node;
        self.node = item.at(item.entry().next);
        Some(item)
    }
}

#[derive(Clone, Copy)]
pub struct TapeArray<'a>(TapeNode<'a>);

impl<'a> Array<'a, TapeJson> for TapeArray<'a> {
    type Node = TapeNode<'a>;
    type ElementsIter = Items<'a>;

    fn len(&self) -> usize {
        self.0.entry().count as usize
    }

    fn elements(&self) -> Items<'a> {
        Items {
            node: self.0.at(self.0.at + 1),
            left: self.0.entry().count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tape of valid JSON text.
    fn build(text: &str) -> Option<Tape<'_>> {
        Tape::parse(text, 1024).expect("valid JSON")
    }

    /// The tape read back as a `Value`, through the trait alone.
    fn value(node: TapeNode<'_>) -> Value {
        if let Some(o) = node.as_object() {
            let map = o
                .members()
                .map(|(k, v)| (k.into_owned(), value(v)))
                .collect();
            return Value::Object(map);
        }
        if let Some(a) = node.as_array() {
            return Value::Array(a.elements().map(value).collect());
        }
        if let Some(s) = node.as_string() {
            return Value::String(s.into_owned());
        }
        if let Some(n) = node.as_number() {
            return Value::Number(n);
        }
        if let Some(b) = node.as_boolean() {
            return Value::Bool(b);
        }
        assert!(node.is_null());
        Value::Null
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z\"\\\\\u{e9}\u{1F600}\n]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-c\"\\\\]{0,3}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn reads_back_what_serde_json_parses(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&v).unwrap()
            } else {
                serde_json::to_string(&v).unwrap()
            };
            let tape = build(&text).expect("no repeated keys");
            let root = tape.root();
            prop_assert_eq!(value(root), serde_json::from_str::<Value>(&text).unwrap());
            prop_assert_eq!(root.to_value().into_owned(), v);
        }
    }

    #[test]
    fn lookups_find_members_escaped_or_not() {
        let text = r#" { "a" : [1, {"b\"": null}] , "\u0063": "x\ty", "e": {} } "#;
        let tape = build(text).unwrap();
        let root = tape.root().as_object().unwrap();
        assert_eq!(root.len(), 3);
        let c = root.get(&"c".to_owned()).unwrap();
        assert_eq!(c.as_string().unwrap(), "x\ty");
        let a = root.get(&"a".to_owned()).unwrap().as_array().unwrap();
        let inner = a.elements().nth(1).unwrap().as_object().unwrap();
        assert!(inner.get(&"b\"".to_owned()).unwrap().is_null());
        assert_eq!(
            root.get(&"e".to_owned())
                .unwrap()
                .as_object()
                .unwrap()
                .len(),
            0
        );
        assert!(root.get(&"z".to_owned()).is_none());
    }

    #[test]
    fn a_repeated_key_gets_no_tape() {
        assert!(build(r#"{"a": 1, "b": 2, "a": 3}"#).is_none());
        assert!(build(r#"[{"a": 1, "\u0061": 2}]"#).is_none());
        let many: Vec<String> = (0..20).map(|i| format!("\"k{}\": {i}", i % 19)).collect();
        assert!(build(&format!("{{{}}}", many.join(","))).is_none());
        assert!(build(r#"{"a": {"a": 1}, "b": {"a": 2}}"#).is_some());
        // Containers between the keys (each key found past its value's subtree).
        assert!(build(r#"{"a": [1, {"c": 2}], "b": {"d": [3]}, "a": null}"#).is_none());
        assert!(build(r#"{"a": [1, {"c": 2}], "b": {"d": [3]}, "ab": null}"#).is_some());
        // Sixteen members, the most compared in place: first and last alike, or not.
        let keys = |last: &str| {
            let mut k: Vec<String> = (0..15).map(|i| format!("\"k{i}\": [{i}]")).collect();
            k.push(format!("\"{last}\": 0"));
            format!("{{{}}}", k.join(","))
        };
        assert!(build(&keys("k0")).is_none());
        assert!(build(&keys("k15")).is_some());
    }
}
