//! Attestation `conditions`: Kyverno's operators over `{{ JMESPath }}` substitutions.
//!
//! The statement's `predicate` is merged into the context root (`EvaluateConditions`,
//! `K:pkg/engine/internal/utils.go`), so `{{ spdxVersion }}` reads `predicate.spdxVersion`.
//! vouch implements the JMESPath subset the seed and notes use: field paths (`a.b`), indexes
//! (`a[0]`), `@`, and `length(expr)`. Anything else is an [`Error::Condition`], never a silent
//! pass.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::image::wildcard_match;
use crate::kyverno::{AnyAllConditions, Condition};

/// Evaluates `conditions` (AND across items; within an item, every `all` and at least one
/// `any` when present). Returns the message of the first condition that does not hold.
pub fn evaluate(conditions: &[AnyAllConditions], context: &Value) -> Result<Result<(), String>> {
    for block in conditions {
        for c in &block.all {
            if !holds(c, context)? {
                return Ok(Err(message(c)));
            }
        }
        if !block.any.is_empty() {
            let mut first_fail = None;
            let mut any = false;
            for c in &block.any {
                if holds(c, context)? {
                    any = true;
                    break;
                }
                first_fail.get_or_insert_with(|| message(c));
            }
            if !any {
                return Ok(Err(first_fail.unwrap_or_default()));
            }
        }
    }
    Ok(Ok(()))
}

fn message(c: &Condition) -> String {
    c.message.clone().unwrap_or_else(|| {
        format!(
            "condition failed: key {} operator {} value {}",
            c.key, c.operator, c.value
        )
    })
}

/// The context for one statement: the statement with its predicate's fields merged at the root.
pub fn statement_context(statement: &Value) -> Value {
    let mut ctx = statement.clone();
    if let (Value::Object(root), Some(Value::Object(pred))) = (&mut ctx, statement.get("predicate"))
    {
        for (k, v) in pred {
            root.insert(k.clone(), v.clone());
        }
    }
    ctx
}

fn holds(c: &Condition, ctx: &Value) -> Result<bool> {
    let key = substitute(&c.key, ctx)?;
    let value = substitute(&c.value, ctx)?;
    let op = c.operator.as_str();
    Ok(match op {
        "Equals" | "Equal" => equal(&key, &value),
        "NotEquals" | "NotEqual" => !equal(&key, &value),
        "In" | "AllIn" => members(&key).iter().all(|k| contains(&value, k)),
        "AnyIn" => members(&key).iter().any(|k| contains(&value, k)),
        "NotIn" | "AllNotIn" => members(&key).iter().all(|k| !contains(&value, k)),
        "AnyNotIn" => members(&key).iter().any(|k| !contains(&value, k)),
        "GreaterThan" | "GreaterThanOrEquals" | "LessThan" | "LessThanOrEquals" => {
            let (Some(a), Some(b)) = (number(&key), number(&value)) else {
                return Err(Error::Condition {
                    expression: format!("{} {op} {}", c.key, c.value),
                    reason: "operands are not numbers".into(),
                });
            };
            match op {
                "GreaterThan" => a > b,
                "GreaterThanOrEquals" => a >= b,
                "LessThan" => a < b,
                _ => a <= b,
            }
        }
        other => {
            return Err(Error::Condition {
                expression: format!("{} {other} {}", c.key, c.value),
                reason: "operator not supported by vouch".into(),
            });
        }
    })
}

fn members(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

fn contains(set: &Value, item: &Value) -> bool {
    match set {
        Value::Array(a) => a.iter().any(|s| equal(item, s)),
        other => equal(item, other),
    }
}

/// Kyverno's equality: numbers by value, strings with wildcards on the value side.
fn equal(key: &Value, value: &Value) -> bool {
    match (key, value) {
        (Value::String(k), Value::String(v)) => k == v || wildcard_match(v, k),
        (a, b) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Replaces `{{ expr }}`: a string that is exactly one expression becomes its value; embedded
/// ones are interpolated as text.
pub fn substitute(v: &Value, ctx: &Value) -> Result<Value> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
                && !inner.contains("{{")
            {
                return eval(inner.trim(), ctx);
            }
            if !s.contains("{{") {
                return Ok(v.clone());
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                out.push_str(&rest[..start]);
                let Some(end) = rest[start..].find("}}") else {
                    return Err(Error::Condition {
                        expression: s.clone(),
                        reason: "unterminated {{".into(),
                    });
                };
                let value = eval(rest[start + 2..start + end].trim(), ctx)?;
                match value {
                    Value::String(x) => out.push_str(&x),
                    other => out.push_str(&other.to_string()),
                }
                rest = &rest[start + end + 2..];
            }
            out.push_str(rest);
            Ok(Value::String(out))
        }
        Value::Array(a) => a.iter().map(|x| substitute(x, ctx)).collect(),
        other => Ok(other.clone()),
    }
}

/// Evaluates the JMESPath subset.
pub fn eval(expr: &str, ctx: &Value) -> Result<Value> {
    let err = |reason: &str| Error::Condition {
        expression: expr.to_owned(),
        reason: reason.to_owned(),
    };
    if expr.len() > 1024 {
        return Err(err("expression too long"));
    }
    if let Some(arg) = expr
        .strip_prefix("length(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let v = eval(arg.trim(), ctx)?;
        let n = match &v {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::String(s) => s.chars().count(),
            _ => {
                return Err(err(
                    "length() of a value that is not a string, array or object",
                ));
            }
        };
        return Ok(Value::from(n));
    }
    if expr == "@" {
        return Ok(ctx.clone());
    }
    let mut cur = ctx;
    for part in expr.split('.') {
        let (field, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let field = field.trim_matches('"');
        if !field.is_empty() {
            if !field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(err("only field paths, [index] and length() are supported"));
            }
            cur = cur.get(field).unwrap_or(&Value::Null);
        }
        let mut rest = indexes;
        while let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| err("unterminated ["))?;
            let idx: i64 = r[..close]
                .trim()
                .parse()
                .map_err(|_| err("only numeric indexes are supported"))?;
            cur = match cur {
                Value::Array(a) => {
                    let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
                    let i = if idx < 0 { len + idx } else { idx };
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| a.get(i))
                        .unwrap_or(&Value::Null)
                }
                _ => &Value::Null,
            };
            rest = &r[close + 1..];
        }
        if !rest.is_empty() {
            return Err(err("unexpected text after index"));
        }
    }
    Ok(cur.clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cond(key: Value, op: &str, value: Value) -> AnyAllConditions {
        AnyAllConditions {
            any: vec![],
            all: vec![Condition {
                key,
                operator: op.into(),
                value,
                message: Some("nope".into()),
            }],
        }
    }

    #[test]
    fn seed_conditions() {
        let statement = json!({"predicateType": "https://spdx.dev/Document",
            "predicate": {"spdxVersion": "SPDX-2.3", "packages": [{"name": "a"}, {"name": "b"}]}});
        let ctx = statement_context(&statement);
        let rows = [
            (
                json!("{{ spdxVersion }}"),
                "AnyIn",
                json!(["SPDX-2.2", "SPDX-2.3"]),
                true,
            ),
            (
                json!("{{ spdxVersion }}"),
                "AnyIn",
                json!(["SPDX-2.2"]),
                false,
            ),
            (
                json!("{{ length(packages) }}"),
                "GreaterThan",
                json!(0),
                true,
            ),
            (
                json!("{{ length(packages) }}"),
                "GreaterThan",
                json!(2),
                false,
            ),
            (json!("{{ packages[1].name }}"), "Equals", json!("b"), true),
            (json!("{{ packages[-1].name }}"), "Equals", json!("b"), true),
            (
                json!("{{ predicate.spdxVersion }}"),
                "Equals",
                json!("SPDX-*"),
                true,
            ),
            (
                json!("v{{ spdxVersion }}"),
                "Equals",
                json!("vSPDX-2.3"),
                true,
            ),
            (json!("{{ missing }}"), "NotEquals", json!(null), false),
            (json!(["a", "b"]), "AllIn", json!(["a", "b", "c"]), true),
            (json!(["a", "z"]), "AllIn", json!(["a", "b"]), false),
            (json!(["a", "z"]), "AnyNotIn", json!(["a", "b"]), true),
            (json!("3"), "LessThanOrEquals", json!(3), true),
        ];
        for (key, op, value, want) in rows {
            let got = evaluate(&[cond(key.clone(), op, value.clone())], &ctx).unwrap();
            assert_eq!(got.is_ok(), want, "{key} {op} {value}");
        }
        let any = AnyAllConditions {
            any: vec![
                cond(json!(1), "Equals", json!(2)).all.remove(0),
                cond(json!(1), "Equals", json!(1)).all.remove(0),
            ],
            all: vec![],
        };
        assert!(evaluate(&[any], &ctx).unwrap().is_ok());
        assert_eq!(
            evaluate(&[cond(json!(1), "Equals", json!(2))], &ctx).unwrap(),
            Err("nope".to_owned())
        );
    }

    #[test]
    fn unsupported_is_an_error_not_a_pass() {
        let ctx = json!({});
        for (key, op) in [
            ("{{ to_upper(x) }}", "Equals"),
            ("{{ a | b }}", "Equals"),
            ("{{ x }}", "DurationLessThan"),
            ("{{ x }}", "GreaterThan"),
        ] {
            assert!(
                matches!(
                    evaluate(&[cond(json!(key), op, json!(1))], &ctx),
                    Err(Error::Condition { .. })
                ),
                "{key} {op}"
            );
        }
    }
}
