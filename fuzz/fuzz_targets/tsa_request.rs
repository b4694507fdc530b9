//! Property: an RFC 3161 `TimeStampReq` (DER from any client of `vouch tsa serve`, or
//! sigstore's JSON request form) is parsed or refused with a rejection status, never a panic;
//! a refusal encodes to a DER `TimeStampResp`; the authority either grants an accepted
//! request with a DER response that embeds the request's nonce bytes, or rejects it with a
//! status.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vouch_tsa::{Config, Material, TimestampAuthority, TimestampRequest};

fn authority() -> &'static TimestampAuthority {
    static TSA: OnceLock<TimestampAuthority> = OnceLock::new();
    TSA.get_or_init(|| {
        let material = Material::generate("fuzz").expect("material");
        TimestampAuthority::new(&material, &Config::default()).expect("authority")
    })
}

fuzz_target!(|data: &[u8]| {
    for parsed in [
        TimestampRequest::from_der(data),
        TimestampRequest::from_json(data),
    ] {
        let request = match parsed {
            Ok(request) => request,
            Err(rejection) => {
                assert!(!rejection.to_der().is_empty());
                continue;
            }
        };
        match authority().timestamp(&request) {
            Ok(issued) => {
                if let Some(nonce) = request.nonce() {
                    assert!(
                        issued.response.windows(nonce.len()).any(|w| w == nonce),
                        "granted response without the request's nonce"
                    );
                }
            }
            Err(rejection) => assert!(!rejection.to_der().is_empty()),
        }
    }
});
