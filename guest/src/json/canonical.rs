//! RFC 8785 JSON Canonicalization Scheme: keys sorted by UTF-16 code units,
//! no insignificant whitespace, numbers as ECMAScript prints them.

use crate::{Error, Result};
use serde_json::Value;

pub fn canonicalize(value: &Value) -> Result<String> {
    serde_json_canonicalizer::to_string(value)
        .map_err(|e| Error::invalid(format!("cannot canonicalize: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc_8785_examples() {
        let v =
            json!({"b": [1e21, 1e-7, 0.5, -0.0, 1.0], "a": "\u{20ac}", "\u{e9}": null, "A": true});
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"A\":true,\"a\":\"\u{20ac}\",\"b\":[1e+21,1e-7,0.5,0,1],\"\u{e9}\":null}"
        );
    }
}
