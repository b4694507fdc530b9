//! Strict reading of policy documents: unknown fields are refused with their full path and the
//! nearest known field (`spec.rules[0].verifyImages[0].atestors: unknown field, did you mean
//! attestors?`), as the Kyverno CLI's schema validation refuses them; every other shape error
//! keeps its whole path too (`spec.rules: invalid type: null, expected a sequence`).
//!
//! Every policy struct carries `#[serde(deny_unknown_fields)]`; [`serde_path_to_error`]
//! tracks where the deserializer was when it failed. Kubernetes `metadata` (labels,
//! annotations, ...) is never read through these types, so it stays an open map.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A shape error at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// Dotted path from the document root (`spec.rules[0].name`).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Deserializes `value` (found at `base`) strictly.
pub fn from_value<T: DeserializeOwned>(value: &Value, base: &str) -> Result<T, ShapeError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let mut path = join(base, if inner == "." { "" } else { &inner });
        let message = e.inner().to_string();
        let message = match unknown_field(&message) {
            Some((field, suggestion)) => {
                // serde_path_to_error already ends the path with the unknown key.
                if path != field && !path.ends_with(&format!(".{field}")) {
                    path = join(&path, &field);
                }
                match suggestion {
                    Some(s) => format!("unknown field, did you mean {s}?"),
                    None => "unknown field".to_owned(),
                }
            }
            None => message,
        };
        ShapeError { path, message }
    })
}

/// Refuses keys of `object` outside `known` (for the few maps read by hand).
pub fn check_keys(object: &Value, base: &str, known: &[&str]) -> Result<(), ShapeError> {
    let Some(map) = object.as_object() else {
        return Ok(());
    };
    for key in map.keys() {
        if !known.contains(&key.as_str()) {
            let message = match suggest(key, known.iter().copied()) {
                Some(s) => format!("unknown field, did you mean {s}?"),
                None => "unknown field".to_owned(),
            };
            return Err(ShapeError {
                path: join(base, key),
                message,
            });
        }
    }
    Ok(())
}

fn join(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (_, true) => base.to_owned(),
        _ if rest.starts_with('[') => format!("{base}{rest}"),
        _ => format!("{base}.{rest}"),
    }
}

/// serde's `unknown field `x`, expected one of `a`, `b`` (`serde::de::Error::unknown_field`):
/// the field and the nearest expected name.
fn unknown_field(message: &str) -> Option<(String, Option<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    Some((field.to_owned(), suggest(field, expected.into_iter())))
}

/// The known name closest to `field` (Damerau-Levenshtein, case-insensitive), if close
/// enough to be a typo: at most a third of the name's length, and at least 1 edit.
pub fn suggest<'a>(field: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower = field.to_ascii_lowercase();
    known
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["attestors", "attestations", "imageReferences"];
        assert_eq!(
            suggest("atestors", known.into_iter()).as_deref(),
            Some("attestors")
        );
        assert_eq!(
            suggest("imagereferences", known.into_iter()).as_deref(),
            Some("imageReferences")
        );
        assert_eq!(suggest("zzz", known.into_iter()), None);
        assert_eq!(
            unknown_field("unknown field `atestors`, expected one of `attestors`, `count`"),
            Some(("atestors".into(), Some("attestors".into())))
        );
    }
}
