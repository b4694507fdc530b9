//! SPDX 2.3 tag-value (`spdx-tag-value`; SPDX 2.3 spec annex "SPDX tag:value format" and
//! the field tags of clauses 6, 7, 10 and 11), rendered from the same document the JSON
//! encoder builds, so both carry exactly the same packages, ids and relationships.
//!
//! Free text that spans lines is wrapped in `<text>…</text>` as the format requires;
//! the document root's `DESCRIBES` is written as a `Relationship:` line (clause 11), which
//! is how tag-value expresses `documentDescribes`.

use std::fmt::Write as _;

use serde_json::Value;

fn text(v: &str) -> String {
    if v.contains('\n') || v.contains("</text>") {
        format!("<text>{}</text>", v.replace("</text>", "< /text>"))
    } else {
        v.to_owned()
    }
}

fn field(out: &mut String, tag: &str, v: Option<&Value>) {
    match v {
        Some(Value::String(s)) => {
            let _ = writeln!(out, "{tag}: {}", text(s));
        }
        Some(Value::Bool(b)) => {
            let _ = writeln!(out, "{tag}: {b}");
        }
        _ => {}
    }
}

/// Renders an SPDX 2.3 JSON document (as [`super::spdx::encode`] makes it) as tag-value.
pub(super) fn render(doc: &Value) -> String {
    let mut out = String::new();
    let g = |k: &str| doc.get(k);
    field(&mut out, "SPDXVersion", g("spdxVersion"));
    field(&mut out, "DataLicense", g("dataLicense"));
    field(&mut out, "SPDXID", g("SPDXID"));
    field(&mut out, "DocumentName", g("name"));
    field(&mut out, "DocumentNamespace", g("documentNamespace"));
    let ci = g("creationInfo");
    field(
        &mut out,
        "LicenseListVersion",
        ci.and_then(|c| c.get("licenseListVersion")),
    );
    for c in ci
        .and_then(|c| c.get("creators"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        field(&mut out, "Creator", Some(c));
    }
    field(&mut out, "Created", ci.and_then(|c| c.get("created")));
    for p in g("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = p.get("name").and_then(Value::as_str).unwrap_or("");
        let _ = writeln!(out, "\n##### Package: {name}\n");
        let f = |k: &str| p.get(k);
        field(&mut out, "PackageName", f("name"));
        field(&mut out, "SPDXID", f("SPDXID"));
        field(&mut out, "PackageVersion", f("versionInfo"));
        field(&mut out, "PackageSupplier", f("supplier"));
        field(&mut out, "PackageDownloadLocation", f("downloadLocation"));
        field(&mut out, "FilesAnalyzed", f("filesAnalyzed"));
        for c in f("checksums")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(a), Some(v)) = (
                c.get("algorithm").and_then(Value::as_str),
                c.get("checksumValue").and_then(Value::as_str),
            ) {
                let _ = writeln!(out, "PackageChecksum: {a}: {v}");
            }
        }
        field(&mut out, "PackageHomePage", f("homepage"));
        field(&mut out, "PackageSourceInfo", f("sourceInfo"));
        field(&mut out, "PackageLicenseConcluded", f("licenseConcluded"));
        field(&mut out, "PackageLicenseDeclared", f("licenseDeclared"));
        field(&mut out, "PackageCopyrightText", f("copyrightText"));
        field(&mut out, "PackageComment", f("comment"));
        for r in f("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
            let _ = writeln!(
                out,
                "ExternalRef: {} {} {}",
                s("referenceCategory"),
                s("referenceType"),
                s("referenceLocator")
            );
        }
        field(
            &mut out,
            "PrimaryPackagePurpose",
            f("primaryPackagePurpose"),
        );
    }
    let infos: Vec<&Value> = g("hasExtractedLicensingInfos")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if !infos.is_empty() {
        out.push_str("\n##### Other licenses\n");
        for l in infos {
            out.push('\n');
            field(&mut out, "LicenseID", l.get("licenseId"));
            // ExtractedText is always free text (clause 10.2).
            if let Some(t) = l.get("extractedText").and_then(Value::as_str) {
                let _ = writeln!(out, "ExtractedText: <text>{t}</text>");
            }
            field(&mut out, "LicenseName", l.get("name"));
        }
    }
    let rels: Vec<&Value> = g("relationships")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if !rels.is_empty() {
        out.push_str("\n##### Relationships\n\n");
        for r in rels {
            let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
            let _ = writeln!(
                out,
                "Relationship: {} {} {}",
                s("spdxElementId"),
                s("relationshipType"),
                s("relatedSpdxElement")
            );
        }
    }
    out
}
