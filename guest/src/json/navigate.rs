//! RFC 6901 lookups on validated JSON text through its structural index,
//! without building a DOM. `scan` finds the offset of every structural
//! character and every scalar while it validates, and pairs each opening
//! bracket with its closing one, which makes skipping a sibling of any size
//! one step, so a lookup in a 10 MB document costs the members it passes,
//! not the bytes. A large array indexed into gets a table of its elements'
//! slots on first use, so later lookups in it cost one step.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use super::scan::Index;

/// Arrays at least this long get an element table when first indexed into:
/// shorter ones are walked faster than a table is looked up.
const TABLE_FROM: usize = 64;

pub struct Structure {
    /// Byte offset of each structural character (`{ } [ ] : ,`) and of the
    /// first byte of each scalar (a string's opening quote), in order.
    pos: Vec<u32>,
    /// For the opening bracket at `pos[k]`, the `k` of its closing bracket.
    close: Vec<u32>,
    /// The value slots of each large array indexed into so far, by the
    /// array's slot. At most one u32 per slot of the document in all (each
    /// slot is an element of one array), so as large as `pos` at worst.
    elements: RefCell<HashMap<usize, Vec<u32>>>,
}

impl Structure {
    /// The lookup structure over the index of a validated text.
    pub fn new(index: Index) -> Self {
        Structure {
            pos: index.pos,
            close: index.close,
            elements: RefCell::new(HashMap::new()),
        }
    }

    /// The slot of the value at `pointer`, or None if absent. `pointer`
    /// must be empty or start with '/'.
    pub fn find(&self, text: &[u8], pointer: &str) -> Option<usize> {
        let mut k = 0;
        if !pointer.is_empty() {
            for raw in pointer[1..].split('/') {
                let token = if raw.contains('~') {
                    Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
                } else {
                    Cow::Borrowed(raw)
                };
                k = match self.byte(text, k) {
                    b'{' => self.member(text, k, &token)?,
                    b'[' => self.element(text, k, &token)?,
                    _ => return None,
                };
            }
        }
        Some(k)
    }

    /// The first byte of the value in slot `k`.
    pub fn byte(&self, text: &[u8], k: usize) -> u8 {
        text[self.pos[k] as usize]
    }

    /// The byte range of the value in slot `k`.
    pub fn range(&self, text: &[u8], k: usize) -> (usize, usize) {
        let start = self.pos[k] as usize;
        let end = match text[start] {
            b'{' | b'[' => self.pos[self.close[k] as usize] as usize + 1,
            // A scalar ends where the whitespace before the next structural begins.
            _ => trim_end(
                text,
                start,
                self.pos.get(k + 1).map_or(text.len(), |&p| p as usize),
            ),
        };
        (start, end)
    }

    /// Items of the array, or members of the object, in slot `k`.
    pub fn count(&self, text: &[u8], k: usize) -> usize {
        let mut n = 0;
        self.each(text, k, |_, _| {
            n += 1;
            true
        });
        n
    }

    /// Member names of the object in slot `k`, in document order.
    pub fn keys(&self, text: &[u8], k: usize) -> Vec<String> {
        let mut out = Vec::new();
        self.each(text, k, |key, _| {
            out.push(key.map(decode_string).unwrap_or_default());
            true
        });
        out
    }

    /// Calls `f(key, value_slot)` for each member (key: the raw string,
    /// quotes included) or element (key: None) of the container in slot
    /// `k`, until `f` returns false.
    pub(crate) fn each<'t>(
        &self,
        text: &'t [u8],
        k: usize,
        mut f: impl FnMut(Option<&'t [u8]>, usize) -> bool,
    ) {
        let object = self.byte(text, k) == b'{';
        let end = self.close[k] as usize;
        let mut i = k + 1;
        while i < end {
            let key = if object {
                // The key's slot, then ':', then the value.
                let (a, b) = self.range(text, i);
                i += 2;
                Some(&text[a..b])
            } else {
                None
            };
            if !f(key, i) {
                return;
            }
            i = match self.byte(text, i) {
                b'{' | b'[' => self.close[i] as usize + 1,
                _ => i + 1,
            };
            i += 1; // past ',' (or past the end, at the closing bracket)
        }
    }

    fn member(&self, text: &[u8], k: usize, token: &str) -> Option<usize> {
        let mut found = None;
        self.each(text, k, |key, value| {
            let key = key.expect("an object member");
            // Compare raw first: most keys have no escapes.
            let matches = if key.contains(&b'\\') {
                decode_string(key) == token
            } else {
                &key[1..key.len() - 1] == token.as_bytes()
            };
            if matches {
                found = Some(value); // the last duplicate wins, as in a parsed document
            }
            true
        });
        found
    }

    fn element(&self, text: &[u8], k: usize, token: &str) -> Option<usize> {
        if token.is_empty()
            || (token.len() > 1 && token.starts_with('0'))
            || !token.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let want: usize = token.parse().ok()?;
        if let Some(table) = self.elements.borrow().get(&k) {
            return table.get(want).map(|&v| v as usize);
        }
        if want >= TABLE_FROM {
            // Deep into a large array: the walk goes on to its end and keeps
            // every element's slot, so that the next lookup there is one step.
            let mut table = Vec::new();
            self.each(text, k, |_, value| {
                table.push(value as u32);
                true
            });
            let found = table.get(want).map(|&v| v as usize);
            self.elements.borrow_mut().insert(k, table);
            return found;
        }
        let mut index = 0;
        let mut found = None;
        self.each(text, k, |_, value| {
            if index == want {
                found = Some(value);
                return false;
            }
            index += 1;
            true
        });
        found
    }
}

fn trim_end(text: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && matches!(text[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
        end -= 1;
    }
    end
}

pub(crate) fn decode_string(raw: &[u8]) -> String {
    serde_json::from_slice(raw).expect("a validated JSON string")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse::{index, ParseLimits};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-z\"\\\\/~ \u{e9}]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-c/~\"]{0,3}", inner), 0..5)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn large_arrays_answer_the_same_through_their_element_table() {
        let v: Value =
            json!({"a": (0..500).map(|i| json!({"i": i, "n": [i, [i]]})).collect::<Vec<_>>()});
        let text = v.to_string();
        let t = text.as_bytes();
        let s = index(t, &ParseLimits::default(), Structure::new).unwrap();
        let get = |p: &str| {
            s.find(t, p).map(|k| {
                let (a, b) = s.range(t, k);
                serde_json::from_slice::<Value>(&t[a..b]).unwrap()
            })
        };
        assert_eq!(get("/a/3/i"), Some(json!(3))); // short: walked, no table
        assert!(s.elements.borrow().is_empty());
        assert_eq!(get("/a/499/n/1/0"), Some(json!(499))); // builds the table
        assert_eq!(s.elements.borrow().len(), 1);
        for i in [0, 1, 63, 64, 250, 499] {
            assert_eq!(get(&format!("/a/{i}/i")), Some(json!(i)));
        }
        assert_eq!(get("/a/500"), None);
        assert_eq!(get("/a/01"), None);
        assert_eq!(get("/a/-"), None);
    }

    /// Every pointer into `v` (up to a depth), plus some that miss.
    fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
        out.push(prefix.clone());
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    pointers(
                        child,
                        format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
                out.push(format!("{prefix}/missing"));
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    pointers(child, format!("{prefix}/{i}"), out);
                }
                out.push(format!("{prefix}/{}", a.len()));
                out.push(format!("{prefix}/01"));
            }
            _ => out.push(format!("{prefix}/x")),
        }
    }

    #[test]
    fn refuses_deep_nesting_and_finds_scalars_at_the_root() {
        let deep = "[".repeat(10) + &"]".repeat(10);
        let index = |t: &[u8], max_depth| {
            let limits = ParseLimits {
                max_depth,
                ..ParseLimits::default()
            };
            index(t, &limits, Structure::new)
        };
        assert!(index(deep.as_bytes(), 9).is_err());
        assert!(index(deep.as_bytes(), 10).is_ok());
        let t = b" \"a\\\"b\" \n";
        let s = index(t, 4).unwrap();
        assert_eq!(s.range(t, s.find(t, "").unwrap()), (1, 7));
        assert_eq!(s.find(t, "/0"), None);
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let text = format!(" {text} ");
            let t = text.as_bytes();
            let s = index(t, &ParseLimits::default(), Structure::new).unwrap();
            let mut ps = Vec::new();
            pointers(&v, String::new(), &mut ps);
            for p in ps {
                let expected = v.pointer(&p);
                let got = s.find(t, &p).map(|k| { let (a, b) = s.range(t, k); serde_json::from_slice::<Value>(&t[a..b]).unwrap() });
                prop_assert_eq!(got.as_ref(), expected, "pointer {}", p);
                if let (Some(k), Some(e)) = (s.find(t, &p), expected) {
                    match e {
                        Value::Array(x) => prop_assert_eq!(s.count(t, k), x.len()),
                        Value::Object(m) => prop_assert_eq!(s.keys(t, k), m.keys().cloned().collect::<Vec<_>>()),
                        _ => {}
                    }
                }
            }
        }
    }
}
