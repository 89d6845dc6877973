//! The usage API's body: never panics; an accepted body has no NUL or other control
//! characters in its names, and its fingerprint is stable.
#![no_main]
use app::domain::usage::ChargeBody;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(parsed) = ChargeBody::parse(body) {
        assert!(!parsed.account_id.contains('\0'));
        assert!(!parsed.resource.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
        assert_eq!(parsed.fingerprint(), ChargeBody::parse(body).unwrap().fingerprint());
        for currency in app::model::money::Currency::ALL {
            let _ = parsed.amount_in(currency);
        }
    }
});
