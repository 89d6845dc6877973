//! Configuration, read once from the environment. Every variable has a default that
//! works on a fresh machine; the README lists them.

use app::domain::gateways::paypal::{PayPal, PayPalConfig};
use app::domain::gateways::stripe::{Stripe, StripeConfig};
use app::domain::gateways::vnpay::{VnPay, VnPayConfig};
use app::domain::gateways::{Gateways, http_client};
use app::model::money::{Currency, Money};
use secrecy::SecretString;
use std::path::PathBuf;
use std::sync::Arc;

/// The server's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the SQLite database lives when `DATABASE_URL` is unset (`DATA_DIR`, default `data`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`DATABASE_URL`, default an SQLite file in the data dir).
    pub database_url: String,
    /// The most database connections the server holds (`DATABASE_POOL_SIZE`; default
    /// SQLite 8, PostgreSQL 16).
    pub database_pool_size: Option<u32>,
    /// The address the public reaches us at (`PUBLIC_URL`); https makes cookies Secure.
    pub public_url: String,
    /// The payment gateways' settings.
    pub payments: PaymentSettings,
    /// How long usage-API idempotency records are kept (`IDEMPOTENCY_RETENTION_DAYS`,
    /// default 30).
    pub idempotency_retention_days: i64,
    /// How many days an unpaid plan renewal keeps its plan before the free plan
    /// (`PLAN_GRACE_DAYS`, default 3).
    pub plan_grace_days: i64,
    /// From which amount, per currency, an operator's adjustment waits for a second
    /// operator (`ADJUSTMENT_APPROVAL_AT=VND:5000000,JPY:30000,USD:200,EUR:200`, the
    /// defaults; currencies left out keep theirs).
    pub approval_thresholds: app::domain::adjustment::Thresholds,
    /// Behind a reverse proxy we trust (`TRUSTED_PROXY=on`): the client's address is
    /// the last one in `X-Forwarded-For`.
    pub trusted_proxy: bool,
}

/// Where and how we reach VNPay, Stripe and PayPal. With `PAYMENT_SANDBOX=on` every
/// gateway is the sandbox built into this server (see `sandbox`), with secrets made up
/// per process unless configured; otherwise each gateway needs its variables, and the
/// server refuses to start without them.
#[derive(Clone, Debug)]
pub struct PaymentSettings {
    pub sandbox: bool,
    pub vnpay: VnPayConfig,
    pub stripe: StripeConfig,
    pub paypal: PayPalConfig,
    /// How long a pending payment waits for its gateway (`PAYMENT_TTL_MINUTES`, 15).
    pub ttl_minutes: i64,
    /// The largest single top-up, in minor units (`TOP_UP_MAX_VND`, …, whole units).
    pub maximum_minor: Vec<(Currency, i64)>,
    /// Variables live mode needs and lacks.
    pub missing: Vec<&'static str>,
    /// Live settings that point at a test environment (`sk_test_` keys, sandbox hosts);
    /// live mode refuses to start with any unless `PAYMENT_ALLOW_TEST_MODE=on`.
    pub test_mode: Vec<String>,
    pub allow_test_mode: bool,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

/// A secret from the environment, or (sandbox only) a random one for this process.
fn secret(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    sandbox: bool,
    missing: &mut Vec<&'static str>,
) -> SecretString {
    match lookup(name) {
        Some(s) => SecretString::from(s),
        None => {
            if !sandbox {
                missing.push(name);
            }
            SecretString::from(app::domain::api_key::random_token())
        }
    }
}

/// What in live settings points at a test environment rather than real money.
fn test_mode_signs(
    vnpay: &VnPayConfig,
    stripe: &StripeConfig,
    paypal: &PayPalConfig,
) -> Vec<String> {
    use secrecy::ExposeSecret;
    let mut signs = Vec::new();
    let key = stripe.secret_key.expose_secret();
    if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
        signs.push("STRIPE_SECRET_KEY is a test-mode key".to_owned());
    }
    for (name, url) in [
        ("VNPAY_PAY_URL", vnpay.pay_url.as_str()),
        ("VNPAY_API_URL", vnpay.api_url.as_str()),
        ("STRIPE_API_BASE", stripe.api_base.as_str()),
        ("PAYPAL_API_BASE", paypal.api_base.as_str()),
    ] {
        if url.contains("sandbox") || !url.starts_with("https://") {
            signs.push(format!("{name} ({url}) is a sandbox or not https"));
        }
    }
    signs
}

impl PaymentSettings {
    fn from_env(self_url: &str) -> PaymentSettings {
        Self::read(self_url, &var)
    }

    /// The settings from `lookup` (the environment, or a test's own values).
    pub fn read(self_url: &str, lookup: &dyn Fn(&str) -> Option<String>) -> PaymentSettings {
        let sandbox = matches!(
            lookup("PAYMENT_SANDBOX").as_deref(),
            Some("on" | "1" | "true" | "yes")
        );
        let mut missing = Vec::new();
        let mut plain = |name: &'static str, sandbox_value: &str| match lookup(name) {
            Some(v) => v,
            None => {
                if !sandbox {
                    missing.push(name);
                }
                sandbox_value.to_owned()
            }
        };
        let base = |live: &str, sandbox_path: &str| {
            if sandbox {
                format!("{self_url}{sandbox_path}")
            } else {
                live.to_owned()
            }
        };
        let tmn_code = plain("VNPAY_TMN_CODE", "SANDBOX1");
        let client_id = plain("PAYPAL_CLIENT_ID", "sandbox-client");
        let webhook_id = plain("PAYPAL_WEBHOOK_ID", "WH-SANDBOX");
        let vnpay = VnPayConfig {
            tmn_code,
            hash_secret: secret(lookup, "VNPAY_HASH_SECRET", sandbox, &mut missing),
            pay_url: lookup("VNPAY_PAY_URL").unwrap_or_else(|| {
                base(
                    "https://pay.vnpay.vn/vpcpay.html",
                    "/sandbox/vnpay/paymentv2/vpcpay.html",
                )
            }),
            return_url: String::new(),
            api_url: lookup("VNPAY_API_URL").unwrap_or_else(|| {
                base(
                    "https://merchant.vnpay.vn/merchant_webapi/api/transaction",
                    "/sandbox/vnpay/merchant_webapi/api/transaction",
                )
            }),
        };
        let stripe = StripeConfig {
            api_base: lookup("STRIPE_API_BASE")
                .unwrap_or_else(|| base("https://api.stripe.com", "/sandbox/stripe")),
            secret_key: secret(lookup, "STRIPE_SECRET_KEY", sandbox, &mut missing),
            webhook_secret: secret(lookup, "STRIPE_WEBHOOK_SECRET", sandbox, &mut missing),
        };
        let paypal = PayPalConfig {
            api_base: lookup("PAYPAL_API_BASE")
                .unwrap_or_else(|| base("https://api-m.paypal.com", "/sandbox/paypal")),
            client_id,
            client_secret: secret(lookup, "PAYPAL_CLIENT_SECRET", sandbox, &mut missing),
            webhook_id,
        };
        let ttl_minutes = lookup("PAYMENT_TTL_MINUTES")
            .and_then(|v| v.parse().ok())
            .filter(|m| *m > 0)
            .unwrap_or(15);
        let maximum_minor = Currency::ALL
            .into_iter()
            .map(|c| {
                let default_units: i64 = match c {
                    Currency::Vnd => 1_000_000_000,
                    Currency::Jpy => 10_000_000,
                    Currency::Usd | Currency::Eur => 100_000,
                };
                let units = lookup(&format!("TOP_UP_MAX_{}", c.code()))
                    .and_then(|v| Money::parse_positive(&v, c).ok())
                    .and_then(|m| m.to_minor())
                    .unwrap_or(default_units * 10_i64.pow(c.minor_units()));
                (c, units)
            })
            .collect();
        let test_mode = test_mode_signs(&vnpay, &stripe, &paypal);
        PaymentSettings {
            test_mode,
            allow_test_mode: matches!(
                lookup("PAYMENT_ALLOW_TEST_MODE").as_deref(),
                Some("on" | "1" | "true" | "yes")
            ),
            sandbox,
            vnpay,
            stripe,
            paypal,
            ttl_minutes,
            maximum_minor,
            missing,
        }
    }

    /// The gateway clients, ready to use.
    pub fn gateways(&self, public_url: &str) -> Gateways {
        let http = http_client();
        let maximum = self.maximum_minor.clone();
        Gateways {
            vnpay: Arc::new(VnPay {
                config: self.vnpay.clone(),
                http: http.clone(),
            }),
            stripe: Arc::new(Stripe {
                config: self.stripe.clone(),
                http: http.clone(),
            }),
            paypal: Arc::new(PayPal::new(self.paypal.clone(), http)),
            ttl: chrono::Duration::minutes(self.ttl_minutes),
            public_url: public_url.to_owned(),
            maximum: Arc::new(move |c| {
                let minor = maximum.iter().find(|(k, _)| *k == c).map_or(0, |(_, m)| *m);
                Money::from_minor(minor, c)
            }),
        }
    }
}

impl Config {
    /// Reads the environment.
    pub fn from_env() -> Config {
        let data_dir = PathBuf::from(std::env::var("DATA_DIR").unwrap_or_else(|_| "data".into()));
        let database_url = std::env::var("DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("billing.db").display()
                )
            });
        let public_url = var("PUBLIC_URL").unwrap_or_else(|| {
            format!(
                "http://{}",
                var("LEPTOS_SITE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into())
            )
        });
        let public_url = public_url.trim_end_matches('/').to_owned();
        let idempotency_retention_days = var("IDEMPOTENCY_RETENTION_DAYS")
            .and_then(|v| v.parse().ok())
            .filter(|d| *d > 0)
            .unwrap_or(30);
        let plan_grace_days = var("PLAN_GRACE_DAYS")
            .and_then(|v| v.parse().ok())
            .filter(|d| *d >= 0)
            .unwrap_or(app::domain::plan::DEFAULT_GRACE_DAYS);
        let approval_thresholds = match app::domain::adjustment::Thresholds::parse(
            &var("ADJUSTMENT_APPROVAL_AT").unwrap_or_default(),
        ) {
            Ok(t) => t,
            Err(e) => {
                // A money rule set wrong must stop the server, not fall back quietly.
                eprintln!("ADJUSTMENT_APPROVAL_AT: {e}");
                std::process::exit(2);
            }
        };
        let database_pool_size = match var("DATABASE_POOL_SIZE").map(|v| v.parse::<u32>()) {
            None => None,
            Some(Ok(size)) if size > 0 => Some(size),
            Some(_) => {
                eprintln!("DATABASE_POOL_SIZE: give a whole number of connections, 1 or more");
                std::process::exit(2);
            }
        };
        Config {
            database_pool_size,
            plan_grace_days,
            approval_thresholds,
            trusted_proxy: matches!(
                var("TRUSTED_PROXY").as_deref(),
                Some("on" | "1" | "true" | "yes")
            ),
            idempotency_retention_days,
            data_dir,
            database_url,
            payments: PaymentSettings::from_env(&public_url),
            public_url,
        }
    }

    /// Whether we are served over https, so cookies must be `Secure`.
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The database URL with any password hidden, for logs.
    pub fn database_for_log(&self) -> String {
        match self.database_url.split_once('@') {
            Some((left, right)) if left.contains("://") => {
                let scheme = left.split("://").next().unwrap_or_default();
                format!("{scheme}://…@{right}")
            }
            _ => self.database_url.clone(),
        }
    }

    /// Creates the data directory if the database is an SQLite file in it.
    pub fn prepare(&self) -> std::io::Result<()> {
        if self.database_url.starts_with("sqlite") {
            std::fs::create_dir_all(&self.data_dir)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PaymentSettings;

    fn live(overrides: &[(&str, &str)]) -> PaymentSettings {
        let values: Vec<(String, String)> = [
            ("VNPAY_TMN_CODE", "LIVE0001"),
            ("VNPAY_HASH_SECRET", "h"),
            ("STRIPE_SECRET_KEY", "sk_live_x"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_x"),
            ("PAYPAL_CLIENT_ID", "c"),
            ("PAYPAL_CLIENT_SECRET", "s"),
            ("PAYPAL_WEBHOOK_ID", "w"),
        ]
        .iter()
        .chain(overrides)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        PaymentSettings::read("https://billing.example", &|name| {
            values
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn live_mode_names_test_keys_and_sandbox_hosts() {
        assert!(live(&[]).test_mode.is_empty(), "{:?}", live(&[]).test_mode);
        assert!(live(&[]).missing.is_empty());
        let test = live(&[
            ("STRIPE_SECRET_KEY", "sk_test_x"),
            (
                "VNPAY_PAY_URL",
                "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
            ),
            ("PAYPAL_API_BASE", "https://api-m.sandbox.paypal.com"),
        ]);
        assert_eq!(test.test_mode.len(), 3, "{:?}", test.test_mode);
        assert!(!test.allow_test_mode);
        assert!(live(&[("PAYMENT_ALLOW_TEST_MODE", "on")]).allow_test_mode);
    }
}
