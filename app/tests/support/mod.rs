//! A fresh database per test (and per benchmark), on SQLite (a temporary file) or PostgreSQL (a new
//! database on the server, dropped afterwards), chosen by `BILLING_TEST_DB`.
//!
//! - `BILLING_TEST_DB=sqlite` (the default): a WAL file in a temporary directory.
//! - `BILLING_TEST_DB=postgres`: `BILLING_TEST_PG_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`) must answer; the test fails, with
//!   instructions, if it does not.
#![allow(dead_code, clippy::unwrap_used)]

use app::domain::db::{Db, now};
use app::domain::entities::user;
use app::domain::{account, ledger};
use app::model::money::Currency;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Database};
use std::sync::atomic::{AtomicU32, Ordering};

pub struct TestDb {
    pub db: Db,
    /// Where the database is, for a second connection pool (another "process").
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

fn pg_admin_url() -> String {
    std::env::var("BILLING_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("BILLING_TEST_DB").as_deref() {
            Ok("postgres") => Self::postgres().await,
            Ok("sqlite") | Err(_) => Self::sqlite().await,
            Ok(other) => panic!("BILLING_TEST_DB={other:?}: use sqlite or postgres"),
        }
    }

    /// Another connection pool on the same database, as a second server process has.
    pub async fn another_process(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A fresh SQLite file database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        TestDb {
            db: Db::connect(&url).await.unwrap(),
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh database on the PostgreSQL server, dropped when this is.
    pub async fn postgres() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = pg_admin_url();
        let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL test run could not connect to {admin_url}: {e}\n\
                 Start PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), or point the \
                 tests at a server with BILLING_TEST_PG_URL=postgres://user:password@host:port/postgres"
            )
        });
        let name = format!(
            "billing_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            uuid_suffix()
        );
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let url = format!("{base}/{name}");
        let db = Db::connect(&url).await.unwrap();
        TestDb {
            db,
            url,
            _dir: None,
            postgres: Some((admin_url, name)),
        }
    }
}

fn uuid_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; the cleanup needs one of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// A customer user with an account in `currency`; returns the account id. The password
/// hash is a placeholder: these tests never sign in, and Argon2 would slow them down.
pub async fn customer(db: &Db, email: &str, currency: Currency) -> String {
    let at = now();
    let user = user::ActiveModel {
        email: Set(email.to_owned()),
        password_hash: Set("not-a-hash".to_owned()),
        role: Set("customer".to_owned()),
        time_zone: Set("UTC".to_owned()),
        language: Set("en".to_owned()),
        date_format: Set("ymd".to_owned()),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db.conn())
    .await
    .unwrap();
    account::open(db.conn(), user.id, currency, None, at)
        .await
        .unwrap()
        .id
}

/// A gateway whose `query` answers what a test scripted, per payment reference: the
/// expiry job's view of the gateway, without a network. Starting, returns and
/// callbacks are not its part (the tests settle callbacks through `payment::settle`).
pub mod scripted {
    use app::domain::entities::payment as payment_row;
    use app::domain::gateways::{
        Answer, Checkout, Event, GatewayError, Gateways, Heard, Notification, PaymentGateway,
        Started,
    };
    use app::domain::payment::Outcome;
    use app::model::money::Money;
    use app::model::top_up::Gateway;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    /// What the gateway says about a payment when asked.
    #[derive(Clone, Debug)]
    pub enum Said {
        Paid(Money),
        /// Closed unpaid (never paid).
        Unpaid,
        /// Still open: ask again later.
        Open,
        /// Cannot be reached.
        Down,
    }

    #[derive(Default)]
    pub struct Scripted {
        pub gateway: Option<Gateway>,
        pub answers: Mutex<HashMap<String, Said>>,
        /// How many times it was asked.
        pub asked: Mutex<usize>,
    }

    impl Scripted {
        pub fn say(&self, reference: &str, said: Said) {
            self.answers
                .lock()
                .unwrap()
                .insert(reference.to_owned(), said);
        }
    }

    #[async_trait::async_trait]
    impl PaymentGateway for Scripted {
        fn gateway(&self) -> Gateway {
            self.gateway.unwrap_or(Gateway::VnPay)
        }
        async fn start(&self, _: &Checkout<'_>) -> Result<Started, GatewayError> {
            Err(GatewayError::Unreachable("scripted".into()))
        }
        async fn returned(
            &self,
            _: &payment_row::Model,
            _: &[(String, String)],
        ) -> Result<Option<Outcome>, GatewayError> {
            Ok(None)
        }
        async fn notified(&self, _: &Notification) -> Result<Option<Event>, GatewayError> {
            Ok(None)
        }
        async fn query(
            &self,
            payment: &payment_row::Model,
        ) -> Result<Option<Outcome>, GatewayError> {
            *self.asked.lock().unwrap() += 1;
            let said = self
                .answers
                .lock()
                .unwrap()
                .get(&payment.reference)
                .cloned();
            match said.unwrap_or(Said::Unpaid) {
                Said::Paid(amount) => Ok(Some(Outcome::Paid {
                    amount,
                    gateway_ref: Some(format!("Q-{}", payment.reference)),
                })),
                Said::Unpaid => Ok(Some(Outcome::GaveUp {
                    reason: app::domain::gateways::failure::Failure::Unknown {
                        gateway: self.gateway.unwrap_or(Gateway::VnPay),
                    },
                })),
                Said::Open => Ok(None),
                Said::Down => Err(GatewayError::Unreachable("scripted outage".into())),
            }
        }
        fn answer(&self, _: &Heard) -> Answer {
            Answer {
                status: 200,
                content_type: "application/json",
                body: "{}".into(),
            }
        }
    }

    /// Gateways that are all this scripted one.
    pub fn gateways(scripted: Arc<Scripted>) -> Gateways {
        Gateways {
            vnpay: scripted.clone(),
            stripe: scripted.clone(),
            paypal: scripted,
            ttl: chrono::Duration::minutes(15),
            public_url: "http://billing.test".into(),
            maximum: Arc::new(|c| Money::from_minor(10_000_000_000, c)),
        }
    }
}

/// The account's credit (top-up and voucher) in minor units of `currency`.
pub async fn total(db: &Db, account_id: &str, currency: Currency) -> i64 {
    ledger::balances(db.conn(), account_id, currency)
        .await
        .unwrap()
        .total()
        .to_minor()
        .unwrap()
}

/// The account's books balance: each balance equals the sum of its Success rows
/// (`ledger::audit`).
pub async fn assert_books_balance(db: &Db, account_id: &str) {
    let problems = ledger::audit(db.conn(), account_id).await.unwrap();
    assert!(problems.is_empty(), "{account_id}: {problems:?}");
}
