//! The table people read: one package a line, as syft prints it (NAME, VERSION, TYPE),
//! sorted by name.

use crate::model::Sbom;

/// Renders the table (with a trailing newline).
pub fn table(sbom: &Sbom) -> String {
    let mut rows: Vec<[&str; 3]> = sbom
        .packages
        .iter()
        .map(|p| [p.name.as_str(), p.version.as_str(), p.kind.as_str()])
        .collect();
    rows.sort();
    rows.dedup();
    let header = ["NAME", "VERSION", "TYPE"];
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {}",
            r[0],
            r[1],
            r[2],
            w0 = width[0],
            w1 = width[1]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("(no packages found)\n");
    }
    out
}
