//! RubyGems version ordering.
//!
//! Reference: `Gem::Version#<=>` and `#canonical_segments`
//! (<https://github.com/rubygems/rubygems/blob/master/lib/rubygems/version.rb>), as
//! osv-scalibr implements it (`semantic/version-rubygems.go`): the version is split into
//! segments at `.` and between digits and non-digits; segments from the first non-numeric
//! one on form the pre-release part; trailing zero segments of the release part and of the
//! pre-release part are dropped; segments compare pairwise (missing ones as `0`), numbers
//! numerically, strings byte-wise, and a string sorts before a number (`1.0.a < 1.0`).

use std::cmp::Ordering;

use crate::num::{Num, cmp_padded, is_digits};
use crate::version::{check_input, scheme_version_impls};
use crate::{Error, Scheme};

/// A RubyGems version.
#[derive(Debug, Clone)]
pub struct RubyGemsVersion {
    original: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    // Declared first: strings (pre-release parts) sort before numbers.
    Text(String),
    Number(Num),
}

impl RubyGemsVersion {
    /// Parses a gem version; any non-empty string without whitespace is accepted.
    pub fn parse(input: &str) -> Result<Self, Error> {
        check_input(Scheme::RubyGems, input)?;
        // Insert a '.' between digits and non-digits (`1a1` -> `1.a.1`).
        let mut canonical = String::with_capacity(input.len() * 2);
        let mut previous_digit: Option<bool> = None;
        for c in input.chars() {
            if c == '.' {
                previous_digit = None;
            } else {
                let digit = c.is_ascii_digit();
                if previous_digit.is_some_and(|p| p != digit) {
                    canonical.push('.');
                }
                previous_digit = Some(digit);
            }
            canonical.push(c);
        }
        let raw: Vec<&str> = canonical.split('.').collect();
        let release_len = raw.iter().position(|s| !is_digits(s)).unwrap_or(raw.len());
        let (release, pre) = raw.split_at(release_len);
        let segments = drop_trailing_zeros(release)
            .iter()
            .chain(drop_trailing_zeros(pre))
            .map(|s| match is_digits(s) {
                true => Segment::Number(Num::from_digits(s)),
                false => Segment::Text((*s).to_owned()),
            })
            .collect();
        Ok(Self {
            original: input.to_owned(),
            segments,
        })
    }

    fn compare(&self, other: &Self) -> Ordering {
        cmp_padded(
            &self.segments,
            &other.segments,
            &Segment::Number(Num::zero()),
            Ord::cmp,
        )
    }
}

scheme_version_impls!(RubyGemsVersion);

fn drop_trailing_zeros<'a, 'b>(segments: &'b [&'a str]) -> &'b [&'a str] {
    let keep = segments
        .iter()
        .rposition(|s| *s != "0")
        .map_or(0, |i| i + 1);
    &segments[..keep]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> RubyGemsVersion {
        RubyGemsVersion::parse(s).expect(s)
    }

    #[test]
    fn prerelease_sorts_first() {
        assert!(v("1.0.a") < v("1.0"));
        assert!(v("1.0.rc1") < v("1.0"));
        assert!(v("1.0.b1") > v("1.0.a.2"));
        assert_eq!(v("1.0.0"), v("1"));
        assert!(v("3.2") < v("3.10"));
    }
}
