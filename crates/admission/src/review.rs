//! AdmissionReview v1 (`admission.k8s.io/v1`): the request the API server POSTs and the
//! response it expects (Kubernetes "Dynamic Admission Control"; notes §5.1).

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;

/// What the webhook reads from `request`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Copied into the response.
    pub uid: String,
    /// `{group, version, kind}`.
    #[serde(default)]
    pub kind: Value,
    /// Namespace of the object (empty for cluster-scoped).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Object name (may be empty with `generateName`).
    #[serde(default)]
    pub name: Option<String>,
    /// CREATE, UPDATE, DELETE or CONNECT.
    #[serde(default)]
    pub operation: String,
    /// The object (null on DELETE).
    #[serde(default)]
    pub object: Value,
    /// Whether the request is a dry run (no side effects allowed).
    #[serde(default)]
    pub dry_run: Option<bool>,
}

/// A parsed review, or why it could not be parsed (with the uid when it was readable).
#[derive(Debug)]
pub enum Parsed {
    /// A usable request.
    Request(Box<Request>),
    /// Malformed; `uid` when one could be read, so the answer can be a denial.
    Malformed {
        /// `request.uid` if it was a string.
        uid: Option<String>,
        /// What is wrong.
        reason: Error,
    },
}

/// Parses a request body.
pub fn parse(body: &[u8]) -> Parsed {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Parsed::Malformed {
                uid: None,
                reason: Error::MalformedReview(format!("body is not JSON: {e}")),
            };
        }
    };
    let uid = value["request"]["uid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let bad = |reason: String| Parsed::Malformed {
        uid: uid.clone(),
        reason: Error::MalformedReview(reason),
    };
    if value["apiVersion"] != "admission.k8s.io/v1" || value["kind"] != "AdmissionReview" {
        return bad(format!(
            "expected apiVersion admission.k8s.io/v1 and kind AdmissionReview, got {} {}",
            value["apiVersion"], value["kind"]
        ));
    }
    if uid.is_none() {
        return bad("request.uid is missing".into());
    }
    match Request::deserialize(&value["request"]) {
        Ok(r) if !r.object.is_null() && !r.object.is_object() => {
            bad("request.object is not an object".into())
        }
        Ok(r) => Parsed::Request(Box::new(r)),
        Err(e) => bad(format!("request: {e}")),
    }
}

/// Kubernetes shows warnings as `Warning: 299` headers; keep each under 120 characters
/// (notes §5.1).
pub const MAX_WARNING_CHARS: usize = 120;

fn short(s: &str) -> String {
    if s.chars().count() <= MAX_WARNING_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_WARNING_CHARS - 1).collect();
        out.push('…');
        out
    }
}

/// The response to send back.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Admit?
    pub allowed: bool,
    /// Denial message (`status.message`).
    pub message: Option<String>,
    /// HTTP-like code for `status.code` on denial (403).
    pub code: u16,
    /// RFC 6902 operations (mutating endpoint only).
    pub patch: Option<Value>,
    /// Warnings shown to the client.
    pub warnings: Vec<String>,
    /// `auditAnnotations` (the API server prefixes each key with the webhook's name):
    /// `verified-by` names the attestor entries and checks that decided an admission.
    pub audit_annotations: std::collections::BTreeMap<String, String>,
}

impl Verdict {
    /// Admit.
    pub fn allow() -> Self {
        Self {
            allowed: true,
            ..Self::default()
        }
    }

    /// Deny with `message`.
    pub fn deny(message: impl Into<String>) -> Self {
        Self {
            allowed: false,
            message: Some(message.into()),
            code: 403,
            ..Self::default()
        }
    }

    /// The AdmissionReview response for `uid`.
    pub fn to_review(&self, uid: &str) -> Value {
        let mut response = json!({"uid": uid, "allowed": self.allowed});
        if !self.allowed {
            response["status"] = json!({
                "code": self.code,
                "message": self.message.clone().unwrap_or_default(),
            });
        }
        if let Some(p) = &self.patch {
            response["patchType"] = json!("JSONPatch");
            response["patch"] =
                json!(base64::engine::general_purpose::STANDARD.encode(p.to_string().as_bytes()));
        }
        if !self.audit_annotations.is_empty() {
            response["auditAnnotations"] = json!(self.audit_annotations);
        }
        if !self.warnings.is_empty() {
            response["warnings"] =
                json!(self.warnings.iter().map(|w| short(w)).collect::<Vec<_>>());
        }
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_shapes() {
        assert!(matches!(parse(b"{"), Parsed::Malformed { uid: None, .. }));
        assert!(matches!(
            parse(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1"}}"#),
            Parsed::Malformed { uid: Some(u), .. } if u == "u1"
        ));
        assert!(matches!(
            parse(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u2","object":[1]}}"#),
            Parsed::Malformed { uid: Some(_), .. }
        ));
        let Parsed::Request(r) = parse(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u3","operation":"CREATE","object":{"kind":"Pod"},"dryRun":true}}"#,
        ) else {
            panic!("not parsed")
        };
        assert_eq!(r.uid, "u3");
        assert_eq!(r.dry_run, Some(true));
        let v = Verdict {
            patch: Some(json!([])),
            warnings: vec!["x".repeat(300)],
            ..Verdict::allow()
        }
        .to_review("u");
        assert_eq!(v["response"]["patchType"], "JSONPatch");
        assert_eq!(
            v["response"]["warnings"][0]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_WARNING_CHARS
        );
        let d = Verdict::deny("no").to_review("u");
        assert_eq!(d["response"]["status"]["code"], 403);
    }
}
