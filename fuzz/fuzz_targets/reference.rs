//! Property: a reference that parses prints to a string that parses to the same reference.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(r) = vouch_oci::Reference::parse(s) {
        let again = vouch_oci::Reference::parse(&r.to_string()).expect("printed reference reparses");
        assert_eq!(again, r);
    }
});
