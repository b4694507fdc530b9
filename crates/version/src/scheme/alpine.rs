//! apk-tools version ordering (Alpine, Wolfi, Chainguard, ...).
//!
//! Reference: apk-package(5), "pkgver" (<https://gitlab.alpinelinux.org/alpine/apk-tools/-/blob/master/doc/apk-package.5.scd>),
//! and apk-tools' `src/version.c`. A version is
//! `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`:
//!
//! * numbers compare numerically, except that after the first one a number with a leading
//!   zero compares as a string (apk treats `1.05` as a decimal fraction);
//! * an optional single lower-case letter (`1.2.3b`), none sorting first;
//! * suffixes, in the order `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git <
//!   _hg < _p`, each with an optional number;
//! * a `~hash` of the source commit, which is not compared;
//! * the package release `-rN`.
//!
//! Versions that do not fit the grammar still occur in the wild and in advisories. Like
//! osv-scalibr's `semantic/version-alpine.go` (against which the oracle was checked), the
//! parser keeps what it recognised and the unparsed remainder; a version with a remainder
//! sorts just below the same version without one. Two malformed versions that are equal
//! in every recognised part are ordered by their text, so that the order stays total; a
//! remainder after a hyphen (`1-r0-1`, `1--r1`) is package-release noise and, as in
//! osv-scalibr, does not take part.

use std::cmp::Ordering;

use crate::num::{Num, cmp_padded};
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// Suffix names in apk's order; the position is the weight, with [`NO_SUFFIX`] between
/// `rc` and `cvs`. `pre` comes before `p` so that the longer name wins.
const SUFFIXES: &[(&str, u8)] = &[
    ("alpha", 0),
    ("beta", 1),
    ("pre", 2),
    ("rc", 3),
    ("cvs", 5),
    ("svn", 6),
    ("git", 7),
    ("hg", 8),
    ("p", 9),
];
const NO_SUFFIX: u8 = 4;

/// An Alpine package version.
#[derive(Debug, Clone)]
pub struct AlpineVersion {
    original: String,
    /// The digits of each number as written, and its value.
    numbers: Vec<(String, Num)>,
    letter: Option<u8>,
    suffixes: Vec<(u8, Num)>,
    release: Num,
    /// Something was left after parsing.
    has_remainder: bool,
    /// For malformed versions, the text used to break ties (see the module docs).
    tie_break: Option<String>,
}

impl AlpineVersion {
    /// Parses an apk version. Any non-empty string without whitespace is accepted (see the
    /// module documentation for malformed versions).
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::Alpine, input)?;
        let mut rest = input;

        let mut numbers = Vec::new();
        loop {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            let (digits, after) = rest.split_at(end);
            numbers.push((digits.to_owned(), Num::from_digits(digits)));
            rest = after.strip_prefix('.').unwrap_or(after);
        }

        let letter = match rest.as_bytes().first() {
            Some(&c) if c.is_ascii_lowercase() => {
                rest = &rest[1..];
                Some(c)
            }
            _ => None,
        };

        let mut suffixes = Vec::new();
        while let Some(after) = rest.strip_prefix('_') {
            let Some((name_len, weight)) = SUFFIXES
                .iter()
                .find(|(name, _)| after.starts_with(name))
                .map(|(name, weight)| (name.len(), *weight))
            else {
                break;
            };
            let after = &after[name_len..];
            let end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            suffixes.push((weight, Num::from_digits(&after[..end])));
            rest = &after[end..];
        }

        if let Some(after) = rest.strip_prefix('~') {
            let end = after
                .find(|c: char| !matches!(c, '0'..='9' | 'a'..='f'))
                .unwrap_or(after.len());
            if end > 0 {
                rest = &after[end..];
            }
        }

        let mut release = Num::zero();
        let mut malformed = false;
        if !rest.is_empty() {
            match rest.strip_prefix("-r") {
                Some(after) => {
                    let end = after
                        .find(|c: char| !c.is_ascii_digit())
                        .unwrap_or(after.len());
                    release = Num::from_digits(&after[..end]);
                    rest = &after[end..];
                }
                None => malformed = true,
            }
        }

        let tie_break = (malformed && !rest.starts_with('-')).then(|| input.to_owned());
        Ok(Self {
            original: input.to_owned(),
            numbers,
            letter,
            suffixes,
            release,
            has_remainder: !rest.is_empty(),
            tie_break,
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        self.compare_numbers(other)
            .then_with(|| self.letter.cmp(&other.letter))
            .then_with(|| {
                cmp_padded(
                    &self.suffixes,
                    &other.suffixes,
                    &(NO_SUFFIX, Num::zero()),
                    Ord::cmp,
                )
            })
            .then_with(|| self.release.cmp(&other.release))
            // Nothing left over sorts after something left over.
            .then_with(|| other.has_remainder.cmp(&self.has_remainder))
            .then_with(|| self.tie_break.cmp(&other.tie_break))
    }

    fn compare_numbers(&self, other: &Self) -> Ordering {
        let zero = ("0".to_owned(), Num::zero());
        for i in 0..self.numbers.len().max(other.numbers.len()) {
            let (a_text, a) = self.numbers.get(i).unwrap_or(&zero);
            let (b_text, b) = other.numbers.get(i).unwrap_or(&zero);
            // apk: after the first number, a leading zero makes the comparison textual.
            let ord = if i > 0 && (a_text.starts_with('0') || b_text.starts_with('0')) {
                a_text.cmp(b_text)
            } else {
                a.cmp(b)
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

scheme_version_impls!(AlpineVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> AlpineVersion {
        AlpineVersion::parse(s).expect(s)
    }

    #[test]
    fn suffix_letter_and_release_order() {
        assert!(v("1.2_alpha1") < v("1.2_beta"));
        assert!(v("1.2_rc9") < v("1.2"));
        assert!(v("1.2") < v("1.2_p1"));
        assert!(v("1.2") < v("1.2a"));
        assert!(v("1.2.3-r1") < v("1.2.3-r10"));
        assert_eq!(v("1.2.3~abc123-r1"), v("1.2.3-r1"));
        assert!(v("1.05") < v("1.1"), "leading zero compares as a fraction");
    }
}
