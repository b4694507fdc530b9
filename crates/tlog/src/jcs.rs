//! RFC 8785 JSON Canonicalization Scheme (JCS), the form Rekor stores entry bodies in
//! (`sigstore/rekor:pkg/types/entries.go` `CanonicalizeEntry` runs `jsoncanonicalizer`).
//!
//! Object members sorted by the UTF-16 code units of their names (RFC 8785 section 3.2.3), no
//! whitespace, strings escaped as ECMAScript `JSON.stringify` does (section 3.2.2.2: only `"`,
//! `\` and controls below U+0020, with the short forms `\b \t \n \f \r` and lowercase `\u00xx`).
//! Entry bodies hold only strings, objects and arrays; integers are written in decimal and
//! other numbers in their shortest round-trip form, which equals ECMAScript's for the values
//! JSON entries can carry.

use serde_json::Value;

/// The canonical bytes of `value`.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_escapes_like_rfc8785() {
        // RFC 8785 section 3.2.3 sorting example (subset) and section 3.2.2.2 escapes.
        let value: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro","\r":"CR","1":"One","\u0080":"Ctl","\ud83d\ude00":"Smiley","\u00f6":"o"}"#,
        )
        .expect("json");
        let text = String::from_utf8(to_vec(&value)).expect("utf8");
        assert_eq!(
            text,
            "{\"\\r\":\"CR\",\"1\":\"One\",\"\u{80}\":\"Ctl\",\"\u{f6}\":\"o\",\"\u{20ac}\":\"Euro\",\"\u{1f600}\":\"Smiley\"}"
        );
        let value = serde_json::json!({"b": [1, true, null, "<&>\u{1f}\u{7f}"], "a": {}});
        assert_eq!(
            String::from_utf8(to_vec(&value)).expect("utf8"),
            "{\"a\":{},\"b\":[1,true,null,\"<&>\\u001f\u{7f}\"]}"
        );
    }
}
