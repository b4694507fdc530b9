//! OSV affected ranges: the raw shape as deserialized, the validated shape, and the
//! evaluation algorithm of the OSV schema ("Evaluation",
//! <https://ossf.github.io/osv-schema/#evaluation>).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::{Ecosystem, Error, Scheme, Version};

/// One `affected[].ranges[]` object of an OSV record, exactly as deserialized.
///
/// Nothing is checked here; convert it with [`Range::from_raw`] (or as part of
/// [`AffectedVersions`]) before use. Unknown fields (`database_specific`) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RawRange {
    /// `SEMVER`, `ECOSYSTEM` or `GIT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository of a `GIT` range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events, in any order.
    #[serde(default)]
    pub events: Vec<RawEvent>,
}

/// One event object of a [`RawRange`]; a valid one has exactly one field set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RawEvent {
    /// `introduced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// `fixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// `last_affected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// The affected-version data of one OSV `affected[]` entry, before validation.
///
/// The vulnerability crate deserializes the whole entry itself (it also needs the package
/// name and the ecosystem- and database-specific fields) and hands the three fields that
/// decide which versions are affected over in this shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawAffected {
    /// `package.ecosystem`, e.g. `Debian:12`.
    pub ecosystem: String,
    /// `ranges`.
    pub ranges: Vec<RawRange>,
    /// `versions`.
    pub versions: Vec<String>,
}

/// How the versions of a [`Range`] are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RangeKind {
    /// `SEMVER`: SemVer 2.0 precedence, whatever the ecosystem.
    SemVer,
    /// `ECOSYSTEM`: the ecosystem's own ordering.
    Ecosystem,
}

/// The lower bound of an `introduced` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Introduced {
    /// `"0"`: before every version.
    Zero,
    /// A version.
    At(Version),
}

/// The bound of a `limit` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    /// A value containing `*`: no limit.
    Unbounded,
    /// Versions at or above this one are outside the range.
    Below(Version),
}

/// A validated range event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Versions from here on are affected (until a later `fixed`/`last_affected`).
    Introduced(Introduced),
    /// Versions from here on are not affected.
    Fixed(Version),
    /// Versions after this one are not affected.
    LastAffected(Version),
    /// Versions from here on are outside the range.
    Limit(Limit),
}

/// A validated `SEMVER` or `ECOSYSTEM` range: at least one `introduced` event, never both
/// `fixed` and `last_affected`, and every version parsed by the range's scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    kind: RangeKind,
    scheme: Scheme,
    events: Vec<Event>,
}

impl Range {
    /// Validates a raw range whose record belongs to an ecosystem ordered by
    /// `ecosystem_scheme` (used for `ECOSYSTEM` ranges; `SEMVER` ranges always use
    /// [`Scheme::SemVer`]).
    ///
    /// `GIT` and unknown range types fail with [`Error::UnsupportedRangeType`].
    pub fn from_raw(raw: &RawRange, ecosystem_scheme: Scheme) -> Result<Self, Error> {
        let (kind, scheme) = match raw.kind.as_str() {
            "SEMVER" => (RangeKind::SemVer, Scheme::SemVer),
            "ECOSYSTEM" => (RangeKind::Ecosystem, ecosystem_scheme),
            other => {
                return Err(Error::UnsupportedRangeType {
                    kind: other.to_owned(),
                });
            }
        };
        let mut events = Vec::with_capacity(raw.events.len());
        let (mut fixed, mut last_affected) = (None, None);
        for (index, event) in raw.events.iter().enumerate() {
            let fields = [
                &event.introduced,
                &event.fixed,
                &event.last_affected,
                &event.limit,
            ];
            let found = fields.iter().filter(|f| f.is_some()).count();
            let event = match (event, found) {
                (
                    RawEvent {
                        introduced: Some(v),
                        ..
                    },
                    1,
                ) if v == "0" => Event::Introduced(Introduced::Zero),
                (
                    RawEvent {
                        introduced: Some(v),
                        ..
                    },
                    1,
                ) => Event::Introduced(Introduced::At(Version::parse(scheme, v)?)),
                (RawEvent { fixed: Some(v), .. }, 1) => {
                    fixed.get_or_insert_with(|| v.clone());
                    Event::Fixed(Version::parse(scheme, v)?)
                }
                (
                    RawEvent {
                        last_affected: Some(v),
                        ..
                    },
                    1,
                ) => {
                    last_affected.get_or_insert_with(|| v.clone());
                    Event::LastAffected(Version::parse(scheme, v)?)
                }
                (RawEvent { limit: Some(v), .. }, 1) if v.contains('*') => {
                    Event::Limit(Limit::Unbounded)
                }
                (RawEvent { limit: Some(v), .. }, 1) => {
                    Event::Limit(Limit::Below(Version::parse(scheme, v)?))
                }
                _ => return Err(Error::MalformedEvent { index, found }),
            };
            events.push(event);
        }
        if !events.iter().any(|e| matches!(e, Event::Introduced(_))) {
            return Err(Error::MissingIntroduced);
        }
        if let (Some(fixed), Some(last_affected)) = (fixed, last_affected) {
            return Err(Error::FixedAndLastAffected {
                fixed,
                last_affected,
            });
        }
        Ok(Self {
            kind,
            scheme,
            events,
        })
    }

    /// `SEMVER` or `ECOSYSTEM`.
    pub fn kind(&self) -> RangeKind {
        self.kind
    }

    /// The scheme every version of this range was parsed with.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The events, in the order of the record.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The `fixed` versions of this range.
    pub fn fixed(&self) -> impl Iterator<Item = &Version> {
        self.events.iter().filter_map(|e| match e {
            Event::Fixed(v) => Some(v),
            _ => None,
        })
    }

    /// Whether `version` lies in this range.
    ///
    /// Fails with [`Error::SchemeMismatch`] when `version` was parsed by another scheme.
    pub fn contains(&self, version: &Version) -> Result<bool, Error> {
        if version.scheme() != self.scheme {
            return Err(Error::SchemeMismatch {
                expected: self.scheme,
                found: version.scheme(),
            });
        }
        Ok(self.before_limits(version) && self.affected_by_events(version))
    }

    /// OSV `BeforeLimits`: with no `limit` events everything is inside; otherwise the
    /// version must be below at least one limit.
    fn before_limits(&self, v: &Version) -> bool {
        let mut limits = self.events.iter().filter_map(|e| match e {
            Event::Limit(limit) => Some(limit),
            _ => None,
        });
        let mut any = false;
        let below = limits.any(|limit| {
            any = true;
            match limit {
                Limit::Unbounded => true,
                Limit::Below(l) => cmp(v, l) == Ordering::Less,
            }
        });
        below || !any
    }

    /// OSV `IncludedInRanges` for one range: walk the events sorted by version; an
    /// `introduced` at or below `v` makes it vulnerable, a `fixed` at or below `v` or a
    /// `last_affected` strictly below `v` makes it not vulnerable; the last event that
    /// applies wins.
    ///
    /// The last applicable event of the sorted walk is the greatest applicable event, so it
    /// is found without sorting (no allocation, and no dependence on the whole event list
    /// being consistently ordered). Where an `introduced` and a `fixed`/`last_affected`
    /// event name the same version, the schema leaves the order open; `introduced` is taken
    /// to come first, so `introduced: X, fixed: X` affects nothing and
    /// `introduced: X, last_affected: X` affects exactly `X`.
    fn affected_by_events(&self, v: &Version) -> bool {
        // (bound, rank, is_introduced); a bound of `None` is introduced "0".
        let mut last: Option<(Option<&Version>, u8, bool)> = None;
        for event in &self.events {
            let (bound, rank, applies, introduced) = match event {
                Event::Introduced(Introduced::Zero) => (None, 0, true, true),
                Event::Introduced(Introduced::At(i)) => (Some(i), 0, cmp(v, i).is_ge(), true),
                Event::Fixed(f) => (Some(f), 1, cmp(v, f).is_ge(), false),
                Event::LastAffected(l) => (Some(l), 1, cmp(v, l).is_gt(), false),
                Event::Limit(_) => continue,
            };
            if !applies {
                continue;
            }
            let later = last.is_none_or(|(last_bound, last_rank, _)| {
                let by_version = match (bound, last_bound) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(a), Some(b)) => cmp(a, b),
                };
                by_version.then(rank.cmp(&last_rank)).is_ge()
            });
            if later {
                last = Some((bound, rank, introduced));
            }
        }
        last.is_some_and(|(_, _, introduced)| introduced)
    }
}

/// Compares two versions known to share a scheme (every version of a [`Range`] does, and
/// [`Range::contains`] checks its argument).
fn cmp(a: &Version, b: &Version) -> Ordering {
    a.partial_cmp(b).unwrap_or(Ordering::Equal)
}

/// The validated affected versions of one OSV `affected[]` entry: its ecosystem, its
/// `SEMVER`/`ECOSYSTEM` ranges and its explicit `versions` list.
///
/// `GIT` ranges are skipped (counted in [`skipped_git_ranges`](Self::skipped_git_ranges)):
/// they need the repository's commit graph, and the OSV schema requires records with `GIT`
/// ranges to list the affected `versions` explicitly.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedVersions {
    ecosystem: Ecosystem,
    ranges: Vec<Range>,
    versions: Vec<Version>,
    skipped_git_ranges: usize,
}

impl TryFrom<RawAffected> for AffectedVersions {
    type Error = Error;

    fn try_from(raw: RawAffected) -> Result<Self, Error> {
        let ecosystem: Ecosystem = raw.ecosystem.parse()?;
        Self::new(ecosystem, &raw.ranges, &raw.versions)
    }
}

impl AffectedVersions {
    /// Validates the ranges and versions of an `affected[]` entry of `ecosystem`.
    ///
    /// Fails on the first malformed range or unparseable version.
    pub fn new(
        ecosystem: Ecosystem,
        ranges: &[RawRange],
        versions: &[String],
    ) -> Result<Self, Error> {
        let scheme = ecosystem.scheme();
        let mut skipped_git_ranges = 0;
        let mut parsed = Vec::with_capacity(ranges.len());
        for raw in ranges {
            if raw.kind == "GIT" {
                skipped_git_ranges += 1;
                continue;
            }
            parsed.push(Range::from_raw(raw, scheme)?);
        }
        let versions = versions
            .iter()
            .map(|v| Version::parse(scheme, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            ecosystem,
            ranges: parsed,
            versions,
            skipped_git_ranges,
        })
    }

    /// The ecosystem of the entry.
    pub fn ecosystem(&self) -> &Ecosystem {
        &self.ecosystem
    }

    /// The `SEMVER` and `ECOSYSTEM` ranges.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// The explicit `versions` list, parsed by the ecosystem's scheme.
    pub fn versions(&self) -> &[Version] {
        &self.versions
    }

    /// How many `GIT` ranges the entry had (not evaluated).
    pub fn skipped_git_ranges(&self) -> usize {
        self.skipped_git_ranges
    }

    /// Every `fixed` version of every range.
    pub fn fixed_versions(&self) -> impl Iterator<Item = &Version> {
        self.ranges.iter().flat_map(Range::fixed)
    }

    /// OSV `IsVulnerable` for one entry: `version` (a string of the entry's ecosystem) is
    /// affected if it equals a listed version or lies in any range.
    ///
    /// Listed versions are compared by the ecosystem's equivalence (`1.0` equals `1.0.0` in
    /// PyPI), not as strings. Fails if `version` does not parse.
    pub fn contains(&self, version: &str) -> Result<bool, Error> {
        self.contains_version(&Version::parse(self.ecosystem.scheme(), version)?)
    }

    /// Like [`contains`](Self::contains) for a version already parsed by the ecosystem's
    /// scheme; fails with [`Error::SchemeMismatch`] for a version of another scheme.
    pub fn contains_version(&self, version: &Version) -> Result<bool, Error> {
        let scheme = self.ecosystem.scheme();
        if version.scheme() != scheme {
            return Err(Error::SchemeMismatch {
                expected: scheme,
                found: version.scheme(),
            });
        }
        if self.versions.iter().any(|listed| listed == version) {
            return Ok(true);
        }
        // SEMVER ranges of a non-SemVer ecosystem need the version in SemVer form; parse it
        // at most once.
        let mut as_semver = None;
        for range in &self.ranges {
            let hit = if range.scheme() == scheme {
                range.contains(version)?
            } else {
                if as_semver.is_none() {
                    as_semver = Some(Version::parse(range.scheme(), version.as_str())?);
                }
                match &as_semver {
                    Some(v) => range.contains(v)?,
                    None => false,
                }
            };
            if hit {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
