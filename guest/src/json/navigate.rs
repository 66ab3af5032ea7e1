//! RFC 6901 lookups straight on JSON text that has already been validated,
//! without building a DOM: siblings are skipped byte by byte, so one lookup
//! in a 10 MB document costs a scan, not a parse into millions of values.

/// The byte range of the value at `pointer` in `text`, or None if absent.
/// `text` must be valid JSON (the document checked it when parsed);
/// `pointer` must be empty or start with '/'.
pub fn find(text: &[u8], pointer: &str) -> Option<(usize, usize)> {
    let mut start = skip_ws(text, 0);
    if !pointer.is_empty() {
        for raw in pointer[1..].split('/') {
            let token = raw.replace("~1", "/").replace("~0", "~");
            start = match text[start] {
                b'{' => member(text, start, &token)?,
                b'[' => element(text, start, &token)?,
                _ => return None,
            };
        }
    }
    Some((start, skip_value(text, start)))
}

/// Items of the array, or members of the object, starting at `at`.
pub fn count(text: &[u8], at: usize) -> usize {
    let mut n = 0;
    each(text, at, |_, _| {
        n += 1;
        true
    });
    n
}

/// Member names of the object at `at`, in document order.
pub fn keys(text: &[u8], at: usize) -> Vec<String> {
    let mut out = Vec::new();
    each(text, at, |key, _| {
        out.push(key.map(decode_string).unwrap_or_default());
        true
    });
    out
}

/// Calls `f(key, value_start)` for each member (key: the raw string slice,
/// quotes included) or element (key: None) of the container at `at`, until
/// `f` returns false.
fn each(text: &[u8], at: usize, mut f: impl FnMut(Option<&[u8]>, usize) -> bool) {
    let object = text[at] == b'{';
    let mut i = skip_ws(text, at + 1);
    if text[i] == b'}' || text[i] == b']' {
        return;
    }
    loop {
        let key = if object {
            let end = skip_string(text, i);
            let key = &text[i..end];
            i = skip_ws(text, end) + 1; // past ':'
            i = skip_ws(text, i);
            Some(key)
        } else {
            None
        };
        if !f(key, i) {
            return;
        }
        i = skip_ws(text, skip_value(text, i));
        if text[i] != b',' {
            return;
        }
        i = skip_ws(text, i + 1);
    }
}

fn member(text: &[u8], at: usize, token: &str) -> Option<usize> {
    let mut found = None;
    each(text, at, |key, value| {
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

fn element(text: &[u8], at: usize, token: &str) -> Option<usize> {
    if token.is_empty()
        || (token.len() > 1 && token.starts_with('0'))
        || !token.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let want: usize = token.parse().ok()?;
    let mut index = 0;
    let mut found = None;
    each(text, at, |_, value| {
        if index == want {
            found = Some(value);
            return false;
        }
        index += 1;
        true
    });
    found
}

fn decode_string(raw: &[u8]) -> String {
    serde_json::from_slice(raw).expect("a validated JSON string")
}

fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (on its opening quote).
fn skip_string(text: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    loop {
        // memchr is SIMD (simd128 on wasm): strings are most of a document's bytes.
        j += memchr::memchr2(b'"', b'\\', &text[j..]).expect("a validated string ends");
        if text[j] == b'"' {
            return j + 1;
        }
        j += 2;
    }
}

/// The index just past the value starting at `i`.
pub fn skip_value(text: &[u8], i: usize) -> usize {
    match text[i] {
        b'"' => skip_string(text, i),
        open @ (b'{' | b'[') => {
            // In valid JSON the other kind of bracket is balanced inside, so
            // counting only this kind (outside strings) finds the end.
            let close = if open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                j += memchr::memchr3(b'"', open, close, &text[j..])
                    .expect("a validated container ends");
                match text[j] {
                    b'"' => {
                        j = skip_string(text, j);
                        continue;
                    }
                    c if c == open => depth += 1,
                    _ => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while j < text.len()
                && !matches!(text[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    proptest! {
        #[test]
        fn agrees_with_serde_json(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            let mut ps = Vec::new();
            pointers(&v, String::new(), &mut ps);
            for p in ps {
                let expected = v.pointer(&p);
                let got = find(text.as_bytes(), &p).map(|(a, b)| serde_json::from_slice::<Value>(&text.as_bytes()[a..b]).unwrap());
                prop_assert_eq!(got.as_ref(), expected, "pointer {}", p);
                if let (Some((a, _)), Some(e)) = (find(text.as_bytes(), &p), expected) {
                    match e {
                        Value::Array(x) => prop_assert_eq!(count(text.as_bytes(), a), x.len()),
                        Value::Object(m) => prop_assert_eq!(keys(text.as_bytes(), a), m.keys().cloned().collect::<Vec<_>>()),
                        _ => {}
                    }
                }
            }
        }
    }
}
