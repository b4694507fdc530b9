//! The subset of Go's `text/template` that Fulcio's CI-provider metadata uses
//! (`sigstore/fulcio:config/identity/config.yaml` `ci-issuer-metadata`, rendered by
//! `pkg/identity/ciprovider/principal.go` with `Option("missingkey=error")`):
//! `{{ .claim }}`, `{{ index . "claim/with.dots" }}`, parentheses around either, and
//! `{{if eq EXPR "literal"}} ... {{ else }} ... {{end}}`. Anything else is refused when the
//! configuration is loaded, so an unsupported template never renders as something else.

use std::collections::HashMap;

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    /// `.name`: an error when the key is missing (missingkey=error).
    Field(String),
    /// `index . "name"`: Go's `index` on a map yields the zero value ("") when missing.
    Index(String),
    /// A string literal.
    Literal(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Value(Expr),
    IfEq {
        left: Expr,
        right: Expr,
        then: Vec<Self>,
        otherwise: Vec<Self>,
    },
}

enum Token {
    Text(String),
    Action(String),
}

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Token::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed action in {source:?}"))?;
        out.push(Token::Action(after[..end].trim().to_owned()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Token::Text(rest.to_owned()));
    }
    Ok(out)
}

fn parse_expr(words: &[&str], source: &str) -> Result<(Expr, usize), String> {
    let bad = || format!("unsupported template expression in {source:?}");
    match words.first().copied() {
        Some(w) if w.starts_with('"') => Ok((Expr::Literal(unquote(w).ok_or_else(bad)?), 1)),
        Some("index") if words.get(1) == Some(&".") => {
            let key = words.get(2).and_then(|w| unquote(w)).ok_or_else(bad)?;
            Ok((Expr::Index(key), 3))
        }
        Some(w) if w.starts_with('.') && w.len() > 1 && !w[1..].contains('.') => {
            Ok((Expr::Field(w[1..].to_owned()), 1))
        }
        _ => Err(bad()),
    }
}

fn unquote(word: &str) -> Option<String> {
    let inner = word.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('"') && !inner.contains('\\')).then(|| inner.to_owned())
}

/// Splits an action into words, keeping quoted strings whole and dropping parentheses (which
/// in the supported subset only ever wrap a whole expression).
fn words(action: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in action.chars() {
        match c {
            '"' => {
                current.push(c);
                quoted = !quoted;
            }
            '(' | ')' if !quoted => {}
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl Template {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Self, String> {
        let tokens = tokenize(source)?;
        let mut pos = 0;
        let (nodes, stop) = parse_nodes(&tokens, &mut pos, source)?;
        if stop.is_some() {
            return Err(format!(
                "unexpected {{{{else}}}} or {{{{end}}}} in {source:?}"
            ));
        }
        Ok(Self { nodes })
    }

    /// Whether the string is a template at all (Fulcio: contains `{{`); otherwise it names a
    /// claim whose value is used as is.
    pub fn is_template(source: &str) -> bool {
        source.contains("{{")
    }

    /// Renders with `data`; a missing `.field` is an error naming it.
    pub fn render(&self, data: &HashMap<String, String>) -> Result<String, String> {
        let mut out = String::new();
        render(&self.nodes, data, &mut out)?;
        Ok(out)
    }
}

type Parsed = (Vec<Node>, Option<&'static str>);

fn parse_nodes(tokens: &[Token], pos: &mut usize, source: &str) -> Result<Parsed, String> {
    let mut nodes = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        match token {
            Token::Text(t) => nodes.push(Node::Text(t.clone())),
            Token::Action(a) => {
                let owned = words(a);
                let w: Vec<&str> = owned.iter().map(String::as_str).collect();
                match w.first().copied() {
                    Some("end") if w.len() == 1 => return Ok((nodes, Some("end"))),
                    Some("else") if w.len() == 1 => return Ok((nodes, Some("else"))),
                    Some("if") if w.get(1) == Some(&"eq") => {
                        let (left, n) = parse_expr(&w[2..], source)?;
                        let (right, m) = parse_expr(&w[2 + n..], source)?;
                        if 2 + n + m != w.len() {
                            return Err(format!("unsupported condition in {source:?}"));
                        }
                        let (then, stop) = parse_nodes(tokens, pos, source)?;
                        let otherwise = match stop {
                            Some("else") => match parse_nodes(tokens, pos, source)? {
                                (nodes, Some("end")) => nodes,
                                _ => return Err(format!("if without end in {source:?}")),
                            },
                            Some("end") => Vec::new(),
                            _ => return Err(format!("if without end in {source:?}")),
                        };
                        nodes.push(Node::IfEq {
                            left,
                            right,
                            then,
                            otherwise,
                        });
                    }
                    _ => {
                        let (expr, n) = parse_expr(&w, source)?;
                        if n != w.len() {
                            return Err(format!("unsupported template action {a:?}"));
                        }
                        nodes.push(Node::Value(expr));
                    }
                }
            }
        }
    }
    Ok((nodes, None))
}

fn eval(expr: &Expr, data: &HashMap<String, String>) -> Result<String, String> {
    match expr {
        Expr::Field(name) => data
            .get(name)
            .cloned()
            .ok_or_else(|| format!("map has no entry for key {name:?}")),
        Expr::Index(name) => Ok(data.get(name).cloned().unwrap_or_default()),
        Expr::Literal(s) => Ok(s.clone()),
    }
}

fn render(nodes: &[Node], data: &HashMap<String, String>, out: &mut String) -> Result<(), String> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Value(e) => out.push_str(&eval(e, data)?),
            Node::IfEq {
                left,
                right,
                then,
                otherwise,
            } => {
                if eval(left, data)? == eval(right, data)? {
                    render(then, data, out)?;
                } else {
                    render(otherwise, data, out)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn renders_fulcio_shapes() {
        let d = data(&[
            ("url", "https://gitlab.com"),
            ("ref_type", "branch"),
            ("ref", "main"),
            ("oidc.circleci.com/project-id", "p1"),
        ]);
        let t = Template::parse(
            "refs/{{if eq .ref_type \"branch\"}}heads/{{ else }}tags/{{end}}{{ .ref }}",
        )
        .unwrap();
        assert_eq!(t.render(&d).unwrap(), "refs/heads/main");
        let t =
            Template::parse("{{.url}}/x/{{(index . \"oidc.circleci.com/project-id\")}}").unwrap();
        assert_eq!(t.render(&d).unwrap(), "https://gitlab.com/x/p1");
        let t = Template::parse("{{ .missing }}").unwrap();
        assert!(t.render(&d).unwrap_err().contains("missing"));
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for bad in [
            "{{ .a.b }}",
            "{{ printf \"%s\" .a }}",
            "{{if .a}}x{{end}}",
            "{{ .a",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
