//! Licence strings as packages declare them, turned into SPDX expressions.
//!
//! Metadata carries licences in many dialects: SPDX expressions (`MIT OR Apache-2.0`),
//! imprecise names (`Apache 2.0`, `BSD`), Debian's short names (`GPL-2+`, `Expat`,
//! `BSD-3-clause`), or whole licence texts pasted into a field. [`normalise`] maps each
//! to a strict SPDX expression when it can, and otherwise to a `LicenseRef-` identifier
//! built from the text, which SPDX allows for licences outside its list (SPDX 2.3 §10).
//! Texts that are clearly not a licence name (several lines, very long) give nothing.

/// Longest string treated as a licence name rather than a pasted licence text.
const MAX_NAME: usize = 120;

/// Turns one declared licence into an SPDX expression or a `LicenseRef-…`.
pub fn normalise(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() || s.len() > MAX_NAME || s.contains('\n') {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "unknown"
            | "none"
            | "noassertion"
            | "other"
            | "n/a"
            | "-"
            | "license"
            | "see license"
            | "unlicensed"
    ) {
        return None;
    }
    if spdx::Expression::parse(s).is_ok() {
        return Some(s.to_owned());
    }
    if let Some(id) = debian(s) {
        return Some(id);
    }
    if let Ok(c) = spdx::Expression::canonicalize(s) {
        let c = c.unwrap_or_else(|| s.to_owned());
        if spdx::Expression::parse(&c).is_ok() {
            return Some(c);
        }
    }
    // Common prose forms: "MIT License", "Apache License 2.0", "BSD License".
    let trimmed = s.trim_end_matches(" License").trim_end_matches(" license");
    if let Some((id, len)) = spdx::imprecise_license_id(trimmed)
        && len == trimmed.len()
        && !id.is_deprecated()
    {
        return Some(id.name.to_owned());
    }
    if let Some(id) = spdx::license_id(trimmed)
        && !id.is_deprecated()
    {
        return Some(id.name.to_owned());
    }
    Some(license_ref(s))
}

/// `LicenseRef-` plus the text with every character outside `[A-Za-z0-9.-]` replaced by `-`.
pub fn license_ref(s: &str) -> String {
    let body: String = s
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("LicenseRef-{body}")
}

/// AND-joins expressions, parenthesising compound ones; `None` when there are none.
pub fn join(exprs: &[String]) -> Option<String> {
    match exprs {
        [] => None,
        [one] => Some(one.clone()),
        many => {
            let mut seen = Vec::new();
            for e in many {
                let e = if e.contains(" OR ") || e.contains(" AND ") || e.contains(" WITH ") {
                    format!("({e})")
                } else {
                    e.clone()
                };
                if !seen.contains(&e) {
                    seen.push(e);
                }
            }
            Some(seen.join(" AND "))
        }
    }
}

/// Turns `FAMILY-V-only` into `FAMILY-V-or-later` in `exprs` where `text` grants version V
/// "or (at your option) any later version" (the FSF's recommended notice, GPL §14 /
/// LGPL-2.1 §13 / LGPL-3 §6): a licence name alone ("GPL", `common-licenses/GPL-2`) says
/// nothing about later versions, the grant does. The family is the licence named before
/// the grant: Lesser or Library GPL, Affero GPL, else the GPL.
pub fn apply_or_later(exprs: &mut [String], text: &str) {
    // Only `-only` identifiers are ever rewritten, and only where the text says "later"
    // (one word, so whitespace folding cannot create it): without either there is nothing
    // to do, and most Debian copyright files (tens of KB each) are spared the flattening.
    static LATER: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new("(?i-u:later)").ok());
    // The regex finds the word with a vectorised literal search; a byte-by-byte window
    // comparison cost as much as the rest of the licence work.
    let says_later = match &*LATER {
        Some(re) => re.is_match(text),
        None => text
            .as_bytes()
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"later")),
    };
    if !exprs.iter().any(|e| e.contains("-only")) || !says_later {
        return;
    }
    let flat = flatten(text);
    let mut later: Vec<String> = Vec::new();
    for (i, _) in flat.match_indices("any later version") {
        let before = &flat[..i];
        // "... version 2 of the License, or (at your option) any later version".
        let Some(v) = before.rfind("version ") else {
            continue;
        };
        if i - v > 60 {
            continue;
        }
        let num: String = before[v + 8..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let num = num.trim_end_matches('.');
        if num.is_empty() {
            continue;
        }
        // Up to 400 bytes before "version", starting on a character boundary: a byte
        // offset inside a multi-byte character (a name like "Müller" in the text) made
        // the slice panic and took the whole run down.
        let mut from = v.saturating_sub(400);
        while !before.is_char_boundary(from) {
            from += 1;
        }
        let context = &before[from..v];
        let family = if context.contains("lesser general public")
            || context.contains("library general public")
        {
            "LGPL"
        } else if context.contains("affero") {
            "AGPL"
        } else if context.contains("general public licen") {
            "GPL"
        } else {
            continue;
        };
        let version = if num.contains('.') {
            num.to_owned()
        } else {
            format!("{num}.0")
        };
        later.push(format!("{family}-{version}"));
    }
    for e in exprs.iter_mut() {
        let rewritten: Vec<String> = e
            .split(' ')
            .map(|tok| {
                let bare = tok.trim_matches(|c| c == '(' || c == ')');
                match bare.strip_suffix("-only") {
                    Some(id) if later.iter().any(|l| l == id) => {
                        tok.replace(bare, &format!("{id}-or-later"))
                    }
                    _ => tok.to_owned(),
                }
            })
            .collect();
        *e = rewritten.join(" ");
    }
}

/// The words of `text` (split as `str::split_whitespace` splits) joined by single spaces,
/// ASCII lower-cased: one buffer, no word list. ASCII bytes are classified directly; only
/// a non-ASCII character is decoded, to ask whether it is Unicode white space (a char
/// iterator over whole copyright files cost more than the rest of the licence work).
fn flatten(text: &str) -> String {
    let bytes = text.as_bytes();
    // (length, is white space) of the character at `i`.
    let at = |i: usize| {
        let b = bytes[i];
        if b < 0x80 {
            // char::is_whitespace on ASCII: U+0009..=U+000D and U+0020.
            (1, matches!(b, b'\t'..=b'\r' | b' '))
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c.len_utf8(), c.is_whitespace())
        }
    };
    let mut flat: Vec<u8> = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let (len, space) = at(i);
        if space {
            i += len;
            continue;
        }
        // A word: copied whole.
        let start = i;
        i += len;
        while i < bytes.len() {
            let (len, space) = at(i);
            if space {
                break;
            }
            i += len;
        }
        if !flat.is_empty() {
            flat.push(b' ');
        }
        flat.extend_from_slice(&bytes[start..i]);
    }
    flat.make_ascii_lowercase();
    // Whole words of a str were copied, and ASCII lower-casing keeps UTF-8 valid.
    String::from_utf8(flat).unwrap_or_default()
}

/// Whether `expr` is a valid strict SPDX expression.
pub fn is_spdx(expr: &str) -> bool {
    spdx::Expression::parse(expr).is_ok()
}

/// Every `LicenseRef-…` an expression uses.
pub fn license_refs(expr: &str) -> Vec<String> {
    expr.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| t.starts_with("LicenseRef-"))
        .map(str::to_owned)
        .collect()
}

/// Debian copyright-format short names (DEP-5 §"License specification"): `GPL-2+`,
/// `LGPL-2.1`, `Expat`, `BSD-3-clause`, `Apache-2.0`, `public-domain`.
fn debian(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let fixed = match lower.as_str() {
        "expat" => Some("MIT"),
        "bsd-2-clause" => Some("BSD-2-Clause"),
        "bsd-3-clause" => Some("BSD-3-Clause"),
        "bsd-4-clause" => Some("BSD-4-Clause"),
        "zlib" => Some("Zlib"),
        "isc" => Some("ISC"),
        "artistic" | "artistic-1.0" => Some("Artistic-1.0"),
        "artistic-2.0" => Some("Artistic-2.0"),
        "perl" => Some("Artistic-1.0-Perl OR GPL-1.0-or-later"),
        "psf-2" => Some("PSF-2.0"),
        "mpl-2.0" => Some("MPL-2.0"),
        "cc0" | "cc0-1.0" => Some("CC0-1.0"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_owned());
    }
    for base in ["agpl", "lgpl", "gpl", "gfdl"] {
        let Some(rest) = lower.strip_prefix(base).and_then(|r| r.strip_prefix('-')) else {
            continue;
        };
        let (ver, later) = match rest.strip_suffix('+') {
            Some(v) => (v, true),
            None => (rest, false),
        };
        let ver = if ver.contains('.') {
            ver.to_owned()
        } else {
            format!("{ver}.0")
        };
        let name = format!(
            "{}-{ver}-{}",
            base.to_ascii_uppercase(),
            if later { "or-later" } else { "only" }
        );
        if spdx::license_id(&name).is_some() {
            return Some(name);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn or_later_context_may_start_inside_a_character() {
        // Whatever the padding, the 400 bytes before "version" start inside one of the
        // two-byte characters for one of the two paddings.
        for pad in ["", "x"] {
            let text = format!(
                "{pad}{} GNU General Public License as published by the Free Software \
                 Foundation; either version 2 of the License, or (at your option) any later \
                 version.",
                "\u{e9}".repeat(300)
            );
            let mut exprs = vec!["GPL-2.0-only".to_owned()];
            super::apply_or_later(&mut exprs, &text);
            assert_eq!(exprs, ["GPL-2.0-or-later"], "pad {pad:?}");
        }
    }

    #[test]
    fn flatten_splits_as_split_whitespace() {
        for text in [
            "",
            "  ",
            "One\ttwo\r\n\x0b three\x0cFOUR ",
            "GNU\u{a0}General\u{2028}Public  Licen\u{e9}e\u{3000}x\u{85}y\u{1c}z",
            "\u{feff}Caf\u{c9} \u{1F600}\n\nEnd.",
        ] {
            let want = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(super::flatten(text), want.to_ascii_lowercase(), "{text:?}");
        }
    }

    #[test]
    fn dialects() {
        assert_eq!(
            normalise("MIT OR Apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(normalise("GPL-2+").as_deref(), Some("GPL-2.0-or-later"));
        assert_eq!(normalise("LGPL-2.1").as_deref(), Some("LGPL-2.1-only"));
        assert_eq!(normalise("Expat").as_deref(), Some("MIT"));
        assert_eq!(normalise("BSD-3-clause").as_deref(), Some("BSD-3-Clause"));
        assert_eq!(normalise("MIT License").as_deref(), Some("MIT"));
        assert_eq!(normalise("Apache 2.0").as_deref(), Some("Apache-2.0"));
        assert_eq!(
            normalise("public-domain").as_deref(),
            Some("LicenseRef-public-domain")
        );
        assert_eq!(normalise("UNKNOWN"), None);
        assert_eq!(normalise("line one\nline two"), None);
        assert_eq!(
            join(&["MIT".into(), "A OR B".into(), "MIT".into()]).as_deref(),
            Some("MIT AND (A OR B)")
        );
    }
}
