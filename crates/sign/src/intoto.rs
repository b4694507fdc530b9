//! in-toto Statements (`in-toto/attestation:spec/v1/statement.md`) and the predicate type URIs
//! cosign's `--type` names map to (`sigstore/cosign:cmd/cosign/cli/options/predicate.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `_type` of in-toto Statement v1.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of in-toto Statement v0.1 (what `cosign attest` still writes); read only.
pub const STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";

/// Predicate type of SPDX documents (`--type spdx|spdxjson`).
pub const PREDICATE_SPDX: &str = "https://spdx.dev/Document";
/// Predicate type of CycloneDX BOMs (`--type cyclonedx`).
pub const PREDICATE_CYCLONEDX: &str = "https://cyclonedx.org/bom";
/// Predicate type of SLSA provenance v0.2 (`--type slsaprovenance|slsaprovenance02`).
pub const PREDICATE_SLSA_PROVENANCE_V0_2: &str = "https://slsa.dev/provenance/v0.2";
/// Predicate type of SLSA provenance v1 (`--type slsaprovenance1`).
pub const PREDICATE_SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// cosign's default custom predicate type (`--type custom`).
pub const PREDICATE_COSIGN_CUSTOM: &str = "https://cosign.sigstore.dev/attestation/v1";
/// Predicate type of cosign 3 plain image signatures in bundle format.
pub const PREDICATE_COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";

/// Maps a cosign `--type` value to its predicate type URI; a URI is returned as given.
pub fn predicate_type_for(type_name: &str) -> Result<String> {
    let uri = match type_name {
        "spdx" | "spdxjson" => PREDICATE_SPDX,
        "cyclonedx" => PREDICATE_CYCLONEDX,
        "slsaprovenance" | "slsaprovenance02" => PREDICATE_SLSA_PROVENANCE_V0_2,
        "slsaprovenance1" => PREDICATE_SLSA_PROVENANCE_V1,
        "custom" => PREDICATE_COSIGN_CUSTOM,
        "link" => "https://in-toto.io/Link/v1",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        uri if uri.contains("://") => uri,
        other => {
            return Err(Error::Malformed {
                what: "predicate type",
                detail: format!("{other:?} is neither a known --type name nor a URI"),
            });
        }
    };
    Ok(uri.to_owned())
}

/// An in-toto Statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_V1`] (or [`STATEMENT_V0_1`] when read from older producers).
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// What the statement is about, matched by digest.
    pub subject: Vec<Subject>,
    /// URI naming the predicate's schema.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate document.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// A statement subject (a v1 ResourceDescriptor restricted to the fields subjects use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Optional name (image repository, file name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Algorithm name (`sha256`) to lowercase hex digest.
    pub digest: BTreeMap<String, String>,
    /// Optional annotations (cosign puts `-a key=value` pairs here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, serde_json::Value>>,
}

impl Subject {
    /// A subject with one `sha256` digest.
    pub fn sha256(name: impl Into<String>, hex_digest: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            digest: BTreeMap::from([("sha256".to_owned(), hex_digest.into())]),
            annotations: None,
        }
    }
}

impl Statement {
    /// A v1 statement.
    pub fn new(
        subject: Vec<Subject>,
        predicate_type: impl Into<String>,
        predicate: serde_json::Value,
    ) -> Self {
        Self {
            statement_type: STATEMENT_V1.to_owned(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Parses a statement (v1 or v0.1) from a DSSE payload.
    pub fn from_json(json: &[u8]) -> Result<Self> {
        let statement: Self =
            serde_json::from_slice(json).map_err(|e| Error::malformed("in-toto statement", e))?;
        if statement.statement_type != STATEMENT_V1 && statement.statement_type != STATEMENT_V0_1 {
            return Err(Error::Malformed {
                what: "in-toto statement",
                detail: format!("unknown _type {:?}", statement.statement_type),
            });
        }
        if statement.subject.is_empty() {
            return Err(Error::MissingField {
                what: "in-toto statement",
                field: "subject",
            });
        }
        Ok(statement)
    }

    /// Compact JSON, fields in the order `_type, subject, predicateType, predicate`.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// True when a subject carries digest `algorithm`:`hex` (hex compared case-insensitively).
    pub fn has_subject_digest(&self, algorithm: &str, hex: &str) -> bool {
        self.subject.iter().any(|s| {
            s.digest
                .get(algorithm)
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_type_names_map_to_uris() {
        let cases = [
            ("spdxjson", PREDICATE_SPDX),
            ("spdx", PREDICATE_SPDX),
            ("cyclonedx", PREDICATE_CYCLONEDX),
            ("slsaprovenance", PREDICATE_SLSA_PROVENANCE_V0_2),
            ("slsaprovenance1", PREDICATE_SLSA_PROVENANCE_V1),
            ("https://example.com/p/v1", "https://example.com/p/v1"),
        ];
        for (name, uri) in cases {
            assert_eq!(predicate_type_for(name).expect(name), uri, "{name}");
        }
        assert!(predicate_type_for("sbom").is_err());
    }

    #[test]
    fn statement_json_shape() {
        let st = Statement::new(
            vec![Subject::sha256("", "abcd")],
            PREDICATE_SPDX,
            serde_json::json!({"spdxVersion": "SPDX-2.3"}),
        );
        let json = String::from_utf8(st.to_json()).expect("utf8");
        assert_eq!(
            json,
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"abcd"}}],"predicateType":"https://spdx.dev/Document","predicate":{"spdxVersion":"SPDX-2.3"}}"#
        );
        let back = Statement::from_json(json.as_bytes()).expect("parse");
        assert!(back.has_subject_digest("sha256", "ABCD"));
        assert!(!back.has_subject_digest("sha256", "abce"));
    }

    #[test]
    fn unknown_type_and_empty_subject_are_rejected() {
        let bad = br#"{"_type":"x","subject":[{"digest":{"sha256":"a"}}],"predicateType":"p"}"#;
        assert!(Statement::from_json(bad).is_err());
        let empty =
            br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#;
        assert!(matches!(
            Statement::from_json(empty),
            Err(Error::MissingField {
                field: "subject",
                ..
            })
        ));
    }
}
