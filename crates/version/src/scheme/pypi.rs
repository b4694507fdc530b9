//! PEP 440 version ordering (PyPI).
//!
//! Reference: PEP 440 (<https://peps.python.org/pep-0440/>), as implemented by
//! `packaging.version.Version`: the grammar is the regular expression of PEP 440
//! appendix B, after lower-casing; a version is ordered by epoch, release (zero-padded),
//! then `.devN` releases with no pre/post part first, pre-releases (`a < b < rc`, with the
//! alternative spellings `alpha`, `beta`, `c`, `pre`, `preview`), the release itself,
//! post-releases (`.postN`, `-N`, `revN`, `rN`), dev-releases within each of those, and
//! finally the local version label (`+...`, segments numeric above alphanumeric).
//!
//! Strings that are not PEP 440 versions still appear in old releases and advisories.
//! `packaging` < 22 parsed them as `LegacyVersion`, which sorts before every PEP 440
//! version and compares by setuptools' old `parse_version` key; that is kept here (as in
//! osv-scalibr's `semantic/version-pypi.go`) so such versions order instead of failing.
//! `pep440_rs` rejects them, which is why it is not used.

use std::cmp::Ordering;

use crate::num::{Num, cmp_padded, is_digits};
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// A PyPI version: PEP 440, or legacy when it does not match the PEP 440 grammar.
#[derive(Debug, Clone)]
pub struct PyPIVersion {
    original: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    // Declared first: legacy versions sort before all PEP 440 versions.
    Legacy(Vec<String>),
    Pep440(Pep440),
}

#[derive(Debug, Clone)]
struct Pep440 {
    epoch: Num,
    release: Vec<Num>,
    /// `(phase, number)` with phase 0 = a, 1 = b, 2 = rc.
    pre: Option<(u8, Num)>,
    post: Option<Num>,
    dev: Option<Num>,
    local: Option<Vec<LocalSegment>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    // Declared first: alphanumeric segments sort before numeric ones.
    Alphanumeric(String),
    Numeric(Num),
}

impl PyPIVersion {
    /// Parses a PyPI version; anything non-empty without whitespace is accepted.
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::PyPI, input)?;
        let lower = input.to_lowercase();
        let kind = match parse_pep440(&lower) {
            Some(v) => Kind::Pep440(v),
            None => Kind::Legacy(legacy_key(&lower)),
        };
        Ok(Self {
            original: input.to_owned(),
            kind,
        })
    }

    /// Whether the version follows PEP 440 (as opposed to a legacy version).
    pub fn is_pep440(&self) -> bool {
        matches!(self.kind, Kind::Pep440(_))
    }

    fn compare(&self, other: &Self) -> Ordering {
        match (&self.kind, &other.kind) {
            (Kind::Legacy(a), Kind::Legacy(b)) => a.cmp(b),
            (Kind::Legacy(_), Kind::Pep440(_)) => Ordering::Less,
            (Kind::Pep440(_), Kind::Legacy(_)) => Ordering::Greater,
            (Kind::Pep440(a), Kind::Pep440(b)) => a.compare(b),
        }
    }
}

scheme_version_impls!(PyPIVersion);

impl Pep440 {
    /// `packaging.version._cmpkey`.
    fn compare(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| cmp_padded(&self.release, &other.release, &Num::zero(), Ord::cmp))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post_key().cmp(&other.post_key()))
            .then_with(|| self.dev_key().cmp(&other.dev_key()))
            .then_with(|| self.local.cmp(&other.local))
    }

    /// A dev-release without pre or post part sorts before all pre-releases; no
    /// pre-release sorts after them.
    fn pre_key(&self) -> (u8, Option<&(u8, Num)>) {
        match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (0, None),
            (Some(pre), _, _) => (1, Some(pre)),
            (None, _, _) => (2, None),
        }
    }

    /// No post-release sorts first (`None < Some`).
    fn post_key(&self) -> Option<&Num> {
        self.post.as_ref()
    }

    /// No dev-release sorts last.
    fn dev_key(&self) -> (bool, Option<&Num>) {
        (self.dev.is_none(), self.dev.as_ref())
    }
}

/// A cursor over the lower-cased input, for the PEP 440 appendix B grammar.
struct Cursor<'a> {
    s: &'a str,
}

impl<'a> Cursor<'a> {
    fn digits(&mut self) -> Option<&'a str> {
        let end = self
            .s
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.s.len());
        if end == 0 {
            return None;
        }
        let (d, rest) = self.s.split_at(end);
        self.s = rest;
        Some(d)
    }

    fn eat(&mut self, prefix: &str) -> bool {
        match self.s.strip_prefix(prefix) {
            Some(rest) => {
                self.s = rest;
                true
            }
            None => false,
        }
    }

    /// `[-_\.]?`
    fn separator(&mut self) {
        let _ = self.eat("-") || self.eat("_") || self.eat(".");
    }

    /// The first of `words` the input starts with; callers list longer words first.
    fn word<T: Copy>(&mut self, words: &[(&str, T)]) -> Option<T> {
        let (word, value) = words.iter().find(|(w, _)| self.s.starts_with(w))?;
        self.s = &self.s[word.len()..];
        Some(*value)
    }
}

/// `[sep] label [sep] [number]`, restoring the cursor when no label follows.
fn labelled<T: Copy>(cur: &mut Cursor<'_>, words: &[(&str, T)]) -> Option<(T, Num)> {
    let start = cur.s;
    cur.separator();
    let Some(label) = cur.word(words) else {
        cur.s = start;
        return None;
    };
    // Like the greedy `[-_\.]?` of the regular expression, a separator is consumed even
    // when no number follows (`1.0a-` is `1.0a0`); every later part may start without one.
    cur.separator();
    let number = cur.digits().map_or_else(Num::zero, Num::from_digits);
    Some((label, number))
}

const PRE_WORDS: &[(&str, u8)] = &[
    ("preview", 2),
    ("alpha", 0),
    ("beta", 1),
    ("pre", 2),
    ("rc", 2),
    ("a", 0),
    ("b", 1),
    ("c", 2),
];
const POST_WORDS: &[(&str, ()); 3] = &[("post", ()), ("rev", ()), ("r", ())];
const DEV_WORDS: &[(&str, ()); 1] = &[("dev", ())];

/// PEP 440 appendix B, anchored at both ends (surrounding whitespace is already rejected).
fn parse_pep440(s: &str) -> Option<Pep440> {
    let mut cur = Cursor {
        s: s.strip_prefix('v').unwrap_or(s),
    };

    let first = cur.digits()?;
    let (epoch, mut release) = if cur.eat("!") {
        (
            Num::from_digits(first),
            vec![Num::from_digits(cur.digits()?)],
        )
    } else {
        (Num::zero(), vec![Num::from_digits(first)])
    };
    loop {
        let save = cur.s;
        if !cur.eat(".") {
            break;
        }
        match cur.digits() {
            Some(d) => release.push(Num::from_digits(d)),
            None => {
                cur.s = save;
                break;
            }
        }
    }

    let pre = labelled(&mut cur, PRE_WORDS);

    // post: `-N` or `[sep] (post|rev|r) [sep] [N]`.
    let post = {
        let save = cur.s;
        match cur.eat("-").then(|| cur.digits()).flatten() {
            Some(d) => Some(Num::from_digits(d)),
            None => {
                cur.s = save;
                labelled(&mut cur, POST_WORDS).map(|((), n)| n)
            }
        }
    };

    let dev = labelled(&mut cur, DEV_WORDS).map(|((), n)| n);

    let local = if cur.eat("+") {
        // `[a-z0-9]+([-_.][a-z0-9]+)*`
        let segments: Vec<&str> = cur.s.split(['-', '_', '.']).collect();
        let valid = segments
            .iter()
            .all(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !valid {
            return None;
        }
        cur.s = "";
        Some(
            segments
                .into_iter()
                .map(|seg| match is_digits(seg) {
                    true => LocalSegment::Numeric(Num::from_digits(seg)),
                    false => LocalSegment::Alphanumeric(seg.to_owned()),
                })
                .collect(),
        )
    } else {
        None
    };

    cur.s.is_empty().then_some(Pep440 {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
    })
}

/// setuptools' pre-PEP 440 `parse_version` key (`pkg_resources._parse_version_parts` and
/// `_legacy_cmpkey`): runs of digits (zero-padded to 8), runs of letters (prefixed `*`,
/// with `pre`/`preview`/`rc` spelled `c` and `dev` spelled `@`), `-` as `*final-`;
/// trailing zeros and `*final-` markers before a pre-release tag are dropped.
fn legacy_key(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = s;
    let mut raw: Vec<&str> = Vec::new();
    while let Some(c) = rest.chars().next() {
        let len = if c.is_ascii_digit() {
            rest.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len())
        } else if c.is_ascii_lowercase() {
            rest.find(|c: char| !c.is_ascii_lowercase())
                .unwrap_or(rest.len())
        } else {
            c.len_utf8()
        };
        let (part, after) = rest.split_at(len);
        // Other characters (and '.') only separate parts.
        if part == "-" || part.as_bytes()[0].is_ascii_alphanumeric() {
            raw.push(part);
        }
        rest = after;
    }
    raw.push("final");
    for part in raw {
        let part = match part {
            "pre" | "preview" | "rc" => "*c".to_owned(),
            "-" => "*final-".to_owned(),
            "dev" => "*@".to_owned(),
            p if p.as_bytes()[0].is_ascii_digit() => format!("{p:0>8}"),
            p => format!("*{p}"),
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p: &String| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p: &String| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PyPIVersion {
        PyPIVersion::parse(s).expect(s)
    }

    #[test]
    fn pep440_order() {
        let ordered = [
            "1.0.dev0",
            "1.0a1.dev1",
            "1.0a1",
            "1.0b2.post3",
            "1.0rc1",
            "1.0",
            "1.0+local.1",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.1",
            "1!0.1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1.0alpha1"), v("1.0a1"));
        assert_eq!(v("1.0-1"), v("1.0.post1"));
        assert!(v("1.0c1") == v("1.0rc1"));
    }

    #[test]
    fn legacy_versions_sort_first() {
        assert!(!v("0.1-bulbasaur").is_pep440());
        assert!(v("0.1-bulbasaur") < v("0.0.1"));
        assert!(v("1.0+local") > v("1.0"));
        assert!(!v("1.0+").is_pep440());
    }
}
