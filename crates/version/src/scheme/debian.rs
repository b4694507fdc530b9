//! dpkg version ordering.
//!
//! Reference: deb-version(7) (<https://man7.org/linux/man-pages/man7/deb-version.7.html>)
//! and dpkg's `lib/dpkg/version.c` (`dpkg_version_compare`, `verrevcmp`). A version is
//! `[epoch:]upstream_version[-debian_revision]`: the epoch is a number (default 0), the
//! revision is whatever follows the *last* hyphen (default "0"). Upstream and revision are
//! compared by alternating runs: a non-digit run compared character by character, where
//! `~` sorts before everything (even the end of the run), then letters, then all other
//! characters; then a digit run compared numerically.

use std::cmp::Ordering;

use crate::num::Num;
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// A Debian (and Ubuntu) package version.
#[derive(Debug, Clone)]
pub struct DebianVersion {
    original: String,
    epoch: Num,
    upstream: String,
    revision: String,
}

impl DebianVersion {
    /// Parses `[epoch:]upstream[-revision]`.
    ///
    /// Fails on a non-numeric epoch and an empty upstream version, which dpkg rejects too.
    /// Upstream versions not starting with a digit are accepted, as dpkg does (it only warns).
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::Debian, input)?;
        let invalid = |reason| Error::InvalidVersion {
            scheme: Scheme::Debian,
            input: input.to_owned(),
            reason,
        };
        // dpkg splits the epoch at the first colon (`parseversion` uses strchr).
        let (epoch, rest) = match input.split_once(':') {
            Some((epoch, rest)) => (
                Num::parse(epoch).ok_or_else(|| invalid("epoch is not a number"))?,
                rest,
            ),
            None => (Num::zero(), input),
        };
        // ... and the revision at the last hyphen (strrchr).
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((upstream, revision)) => (upstream, revision),
            None => (rest, "0"),
        };
        if upstream.is_empty() {
            return Err(invalid("upstream version is empty"));
        }
        Ok(Self {
            original: input.to_owned(),
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

scheme_version_impls!(DebianVersion);

/// The weight of one character of a non-digit run (dpkg `order()`); `None` is the end of
/// the run, which weighs 0.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`: alternate non-digit runs (by [`order`]) and digit runs (by value).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        let (a_text, a_rest) = split_run(a, |c| !c.is_ascii_digit());
        let (b_text, b_rest) = split_run(b, |c| !c.is_ascii_digit());
        for i in 0..a_text.len().max(b_text.len()) {
            match order(a_text.get(i).copied()).cmp(&order(b_text.get(i).copied())) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        let (a_num, a_rest) = split_run(a_rest, |c| c.is_ascii_digit());
        let (b_num, b_rest) = split_run(b_rest, |c| c.is_ascii_digit());
        match digits(a_num).cmp(&digits(b_num)) {
            Ordering::Equal => {}
            other => return other,
        }
        (a, b) = (a_rest, b_rest);
    }
    Ordering::Equal
}

fn split_run(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let end = s.iter().position(|&c| !pred(c)).unwrap_or(s.len());
    s.split_at(end)
}

fn digits(run: &[u8]) -> Num {
    // `run` holds ASCII digits only, so it is valid UTF-8.
    Num::from_digits(std::str::from_utf8(run).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DebianVersion {
        DebianVersion::parse(s).expect(s)
    }

    #[test]
    fn tilde_sorts_before_end_and_plus_after() {
        assert!(v("1.0~rc1") < v("1.0"));
        assert!(v("1.0~~") < v("1.0~"));
        assert!(v("1.0") < v("1.0+deb12u1"));
        assert!(v("1.0a") < v("1.0+"));
        assert!(v("2:1.0") > v("1:9.9"));
        assert_eq!(v("1.0-1"), v("0:1.0-1"));
        assert!(v("1.2.3-1~deb12u1") < v("1.2.3-1"));
    }

    #[test]
    fn rejects_bad_epoch_and_empty_upstream() {
        for bad in ["a:1.0", ":1.0", "1:", "-1", "1:-1", "1.0 1"] {
            assert!(
                matches!(
                    DebianVersion::parse(bad),
                    Err(Error::InvalidVersion { .. } | Error::EmptyVersion { .. })
                ),
                "{bad}"
            );
        }
    }
}
