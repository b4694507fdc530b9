//! Arbitrary-size non-negative integers, as far as version ordering needs them.
//!
//! Version components are compared by value but may be longer than any machine integer
//! (the oracles contain 30-digit components, and date-stamped versions routinely exceed
//! `u32`). Instead of a big-integer crate we keep the digits without leading zeros: two
//! such strings order by length first, then byte-wise, which is numeric order.

use std::cmp::Ordering;

/// A non-negative integer held as its decimal digits without leading zeros ("" is 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(crate) struct Num(Box<str>);

impl Num {
    /// Parses a run of ASCII digits; `None` if `s` is empty or holds anything else.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self(s.trim_start_matches('0').into()))
    }

    /// Like [`Num::parse`], for callers that already know `s` is digits; "" becomes 0.
    pub(crate) fn from_digits(s: &str) -> Self {
        debug_assert!(s.bytes().all(|b| b.is_ascii_digit()));
        Self(s.trim_start_matches('0').into())
    }

    pub(crate) fn zero() -> Self {
        Self::default()
    }

    /// The value in decimal, without leading zeros ("0" for zero).
    pub(crate) fn digits(&self) -> &str {
        if self.0.is_empty() { "0" } else { &self.0 }
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// True when `s` is a non-empty run of ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Compares `a` and `b` element by element, padding the shorter with `pad`.
pub(crate) fn cmp_padded<T, F>(a: &[T], b: &[T], pad: &T, mut cmp: F) -> Ordering
where
    F: FnMut(&T, &T) -> Ordering,
{
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).unwrap_or(pad);
        let y = b.get(i).unwrap_or(pad);
        match cmp(x, y) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_value_not_text() {
        let n = |s| Num::parse(s).expect("digits");
        assert!(n("9") < n("10"));
        assert_eq!(n("007"), n("7"));
        assert_eq!(n("000"), Num::zero());
        assert!(n("999999999999999999999999999991") < n("999999999999999999999999999999"));
        assert!(Num::parse("").is_none());
        assert!(Num::parse("1a").is_none());
    }
}
