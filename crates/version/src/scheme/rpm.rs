//! RPM version ordering (Red Hat, Rocky Linux, AlmaLinux, SUSE, ...).
//!
//! Reference: rpm's `rpmio/rpmvercmp.c` (`rpmvercmp`) and `rpmVersionCompare` for the
//! `[epoch:]version[-release]` split, as documented in
//! <https://rpm-software-management.github.io/rpm/manual/dependencies.html#versioning>.
//! Each part is compared by `rpmvercmp`: separators (anything but ASCII letters, digits,
//! `~` and `^`) are skipped; `~` sorts before everything, even the end of the string;
//! `^` sorts after the end of the string but before anything else; then alternating
//! digit runs (numeric, leading zeros ignored) and letter runs (byte-wise), a digit run
//! being newer than a letter run; whichever string has segments left wins.
//!
//! Edge cases follow osv-scalibr's `semantic/version-redhat.go`, which the oracle file
//! was checked against: the text before the first `:` is an epoch only if it is all
//! digits (`a:1` is a version, not epoch `a`), the release starts at the *first* hyphen,
//! and an empty part sorts before any non-empty one (`1 < 1-`).

use std::cmp::Ordering;

use crate::num::Num;
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// An RPM `[epoch:]version[-release]`.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    original: String,
    epoch: Num,
    version: String,
    /// Includes the leading `-`, so that "no release" (empty) and "empty release" (`-`)
    /// differ, as in rpm's own comparison of the full EVR string.
    release: String,
}

impl RpmVersion {
    /// Parses an EVR string. Any non-empty string without whitespace is accepted, as rpm
    /// accepts it.
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::Rpm, input)?;
        let (epoch, rest) = match input.split_once(':') {
            Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => {
                (Num::from_digits(epoch), rest)
            }
            _ => (Num::zero(), input),
        };
        let (version, release) = match rest.find('-') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        Ok(Self {
            original: input.to_owned(),
            epoch,
            version: version.to_owned(),
            release: release.to_owned(),
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

scheme_version_impls!(RpmVersion);

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp`, step by step.
fn rpmvercmp(a: &str, b: &str) -> Ordering {
    // An empty part is older than any non-empty one (osv-scalibr; rpm compares the whole
    // EVR string, where this case cannot arise).
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && is_separator(a[i]) {
            i += 1;
        }
        while j < b.len() && is_separator(b[j]) {
            j += 1;
        }
        // `~` sorts before everything, including the end of the string.
        match (a.get(i) == Some(&b'~'), b.get(j) == Some(&b'~')) {
            (true, true) => {
                i += 1;
                j += 1;
                continue;
            }
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        // `^` sorts after the end of the string but before any other segment.
        match (a.get(i) == Some(&b'^'), b.get(j) == Some(&b'^')) {
            (true, true) => {
                i += 1;
                j += 1;
                continue;
            }
            (true, false) if j == b.len() => return Ordering::Greater,
            (true, false) => return Ordering::Less,
            (false, true) if i == a.len() => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        if i == a.len() || j == b.len() {
            break;
        }
        // Take a run of the same class (digits or letters) from both strings; the class
        // is decided by `a`.
        let numeric = a[i].is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let a_start = i;
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        let b_start = j;
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        let (seg_a, seg_b) = (&a[a_start..i], &b[b_start..j]);
        // Segments of different classes: a number is newer than letters.
        if seg_b.is_empty() {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            let trim = |s: &[u8]| {
                let zeros = s.iter().take_while(|&&c| c == b'0').count();
                s[zeros..].to_vec()
            };
            let (x, y) = (trim(seg_a), trim(seg_b));
            x.len().cmp(&y.len()).then_with(|| x.cmp(&y))
        } else {
            seg_a.cmp(seg_b)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    // One string ran out of segments: the one with segments left is newer.
    (a.len() - i).cmp(&(b.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> RpmVersion {
        RpmVersion::parse(s).expect(s)
    }

    #[test]
    fn tilde_caret_and_epoch() {
        assert!(v("1.0~rc1") < v("1.0"));
        assert!(v("1.0^git1") > v("1.0"));
        assert!(v("1.0^git1") < v("1.0.1"));
        assert!(v("1:1.0") > v("2.0"));
        assert!(v("0:3.10.0-229.el7") < v("0:3.10.0-229.1.2.el7"));
        assert_eq!(v("1.0-1"), v("0:1.0-1"));
    }
}
