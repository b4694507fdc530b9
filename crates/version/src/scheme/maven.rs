//! Maven version ordering.
//!
//! Reference: Maven's `ComparableVersion`
//! (<https://maven.apache.org/pom.html#version-order-specification>, and
//! `maven-artifact/src/main/java/org/apache/maven/artifact/versioning/ComparableVersion.java`),
//! in the token form osv-scalibr implements (`semantic/version-maven.go`), which the oracle
//! was generated against:
//!
//! * the version is split into tokens at `.` and `-` and at every change between digits
//!   and non-digits (a change counts as `-`); each token remembers its separator; empty
//!   tokens are `0`; everything is case-insensitive;
//! * `cr` is `rc`; `ga`, `final` and `release` are the empty qualifier; `a`, `b` and `m`
//!   directly followed by digits are `alpha`, `beta`, `milestone`;
//! * a qualifier after a `.` counts as after a `-`, as in Maven 3.9 (`2.0.RC1` is
//!   `2-RC1`). osv-scalibr keeps the dot, which makes the order intransitive
//!   (`2 < 2-1 < 2.0.RC1 < 2`); with the rule every oracle line still passes and the
//!   order is total;
//! * trailing "null" tokens (`0` and the empty qualifier) are dropped at the end of the
//!   version and before each remaining hyphen, from the end;
//! * two versions are compared token by token, the shorter padded with nulls (`0` after
//!   `.`, the empty qualifier after `-`); tokens with the same separator compare numbers
//!   numerically, numbers above qualifiers, qualifiers in the order
//!   `alpha < beta < milestone < rc < snapshot < "" < sp < other (lexically)`; tokens with
//!   different separators order `.qualifier < -qualifier < -number < .number`.

use std::cmp::Ordering;

use crate::num::{Num, is_digits};
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// A Maven artifact version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    original: String,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Separator {
    /// The first token has none.
    Start,
    Dot,
    Hyphen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    separator: Separator,
    /// Lower-cased and normalised; numbers without leading zeros.
    value: String,
    /// A padding token, not written in the version.
    null: bool,
}

const KEYWORDS: &[&str] = &["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

impl MavenVersion {
    /// Parses a Maven version; any non-empty string without whitespace is accepted.
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::Maven, input)?;
        let mut tokens = tokenize(input);
        trim_nulls(&mut tokens);
        Ok(Self {
            original: input.to_owned(),
            tokens,
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        if less_than(&self.tokens, &other.tokens) {
            Ordering::Less
        } else if less_than(&other.tokens, &self.tokens) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }
}

scheme_version_impls!(MavenVersion);

fn tokenize(input: &str) -> Vec<Token> {
    let lower = input.to_lowercase();
    let mut tokens = Vec::new();
    let mut separator = Separator::Start;
    let mut rest = lower.as_str();
    loop {
        let (raw, next) = match rest.find(['.', '-']) {
            Some(i) => {
                let sep = if rest.as_bytes()[i] == b'.' {
                    Separator::Dot
                } else {
                    Separator::Hyphen
                };
                (&rest[..i], Some((sep, &rest[i + 1..])))
            }
            None => (rest, None),
        };
        let segments = split_transitions(raw);
        let count = segments.len();
        for (j, segment) in segments.into_iter().enumerate() {
            let value = normalise(segment, j + 1 < count);
            // A qualifier after a dot counts as after a hyphen (Maven 3.9, MNG-7644:
            // "1.0.0.X1 < 1.0.0-X2, treat .X as -X"); this also lets the zeros before it
            // be trimmed, so `2.0.RC1` is `2-RC1` and orders below `2` and `2-1` alike.
            let qualifier = !value.is_empty() && !is_digits(&value);
            let separator = match separator {
                _ if j > 0 => Separator::Hyphen,
                Separator::Dot if qualifier => Separator::Hyphen,
                other => other,
            };
            tokens.push(Token {
                separator,
                value,
                null: false,
            });
        }
        match next {
            Some((sep, after)) => {
                separator = sep;
                rest = after;
            }
            None => break,
        }
    }
    tokens
}

/// Splits at every change between ASCII digits and anything else; "" stays one segment.
fn split_transitions(raw: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut start = 0;
    let mut previous: Option<bool> = None;
    for (i, c) in raw.char_indices() {
        let digit = c.is_ascii_digit();
        if previous.is_some_and(|p| p != digit) {
            segments.push(&raw[start..i]);
            start = i;
        }
        previous = Some(digit);
    }
    segments.push(&raw[start..]);
    segments
}

fn normalise(segment: &str, followed_by_more: bool) -> String {
    match segment {
        "" => "0".to_owned(),
        "cr" => "rc".to_owned(),
        "ga" | "final" | "release" => String::new(),
        "a" if followed_by_more => "alpha".to_owned(),
        "b" if followed_by_more => "beta".to_owned(),
        "m" if followed_by_more => "milestone".to_owned(),
        s if is_digits(s) => Num::from_digits(s).digits().to_owned(),
        s => s.to_owned(),
    }
}

/// Drops trailing null tokens, at the end and then before each hyphen, walking backwards.
fn trim_nulls(tokens: &mut Vec<Token>) {
    let mut i = tokens.len().checked_sub(1);
    while let Some(at) = i.filter(|&at| at > 0) {
        if tokens[at].value == "0" || tokens[at].value.is_empty() {
            tokens.remove(at);
            i = Some(at - 1);
            continue;
        }
        // Move to the token that starts this hyphen group, then to the one before it.
        let mut k = Some(at);
        while let Some(j) = k.filter(|&j| tokens[j].separator != Separator::Hyphen) {
            k = j.checked_sub(1);
        }
        i = k.and_then(|j| j.checked_sub(1));
    }
}

/// The padding token for a position where only the other version has `other`.
fn null_like(other: &Token) -> Token {
    let value = match other.separator {
        Separator::Hyphen => "",
        // "sp" is the one qualifier above the empty one, so pad it with the empty one.
        _ if other.value == "sp" => "",
        _ => "0",
    };
    Token {
        separator: other.separator,
        value: value.to_owned(),
        null: true,
    }
}

fn less_than(a: &[Token], b: &[Token]) -> bool {
    for i in 0..a.len().max(b.len()) {
        let (left, right) = match (a.get(i), b.get(i)) {
            (Some(l), Some(r)) => (l.clone(), r.clone()),
            (Some(l), None) => (l.clone(), null_like(l)),
            (None, Some(r)) => (null_like(r), r.clone()),
            (None, None) => break,
        };
        if left.separator == right.separator && left.value == right.value {
            continue;
        }
        return token_less(&left, &right);
    }
    false
}

fn token_less(v: &Token, w: &Token) -> bool {
    let (v_num, w_num) = (is_digits(&v.value), is_digits(&w.value));
    if v.separator != w.separator {
        return separator_rank(v.separator, v_num) < separator_rank(w.separator, w_num);
    }
    if v_num && w_num {
        return Num::from_digits(&v.value) < Num::from_digits(&w.value);
    }
    // Numbers sort after qualifiers, unless the number is padding.
    if v_num && !v.null {
        return false;
    }
    if w_num && !w.null {
        return true;
    }
    let rank = |s: &str| {
        KEYWORDS
            .iter()
            .position(|k| *k == s)
            .unwrap_or(KEYWORDS.len())
    };
    let (l, r) = (rank(&v.value), rank(&w.value));
    if l == KEYWORDS.len() && r == KEYWORDS.len() {
        return v.value < w.value;
    }
    l < r
}

/// `.qualifier < -qualifier < -number < .number`.
fn separator_rank(separator: Separator, numeric: bool) -> u8 {
    match (separator, numeric) {
        (Separator::Dot, false) => 0,
        (Separator::Hyphen, false) => 1,
        (Separator::Hyphen, true) => 2,
        (Separator::Dot, true) => 3,
        // Only the first token has no separator, and first tokens are compared with each
        // other, so this arm only keeps the function total.
        (Separator::Start, _) => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> MavenVersion {
        MavenVersion::parse(s).expect(s)
    }

    #[test]
    fn qualifier_order() {
        let ordered = [
            "1-alpha-1",
            "1-beta-1",
            "1-milestone-1",
            "1-rc-1",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-foo",
            "1-1",
            "1.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0.0"), v("1"));
        assert_eq!(v("1.0-ga"), v("1-final"));
        assert_eq!(v("1cr1"), v("1-rc-1"));
    }
}
