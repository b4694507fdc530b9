//! Property: a Fulcio issuer configuration (`vouch ca serve --issuers FILE`, JSON or YAML; an
//! operator's file, but parsed before anything else runs) never panics the loader; a loaded
//! configuration answers lookups and renders its CI templates over arbitrary claims without
//! panicking, and every issuer it lists is found again by its own URL.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vouch_ca::oidc::IssuerSet;

fuzz_target!(|data: &[u8]| {
    let Ok(set) = IssuerSet::from_fulcio_config(data) else {
        return;
    };
    for issuer in set.exact() {
        let found = set.lookup(&issuer.issuer_url).expect("listed issuer found");
        assert_eq!(found.issuer_type, issuer.issuer_type);
        if let Some(provider) = &issuer.ci_provider {
            let metadata = set.metadata(provider).expect("validated metadata exists");
            let data: std::collections::HashMap<String, String> = [("url", "u"), ("ref", "r")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            let _ = metadata.subject_alternative_name_template.apply(&data);
            for template in metadata.extension_templates.values() {
                let _ = template.apply(&data);
            }
        }
    }
    let _ = set.to_configuration();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = set.lookup(text);
    }
});
