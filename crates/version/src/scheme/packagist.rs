//! Packagist (Composer) version ordering.
//!
//! Reference: PHP's `version_compare` (php-src `ext/standard/versioning.c`,
//! <https://www.php.net/manual/en/function.version-compare.php>), which Composer's
//! `Comparator` calls after normalising versions. A leading `v`/`V` is dropped; `-`, `_`
//! and `+` become `.`; a `.` is inserted between digits and other characters; the parts
//! are compared pairwise: numbers numerically, other parts by their special form
//! (`anything else < dev < alpha = a < beta = b < RC = rc < # < pl = p`, matched by
//! prefix, case-sensitively), and a number counts as `#` against a special form. When one
//! version has parts left, a number there makes it newer, otherwise the rest is compared
//! with `#`.
//!
//! Two deviations from PHP, both as in osv-scalibr's `semantic/version-packagist.go`
//! (the oracle was checked against it): numbers of any size compare by value (PHP clamps at
//! `LONG_MAX`), and the leading `v` is dropped (Composer does that before comparing).
//!
//! PHP treats a part starting with `#` as equal to every number, so `1.2.3.#` equals both
//! `1.2.3` and `1.2.3.1`, which differ: for such versions (never valid Composer versions)
//! the order is not transitive. Every other version is totally ordered.

use std::cmp::Ordering;

use crate::num::{Num, is_digits};
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// A Packagist version.
#[derive(Debug, Clone)]
pub struct PackagistVersion {
    original: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Number(Num),
    Special(u8),
}

/// Weight of a number when compared with a special form (PHP compares it as `#`).
const HASH: u8 = 5;

/// PHP's special forms, in order, matched as prefixes; `RC` is case-sensitive.
fn special_weight(part: &str) -> u8 {
    const FORMS: &[(&str, u8)] = &[
        ("dev", 1),
        ("alpha", 2),
        ("a", 2),
        ("beta", 3),
        ("b", 3),
        ("RC", 4),
        ("rc", 4),
        ("#", HASH),
        ("pl", 6),
        ("p", 6),
    ];
    FORMS
        .iter()
        .find(|(form, _)| part.starts_with(form))
        .map_or(0, |(_, weight)| *weight)
}

impl PackagistVersion {
    /// Parses a Composer version; any non-empty string without whitespace is accepted
    /// (`dev-main` is a valid branch version).
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::Packagist, input)?;
        let body = input.strip_prefix('v').unwrap_or(input);
        let body = body.strip_prefix('V').unwrap_or(body);
        let mut canonical = String::with_capacity(body.len() * 2);
        let mut previous: Option<char> = None;
        for c in body.chars() {
            let c = if matches!(c, '-' | '_' | '+') { '.' } else { c };
            if let Some(p) = previous {
                let boundary = p != '.' && c != '.' && p.is_ascii_digit() != c.is_ascii_digit();
                if boundary {
                    canonical.push('.');
                }
            }
            canonical.push(c);
            previous = Some(c);
        }
        let parts = canonical
            .split('.')
            .map(|p| match is_digits(p) {
                true => Part::Number(Num::from_digits(p)),
                false => Part::Special(special_weight(p)),
            })
            .collect();
        Ok(Self {
            original: input.to_owned(),
            parts,
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        compare_parts(&self.parts, &other.parts)
    }
}

scheme_version_impls!(PackagistVersion);

fn compare_part(a: &Part, b: &Part) -> Ordering {
    match (a, b) {
        (Part::Number(x), Part::Number(y)) => x.cmp(y),
        (Part::Number(_), Part::Special(w)) => HASH.cmp(w),
        (Part::Special(w), Part::Number(_)) => w.cmp(&HASH),
        (Part::Special(x), Part::Special(y)) => x.cmp(y),
    }
}

fn compare_parts(a: &[Part], b: &[Part]) -> Ordering {
    let common = a.len().min(b.len());
    for (x, y) in a.iter().zip(b) {
        match compare_part(x, y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    const REST: &[Part] = &[Part::Special(HASH)];
    match (a.get(common), b.get(common)) {
        (Some(Part::Number(_)), _) => Ordering::Greater,
        (Some(_), _) => compare_parts(&a[common..], REST),
        (None, Some(Part::Number(_))) => Ordering::Less,
        (None, Some(_)) => compare_parts(REST, &b[common..]),
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PackagistVersion {
        PackagistVersion::parse(s).expect(s)
    }

    #[test]
    fn php_order() {
        let ordered = ["1.0-dev", "1.0a1", "1.0b1", "1.0RC1", "1.0", "1.0pl1"];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("v1.0.0"), v("1.0.0"));
        assert!(v("dev-main") < v("0.0.1"));
        assert!(
            v("1.0-foo") < v("1.0-dev"),
            "unknown forms sort below dev, as in PHP"
        );
    }
}
