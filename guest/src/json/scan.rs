//! Strict RFC 8259 validation of JSON text in one pass, recording the
//! structural index as it goes when asked to.
//!
//! Why not simd-json here: a `Document` needs only "is it valid" and the
//! offsets of its structural characters and values, but simd-json's public
//! API offers validation only as part of building its tape, which converts
//! every number and copies every string. In wasm that tape took about 35 ms
//! for a 10 MB document and pairing the brackets of its index another 12 ms;
//! this scan does both in about 22 ms. serde_json builds every DOM, and
//! the tests hold this scan to simd-json's verdict and index on generated
//! and mutated documents.
//!
//! The input is text already known to be UTF-8 (a `String`), or bytes whose
//! UTF-8 the parser that follows checks: bytes of 0x80 and above are only
//! ever accepted inside strings.

/// Why text is not strict JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Offset of the first offending byte.
    pub offset: usize,
    pub what: &'static str,
    /// Refused for its nesting depth, not its syntax.
    pub too_deep: bool,
}

/// Offsets of every structural character (`{ } [ ] : ,`) and of the first
/// byte of every scalar (a string's opening quote), in order; and for each
/// opening bracket, the slot of its closing one (0 elsewhere). The same
/// offsets as simd-json's structural index.
pub struct Index {
    pub pos: Vec<u32>,
    pub close: Vec<u32>,
}

/// Checks that `text` is strict JSON nested at most `max_depth` deep.
pub fn check(text: &[u8], max_depth: u32) -> Result<(), Invalid> {
    scan(text, max_depth, NoIndex).map(|_| ())
}

/// Checks `text` as `check` does, and returns its structural index.
pub fn index(text: &[u8], max_depth: u32) -> Result<Index, Invalid> {
    let recorder = Recorder {
        // A slot per 4 bytes of text is about what real documents need.
        pos: Vec::with_capacity(text.len() / 4 + 16),
        pairs: Vec::new(),
    };
    let Recorder { pos, pairs } = scan(text, max_depth, recorder)?;
    let mut close = vec![0u32; pos.len()];
    for p in pairs.chunks_exact(2) {
        close[p[0] as usize] = p[1];
    }
    Ok(Index { pos, close })
}

/// Checks `text` as `check` does, telling `sink` of every value as it goes;
/// returns the sink.
pub(super) fn scan<S: Sink>(text: &[u8], max_depth: u32, sink: S) -> Result<S, Invalid> {
    let mut s = Scanner { text, sink };
    s.run(max_depth)?;
    Ok(s.sink)
}

/// What the scanner does with each slot and value it finds. The value hooks
/// see offsets into the text: `start..end` of a scalar (a string's with its
/// quotes), `escaped` when a string has a backslash in it.
pub(super) trait Sink {
    /// Records a slot at byte `offset`, returning its number.
    fn mark(&mut self, offset: usize) -> u32;
    /// Records that slot `close` closes the bracket in slot `open`.
    fn pair(&mut self, open: u32, close: u32);
    /// A string, number, `true`, `false` or `null` that is a value.
    #[inline(always)]
    fn scalar(&mut self, _start: usize, _end: usize, _escaped: bool) {}
    /// A member's key (its value follows).
    #[inline(always)]
    fn key(&mut self, _start: usize, _end: usize, _escaped: bool) {}
    /// An object or array opens at `start`.
    #[inline(always)]
    fn open(&mut self, _object: bool, _start: usize) {}
    /// The innermost open container closes; `end` is after its bracket.
    #[inline(always)]
    fn close(&mut self, _end: usize) {}
}

struct NoIndex;

impl Sink for NoIndex {
    #[inline(always)]
    fn mark(&mut self, _: usize) -> u32 {
        0
    }
    #[inline(always)]
    fn pair(&mut self, _: u32, _: u32) {}
}

struct Recorder {
    pos: Vec<u32>,
    /// (open, close) slot pairs, flattened. Containers are a small fraction
    /// of the slots: filling `close` once at the end beats a second push
    /// for every slot.
    pairs: Vec<u32>,
}

impl Sink for Recorder {
    #[inline(always)]
    fn mark(&mut self, offset: usize) -> u32 {
        let k = self.pos.len() as u32;
        self.pos.push(offset as u32);
        k
    }
    #[inline(always)]
    fn pair(&mut self, open: u32, close: u32) {
        self.pairs.extend_from_slice(&[open, close]);
    }
}

struct Scanner<'t, S> {
    text: &'t [u8],
    sink: S,
}

/// The low bit of an open container's entry on the stack: an object.
const OBJECT: u32 = 1;

impl<S: Sink> Scanner<'_, S> {
    /// The byte at `i`, or 0 past the end (0 is invalid wherever it occurs,
    /// so the end needs no check of its own).
    #[inline(always)]
    fn at(&self, i: usize) -> u8 {
        self.text.get(i).copied().unwrap_or(0)
    }

    /// The offset of the first byte at or after `i` that is not whitespace.
    /// Compact text has at most one whitespace byte in a row; pretty-printed
    /// text has runs (a newline and its indentation), taken 16 bytes a step.
    #[inline(always)]
    fn skip_ws(&self, i: usize) -> usize {
        if !is_ws(self.at(i)) {
            return i;
        }
        if !is_ws(self.at(i + 1)) {
            return i + 1;
        }
        first::<NotWhitespace>(self.text, i + 2)
    }

    fn fail<T>(&self, offset: usize, what: &'static str) -> Result<T, Invalid> {
        Err(Invalid {
            offset: offset.min(self.text.len()),
            what,
            too_deep: false,
        })
    }

    /// The whole text: one value, surrounded by whitespace only.
    fn run(&mut self, max_depth: u32) -> Result<(), Invalid> {
        let len = self.text.len();
        // Each open container: its slot << 1, | OBJECT for an object.
        let mut open: Vec<u32> = Vec::new();
        let mut i = 0;
        'value: loop {
            i = self.skip_ws(i);
            let c = self.at(i);
            let k = self.sink.mark(i);
            match c {
                b'{' | b'[' => {
                    if open.len() >= max_depth as usize {
                        return Err(Invalid {
                            offset: i,
                            what: "nesting too deep",
                            too_deep: true,
                        });
                    }
                    let object = c == b'{';
                    open.push(k << 1 | object as u32);
                    self.sink.open(object, i);
                    i = self.skip_ws(i + 1);
                    // ('{' + 2 is '}' and '[' + 2 is ']': an empty container
                    // is closed below, like any other.)
                    if self.at(i) != c + 2 {
                        if object {
                            i = self.key(i)?;
                        }
                        continue 'value;
                    }
                }
                b'"' => {
                    let (end, escaped) = self.string(i)?;
                    self.sink.scalar(i, end, escaped);
                    i = end;
                }
                b'-' | b'0'..=b'9' => i = self.scalar(i, self.number(i)?),
                b't' => i = self.scalar(i, self.literal(i, b"true")?),
                b'f' => i = self.scalar(i, self.literal(i, b"false")?),
                b'n' => i = self.scalar(i, self.literal(i, b"null")?),
                0 if i >= len => return self.fail(i, "expected a value, found the end"),
                _ => return self.fail(i, "expected a value"),
            }
            // After a value: a comma, or the closing bracket of its container.
            loop {
                i = self.skip_ws(i);
                let Some(&top) = open.last() else {
                    if i < len {
                        return self.fail(i, "trailing characters after the value");
                    }
                    return Ok(());
                };
                let object = top & OBJECT != 0;
                match (self.at(i), object) {
                    (b',', _) => {
                        self.sink.mark(i);
                        i += 1;
                        if object {
                            i = self.key(i)?;
                        }
                        continue 'value;
                    }
                    (b'}', true) | (b']', false) => {
                        let k = self.sink.mark(i);
                        self.sink.pair(top >> 1, k);
                        self.sink.close(i + 1);
                        open.pop();
                        i += 1;
                    }
                    (_, true) => return self.fail(i, "expected ',' or '}'"),
                    (_, false) => return self.fail(i, "expected ',' or ']'"),
                }
            }
        }
    }

    /// A scalar other than a string at `start..end`, told to the sink: `end`.
    #[inline(always)]
    fn scalar(&mut self, start: usize, end: usize) -> usize {
        self.sink.scalar(start, end, false);
        end
    }

    /// `i` at a member's key: the offset after the key's colon.
    #[inline(always)]
    fn key(&mut self, i: usize) -> Result<usize, Invalid> {
        let i = self.skip_ws(i);
        if self.at(i) != b'"' {
            return self.fail(i, "expected a string key");
        }
        self.sink.mark(i);
        let (end, escaped) = self.string(i)?;
        self.sink.key(i, end, escaped);
        let i = self.skip_ws(end);
        if self.at(i) != b':' {
            return self.fail(i, "expected ':'");
        }
        self.sink.mark(i);
        Ok(i + 1)
    }

    /// `i` at a string's opening quote: the offset after its closing one,
    /// and whether the string has an escape.
    #[inline(always)]
    fn string(&self, i: usize) -> Result<(usize, bool), Invalid> {
        let mut j = i + 1;
        let mut escaped = false;
        loop {
            j = first::<Special>(self.text, j);
            match self.at(j) {
                b'"' => return Ok((j + 1, escaped)),
                // A backslash that ends the text leaves the string open
                // (as Python's parser, the fallback's, words it).
                b'\\' if j + 1 >= self.text.len() => return self.fail(i, "unterminated string"),
                b'\\' => {
                    escaped = true;
                    j = self.escape(j)?;
                }
                0 if j >= self.text.len() => return self.fail(i, "unterminated string"),
                _ => return self.fail(j, "control character in a string"),
            }
        }
    }

    /// `j` at a backslash: the offset after the escape. An escaped UTF-16
    /// surrogate must be half of a pair: a lone one stands for no character,
    /// and no Rust (or UTF-8) string can hold it.
    fn escape(&self, j: usize) -> Result<usize, Invalid> {
        const LONE: &str = "lone UTF-16 surrogate in a \\u escape";
        match self.at(j + 1) {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Ok(j + 2),
            b'u' => match self.hex4(j + 2)? {
                0xD800..=0xDBFF => {
                    if self.at(j + 6) != b'\\' || self.at(j + 7) != b'u' {
                        return self.fail(j, LONE);
                    }
                    match self.hex4(j + 8)? {
                        0xDC00..=0xDFFF => Ok(j + 12),
                        _ => self.fail(j, LONE),
                    }
                }
                0xDC00..=0xDFFF => self.fail(j, LONE),
                _ => Ok(j + 6),
            },
            _ => self.fail(j, "invalid escape"),
        }
    }

    fn hex4(&self, j: usize) -> Result<u32, Invalid> {
        let mut v = 0;
        for i in j..j + 4 {
            let d = match self.at(i) {
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'f' => c - b'a' + 10,
                c @ b'A'..=b'F' => c - b'A' + 10,
                _ => return self.fail(i, "invalid \\u escape"),
            };
            v = v << 4 | u32::from(d);
        }
        Ok(v)
    }

    #[inline(always)]
    fn digits(&self, i: usize) -> usize {
        first::<NotDigit>(self.text, i)
    }

    /// `start` at a number's first byte: the offset after it. What follows
    /// is checked by the caller, so "01" fails there ("expected ','").
    #[inline(always)]
    fn number(&self, start: usize) -> Result<usize, Invalid> {
        let int = start + usize::from(self.at(start) == b'-');
        let mut i = int;
        match self.at(i) {
            b'0' => i += 1,
            b'1'..=b'9' => i = self.digits(i + 1),
            _ => return self.fail(i, "invalid number"),
        }
        let int_digits = i - int;
        if self.at(i) == b'.' {
            if !self.at(i + 1).is_ascii_digit() {
                return self.fail(i + 1, "invalid number: no digit after '.'");
            }
            i = self.digits(i + 2);
        }
        let mut exp_digits = 0;
        if self.at(i) | 0x20 == b'e' {
            i += 1;
            if matches!(self.at(i), b'+' | b'-') {
                i += 1;
            }
            if !self.at(i).is_ascii_digit() {
                return self.fail(i, "invalid number: no digit in the exponent");
            }
            let e = self.digits(i + 1);
            exp_digits = e - i;
            i = e;
        }
        // Under 19 integer digits and an exponent under 100, a number fits
        // an i64/u64 or a finite f64. Any other is held to simd-json's range
        // (which refuses integers past u64, where serde_json would round them
        // to floats), by simd-json: the rare big number so costs a parse of
        // its own. The tests hold every document accepted here to building
        // with serde_json as well.
        if int_digits >= 19 || exp_digits >= 3 {
            let mut n = self.text[start..i].to_vec();
            if simd_json::to_owned_value(&mut n).is_err() {
                return self.fail(start, "number out of range");
            }
        }
        Ok(i)
    }

    fn literal(&self, i: usize, word: &'static [u8]) -> Result<usize, Invalid> {
        if self.text.get(i..i + word.len()) == Some(word) {
            Ok(i + word.len())
        } else {
            self.fail(i, "invalid literal")
        }
    }
}

/// A class of bytes: `has` says whether a byte is in it; in wasm, `lanes`
/// says it of 16 at once (a lane of all ones where it is), so that `first`
/// and `count` take 16 bytes a step.
pub(super) trait ByteClass {
    fn has(b: u8) -> bool;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn lanes(v: core::arch::wasm32::v128) -> core::arch::wasm32::v128;
}

/// The offset of the first byte at or after `j` in class `C` (the text's
/// length if none).
#[inline(always)]
fn first<C: ByteClass>(text: &[u8], mut j: usize) -> usize {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        while j + 16 <= text.len() {
            // SAFETY: the 16 bytes at j are in bounds; v128_load needs no alignment.
            let v = unsafe { v128_load(text.as_ptr().add(j).cast::<v128>()) };
            let m = i8x16_bitmask(C::lanes(v));
            if m != 0 {
                return j + m.trailing_zeros() as usize;
            }
            j += 16;
        }
    }
    while text.get(j).is_some_and(|&b| !C::has(b)) {
        j += 1;
    }
    j
}

/// How many bytes of `text` are in class `C`.
pub(super) fn count<C: ByteClass>(text: &[u8]) -> usize {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let mut chunks = text.chunks_exact(16);
        let mut n = 0;
        for chunk in &mut chunks {
            // SAFETY: the chunk is 16 bytes; v128_load needs no alignment.
            let v = unsafe { v128_load(chunk.as_ptr().cast::<v128>()) };
            n += i8x16_bitmask(C::lanes(v)).count_ones() as usize;
        }
        n + chunks.remainder().iter().filter(|&&b| C::has(b)).count()
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    text.iter().filter(|&&b| C::has(b)).count()
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(super) use core::arch::wasm32::{
    i8x16_eq, u8x16_gt, u8x16_lt, u8x16_splat, u8x16_sub, v128, v128_not, v128_or,
};

/// A string's end, escape or control character: '"', '\\' or below 0x20.
struct Special;

impl ByteClass for Special {
    #[inline(always)]
    fn has(b: u8) -> bool {
        b == b'"' || b == b'\\' || b < 0x20
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn lanes(v: v128) -> v128 {
        v128_or(
            v128_or(
                i8x16_eq(v, u8x16_splat(b'"')),
                i8x16_eq(v, u8x16_splat(b'\\')),
            ),
            u8x16_lt(v, u8x16_splat(0x20)),
        )
    }
}

/// The end of whitespace. A 10 MB document printed with an indent of 2 is
/// 40% whitespace: one byte at a time, that doubled its scan in wasm.
struct NotWhitespace;

#[inline(always)]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

impl ByteClass for NotWhitespace {
    #[inline(always)]
    fn has(b: u8) -> bool {
        !is_ws(b)
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn lanes(v: v128) -> v128 {
        v128_not(v128_or(
            v128_or(
                i8x16_eq(v, u8x16_splat(b' ')),
                i8x16_eq(v, u8x16_splat(b'\n')),
            ),
            v128_or(
                i8x16_eq(v, u8x16_splat(b'\t')),
                i8x16_eq(v, u8x16_splat(b'\r')),
            ),
        ))
    }
}

/// The end of a number's digits. They are a fifth of a typical document's
/// bytes (a float's fraction runs to 16 or 17), and one byte at a time they
/// were a tenth of its scan in wasm.
struct NotDigit;

impl ByteClass for NotDigit {
    #[inline(always)]
    fn has(b: u8) -> bool {
        !b.is_ascii_digit()
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[inline(always)]
    fn lanes(v: v128) -> v128 {
        // A digit is a byte whose distance above '0' is at most 9.
        u8x16_gt(u8x16_sub(v, u8x16_splat(b'0')), u8x16_splat(9))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// Texts strict RFC 8259 parsing refuses (and the rest of the guest's
    /// tests reuse): each is a syntax error, none a limit.
    pub(crate) const REJECTS: &[&str] = &[
        "[1,]",
        "{\"a\":1,}",
        "01",
        "[01]",
        "-",
        "1.",
        ".5",
        "1e",
        "1e+",
        "+1",
        "--1",
        "// c\n1",
        "/* c */ 1",
        "NaN",
        "[Infinity]",
        "[-Infinity]",
        "\"a\u{1}b\"",
        "\"tab\there\"",
        "[1 2]",
        "{'a':1}",
        "",
        " ",
        "[",
        "]",
        "{\"a\"}",
        "{\"a\" 1}",
        "{1:1}",
        "1 2",
        "tru",
        "nul",
        "truex",
        "[true false]",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"abc",
        "\"abc\\",
        "[1]]",
        "{}}",
        "[}",
        "{]",
        "\u{0}",
        "[1,,2]",
        "[,1]",
        "{,}",
        r#""\ud800""#,
        r#""\ud800x""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\ud800\ue000""#,
        "\u{feff}1",
        "[-1000000000000000000null]",
        "1e400",
        "[-1e400]",
        "18446744073709551616",
        "123456789012345678901234567890",
        "-9223372036854775809",
    ];

    /// Holds the scan to simd-json and serde_json: the fuzz target's body
    /// (`crate::fuzz::json_scan`), which panics on a disagreement.
    fn agrees(text: &[u8]) -> Result<(), TestCaseError> {
        crate::fuzz::json_scan(text);
        Ok(())
    }

    #[test]
    fn accepts_valid_json_and_refuses_what_rfc_8259_forbids() {
        for ok in [
            r#"{"a":[1,2.5,-3e10,1E+2,0.5e-3,true,false,null,"x\u00e9\n\/"]}"#,
            "0",
            "-0.0",
            r#""""#,
            "[]",
            " {} ",
            "[[],{},[{}]]",
            r#""\ud83d\ude00""#,
            "\"\u{e9}\u{1F600}\"",
            "1e-400",
            "18446744073709551615",
            "-9223372036854775808",
            "1.7976931348623157e308",
            "0e99999",
        ] {
            assert_eq!(check(ok.as_bytes(), 64), Ok(()), "{ok}");
        }
        for bad in REJECTS {
            assert!(check(bad.as_bytes(), 64).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_deep_nesting_as_a_limit() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let e = check(deep.as_bytes(), 512).unwrap_err();
        assert!(e.too_deep);
        assert_eq!(e.offset, 512);
        assert!(check(("[".repeat(512) + &"]".repeat(512)).as_bytes(), 512).is_ok());
        let e = check(
            ("{\"a\":".repeat(600) + "1" + &"}".repeat(600)).as_bytes(),
            512,
        );
        assert!(e.unwrap_err().too_deep);
    }

    #[test]
    fn says_where_the_text_goes_wrong() {
        let e = check(b"{\"a\": [1, 2,]}", 64).unwrap_err();
        assert_eq!((e.offset, e.what), (12, "expected a value"));
        let e = check(b"[1, \"ab", 64).unwrap_err();
        assert_eq!((e.offset, e.what), (4, "unterminated string"));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[a-z\"\\\\/~ \u{e9}\u{1}\u{1F600}]{0,20}".prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 60, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(("[a-c\"]{0,3}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// Bytes that matter to JSON's grammar, for mutations.
    const ALPHABET: &[u8] = b"{}[]:,\"\\ \n0123-+.eEtrufalsn/ud8Dc\x01\xc3\xa9x";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn indexes_what_simd_json_indexes(v in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
            prop_assert!(check(text.as_bytes(), 1024).is_ok());
            agrees(text.as_bytes())?;
        }

        #[test]
        fn refuses_what_simd_json_refuses(
            v in arb_json(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(ALPHABET)), 1..4),
        ) {
            let mut text = serde_json::to_vec(&v).unwrap();
            for (at, op, b) in edits {
                let i = at.index(text.len() + 1);
                match op {
                    0 => text.insert(i, b),
                    1 if i < text.len() => { text.remove(i); }
                    _ if i < text.len() => text[i] = b,
                    _ => text.push(b),
                }
            }
            // (Only UTF-8 reaches the scan: strings are checked first.)
            if std::str::from_utf8(&text).is_ok() {
                agrees(&text)?;
            }
        }
    }
}
