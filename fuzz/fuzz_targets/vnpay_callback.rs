//! VNPay's return/IPN query and `querydr` answer readers: never panic on any input,
//! and never accept an unsigned call.
#![no_main]
use app::domain::gateways::vnpay::{VnPayConfig, read_querydr, verify};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use std::collections::BTreeMap;

fuzz_target!(|raw: &[u8]| {
    let secret = SecretString::from("fuzz-secret".to_owned());
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(raw);
    if verify(&secret, &pairs).is_ok() {
        // Only a call carrying a signature can verify, and a fuzzer cannot forge one.
        assert!(pairs.iter().any(|(k, _)| k == "vnp_SecureHash"));
    }
    let config = VnPayConfig {
        tmn_code: "FUZZ".into(),
        hash_secret: secret,
        pay_url: String::new(),
        return_url: String::new(),
        api_url: String::new(),
    };
    let answer: BTreeMap<String, String> = pairs.into_iter().collect();
    let _ = read_querydr(&config, &answer);
});

fn form_urlencoded_pairs(raw: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(raw)
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
