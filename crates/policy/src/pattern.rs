//! Kyverno `validate.pattern` / `anyPattern` matching, ported from
//! `kyverno/kyverno:pkg/engine/validate/validate.go` (`MatchPattern`), `pkg/engine/anchor`
//! (condition `(k)`, equality `=(k)`, negation `X(k)`, existence `^(k)` anchors) and
//! `pkg/engine/pattern/pattern.go` (scalar patterns: wildcards, `!`, `|`, `&`).
//!
//! The subset is checked when the policy loads ([`unsupported`]): global `<(k)` and add
//! `+(k)` anchors, `>`/`<`/ranges, numeric, duration and quantity strings (Kyverno compares
//! those as Kubernetes quantities and Go durations), arrays of arrays and variables in
//! patterns are refused there, so nothing reaches evaluation that this port would judge
//! differently from Kyverno.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::image::wildcard_match;

/// Why a pattern did not match (`PatternError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The message.
    pub message: String,
    /// The resource path (`/spec/containers/0/image/`), empty for errors without one.
    pub path: String,
    /// A conditional anchor did not hold: the rule does not apply (skip).
    pub skip: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Condition,
    Equality,
    Negation,
    Existence,
}

#[derive(Debug)]
enum Err {
    /// A conditional anchor did not hold.
    Conditional(String),
    /// A negation anchor found its key.
    Negation(String),
    /// Anything else.
    Plain(String),
    /// A map whose anchors all skipped (`PatternError{Skip: true}` in Kyverno).
    Skipped(String),
}

impl Err {
    /// Kyverno's `skip(err)`: a conditional anchor error, or any error whose text carries
    /// one (`IsConditionalAnchorError` falls back to matching the message).
    fn is_skip(&self) -> bool {
        matches!(self, Self::Conditional(_) | Self::Skipped(_))
    }
    fn text(&self) -> &str {
        match self {
            Self::Conditional(m) | Self::Negation(m) | Self::Plain(m) | Self::Skipped(m) => m,
        }
    }
}

fn anchor(key: &str) -> Option<(Kind, &str)> {
    fn inner<'a>(k: &'a str, prefix: &str) -> Option<&'a str> {
        k.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .filter(|r| !r.is_empty())
    }
    if let Some(k) = inner(key, "=(") {
        return Some((Kind::Equality, k));
    }
    if let Some(k) = inner(key, "X(") {
        return Some((Kind::Negation, k));
    }
    if let Some(k) = inner(key, "^(") {
        return Some((Kind::Existence, k));
    }
    inner(key, "(").map(|k| (Kind::Condition, k))
}

/// Anchor keys seen (`AnchorMap`): whether some resource map had the key.
type AnchorMap = BTreeMap<String, bool>;

/// `MatchPattern(resource, pattern)`.
pub fn match_pattern(resource: &Value, pattern: &Value) -> Result<(), PatternError> {
    let mut ac = AnchorMap::new();
    match element(resource, pattern, "/", &mut ac) {
        Ok(()) => Ok(()),
        Err((path, e)) => {
            if e.is_skip() {
                return Err(PatternError {
                    message: e.text().to_owned(),
                    path: String::new(),
                    skip: true,
                });
            }
            if matches!(e, Err::Negation(_)) {
                return Err(PatternError {
                    message: e.text().to_owned(),
                    path,
                    skip: false,
                });
            }
            let missing = ac.iter().any(|(k, found)| {
                !found && anchor(k).is_some_and(|(kind, _)| kind != Kind::Negation)
            });
            Err(PatternError {
                message: e.text().to_owned(),
                path: if missing { String::new() } else { path },
                skip: false,
            })
        }
    }
}

type Res = Result<(), (String, Err)>;

fn element(resource: &Value, pattern: &Value, path: &str, ac: &mut AnchorMap) -> Res {
    match pattern {
        Value::Object(p) => {
            let Value::Object(r) = resource else {
                return Err((
                    path.to_owned(),
                    Err::Plain(format!(
                        "pattern and resource have different structures. Path: {path}. Expected map, found {}",
                        type_name(resource)
                    )),
                ));
            };
            for key in p.keys() {
                if let Some((kind, k)) = anchor(key)
                    && kind != Kind::Equality
                {
                    let entry = ac.entry(key.clone()).or_insert(false);
                    if !*entry && r.contains_key(k) {
                        *entry = true;
                    }
                }
            }
            map(r, p, path, ac)
        }
        Value::Array(p) => {
            let Value::Array(r) = resource else {
                return Err((
                    path.to_owned(),
                    Err::Plain(format!(
                        "validation rule failed at path {path}, resource does not satisfy the expected overlay pattern"
                    )),
                ));
            };
            array(r, p, path, ac)
        }
        scalar => {
            if let Value::Array(items) = resource {
                for item in items {
                    if !scalar_matches(item, scalar) {
                        return Err((path.to_owned(), mismatch(resource, scalar, path)));
                    }
                }
                return Ok(());
            }
            if scalar_matches(resource, scalar) {
                Ok(())
            } else {
                Err((path.to_owned(), mismatch(resource, scalar, path)))
            }
        }
    }
}

fn mismatch(resource: &Value, pattern: &Value, path: &str) -> Err {
    Err::Plain(format!(
        "resource value '{}' does not match '{}' at path {path}",
        go_text(resource),
        go_text(pattern)
    ))
}

fn go_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn map(r: &Map<String, Value>, p: &Map<String, Value>, path: &str, ac: &mut AnchorMap) -> Res {
    // Phase 1: anchors, in key order (Kyverno sorts them); phase 2: the other keys, those
    // whose value holds anchors first.
    let mut anchors: Vec<(&String, Kind, &str, &Value)> = p
        .iter()
        .filter_map(|(key, v)| anchor(key).map(|(kind, k)| (key, kind, k, v)))
        .collect();
    anchors.sort_by(|a, b| a.0.cmp(b.0));
    let mut skips: Vec<Err> = Vec::new();
    let mut applied = 0usize;
    for (_, kind, k, v) in anchors {
        let current = format!("{path}{k}/");
        let result: Res = match kind {
            Kind::Negation => {
                if r.contains_key(k) {
                    Err((
                        current.clone(),
                        Err::Negation(format!(
                            "negation anchor matched in resource: {current} is not allowed"
                        )),
                    ))
                } else {
                    Ok(())
                }
            }
            Kind::Equality => match r.get(k) {
                Some(value) => element(value, v, &current, ac),
                None => Ok(()),
            },
            Kind::Condition => match r.get(k) {
                Some(value) => element(value, v, &current, ac).map_err(|(p, e)| {
                    (
                        p,
                        Err::Conditional(format!("conditional anchor mismatch: {}", e.text())),
                    )
                }),
                None => Err((
                    current.clone(),
                    Err::Conditional(
                        "conditional anchor mismatch: conditional anchor key doesn't exist in the resource"
                            .into(),
                    ),
                )),
            },
            Kind::Existence => match r.get(k) {
                Some(Value::Array(items)) => {
                    let Value::Array(pats) = v else {
                        return Err((current, Err::Plain("invalid pattern type: Pattern has to be of list to compare against resource".into())));
                    };
                    let mut out = Ok(());
                    for pm in pats {
                        let found = items.iter().enumerate().any(|(i, item)| {
                            element(item, pm, &format!("{current}{i}/"), ac).is_ok()
                        });
                        if !found {
                            out = Err((
                                current.clone(),
                                Err::Plain(format!("existence anchor validation failed at path {current}")),
                            ));
                            break;
                        }
                    }
                    out
                }
                Some(_) => Err((
                    current,
                    Err::Plain("invalid resource type: Existence ^ () anchor can be used only on list/array type resource".into()),
                )),
                None => Ok(()),
            },
        };
        match result {
            Ok(()) => applied += 1,
            Err((p, e)) if e.is_skip() => {
                let _ = p;
                skips.push(e);
            }
            Err((p, e)) => {
                // A failure beside a conditional skip is not reported (the element does not
                // apply); only skips that are themselves pattern errors let it through.
                let sibling_skip = skips.iter().any(|s| !matches!(s, Err::Skipped(_)));
                if !sibling_skip {
                    return Err((p, e));
                }
            }
        }
    }
    if !skips.is_empty() {
        let sibling_skip = skips.iter().any(|s| !matches!(s, Err::Skipped(_)));
        if applied == 0 || sibling_skip {
            let text = skips.iter().map(Err::text).collect::<Vec<_>>().join("; ");
            return Err((path.to_owned(), Err::Skipped(text)));
        }
    }
    let mut rest: Vec<(&String, &Value)> = p.iter().filter(|(k, _)| anchor(k).is_none()).collect();
    rest.sort_by_key(|(_, v)| !has_anchor(v));
    for (key, v) in rest {
        let current = format!("{path}{key}/");
        if v.as_str() == Some("*") {
            match r.get(key.as_str()) {
                Some(x) if !x.is_null() => continue,
                _ => {
                    return Err((
                        path.to_owned(),
                        Err::Plain(format!("{path}/{key} not found")),
                    ));
                }
            }
        }
        element(r.get(key.as_str()).unwrap_or(&Value::Null), v, &current, ac)?;
    }
    Ok(())
}

fn has_anchor(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.keys().any(|k| anchor(k).is_some()),
        _ => false,
    }
}

fn array(r: &[Value], p: &[Value], path: &str, ac: &mut AnchorMap) -> Res {
    let Some(first) = p.first() else {
        return Err((path.to_owned(), Err::Plain("pattern Array empty".into())));
    };
    match first {
        Value::Object(_) => {
            let mut applied = 0;
            let mut skips = Vec::new();
            for (i, item) in r.iter().enumerate() {
                match element(item, first, &format!("{path}{i}/"), ac) {
                    Ok(()) => applied += 1,
                    Err((_, e)) if e.is_skip() => skips.push(e),
                    Err(e) => return Err(e),
                }
            }
            if applied == 0 && !skips.is_empty() {
                let text = skips.iter().map(Err::text).collect::<Vec<_>>().join("; ");
                return Err((path.to_owned(), Err::Skipped(text)));
            }
            Ok(())
        }
        Value::Array(_) => Err((
            path.to_owned(),
            Err::Plain("arrays of arrays are not supported by vouch".into()),
        )),
        scalar => element(&Value::Array(r.to_vec()), scalar, path, ac),
    }
}

/// `pattern.Validate(value, pattern)` for scalar patterns.
fn scalar_matches(value: &Value, pattern: &Value) -> bool {
    match pattern {
        Value::Bool(b) => value.as_bool() == Some(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                match value {
                    Value::Number(v) => v
                        .as_i64()
                        .map(|v| v == i)
                        .or_else(|| v.as_f64().map(|f| f.trunc() == f && f == i as f64))
                        .unwrap_or(false),
                    Value::String(s) => s.parse::<i64>().is_ok_and(|v| v == i),
                    _ => false,
                }
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                match value {
                    Value::Number(v) => v.as_f64() == Some(f),
                    Value::String(s) => s.parse::<f64>().is_ok_and(|v| v == f),
                    _ => false,
                }
            }
        }
        Value::Null => match value {
            Value::Number(v) => v.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            Value::Bool(b) => !b,
            Value::Null => true,
            _ => false,
        },
        Value::String(p) => {
            if value.as_str() == Some(p.as_str()) {
                return true;
            }
            p.split('|').any(|alt| {
                alt.trim()
                    .split('&')
                    .all(|cond| string_condition(value, cond.trim()))
            })
        }
        Value::Object(_) => value.is_object(),
        Value::Array(_) => false,
    }
}

fn string_condition(value: &Value, cond: &str) -> bool {
    let (negate, pat) = match cond.strip_prefix('!') {
        Some(rest) => (true, rest.trim()),
        None => (false, cond),
    };
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => go_float_e(n.as_f64().unwrap_or_default()),
        },
        _ => return false,
    };
    wildcard_match(pat, &text) != negate
}

/// Go's `strconv.FormatFloat(v, 'E', -1, 64)`: `1.5E+00`.
fn go_float_e(v: f64) -> String {
    let s = format!("{v:E}");
    let (m, e) = s.split_once('E').unwrap_or((&s, "0"));
    let (sign, digits) = match e.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', e),
    };
    format!("{m}E{sign}{digits:0>2}")
}

/// Everything in `pattern` this port does not evaluate as Kyverno does, as
/// `(relative path, what)`.
pub fn unsupported(pattern: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match pattern {
        Value::Object(m) => {
            for (k, v) in m {
                let p = format!("{path}.{k}");
                if k.starts_with("<(") || k.starts_with("+(") {
                    out.push((p.clone(), format!("anchor {k}")));
                }
                if k.contains('*') || k.contains('?') {
                    out.push((p.clone(), "wildcard keys".into()));
                }
                unsupported(v, &p, out);
            }
        }
        Value::Array(a) => {
            if a.len() != 1 && a.first().is_some_and(Value::is_object) {
                out.push((path.to_owned(), "array patterns of several maps".into()));
            }
            for (i, v) in a.iter().enumerate() {
                if v.is_array() {
                    out.push((format!("{path}[{i}]"), "arrays of arrays".into()));
                }
                unsupported(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => {
            if s.contains("{{") {
                out.push((path.to_owned(), "variables in patterns".into()));
            }
            for alt in s.split('|') {
                for cond in alt.split('&') {
                    let c = cond.trim();
                    let rest = c.strip_prefix('!').unwrap_or(c).trim();
                    if c.starts_with('>') || c.starts_with('<') || c.contains("!-") {
                        out.push((path.to_owned(), format!("comparison {c:?}")));
                    } else if rest.starts_with(|ch: char| {
                        ch.is_ascii_digit() || ch == '+' || ch == '-' || ch == '.'
                    }) {
                        // Numbers, ranges, quantities (`1Gi`) and durations (`1h`) are
                        // compared by value in Kyverno.
                        out.push((path.to_owned(), format!("numeric pattern {c:?}")));
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pod(containers: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "web"}},
            "spec": {"containers": containers}})
    }

    #[test]
    fn scalars_and_anchors() {
        let no_latest = json!({"spec": {"containers": [{"image": "!*:latest"}]}});
        assert!(
            match_pattern(
                &pod(json!([{"name": "a", "image": "nginx:1.25"}])),
                &no_latest
            )
            .is_ok()
        );
        let e = match_pattern(
            &pod(json!([{"name": "a", "image": "nginx:1.25"}, {"name": "b", "image": "nginx:latest"}])),
            &no_latest,
        )
        .unwrap_err();
        assert_eq!(e.path, "/spec/containers/1/image/");
        assert!(!e.skip);
        // Missing field against a wildcard value.
        let tag = json!({"spec": {"containers": [{"image": "*:*"}]}});
        assert!(match_pattern(&pod(json!([{"name": "a"}])), &tag).is_err());
        // `?*` requires a non-empty value; `*` requires presence.
        let labels = json!({"metadata": {"labels": {"app": "?*", "team": "*"}}});
        let e = match_pattern(&pod(json!([])), &labels).unwrap_err();
        assert!(e.message.contains("team not found"), "{e:?}");
        // Conditional anchor: applies only to containers named like `web*`.
        let cond = json!({"spec": {"containers": [{"(name)": "web*", "image": "ghcr.io/*"}]}});
        assert!(match_pattern(&pod(json!([{"name": "db", "image": "postgres"}, {"name": "web1", "image": "ghcr.io/x"}])), &cond).is_ok());
        let e =
            match_pattern(&pod(json!([{"name": "db", "image": "postgres"}])), &cond).unwrap_err();
        assert!(e.skip, "{e:?}");
        let e = match_pattern(
            &pod(json!([{"name": "web1", "image": "docker.io/x"}])),
            &cond,
        )
        .unwrap_err();
        assert!(!e.skip);
        // Equality anchor: checked only when present.
        let eq = json!({"spec": {"=(hostNetwork)": false}});
        assert!(match_pattern(&pod(json!([])), &eq).is_ok());
        let mut host = pod(json!([]));
        host["spec"]["hostNetwork"] = json!(true);
        assert!(match_pattern(&host, &eq).is_err());
        // Negation anchor.
        let neg = json!({"spec": {"X(hostNetwork)": "null"}});
        let e = match_pattern(&host, &neg).unwrap_err();
        assert_eq!(e.path, "/spec/hostNetwork/");
        // Existence anchor: at least one element.
        let exists = json!({"spec": {"^(containers)": [{"image": "ghcr.io/*"}]}});
        assert!(
            match_pattern(
                &pod(json!([{"image": "a"}, {"image": "ghcr.io/b"}])),
                &exists
            )
            .is_ok()
        );
        assert!(match_pattern(&pod(json!([{"image": "a"}])), &exists).is_err());
        // Alternatives and conjunctions.
        let alt = json!({"metadata": {"labels": {"app": "api | web"}}});
        assert!(match_pattern(&pod(json!([])), &alt).is_ok());
        let and = json!({"metadata": {"labels": {"app": "w* & !*x"}}});
        assert!(match_pattern(&pod(json!([])), &and).is_ok());
        // Numbers and booleans.
        let mut r = pod(json!([{"securityContext": {"runAsNonRoot": true, "runAsUser": 1000}}]));
        let sc = json!({"spec": {"containers": [{"securityContext": {"runAsNonRoot": true, "runAsUser": 1000}}]}});
        assert!(match_pattern(&r, &sc).is_ok());
        r["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] = json!(false);
        assert!(match_pattern(&r, &sc).is_err());
        assert_eq!(go_float_e(1.5), "1.5E+00");
    }

    #[test]
    fn unsupported_forms_are_listed() {
        let mut out = Vec::new();
        unsupported(
            &json!({"spec": {"<(x)": 1, "containers": [{"resources": {"limits": {"memory": "<=1Gi"}}, "x": "1-3"}], "a": ["b", ["c"]]}}),
            "pattern",
            &mut out,
        );
        let paths: Vec<_> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"pattern.spec.<(x)"), "{out:?}");
        assert!(
            paths.contains(&"pattern.spec.containers[0].resources.limits.memory"),
            "{out:?}"
        );
        assert!(paths.contains(&"pattern.spec.containers[0].x"), "{out:?}");
        assert!(paths.contains(&"pattern.spec.a[1]"), "{out:?}");
    }
}
