//! Money parsing: never panics; whatever it accepts is positive, at the currency's
//! scale, and survives a round trip through minor units and its plain string.
#![no_main]
use app::model::money::{Currency, Money};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for currency in Currency::ALL {
        if let Ok(money) = Money::parse_positive(text, currency) {
            assert!(!money.is_negative());
            let minor = money.to_minor().expect("an accepted amount fits in minor units");
            assert!(minor > 0);
            assert_eq!(Money::from_minor(minor, currency), money);
            assert_eq!(Money::parse_positive(&money.to_plain_string(), currency), Ok(money));
            let _ = money.to_string();
        }
    }
});
