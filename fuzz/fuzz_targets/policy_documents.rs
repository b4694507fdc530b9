//! Property: policy YAML (Kyverno `ClusterPolicy`/`Policy`, policy-controller
//! `ClusterImagePolicy`, any resource; untrusted: files and admission objects) loads or fails
//! with an error, never panics; the document limit holds; the documents re-emitted as JSON
//! (which is YAML 1.2) load back to the same documents and sort into the same policies with
//! the same validation problems.
#![no_main]
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vouch_policy::{Documents, Limits, parse_documents};

/// JSON text with every non-ASCII character escaped: YAML 1.1 (libyaml, serde_norway) reads
/// a raw NEL, LS or PS inside a quoted scalar as a line break, where JSON keeps the character.
fn ascii_json(value: &Value) -> String {
    let text = serde_json::to_string(value).expect("serialises");
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match u32::from(c) {
            n if n < 0x80 => out.push(c),
            n if n <= 0xFFFF => out += &format!("\\u{n:04x}"),
            n => out += &format!("\\U{n:08x}"),
        }
    }
    out
}

/// True when every mapping key fits YAML's 1024-character limit on implicit keys (YAML 1.2
/// §7.4.2, enforced by libyaml), so the JSON form is also a YAML document.
fn keys_fit(value: &Value) -> bool {
    match value {
        Value::Array(a) => a.iter().all(keys_fit),
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| ascii_json(&Value::String(k.clone())).len() < 1000 && keys_fit(v)),
        _ => true,
    }
}

fn load(text: &str, limits: &Limits) -> Option<(Vec<Value>, Option<String>)> {
    let docs = parse_documents(text, "fuzz", limits).ok()?;
    assert!(docs.len() <= limits.max_documents);
    let mut d = Documents::default();
    let summary = d.add(docs.clone(), "fuzz").ok().map(|()| {
        let mut s = String::new();
        for p in &d.policies {
            s += &format!("policy {p:?} {:?}\n", p.validate());
        }
        for p in &d.image_policies {
            s += &format!("cip {p:?} {:?}\n", p.validate());
        }
        for r in &d.resources {
            s += &format!("resource {r:?} {:?}\n", r.images(limits).ok());
            if let Ok(i) = r.images(limits) {
                assert!(i.len() <= limits.max_containers);
            }
        }
        s
    });
    Some((docs, summary))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits {
        max_file_bytes: 1 << 16,
        max_documents: 16,
        max_containers: 8,
    };
    let Some((docs, summary)) = load(text, &limits) else {
        return;
    };
    // Null documents are dropped and `kind: List` is flattened on load, so only documents
    // that are neither re-load one for one.
    if docs.iter().any(|d| {
        d.is_null() || d.get("kind").and_then(Value::as_str) == Some("List") || !keys_fit(d)
    }) {
        return;
    }
    let canonical: String = docs
        .iter()
        .map(|d| format!("---\n{}\n", ascii_json(d)))
        .collect();
    let (again, summary_again) = load(&canonical, &limits).unwrap_or_else(|| {
        let err = parse_documents(&canonical, "fuzz", &limits).err();
        panic!("canonical form does not load: {err:?}\n{canonical}")
    });
    assert_eq!(again, docs);
    assert_eq!(summary_again, summary);
});
