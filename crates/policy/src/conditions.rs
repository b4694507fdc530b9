//! Kyverno conditions (`validate.deny`, `preconditions`, attestation `conditions`,
//! `verifyImages[].validate.deny`) and `{{ JMESPath }}` variables, as Kyverno evaluates them.
//!
//! * Expressions run through the `jmespath` crate with Kyverno's own functions registered
//!   ([`KYVERNO_FUNCTIONS`], `K:pkg/engine/jmespath/functions.go`). A policy naming any other
//!   function is refused at load ([`check_expressions`]), never evaluated.
//! * Kyverno's JMESPath fork (`kyverno/go-jmespath`, `interpreter.go`) fails a query whose
//!   path reaches a missing key at the top level (`Unknown key "x" in path`), skips the rest
//!   of a sub-expression after one, and yields null for it inside a function call,
//!   comparison, `||`, `&&`, or projection (dropping the element); [`query`] runs the fork's
//!   tree interpreter over the crate's AST and functions to do the same.
//! * Substitution (`K:pkg/engine/variables/vars.go`): a string that is exactly one `{{ }}`
//!   becomes the value; otherwise each is replaced by its text (strings as is, anything else
//!   as JSON).
//! * Operators are ported from `K:pkg/engine/variables/operator/*.go` (wildcards on both sides
//!   for the `In` family, durations, Kubernetes quantities and semantic versions in the
//!   numeric ones). The parts vouch does not port (range strings such as `1-10` in
//!   `AnyIn`/`AllIn`) are an evaluation error, never a silent pass.
//! * [`check`] returns Kyverno's `(holds, message)`: the messages of the conditions that
//!   decided, joined as `EvaluateAnyAllConditions` joins them.

use std::sync::LazyLock;

use base64::Engine as _;
use jmespath::ast::Ast;
use jmespath::functions::{ArgumentType, CustomFunction, Signature};
use jmespath::{Context, ErrorReason, JmespathError, Rcvar, Runtime, Variable};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::image::wildcard_match;
use crate::kyverno::{AnyAllConditions, Condition};

/// Kyverno's custom JMESPath functions vouch implements (`K:pkg/engine/jmespath/functions.go`),
/// beside the standard ones (`length`, `contains`, `starts_with`, `join`, `keys`, ...).
pub const KYVERNO_FUNCTIONS: &[&str] = &[
    "compare",
    "equal_fold",
    "replace",
    "replace_all",
    "to_upper",
    "to_lower",
    "trim",
    "trim_prefix",
    "split",
    "regex_replace_all",
    "regex_replace_all_literal",
    "regex_match",
    "pattern_match",
    "label_match",
    "to_boolean",
    "base64_decode",
    "base64_encode",
    "truncate",
    "parse_json",
];

/// Bound on one expression's length: far above real policies (a few hundred bytes), and it
/// bounds the recursion of the parser and interpreter over a chain such as `a.b.c...`.
const MAX_EXPRESSION: usize = 1024;

/// Bound on bracket nesting in one expression.
const MAX_NESTING: usize = 64;

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let mut rt = Runtime::new();
    rt.register_builtin_functions();
    register_kyverno(&mut rt);
    rt
});

fn fail(ctx: &Context<'_>, msg: String) -> JmespathError {
    JmespathError::from_ctx(ctx, ErrorReason::Parse(msg))
}

fn string_arg(args: &[Rcvar], i: usize) -> &str {
    args.get(i)
        .and_then(|a| a.as_string())
        .map_or("", String::as_str)
}

/// Kyverno's `ifaceToString`: a string, or a number printed as Go prints it.
fn string_or_number(v: &Rcvar) -> Option<String> {
    match &**v {
        Variable::String(s) => Some(s.clone()),
        Variable::Number(n) => Some(go_number(n.as_f64().unwrap_or_default())),
        Variable::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn var(v: Variable) -> Rcvar {
    Rcvar::new(v)
}

fn register_kyverno(rt: &mut Runtime) {
    use ArgumentType as A;
    type F = fn(&[Rcvar], &mut Context<'_>) -> jmespath::SearchResult;
    let mut add = |name: &str, inputs: Vec<ArgumentType>, f: F| {
        rt.register_function(
            name,
            Box::new(CustomFunction::new(
                Signature::new(inputs, None),
                Box::new(f),
            )),
        );
    };
    let s = || A::String;
    add("compare", vec![s(), s()], |a, _| {
        let o = string_arg(a, 0).cmp(string_arg(a, 1)) as i8;
        Ok(var(Variable::Number(o.into())))
    });
    add("equal_fold", vec![s(), s()], |a, _| {
        // Go's strings.EqualFold is Unicode simple case folding; lower-casing both agrees
        // for the identifiers policies compare.
        let eq = string_arg(a, 0).to_lowercase() == string_arg(a, 1).to_lowercase();
        Ok(var(Variable::Bool(eq)))
    });
    add("replace", vec![s(), s(), s(), A::Number], |a, _| {
        let (src, old, new) = (string_arg(a, 0), string_arg(a, 1), string_arg(a, 2));
        let n = a[3].as_number().unwrap_or(-1.0);
        // strings.Replace: n < 0 replaces all.
        let out = if n < 0.0 {
            src.replace(old, new)
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            src.replacen(old, new, n as usize)
        };
        Ok(var(Variable::String(out)))
    });
    add("replace_all", vec![s(), s(), s()], |a, _| {
        Ok(var(Variable::String(
            string_arg(a, 0).replace(string_arg(a, 1), string_arg(a, 2)),
        )))
    });
    add("to_upper", vec![s()], |a, _| {
        Ok(var(Variable::String(string_arg(a, 0).to_uppercase())))
    });
    add("to_lower", vec![s()], |a, _| {
        Ok(var(Variable::String(string_arg(a, 0).to_lowercase())))
    });
    add("trim", vec![s(), s()], |a, _| {
        let cut: Vec<char> = string_arg(a, 1).chars().collect();
        Ok(var(Variable::String(
            string_arg(a, 0).trim_matches(cut.as_slice()).to_owned(),
        )))
    });
    add("trim_prefix", vec![s(), s()], |a, _| {
        let (src, p) = (string_arg(a, 0), string_arg(a, 1));
        Ok(var(Variable::String(
            src.strip_prefix(p).unwrap_or(src).to_owned(),
        )))
    });
    add("split", vec![s(), s()], |a, _| {
        let (src, sep) = (string_arg(a, 0), string_arg(a, 1));
        // strings.Split with an empty separator splits into UTF-8 characters.
        let parts: Vec<Rcvar> = if sep.is_empty() {
            src.chars()
                .map(|c| var(Variable::String(c.to_string())))
                .collect()
        } else {
            src.split(sep)
                .map(|p| var(Variable::String(p.to_owned())))
                .collect()
        };
        Ok(var(Variable::Array(parts)))
    });
    let regex_fn = |literal: bool| -> F {
        if literal {
            |a, ctx| regex_replace(a, ctx, true)
        } else {
            |a, ctx| regex_replace(a, ctx, false)
        }
    };
    add(
        "regex_replace_all",
        vec![
            s(),
            A::Union(vec![s(), A::Number]),
            A::Union(vec![s(), A::Number]),
        ],
        regex_fn(false),
    );
    add(
        "regex_replace_all_literal",
        vec![
            s(),
            A::Union(vec![s(), A::Number]),
            A::Union(vec![s(), A::Number]),
        ],
        regex_fn(true),
    );
    add(
        "regex_match",
        vec![s(), A::Union(vec![s(), A::Number])],
        |a, ctx| {
            let re = regex::Regex::new(string_arg(a, 0))
                .map_err(|e| fail(ctx, format!("regex_match: {e}")))?;
            let src = string_or_number(&a[1]).unwrap_or_default();
            Ok(var(Variable::Bool(re.is_match(&src))))
        },
    );
    add(
        "pattern_match",
        vec![s(), A::Union(vec![s(), A::Number])],
        |a, _| {
            let src = string_or_number(&a[1]).unwrap_or_default();
            Ok(var(Variable::Bool(wildcard_match(string_arg(a, 0), &src))))
        },
    );
    add("label_match", vec![A::Object, A::Object], |a, _| {
        let (labels, target) = (a[0].as_object(), a[1].as_object());
        let ok = labels.is_some_and(|l| {
            l.iter()
                .all(|(k, v)| target.and_then(|t| t.get(k)).is_some_and(|x| x == v))
        });
        Ok(var(Variable::Bool(ok)))
    });
    add("to_boolean", vec![s()], |a, ctx| {
        match string_arg(a, 0).to_lowercase().as_str() {
            "true" => Ok(var(Variable::Bool(true))),
            "false" => Ok(var(Variable::Bool(false))),
            other => Err(fail(
                ctx,
                format!(
                    "to_boolean: lowercase argument must be 'true' or 'false' (provided: '{other}')"
                ),
            )),
        }
    });
    add("base64_decode", vec![s()], |a, ctx| {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(string_arg(a, 0))
            .map_err(|e| fail(ctx, format!("base64_decode: {e}")))?;
        // Go's string(bytes) keeps invalid UTF-8; serde_json cannot, so it is replaced.
        Ok(var(Variable::String(
            String::from_utf8_lossy(&bytes).into_owned(),
        )))
    });
    add("base64_encode", vec![s()], |a, _| {
        Ok(var(Variable::String(
            base64::engine::general_purpose::STANDARD.encode(string_arg(a, 0)),
        )))
    });
    add("truncate", vec![s(), A::Number], |a, _| {
        let n = a[1].as_number().unwrap_or(0.0).max(0.0);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let out: String = string_arg(a, 0).chars().take(n as usize).collect();
        Ok(var(Variable::String(out)))
    });
    add("parse_json", vec![s()], |a, ctx| {
        let v: Value = serde_json::from_str(string_arg(a, 0))
            .map_err(|e| fail(ctx, format!("parse_json: {e}")))?;
        Variable::try_from(v)
            .map(var)
            .map_err(|e| fail(ctx, format!("parse_json: {e}")))
    });
}

fn regex_replace(a: &[Rcvar], ctx: &mut Context<'_>, literal: bool) -> jmespath::SearchResult {
    let re = regex::Regex::new(string_arg(a, 0))
        .map_err(|e| fail(ctx, format!("regex_replace_all: {e}")))?;
    let src = string_or_number(&a[1]).unwrap_or_default();
    let repl = string_or_number(&a[2]).unwrap_or_default();
    let out = if literal {
        re.replace_all(&src, regex::NoExpand(&repl)).into_owned()
    } else {
        // Go's Regexp.ReplaceAll expands `$1` / `${name}` as the regex crate does.
        re.replace_all(&src, repl.as_str()).into_owned()
    };
    Ok(var(Variable::String(out)))
}

/// Every function `ast` calls.
fn functions<'a>(ast: &'a Ast, out: &mut Vec<&'a str>) {
    match ast {
        Ast::Function { name, args, .. } => {
            out.push(name);
            for a in args {
                functions(a, out);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            functions(lhs, out);
            functions(rhs, out);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            functions(predicate, out);
            functions(then, out);
        }
        Ast::Expref { ast, .. } => functions(ast, out),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            functions(node, out);
        }
        Ast::MultiList { elements, .. } => {
            for e in elements {
                functions(e, out);
            }
        }
        Ast::MultiHash { elements, .. } => {
            for e in elements {
                functions(&e.value, out);
            }
        }
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

/// Kyverno's `RegexVariables` (`K:pkg/engine/variables/regex/regex.go`): a `{{ }}` holding
/// no other `{{` (one level of single braces allowed), not preceded by `\\`.
static VARIABLE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?:^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})")
        .unwrap_or_else(|_| unreachable!())
});

/// The innermost `{{ }}` expressions in `s` as `(start, end, trimmed inner text)`; nested
/// ones are resolved innermost first, as Kyverno loops until none is left. An opening
/// `{{` that no match covers is an error (Kyverno would leave it as text).
fn expressions(s: &str) -> std::result::Result<Vec<(usize, usize, &str)>, String> {
    let out: Vec<(usize, usize, &str)> = VARIABLE
        .captures_iter(s)
        .filter_map(|c| c.get(1))
        .map(|m| (m.start(), m.end(), s[m.start() + 2..m.end() - 2].trim()))
        .collect();
    let covered = |i: usize| out.iter().any(|(a, b, _)| *a <= i && i < *b);
    let mut i = 0;
    while let Some(p) = s[i..].find("{{").map(|p| p + i) {
        let escaped = p > 0 && s.as_bytes()[p - 1] == b'\\';
        if !escaped && !covered(p) && !s[p..].contains("}}") {
            return Err(format!("unterminated {{{{ in {s:?}"));
        }
        i = p + 2;
    }
    Ok(out)
}

/// Checks every `{{ }}` in `v` (strings anywhere inside): it must parse and call only known
/// functions. Each problem is `(path, message)`.
pub fn check_expressions(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => match expressions(s) {
            Err(e) => out.push((path.to_owned(), e)),
            Ok(list) => {
                for (_, _, e) in list {
                    if let Err(m) = check_expression(e) {
                        out.push((path.to_owned(), m));
                    }
                }
            }
        },
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                check_expressions(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                check_expressions(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

fn check_expression(e: &str) -> std::result::Result<(), String> {
    if e.len() > MAX_EXPRESSION {
        return Err(format!(
            "JMESPath expression longer than {MAX_EXPRESSION} bytes"
        ));
    }
    // The parser and the interpreter recurse per nesting level: bound it before either runs
    // (real policies nest a handful of levels; an admission worker's stack is small).
    let mut depth = 0usize;
    for c in e.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "JMESPath expression nested deeper than {MAX_NESTING} levels"
                    ));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let ast = jmespath::parse(e)
        .map_err(|err| format!("JMESPath expression {e:?} does not parse: {}", err.reason))?;
    let mut called = Vec::new();
    functions(&ast, &mut called);
    for f in called {
        if RUNTIME.get_function(f).is_none() {
            return Err(format!(
                "JMESPath function {f}() in {e:?} is not supported by vouch (unknown functions are refused, never evaluated)"
            ));
        }
    }
    Ok(())
}

/// The names every `{{ }}` in `v` reads from the top of the context (`request` in
/// `request.object.spec`, `images` in `images.containers.*.registry`), each with the path
/// of the string holding it: a rule may only read what vouch puts in its context.
pub fn variable_roots(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => {
            for (_, _, e) in expressions(s).unwrap_or_default() {
                if let Ok(ast) = jmespath::parse(e) {
                    let mut names = Vec::new();
                    roots(&ast, true, &mut names);
                    out.extend(names.into_iter().map(|n| (path.to_owned(), n.to_owned())));
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                variable_roots(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                variable_roots(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// Fields of `ast` evaluated against the context root (`at_root`): the left of a
/// sub-expression or projection, function arguments (not expression references),
/// comparison and logical operands, list and hash elements.
fn roots<'a>(ast: &'a Ast, at_root: bool, out: &mut Vec<&'a str>) {
    match ast {
        Ast::Field { name, .. } if at_root => out.push(name),
        Ast::Subexpr { lhs, rhs, .. } | Ast::Projection { lhs, rhs, .. } => {
            roots(lhs, at_root, out);
            roots(rhs, false, out);
        }
        Ast::Function { args, .. } => {
            for a in args {
                roots(a, at_root, out);
            }
        }
        Ast::Comparison { lhs, rhs, .. } | Ast::And { lhs, rhs, .. } | Ast::Or { lhs, rhs, .. } => {
            roots(lhs, at_root, out);
            roots(rhs, at_root, out);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            roots(predicate, at_root, out);
            roots(then, at_root, out);
        }
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            roots(node, at_root, out);
        }
        Ast::MultiList { elements, .. } => {
            for e in elements {
                roots(e, at_root, out);
            }
        }
        Ast::MultiHash { elements, .. } => {
            for e in elements {
                roots(&e.value, at_root, out);
            }
        }
        _ => {}
    }
}

/// Evaluates one expression against `ctx` as Kyverno's fork does. The error is Kyverno's
/// text (`Unknown key "x" in path`).
pub fn query(expr: &str, ctx: &Value) -> std::result::Result<Value, String> {
    check_expression(expr)?;
    let data = Variable::try_from(ctx.clone())
        .map(Rcvar::new)
        .map_err(|e| format!("context is not JSON: {e}"))?;
    let ast = jmespath::parse(expr).map_err(|e| e.reason.to_string())?;
    let mut jctx = Context::new(expr, &RUNTIME);
    match interpret(&ast, &data, &mut jctx) {
        Ok(result) => serde_json::to_value(&*result).map_err(|e| e.to_string()),
        Err(Miss::NotFound(key)) => Err(format!("Unknown key \"{key}\" in path")),
        Err(Miss::Failed(e)) => Err(e.reason.to_string()),
    }
}

/// Why a sub-expression has no value: Kyverno's fork's `NotFoundError` (a field missing from
/// an object), or an evaluation error.
enum Miss {
    NotFound(String),
    Failed(JmespathError),
}

impl From<JmespathError> for Miss {
    fn from(e: JmespathError) -> Self {
        Self::Failed(e)
    }
}

fn null() -> Rcvar {
    Rcvar::new(Variable::Null)
}

/// A missing key becomes null; an error stays one (where the fork catches `NotFoundError`).
fn caught(r: Result<Rcvar, Miss>) -> Result<Rcvar, Miss> {
    match r {
        Err(Miss::NotFound(_)) => Ok(null()),
        other => other,
    }
}

/// The tree interpreter of Kyverno's JMESPath fork (`kyverno/go-jmespath` `interpreter.go`)
/// over the `jmespath` crate's AST and functions: a field missing from an object is
/// `NotFound`, which a sub-expression passes up without evaluating its right side, and which
/// comparisons, function arguments, `||`, `&&` (left), `!`, multi-selects and projection
/// elements turn into null (the element then dropped); everything else as the crate does.
fn interpret(ast: &Ast, data: &Rcvar, ctx: &mut Context<'_>) -> Result<Rcvar, Miss> {
    Ok(match ast {
        Ast::Field { name, .. } => match data.as_object() {
            Some(o) => o
                .get(name)
                .cloned()
                .ok_or_else(|| Miss::NotFound(name.clone()))?,
            None => null(),
        },
        Ast::Subexpr { lhs, rhs, .. } => {
            let left = interpret(lhs, data, ctx)?;
            interpret(rhs, &left, ctx)?
        }
        Ast::Identity { .. } => data.clone(),
        Ast::Literal { value, .. } => value.clone(),
        Ast::Index { idx, .. } => match data.as_array() {
            Some(a) => {
                let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
                let i = if *idx < 0 {
                    len + i64::from(*idx)
                } else {
                    i64::from(*idx)
                };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i).cloned())
                    .unwrap_or_else(null)
            }
            None => null(),
        },
        Ast::Slice {
            start, stop, step, ..
        } => match data.slice(*start, *stop, *step) {
            Some(v) => Rcvar::new(Variable::Array(v)),
            None => null(),
        },
        Ast::Projection { lhs, rhs, .. } => {
            let left = match interpret(lhs, data, ctx) {
                Ok(v) => v,
                // A filter projection (`a[?p]`) returns null on any error of its left side.
                Err(_) if matches!(**rhs, Ast::Condition { .. }) => return Ok(null()),
                Err(Miss::NotFound(_)) => null(),
                Err(e) => return Err(e),
            };
            match left.as_array() {
                None => null(),
                Some(items) => {
                    let mut out = Vec::new();
                    for item in items {
                        let v = caught(interpret(rhs, item, ctx))?;
                        if !v.is_null() {
                            out.push(v);
                        }
                    }
                    Rcvar::new(Variable::Array(out))
                }
            }
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            if caught(interpret(predicate, data, ctx))?.is_truthy() {
                caught(interpret(then, data, ctx))?
            } else {
                null()
            }
        }
        Ast::Flatten { node, .. } => match interpret(node, data, ctx) {
            Err(_) => null(),
            Ok(v) => match v.as_array() {
                None => null(),
                Some(items) => {
                    let mut out = Vec::new();
                    for item in items {
                        match item.as_array() {
                            Some(inner) => out.extend(inner.iter().cloned()),
                            None => out.push(item.clone()),
                        }
                    }
                    Rcvar::new(Variable::Array(out))
                }
            },
        },
        Ast::ObjectValues { node, .. } => match interpret(node, data, ctx) {
            Err(_) => null(),
            Ok(v) => match v.as_object() {
                Some(o) => Rcvar::new(Variable::Array(o.values().cloned().collect())),
                None => null(),
            },
        },
        Ast::Comparison {
            comparator,
            lhs,
            rhs,
            ..
        } => {
            let left = caught(interpret(lhs, data, ctx))?;
            let right = caught(interpret(rhs, data, ctx))?;
            match left.compare(comparator, &right) {
                Some(b) => Rcvar::new(Variable::Bool(b)),
                None => null(),
            }
        }
        Ast::And { lhs, rhs, .. } => {
            let left = caught(interpret(lhs, data, ctx))?;
            if left.is_truthy() {
                interpret(rhs, data, ctx)?
            } else {
                left
            }
        }
        Ast::Or { lhs, rhs, .. } => {
            let left = caught(interpret(lhs, data, ctx))?;
            if left.is_truthy() {
                left
            } else {
                caught(interpret(rhs, data, ctx))?
            }
        }
        Ast::Not { node, .. } => Rcvar::new(Variable::Bool(
            !caught(interpret(node, data, ctx))?.is_truthy(),
        )),
        Ast::MultiList { elements, .. } => {
            if data.is_null() {
                null()
            } else {
                let mut out = Vec::new();
                for e in elements {
                    out.push(caught(interpret(e, data, ctx))?);
                }
                Rcvar::new(Variable::Array(out))
            }
        }
        Ast::MultiHash { elements, .. } => {
            if data.is_null() {
                null()
            } else {
                let mut out = std::collections::BTreeMap::new();
                for kv in elements {
                    out.insert(kv.key.clone(), caught(interpret(&kv.value, data, ctx))?);
                }
                Rcvar::new(Variable::Object(out))
            }
        }
        Ast::Expref { ast, .. } => Rcvar::new(Variable::Expref(*ast.clone())),
        Ast::Function { name, args, offset } => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(caught(interpret(a, data, ctx))?);
            }
            ctx.offset = *offset;
            let Some(f) = RUNTIME.get_function(name) else {
                return Err(Miss::Failed(JmespathError::from_ctx(
                    ctx,
                    ErrorReason::Parse(format!("unknown function {name}()")),
                )));
            };
            f.evaluate(&values, ctx)?
        }
    })
}

/// Kyverno's `substituteAll` over `v`: every `{{ }}` in every string, innermost first,
/// until none is left. The error is Kyverno's (`failed to resolve a.b at path : JMESPath
/// query failed: Unknown key "b" in path`).
pub fn substitute_all(v: &Value, ctx: &Value) -> std::result::Result<Value, String> {
    match v {
        Value::String(s) => {
            let mut current = s.clone();
            // Each round resolves one nesting level; 16 is far beyond real policies.
            for _ in 0..16 {
                let list = expressions(&current)?;
                if list.is_empty() {
                    return Ok(Value::String(current));
                }
                let resolve = |e: &str| {
                    query(e, ctx).map_err(|err| {
                        format!("failed to resolve {e} at path : JMESPath query failed: {err}")
                    })
                };
                if list.len() == 1 && list[0].0 == 0 && list[0].1 == current.len() {
                    return resolve(list[0].2);
                }
                let mut out = String::new();
                let mut last = 0;
                for (start, end, e) in list {
                    out.push_str(&current[last..start]);
                    match resolve(e)? {
                        Value::String(x) => out.push_str(&x),
                        other => out.push_str(&other.to_string()),
                    }
                    last = end;
                }
                out.push_str(&current[last..]);
                current = out;
            }
            Err(format!("variables nested too deeply in {s:?}"))
        }
        Value::Array(a) => a.iter().map(|x| substitute_all(x, ctx)).collect(),
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| Ok((k.clone(), substitute_all(x, ctx)?)))
            .collect::<std::result::Result<serde_json::Map<_, _>, String>>()
            .map(Value::Object),
        other => Ok(other.clone()),
    }
}

/// [`substitute_all`] with the crate's error type.
pub fn substitute(v: &Value, ctx: &Value) -> Result<Value> {
    substitute_all(v, ctx).map_err(|reason| Error::Condition {
        expression: v.to_string(),
        reason,
    })
}

/// Evaluates one expression (for callers that hold a bare expression).
pub fn eval(expr: &str, ctx: &Value) -> Result<Value> {
    query(expr, ctx).map_err(|reason| Error::Condition {
        expression: expr.to_owned(),
        reason,
    })
}

/// Kyverno's `EvaluateConditions` over a list of `{any, all}` blocks: `Ok((holds, message))`,
/// the message joining those of the conditions that decided; `Err` is Kyverno's error text
/// (`failed to substitute variables in condition key: ...`).
pub fn check(
    conditions: &[AnyAllConditions],
    ctx: &Value,
) -> std::result::Result<(bool, String), String> {
    let mut true_messages = Vec::new();
    for block in conditions {
        let (ok, msg) = check_block(block, ctx)?;
        if !ok {
            return Ok((false, msg));
        }
        true_messages.push(msg);
    }
    Ok((true, join_non_empty(&true_messages, ";")))
}

fn check_block(c: &AnyAllConditions, ctx: &Value) -> std::result::Result<(bool, String), String> {
    let (mut any_ok, mut all_ok) = (true, true);
    let (mut t, mut f) = (Vec::new(), Vec::new());
    if !c.any.is_empty() {
        any_ok = false;
        for cond in &c.any {
            let msg = cond.message.clone().unwrap_or_default();
            if holds(cond, ctx)? {
                any_ok = true;
                t.push(msg);
                break;
            }
            f.push(msg);
        }
    }
    for cond in &c.all {
        let msg = cond.message.clone().unwrap_or_default();
        if holds(cond, ctx)? {
            t.push(msg);
        } else {
            all_ok = false;
            f.push(msg);
            break;
        }
    }
    if any_ok && all_ok {
        Ok((true, join_non_empty(&t, "; ")))
    } else {
        Ok((false, join_non_empty(&f, "; ")))
    }
}

/// Go's `stringutils.JoinNonEmpty`.
pub fn join_non_empty(parts: &[String], sep: &str) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(sep)
}

/// Evaluates `conditions` (attestation conditions): `Ok(Err(message))` names the first
/// block that does not hold.
pub fn evaluate(conditions: &[AnyAllConditions], context: &Value) -> Result<Result<(), String>> {
    for block in conditions {
        match check_block(block, context) {
            Ok((true, _)) => {}
            Ok((false, msg)) => {
                return Ok(Err(if msg.is_empty() {
                    first_failed(block, context)
                } else {
                    msg
                }));
            }
            Err(reason) => {
                return Err(Error::Condition {
                    expression: "conditions".into(),
                    reason,
                });
            }
        }
    }
    Ok(Ok(()))
}

/// Names the condition that decided a failed block when it carries no `message` (Kyverno
/// then reports none): the first `all` condition that does not hold, else (every `any`
/// condition failed) the first `any` condition. Never a condition that held.
fn first_failed(block: &AnyAllConditions, ctx: &Value) -> String {
    let failing_all = block
        .all
        .iter()
        .find(|c| !matches!(holds(c, ctx), Ok(true)));
    let any_failed =
        !block.any.is_empty() && !block.any.iter().any(|c| matches!(holds(c, ctx), Ok(true)));
    failing_all
        .or(if any_failed { block.any.first() } else { None })
        .map(|c| {
            format!(
                "condition failed: key {} operator {} value {}",
                c.key, c.operator, c.value
            )
        })
        .unwrap_or_default()
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

fn holds(c: &Condition, ctx: &Value) -> std::result::Result<bool, String> {
    let key = substitute_all(&c.key, ctx)
        .map_err(|e| format!("failed to substitute variables in condition key: {e}"))?;
    let value = substitute_all(&c.value, ctx)
        .map_err(|e| format!("failed to substitute variables in condition value: {e}"))?;
    operate(&c.operator, &key, &value)
}

/// One operator on substituted operands (`K:pkg/engine/variables/operator`).
pub fn operate(op: &str, key: &Value, value: &Value) -> std::result::Result<bool, String> {
    Ok(match op.to_ascii_lowercase().as_str() {
        "equals" | "equal" => equal(key, value),
        "notequals" | "notequal" => !key.is_null() && !equal(key, value),
        "in" | "notin" => {
            let not = op.eq_ignore_ascii_case("notin");
            match key {
                Value::Array(items) => {
                    let mut keys = Vec::new();
                    for i in items {
                        // Kyverno asserts v.(string) here and panics otherwise.
                        let Value::String(s) = i else {
                            return Err(format!("{op}: key list holds a non-string"));
                        };
                        keys.push(s.clone());
                    }
                    set_in(&keys, value, not, SetMode::Exact)?.unwrap_or(false)
                }
                Value::Null | Value::Object(_) => false,
                scalar => match key_in(&go_sprint(scalar), value, KeyMode::Exact)? {
                    None => false,
                    Some(found) => found != not,
                },
            }
        }
        o @ ("anyin" | "allin" | "anynotin" | "allnotin") => {
            let any = o.starts_with("any");
            let not = o.ends_with("notin");
            let mode = if any { KeyMode::Any } else { KeyMode::All };
            match key {
                Value::Array(items) => {
                    let keys: Vec<String> = items.iter().map(go_sprint).collect();
                    let set_mode = if any { SetMode::Any } else { SetMode::All };
                    set_in(&keys, value, not, set_mode)?.unwrap_or(false)
                }
                Value::Null | Value::Object(_) => false,
                scalar => match key_in(&go_sprint(scalar), value, mode)? {
                    None => false,
                    Some(found) => found != not,
                },
            }
        }
        o @ ("greaterthanorequals" | "greaterthan" | "lessthanorequals" | "lessthan") => {
            match numeric_cmp(key, value)? {
                Some(ord) => compare(o, ord),
                None => false,
            }
        }
        o @ ("durationgreaterthanorequals"
        | "durationgreaterthan"
        | "durationlessthanorequals"
        | "durationlessthan") => match duration_operands(key, value) {
            Some((a, b)) => compare(&o["duration".len()..], a.total_cmp(&b)),
            None => false,
        },
        _ => return Err(format!("unknown operator {op}")),
    })
}

fn compare(op: &str, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        "greaterthanorequals" => matches!(ord, Greater | Equal),
        "greaterthan" => ord == Greater,
        "lessthanorequals" => matches!(ord, Less | Equal),
        _ => ord == Less,
    }
}

/// Go's `fmt.Sprint` of a JSON value.
fn go_sprint(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => go_number(n.as_f64().unwrap_or_default()),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// Go's `%v` of a float64 (`1`, `1.5`, `1e+21`).
fn go_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        i.to_string()
    } else {
        f.to_string()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyMode {
    /// `keyExistsInArray` (In/NotIn).
    Exact,
    /// `anyKeyExistsInArray`.
    Any,
    /// `allKeyExistsInArray`.
    All,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetMode {
    Exact,
    Any,
    All,
}

/// Kyverno's range strings (`K:pkg/engine/operator/operator.go` `InRangeRegex`,
/// `NotInRangeRegex`): `5000-6000`, `0Mi!-1024Mi`.
static IN_RANGE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^([-|+]?\d+(?:\.\d+)?[A-Za-z]*)-([-|+]?\d+(?:\.\d+)?[A-Za-z]*)$")
        .unwrap_or_else(|_| unreachable!())
});
static NOT_IN_RANGE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^([-|+]?\d+(?:\.\d+)?[A-Za-z]*)!-([-|+]?\d+(?:\.\d+)?[A-Za-z]*)$")
        .unwrap_or_else(|_| unreachable!())
});

/// `GetOperatorFromStringPattern(value) == InRange`: the only form the `In` family treats
/// as a range (a `!-` value is not one there).
fn is_in_range_pattern(s: &str) -> bool {
    !NOT_IN_RANGE.is_match(s) && IN_RANGE.is_match(s)
}

/// `pattern.Validate` of `key` against a range (`K:pkg/engine/pattern/pattern.go`): inside
/// `[left, right]` for `-`, outside for `!-`; both ends compared as durations, else as
/// quantities (a plain number is one).
fn in_range(key: &str, pattern: &str) -> bool {
    let cmp = |a: &str, b: &str| -> Option<std::cmp::Ordering> {
        if let (Some(x), Some(y)) = (go_duration(a), go_duration(b)) {
            return Some(x.total_cmp(&y));
        }
        Some(quantity(a)?.total_cmp(&quantity(b)?))
    };
    use std::cmp::Ordering::{Greater, Less};
    if let Some(c) = NOT_IN_RANGE.captures(pattern) {
        return cmp(key, &c[1]) == Some(Less) || cmp(key, &c[2]) == Some(Greater);
    }
    if let Some(c) = IN_RANGE.captures(pattern) {
        return cmp(key, &c[1]).is_some_and(|o| o != Less)
            && cmp(key, &c[2]).is_some_and(|o| o != Greater);
    }
    false
}

/// `keyExistsInArray` and friends: `None` for Kyverno's `invalidType`.
fn key_in(key: &str, value: &Value, mode: KeyMode) -> std::result::Result<Option<bool>, String> {
    match value {
        Value::Array(vals) => Ok(Some(vals.iter().any(|v| {
            let v = go_sprint(v);
            wildcard_match(&v, key) || wildcard_match(key, &v)
        }))),
        Value::String(vals) => {
            if wildcard_match(vals, key) {
                return Ok(Some(true));
            }
            if mode != KeyMode::Exact && is_in_range_pattern(vals) {
                return Ok(Some(in_range(key, vals)));
            }
            let arr: Vec<String> = match serde_json::from_str::<Value>(vals) {
                Ok(Value::Array(a)) => {
                    let mut out = Vec::new();
                    for x in a {
                        let Value::String(s) = x else { return Ok(None) };
                        out.push(s);
                    }
                    out
                }
                Ok(_) => return Ok(None),
                Err(_) if mode != KeyMode::Exact => vec![vals.clone()],
                Err(_) => return Ok(None),
            };
            Ok(Some(arr.iter().any(|v| v == key)))
        }
        _ => Ok(None),
    }
}

/// `setExistsInArray` / `anySetExistsInArray` / `allSetExistsInArray`: whether the operator
/// holds (`not` for the NotIn forms); `None` for `invalidType`.
fn set_in(
    keys: &[String],
    value: &Value,
    not: bool,
    mode: SetMode,
) -> std::result::Result<Option<bool>, String> {
    let vals: Vec<String> = match value {
        Value::Array(a) => {
            if mode == SetMode::Exact && a.iter().any(|x| !x.is_string()) {
                return Ok(None);
            }
            a.iter().map(go_sprint).collect()
        }
        Value::Number(_) | Value::Bool(_) if mode == SetMode::Any => vec![go_sprint(value)],
        Value::String(s) => {
            if keys.len() == 1 && keys[0] == *s {
                return Ok(Some(!not));
            }
            if mode != SetMode::Exact && is_in_range_pattern(s) {
                return Ok(Some(match (mode, not) {
                    (SetMode::Any, false) => keys.iter().any(|k| in_range(k, s)),
                    // `anySetExistsInArray`: the range negated by rewriting `-` to `!-`.
                    (SetMode::Any, true) => {
                        let outside = s.replacen('-', "!-", 1);
                        keys.iter().any(|k| in_range(k, &outside))
                    }
                    (_, false) => keys.iter().all(|k| in_range(k, s)),
                    (_, true) => !keys.iter().any(|k| in_range(k, s)),
                }));
            }
            match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => {
                    let mut out = Vec::new();
                    for x in a {
                        let Value::String(s) = x else { return Ok(None) };
                        out.push(s);
                    }
                    out
                }
                Ok(_) => return Ok(None),
                Err(_) if mode != SetMode::Exact => vec![s.clone()],
                Err(_) => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let wild = |k: &str, v: &str| wildcard_match(k, v) || wildcard_match(v, k);
    let found = |k: &String| vals.iter().any(|v| wild(k, v));
    Ok(Some(match (mode, not) {
        // isIn / isNotIn: exact set membership.
        (SetMode::Exact, false) => keys.iter().all(|k| vals.contains(k)),
        (SetMode::Exact, true) => keys.iter().any(|k| !vals.contains(k)),
        (SetMode::Any, false) => keys.iter().any(found),
        (SetMode::Any, true) => keys.iter().any(|k| !found(k)),
        (SetMode::All, false) => keys.iter().all(found),
        (SetMode::All, true) => !keys.iter().any(found),
    }))
}

/// `EqualHandler.Evaluate`.
fn equal(key: &Value, value: &Value) -> bool {
    match key {
        Value::Bool(k) => value.as_bool() == Some(*k),
        Value::Number(k) => {
            let k = k.as_f64().unwrap_or(f64::NAN);
            match value {
                Value::Number(v) => v.as_f64() == Some(k),
                Value::String(s) => s.trim().parse::<f64>().ok() == Some(k),
                _ => false,
            }
        }
        Value::String(k) => {
            if let Some((a, b)) = duration_pair(key, value) {
                return a == b;
            }
            if let Some(kq) = quantity(k)
                && let Value::String(v) = value
            {
                return quantity(v) == Some(kq);
            }
            value.as_str().is_some_and(|v| wildcard_match(v, k))
        }
        Value::Object(_) | Value::Array(_) => key == value,
        Value::Null => false,
    }
}

/// Kyverno's `parseDuration`: at least one side a Go duration string (other than `"0"`), the
/// other a duration string or a number of seconds; in seconds.
fn duration_pair(key: &Value, value: &Value) -> Option<(f64, f64)> {
    let as_dur = |v: &Value| match v {
        Value::String(s) if s != "0" => go_duration(s),
        _ => None,
    };
    let (k, v) = (as_dur(key), as_dur(value));
    if k.is_none() && v.is_none() {
        return None;
    }
    let secs = |d: Option<f64>, raw: &Value| d.or_else(|| raw.as_f64().map(f64::trunc));
    Some((secs(k, key)?, secs(v, value)?))
}

/// Operands of the Duration* operators (`DurationOperatorHandler`): numbers are seconds,
/// strings Go durations.
fn duration_operands(key: &Value, value: &Value) -> Option<(f64, f64)> {
    let one = |v: &Value| match v {
        Value::Number(n) => n.as_f64().map(f64::trunc),
        Value::String(s) => go_duration(s),
        _ => None,
    };
    Some((one(key)?, one(value)?))
}

/// `NumericOperatorHandler`: durations, quantities, numbers, then semantic versions.
fn numeric_cmp(
    key: &Value,
    value: &Value,
) -> std::result::Result<Option<std::cmp::Ordering>, String> {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok(),
        _ => None,
    };
    match key {
        Value::Number(k) => {
            let k = k.as_f64().unwrap_or(f64::NAN);
            if let Some((a, b)) = duration_pair(key, value) {
                return Ok(Some(a.total_cmp(&b)));
            }
            Ok(num(value).map(|v| k.total_cmp(&v)))
        }
        Value::String(k) => {
            if let Some((a, b)) = duration_pair(key, value) {
                return Ok(Some(a.total_cmp(&b)));
            }
            if let (Some(a), Value::String(v)) = (quantity(k), value)
                && let Some(b) = quantity(v)
            {
                return Ok(Some(a.total_cmp(&b)));
            }
            if let Ok(a) = k.parse::<f64>() {
                return Ok(num(value).map(|b| a.total_cmp(&b)));
            }
            if let Some(a) = semver(k) {
                return Ok(value.as_str().and_then(semver).map(|b| a.cmp(&b)));
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Go's `time.ParseDuration`, in seconds.
fn go_duration(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..n];
        if number.is_empty() || number == "." {
            return None;
        }
        let x: f64 = number.parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += x * scale;
        rest = &rest[u..];
    }
    Some(if neg { -total } else { total })
}

/// A Kubernetes quantity (`resource.ParseQuantity`): `100m`, `1Gi`, `1e3`, `2`.
fn quantity(s: &str) -> Option<f64> {
    static QUANTITY: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$",
        )
        .unwrap_or_else(|_| unreachable!())
    });
    let c = QUANTITY.captures(s)?;
    let n: f64 = c.get(1)?.as_str().parse().ok()?;
    let scale = match c.get(2).map(|m| m.as_str()) {
        None => 1.0,
        Some("Ki") => 1024f64,
        Some("Mi") => 1024f64.powi(2),
        Some("Gi") => 1024f64.powi(3),
        Some("Ti") => 1024f64.powi(4),
        Some("Pi") => 1024f64.powi(5),
        Some("Ei") => 1024f64.powi(6),
        Some("n") => 1e-9,
        Some("u") => 1e-6,
        Some("m") => 1e-3,
        Some("k") => 1e3,
        Some("M") => 1e6,
        Some("G") => 1e9,
        Some("T") => 1e12,
        Some("P") => 1e15,
        Some("E") => 1e18,
        Some(e) => 10f64.powi(e[1..].parse().ok()?),
    };
    Some(n * scale)
}

/// A strict semantic version (`blang/semver` `Parse`: `MAJOR.MINOR.PATCH[-pre][+build]`),
/// ordered by its numbers; a pre-release sorts before its release.
fn semver(s: &str) -> Option<(u64, u64, u64, bool, Vec<String>)> {
    let core = s.split('+').next()?;
    let (nums, pre) = match core.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (core, None),
    };
    let mut it = nums.split('.');
    let mut part = || -> Option<u64> {
        let p = it.next()?;
        if p.is_empty() || (p.len() > 1 && p.starts_with('0')) {
            return None;
        }
        p.parse().ok()
    };
    let (a, b, c) = (part()?, part()?, part()?);
    if it.next().is_some() {
        return None;
    }
    let pre: Vec<String> = pre
        .map(|p| p.split('.').map(str::to_owned).collect())
        .unwrap_or_default();
    Some((a, b, c, pre.is_empty(), pre))
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

    /// A failed `all` block without messages names the condition that failed, not the first.
    #[test]
    fn failed_block_names_the_failing_condition() {
        let ctx =
            statement_context(&json!({"predicate": {"spdxVersion": "SPDX-2.3", "packages": []}}));
        let c = |key: &str, op: &str, value: Value| Condition {
            key: json!(key),
            operator: op.into(),
            value,
            message: None,
        };
        let block = AnyAllConditions {
            any: vec![],
            all: vec![
                c("{{ spdxVersion }}", "AnyIn", json!(["SPDX-2.3"])),
                c("{{ length(packages) }}", "GreaterThan", json!(0)),
            ],
        };
        let msg = evaluate(&[block], &ctx).unwrap().unwrap_err();
        assert!(msg.contains("length(packages)"), "{msg}");
        assert!(!msg.contains("spdxVersion"), "{msg}");
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
            (json!(["a", "b"]), "AllIn", json!(["a", "b", "c"]), true),
            (json!(["a", "z"]), "AllIn", json!(["a", "b"]), false),
            (json!(["a", "z"]), "AnyNotIn", json!(["a", "b"]), true),
            (json!("3"), "LessThanOrEquals", json!(3), true),
            (
                json!("{{ to_upper(spdxVersion) }}"),
                "Equals",
                json!("SPDX-2.3"),
                true,
            ),
            (
                json!("{{ split(spdxVersion, '-')[1] }}"),
                "Equals",
                json!("2.3"),
                true,
            ),
            (
                json!("{{ regex_match('^SPDX-2\\.[0-9]+$', spdxVersion) }}"),
                "Equals",
                json!(true),
                true,
            ),
            (
                json!("{{ packages[?name == 'b'] | length(@) }}"),
                "Equals",
                json!(1),
                true,
            ),
            (
                json!("{{ base64_decode('YWNtZQ==') }}"),
                "Equals",
                json!("acme"),
                true,
            ),
            (json!("1h"), "DurationGreaterThan", json!("30m"), true),
            (json!("90s"), "Equals", json!("1m30s"), true),
            (json!("1Gi"), "GreaterThan", json!("1000Mi"), true),
            (json!("1.10.0"), "GreaterThan", json!("1.9.9"), true),
            (json!("500m"), "LessThan", json!("1"), true),
            // Kyverno's ranges in the In family.
            (json!(5500), "AnyIn", json!("5000-6000"), true),
            (json!([80, 5500]), "AnyNotIn", json!("5000-6000"), true),
            (json!([5100, 5500]), "AnyNotIn", json!("5000-6000"), false),
            (json!([5100, 5500]), "AllIn", json!("5000-6000"), true),
            (json!([80, 5500]), "AllNotIn", json!("5000-6000"), false),
            (json!("256Mi"), "AnyIn", json!("0Mi-512Mi"), true),
            // Nested variables resolve innermost first.
            (
                json!("{{ regex_match('^SPDX-', '{{ spdxVersion }}') }}"),
                "Equals",
                json!(true),
                true,
            ),
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

    /// Kyverno's fork: a missing key at the top of a path is an error; inside a function,
    /// `||` or a comparison it is null.
    #[test]
    fn missing_keys_as_kyverno() {
        let ctx = json!({"request": {"object": {"metadata": {"name": "p"}, "spec": {}}}});
        assert_eq!(
            query("request.object.spec.nothere", &ctx).unwrap_err(),
            "Unknown key \"nothere\" in path"
        );
        assert_eq!(
            query("request.object.metadata.labels.app", &ctx).unwrap_err(),
            "Unknown key \"labels\" in path"
        );
        assert_eq!(
            query("request.object.metadata.labels.app || ''", &ctx).unwrap(),
            json!("")
        );
        assert_eq!(
            query("request.object.metadata.name.x", &ctx).unwrap(),
            Value::Null
        );
        // A function over a missing key inside a projection: the fork drops the element
        // (`containers[].resources.keys(@)` with a container without resources).
        let pod = json!({"spec": {"containers": [{"resources": {"limits": {}}}, {"name": "x"}]}});
        assert_eq!(
            query("spec.containers[].resources.keys(@)[]", &pod).unwrap(),
            json!(["limits"])
        );
        // An explicit null is evaluated, as the fork does: keys(null) is an error, which a
        // flatten (`[]`) turns into null, as the fork's flatten does with any error.
        let pod = json!({"spec": {"containers": [{"resources": null}]}});
        assert!(query("spec.containers[].resources.keys(@)", &pod).is_err());
        assert_eq!(
            query("spec.containers[].resources.keys(@)[]", &pod).unwrap(),
            Value::Null
        );
        let err = check(
            &[cond(
                json!("{{ request.object.spec.x }}"),
                "Equals",
                json!(""),
            )],
            &ctx,
        )
        .unwrap_err();
        assert_eq!(
            err,
            "failed to substitute variables in condition key: failed to resolve request.object.spec.x at path : JMESPath query failed: Unknown key \"x\" in path"
        );
    }

    #[test]
    fn unsupported_is_an_error_not_a_pass() {
        let mut problems = Vec::new();
        check_expressions(&json!("{{ nonesuch(x) }}"), "k", &mut problems);
        check_expressions(&json!("{{ a[ }}"), "k", &mut problems);
        check_expressions(&json!("{{ a"), "k", &mut problems);
        check_expressions(
            &json!("{{ to_upper(x) }}-{{ time_now() }}"),
            "k",
            &mut problems,
        );
        let deep = format!("{{{{ {}x{} }}}}", "(".repeat(65), ")".repeat(65));
        check_expressions(&json!(deep), "k", &mut problems);
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[4].1.contains("nested deeper"), "{problems:?}");
        assert!(problems[0].1.contains("nonesuch() in"), "{problems:?}");
        assert!(problems[3].1.contains("time_now()"), "{problems:?}");
        let ctx = json!({"x": "3"});
        for (key, op, value) in [
            ("{{ x }}", "Resembles", json!(1)),
            // The deprecated In with a list key holding a non-string (Kyverno panics).
            ("{{ [x, `1`] }}", "In", json!(["3"])),
        ] {
            assert!(
                evaluate(&[cond(json!(key), op, value.clone())], &ctx).is_err(),
                "{key} {op} {value}"
            );
        }
    }
}
