//! Licences resolved against the licence text when the declaration is ambiguous: a Python
//! distribution that says only "BSD" (or the trove classifier "BSD License") is
//! BSD-2-Clause or BSD-3-Clause by what its LICENSE file says.
#![allow(clippy::unwrap_used, missing_docs)]

const BSD2: &str = "Copyright (c) The python-semanticversion project\nAll rights reserved.\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are met:\n\n1. Redistributions of source code must retain the above copyright notice, this\n   list of conditions and the following disclaimer.\n2. Redistributions in binary form must reproduce the above copyright notice,\n   this list of conditions and the following disclaimer in the documentation\n   and/or other materials provided with the distribution.\n\nTHIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS \"AS IS\"\n";

const BSD3: &str = "Copyright 2010 Pallets\n\nRedistribution and use in source and binary forms, with or without\nmodification, are permitted provided that the following conditions are\nmet:\n\n1.  Redistributions of source code must retain the above copyright\n    notice, this list of conditions and the following disclaimer.\n\n2.  Redistributions in binary form must reproduce the above copyright\n    notice, this list of conditions and the following disclaimer in the\n    documentation and/or other materials provided with the distribution.\n\n3.  Neither the name of the copyright holder nor the names of its\n    contributors may be used to endorse or promote products derived from\n    this software without specific prior written permission.\n";

#[test]
fn bare_bsd_is_read_from_the_licence_text() {
    let site = "usr/lib/python3/dist-packages";
    let files: Vec<(String, String)> = vec![
        (
            format!("{site}/semantic_version-2.10.0.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: semantic_version\nVersion: 2.10.0\nLicense: BSD\nClassifier: License :: OSI Approved :: BSD License\n".into(),
        ),
        (
            format!("{site}/semantic_version-2.10.0.dist-info/LICENSE"),
            BSD2.into(),
        ),
        (
            format!("{site}/itsdangerous-2.1.2.dist-info/METADATA"),
            "Metadata-Version: 2.4\nName: itsdangerous\nVersion: 2.1.2\nClassifier: License :: OSI Approved :: BSD License\nLicense-File: LICENSE.rst\n".into(),
        ),
        (
            format!("{site}/itsdangerous-2.1.2.dist-info/licenses/LICENSE.rst"),
            BSD3.into(),
        ),
        (
            format!("{site}/ply-3.11.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: ply\nVersion: 3.11\nLicense: BSD\n".into(),
        ),
        (
            format!("{site}/explicit-1.0.dist-info/METADATA"),
            "Metadata-Version: 2.1\nName: explicit\nVersion: 1.0\nLicense: BSD-2-Clause\n".into(),
        ),
        (format!("{site}/explicit-1.0.dist-info/LICENSE"), BSD3.into()),
    ];
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_bytes()))
        .collect();
    let sbom = vouch_sbom::catalog_files(&refs).unwrap();
    let lic = |n: &str| {
        sbom.packages
            .iter()
            .find(|p| p.name == n)
            .unwrap_or_else(|| panic!("{n}: {:#?}", sbom.packages))
            .licenses
            .clone()
    };
    assert_eq!(lic("semantic-version"), ["BSD-2-Clause"]);
    assert_eq!(
        lic("itsdangerous"),
        ["BSD-3-Clause"],
        "PEP 639 licenses/ file"
    );
    // No text: the declaration as the SPDX list's imprecise match reads it.
    assert_eq!(lic("ply"), ["BSD-2-Clause"]);
    // An explicit SPDX id is not second-guessed.
    assert_eq!(lic("explicit"), ["BSD-2-Clause"]);
    assert!(sbom.warnings.is_empty(), "{:#?}", sbom.warnings);
}
