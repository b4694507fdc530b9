//! CycloneDX 1.6 XML (`cyclonedx-xml`), rendered from the CycloneDX 1.6 JSON document
//! vouch builds (an SBOM, or a scan report with `vulnerabilities`), so the two forms always
//! carry the same content.
//!
//! The XML schema (`bom-1.6.xsd`, <http://cyclonedx.org/schema/bom/1.6>) fixes the order
//! of child elements (`xs:sequence`) and turns some JSON members into attributes
//! (`bom-ref`, `type`, `alg`, `name`, `ref`) and arrays into wrapper elements
//! (`<hashes><hash>`, `<properties><property>`). The tables below give, per JSON object
//! kind, which members become attributes and the XSD order of the children. A member the
//! tables do not know is an error rather than silently left out.

use std::fmt::Write as _;

use serde_json::Value;

use crate::error::{Error, Result};

/// How a JSON member becomes XML.
enum Node {
    /// A string, number or boolean as element text.
    Text,
    /// An object of this kind.
    Obj(&'static Kind),
    /// An array in a wrapper element, each item an element named `item` (or, with `None`,
    /// each item's members written straight into the wrapper: licence choices).
    List(Option<&'static str>, &'static Self),
    /// An array of strings, each an empty element with the string as attribute `attr`
    /// (`<dependency ref="…"/>`).
    RefList(&'static str, &'static str),
}

struct Kind {
    /// JSON member -> XML attribute.
    attrs: &'static [(&'static str, &'static str)],
    /// JSON member, XML element, how; in XSD order.
    children: &'static [(&'static str, &'static str, Node)],
    /// JSON member written as the element's text (`<hash alg="…">HEX</hash>`).
    text: Option<&'static str>,
    /// JSON members with no place in XML (`$schema`, `bomFormat`, `specVersion`).
    skip: &'static [&'static str],
}

const fn kind(
    attrs: &'static [(&'static str, &'static str)],
    children: &'static [(&'static str, &'static str, Node)],
) -> Kind {
    Kind {
        attrs,
        children,
        text: None,
        skip: &[],
    }
}

static PROPERTY: Kind = Kind {
    attrs: &[("name", "name")],
    children: &[],
    text: Some("value"),
    skip: &[],
};
static HASH: Kind = Kind {
    attrs: &[("alg", "alg")],
    children: &[],
    text: Some("content"),
    skip: &[],
};
static ORG: Kind = kind(
    &[("bom-ref", "bom-ref")],
    &[
        ("name", "name", Node::Text),
        ("url", "url", Node::List(None, &Node::Text)),
    ],
);
static LICENSE: Kind = kind(
    &[("bom-ref", "bom-ref")],
    &[
        ("id", "id", Node::Text),
        ("name", "name", Node::Text),
        ("url", "url", Node::Text),
    ],
);
static LICENSE_CHOICE: Kind = kind(
    &[],
    &[
        ("license", "license", Node::Obj(&LICENSE)),
        ("expression", "expression", Node::Text),
    ],
);
static EXT_REF: Kind = kind(
    &[("type", "type")],
    &[
        ("url", "url", Node::Text),
        ("comment", "comment", Node::Text),
    ],
);
static COMPONENT: Kind = kind(
    &[("type", "type"), ("bom-ref", "bom-ref")],
    &[
        ("supplier", "supplier", Node::Obj(&ORG)),
        ("author", "author", Node::Text),
        ("publisher", "publisher", Node::Text),
        ("group", "group", Node::Text),
        ("name", "name", Node::Text),
        ("version", "version", Node::Text),
        ("description", "description", Node::Text),
        (
            "hashes",
            "hashes",
            Node::List(Some("hash"), &Node::Obj(&HASH)),
        ),
        (
            "licenses",
            "licenses",
            Node::List(None, &Node::Obj(&LICENSE_CHOICE)),
        ),
        ("copyright", "copyright", Node::Text),
        ("cpe", "cpe", Node::Text),
        ("purl", "purl", Node::Text),
        (
            "externalReferences",
            "externalReferences",
            Node::List(Some("reference"), &Node::Obj(&EXT_REF)),
        ),
        (
            "properties",
            "properties",
            Node::List(Some("property"), &Node::Obj(&PROPERTY)),
        ),
        (
            "components",
            "components",
            Node::List(Some("component"), &Node::Obj(&COMPONENT)),
        ),
    ],
);
static TOOLS: Kind = kind(
    &[],
    &[(
        "components",
        "components",
        Node::List(Some("component"), &Node::Obj(&COMPONENT)),
    )],
);
static METADATA: Kind = kind(
    &[],
    &[
        ("timestamp", "timestamp", Node::Text),
        ("tools", "tools", Node::Obj(&TOOLS)),
        ("component", "component", Node::Obj(&COMPONENT)),
        ("supplier", "supplier", Node::Obj(&ORG)),
        (
            "properties",
            "properties",
            Node::List(Some("property"), &Node::Obj(&PROPERTY)),
        ),
    ],
);
static DEPENDENCY: Kind = kind(
    &[("ref", "ref")],
    &[("dependsOn", "", Node::RefList("dependency", "ref"))],
);
static VULN_SOURCE: Kind = kind(
    &[],
    &[("name", "name", Node::Text), ("url", "url", Node::Text)],
);
static VULN_REFERENCE: Kind = kind(
    &[],
    &[
        ("id", "id", Node::Text),
        ("source", "source", Node::Obj(&VULN_SOURCE)),
    ],
);
static RATING: Kind = kind(
    &[],
    &[
        ("source", "source", Node::Obj(&VULN_SOURCE)),
        ("score", "score", Node::Text),
        ("severity", "severity", Node::Text),
        ("method", "method", Node::Text),
        ("vector", "vector", Node::Text),
        ("justification", "justification", Node::Text),
    ],
);
static ANALYSIS: Kind = kind(
    &[],
    &[
        ("state", "state", Node::Text),
        ("justification", "justification", Node::Text),
        (
            "response",
            "responses",
            Node::List(Some("response"), &Node::Text),
        ),
        ("detail", "detail", Node::Text),
    ],
);
static AFFECTED_VERSION: Kind = kind(
    &[],
    &[
        ("version", "version", Node::Text),
        ("range", "range", Node::Text),
        ("status", "status", Node::Text),
    ],
);
static TARGET: Kind = kind(
    &[],
    &[
        ("ref", "ref", Node::Text),
        (
            "versions",
            "versions",
            Node::List(Some("version"), &Node::Obj(&AFFECTED_VERSION)),
        ),
    ],
);
static VULNERABILITY: Kind = kind(
    &[("bom-ref", "bom-ref")],
    &[
        ("id", "id", Node::Text),
        ("source", "source", Node::Obj(&VULN_SOURCE)),
        (
            "references",
            "references",
            Node::List(Some("reference"), &Node::Obj(&VULN_REFERENCE)),
        ),
        (
            "ratings",
            "ratings",
            Node::List(Some("rating"), &Node::Obj(&RATING)),
        ),
        ("cwes", "cwes", Node::List(Some("cwe"), &Node::Text)),
        ("description", "description", Node::Text),
        ("detail", "detail", Node::Text),
        ("recommendation", "recommendation", Node::Text),
        ("published", "published", Node::Text),
        ("updated", "updated", Node::Text),
        ("analysis", "analysis", Node::Obj(&ANALYSIS)),
        (
            "affects",
            "affects",
            Node::List(Some("target"), &Node::Obj(&TARGET)),
        ),
        (
            "properties",
            "properties",
            Node::List(Some("property"), &Node::Obj(&PROPERTY)),
        ),
    ],
);
static BOM: Kind = Kind {
    attrs: &[("serialNumber", "serialNumber"), ("version", "version")],
    children: &[
        ("metadata", "metadata", Node::Obj(&METADATA)),
        (
            "components",
            "components",
            Node::List(Some("component"), &Node::Obj(&COMPONENT)),
        ),
        (
            "dependencies",
            "dependencies",
            Node::List(Some("dependency"), &Node::Obj(&DEPENDENCY)),
        ),
        (
            "vulnerabilities",
            "vulnerabilities",
            Node::List(Some("vulnerability"), &Node::Obj(&VULNERABILITY)),
        ),
    ],
    text: None,
    skip: &["$schema", "bomFormat", "specVersion"],
};

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows only tab, LF and CR below 0x20; others cannot be written at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

fn scalar(v: &Value, path: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::Unsupported(format!(
            "CycloneDX XML: {path} is not a string, number or boolean"
        ))),
    }
}

fn element(tag: &str, v: &Value, node: &Node, path: &str, out: &mut String) -> Result<()> {
    match node {
        Node::Text => {
            let _ = write!(out, "<{tag}>");
            escape(&scalar(v, path)?, out);
            let _ = write!(out, "</{tag}>");
        }
        Node::Obj(k) => object(tag, v, k, path, out)?,
        Node::List(item, inner) => {
            let items = v.as_array().ok_or_else(|| {
                Error::Unsupported(format!("CycloneDX XML: {path} is not a list"))
            })?;
            let _ = write!(out, "<{tag}>");
            for (i, it) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match (item, inner) {
                    (Some(t), n) => element(t, it, n, &p, out)?,
                    (None, Node::Obj(k)) => children(it, k, &p, out)?,
                    (None, _) => {
                        return Err(Error::Unsupported(format!(
                            "CycloneDX XML: {p}: unnamed list item"
                        )));
                    }
                }
            }
            let _ = write!(out, "</{tag}>");
        }
        Node::RefList(t, attr) => {
            for (i, it) in v.as_array().into_iter().flatten().enumerate() {
                let _ = write!(out, "<{t} {attr}=\"");
                escape(&scalar(it, &format!("{path}[{i}]"))?, out);
                out.push_str("\"/>");
            }
        }
    }
    Ok(())
}

fn object(tag: &str, v: &Value, k: &Kind, path: &str, out: &mut String) -> Result<()> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::Unsupported(format!("CycloneDX XML: {path} is not an object")))?;
    let _ = write!(out, "<{tag}");
    if tag == "bom" {
        out.push_str(" xmlns=\"http://cyclonedx.org/schema/bom/1.6\"");
    }
    for (j, x) in k.attrs {
        if let Some(a) = o.get(*j) {
            let _ = write!(out, " {x}=\"");
            escape(&scalar(a, &format!("{path}.{j}"))?, out);
            out.push('"');
        }
    }
    out.push('>');
    if let Some(t) = k.text
        && let Some(x) = o.get(t)
    {
        escape(&scalar(x, &format!("{path}.{t}"))?, out);
    }
    children(v, k, path, out)?;
    let _ = write!(out, "</{tag}>");
    Ok(())
}

fn children(v: &Value, k: &Kind, path: &str, out: &mut String) -> Result<()> {
    let o = v
        .as_object()
        .ok_or_else(|| Error::Unsupported(format!("CycloneDX XML: {path} is not an object")))?;
    for key in o.keys() {
        let known = k.attrs.iter().any(|(j, _)| j == key)
            || k.children.iter().any(|(j, _, _)| j == key)
            || k.text == Some(key.as_str())
            || k.skip.contains(&key.as_str());
        if !known {
            return Err(Error::Unsupported(format!(
                "CycloneDX XML: {path}.{key} has no XML mapping in vouch"
            )));
        }
    }
    for (j, x, node) in k.children {
        if let Some(c) = o.get(*j) {
            if c.is_null() {
                continue;
            }
            element(x, c, node, &format!("{path}.{j}"), out)?;
        }
    }
    Ok(())
}

/// Renders a CycloneDX 1.6 JSON document as CycloneDX 1.6 XML.
pub(super) fn render(doc: &Value) -> Result<String> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    object("bom", doc, &BOM, "bom", &mut out)?;
    out.push('\n');
    Ok(out)
}
