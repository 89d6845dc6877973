//! PayPal's webhook: the transmission-header check and the order/capture readers never
//! panic on any input.
#![no_main]
use app::domain::gateways::Notification;
use app::domain::gateways::paypal::{Transmission, order_outcome, read_capture};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<(String, String)>, &[u8])| {
    let (headers, body) = input;
    let call = Notification {
        query: Vec::new(),
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect(),
        body: body.to_vec(),
    };
    let _ = Transmission::read(&call);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = order_outcome(&value);
        let _ = read_capture(&value["resource"]);
    }
});
