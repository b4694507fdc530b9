//! Ordering laws on generated versions: reflexivity, antisymmetry and transitivity for
//! every scheme, on well-formed versions and on arbitrary strings over each scheme's
//! alphabet; and parsing never panics.

use std::cmp::Ordering;

use proptest::prelude::*;
use vouch_version::{Scheme, Version};

/// Checks the laws over a set of versions: sort them with an insertion sort (which cannot
/// panic on an inconsistent order) and require every pair to compare as sorted. A broken
/// antisymmetry or transitivity among the inputs surfaces as a pair out of order.
fn assert_total_order(scheme: Scheme, inputs: &[String]) -> Result<(), TestCaseError> {
    let mut versions: Vec<Version> = inputs
        .iter()
        .filter_map(|s| Version::parse(scheme, s).ok())
        .collect();
    for v in &versions {
        prop_assert_eq!(v.partial_cmp(v), Some(Ordering::Equal), "{} reflexive", v);
    }
    for a in &versions {
        for b in &versions {
            let (ab, ba) = (a.partial_cmp(b), b.partial_cmp(a));
            prop_assert_eq!(
                ab.map(Ordering::reverse),
                ba,
                "antisymmetry: {} vs {}",
                a,
                b
            );
        }
    }
    for i in 1..versions.len() {
        let mut j = i;
        while j > 0 && versions[j - 1] > versions[j] {
            versions.swap(j - 1, j);
            j -= 1;
        }
    }
    for i in 0..versions.len() {
        for j in i + 1..versions.len() {
            prop_assert!(
                versions[i] <= versions[j],
                "transitivity: {} sorted before {} but compares {:?}",
                versions[i],
                versions[j],
                versions[i].partial_cmp(&versions[j])
            );
        }
    }
    Ok(())
}

/// (scheme, well-formed pattern, arbitrary-alphabet pattern)
const SCHEMES: &[(Scheme, &str, &str)] = &[
    (
        Scheme::Debian,
        "([0-9]:)?[0-9]{1,2}(\\.[0-9a-z]{1,2}){0,2}([~+][a-z0-9]{1,3})?(-[0-9]{1,2}([~+.][a-z0-9]{1,3})?)?",
        "[0-9a-z.+~:-]{1,8}",
    ),
    (
        Scheme::Alpine,
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}[a-c]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]?){0,2}(~[0-9a-f]{1,3})?(-r[0-9]{1,2})?",
        "[0-9a-z._~r-]{1,8}",
    ),
    (
        Scheme::Rpm,
        "([0-9]:)?[0-9]{1,2}(\\.[0-9a-z]{1,2}){0,2}([~^][a-z0-9]{1,3})?(-[0-9]{1,2}(\\.el[0-9])?)?",
        "[0-9a-zA-Z.~^_+:-]{1,8}",
    ),
    (
        Scheme::SemVer,
        "v?[0-9]{1,2}(\\.[0-9]{1,2}){0,4}(-[0-9a-zA-Z]{1,3}(\\.[0-9a-zA-Z]{1,3}){0,2})?(\\+[0-9a-z]{1,3})?",
        "v?[0-9][0-9a-zA-Z.+-]{0,8}",
    ),
    (
        Scheme::NuGet,
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,4}(-[0-9a-zA-Z]{1,3}(\\.[0-9a-zA-Z]{1,3}){0,2})?(\\+[0-9a-zA-Z]{1,3})?",
        "[0-9][0-9a-zA-Z.+-]{0,8}",
    ),
    (
        Scheme::PyPI,
        "([0-9]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,3}((a|b|rc|c|alpha|beta|pre)[0-9]?)?(\\.post[0-9]|-[0-9])?(\\.dev[0-9]?)?(\\+[a-z0-9]{1,3}(\\.[a-z0-9]{1,3})?)?",
        "[0-9a-z.!+_-]{1,8}",
    ),
    (
        Scheme::Maven,
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}([.-](alpha|beta|milestone|rc|cr|snapshot|ga|final|sp|a|b|m|foo)[0-9]?){0,2}(-[0-9])?",
        "[0-9a-cmprsA.-]{1,8}",
    ),
    (
        Scheme::RubyGems,
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,3}(\\.(a|b|pre|rc)[0-9]?)?",
        "[0-9a-c.-]{1,8}",
    ),
    (
        Scheme::Packagist,
        "v?[0-9]{1,2}(\\.[0-9]{1,2}){0,3}(-(dev|alpha|beta|RC|rc|pl|p|foo)[0-9]?)?",
        // No `#`: PHP's placeholder is documented as breaking transitivity.
        "[vV]?[0-9a-eprlRC._+-]{1,8}",
    ),
];

fn check_scheme(index: usize, well_formed: bool) {
    let (scheme, pattern, alphabet) = SCHEMES[index];
    let pattern = if well_formed { pattern } else { alphabet };
    let strategy = proptest::collection::vec(
        proptest::string::string_regex(pattern).expect("pattern"),
        2..12,
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
    let result = runner.run(&strategy, |inputs| assert_total_order(scheme, &inputs));
    if let Err(e) = result {
        panic!(
            "{scheme} ({}): {e}",
            if well_formed {
                "well-formed"
            } else {
                "arbitrary"
            }
        );
    }
}

#[test]
fn orders_are_total_on_well_formed_versions() {
    for i in 0..SCHEMES.len() {
        check_scheme(i, true);
    }
}

#[test]
fn orders_are_total_on_arbitrary_strings() {
    for i in 0..SCHEMES.len() {
        check_scheme(i, false);
    }
}

proptest! {
    #[test]
    fn parsing_never_panics(input in ".{0,40}") {
        for (scheme, _, _) in SCHEMES {
            if let Ok(v) = Version::parse(*scheme, &input) {
                prop_assert_eq!(v.as_str(), input.as_str());
                prop_assert_eq!(v.partial_cmp(&v), Some(Ordering::Equal));
            }
        }
    }
}
