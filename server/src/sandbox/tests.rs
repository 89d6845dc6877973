//! Our gateway clients against the sandboxes over real HTTP: a customer pays at the
//! gateway while its callback is held back (an outage), and the expiry job, asking the
//! gateway before giving up (VNPay `querydr`, Stripe's session, PayPal's order), credits
//! the payment; PayPal's webhook is verified on the bytes PayPal sent; a Stripe dispute
//! and a PayPal reversal open reversals of partly spent top-ups, and a won dispute gives
//! the credits back.
#![allow(clippy::unwrap_used)]

use super::Sandbox;
use crate::config::PaymentSettings;
use crate::payments;
use app::domain::db::{Db, now};
use app::domain::entities::payment as payment_row;
use app::domain::gateways::failure::Failure;
use app::domain::gateways::{self, Gateways};
use app::domain::payment::NewPayment;
use app::domain::{account, auth, ledger};
use app::model::money::{Currency, Money};
use app::model::session::Role;
use app::model::top_up::{Gateway, gateway_for};
use chrono::Duration;
use sea_orm::EntityTrait;

struct Running {
    db: Db,
    gateways: Gateways,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Our callback routes and the sandboxes, served on a free port over a fresh database.
async fn serve() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Db::connect(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let settings = PaymentSettings::read(&base, &|name| {
        (name == "PAYMENT_SANDBOX").then(|| "on".into())
    });
    let gateways = settings.gateways(&base);
    let app = payments::callbacks(db.clone(), gateways.clone())
        .merge(super::router(Sandbox::new(settings, &base)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running {
        db,
        gateways,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _dir: dir,
    }
}

impl Running {
    async fn customer(&self, email: &str, currency: Currency) -> String {
        let user = auth::create_user(self.db.conn(), email, "a password", Role::Customer, now())
            .await
            .unwrap();
        account::open(self.db.conn(), user.id, currency, None, now())
            .await
            .unwrap()
            .id
    }

    /// Starts a top-up; returns the payment and the gateway page's URL.
    async fn start(&self, account_id: &str, amount: Money) -> (payment_row::Model, String) {
        let new = NewPayment {
            account_id: account_id.to_owned(),
            amount,
            gateway: gateway_for(amount.currency()),
            client_token: uuid::Uuid::new_v4().simple().to_string(),
            consent_version: "test".into(),
        };
        let (made, started) = gateways::start(&self.db, &self.gateways, &new, "127.0.0.1")
            .await
            .unwrap();
        // The consent the customer gave with Pay is kept with the payment, for disputes.
        assert_eq!(made.consent_version.as_deref(), Some("test"));
        assert!(made.consented_at.is_some());
        (made, started.redirect_url)
    }

    /// The gateway will hold the next callback back, as in an outage.
    async fn hold_next_callback(&self) {
        let r = self
            .http
            .post(format!("{}/sandbox/control/next/hold-next", self.base))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }

    /// The customer presses a button on the gateway's page.
    async fn press(&self, page: &str, action: &str) -> reqwest::Response {
        let (path, query) = page.split_once('?').unwrap_or((page, ""));
        let mut form = vec![("action", action.to_owned())];
        let target = if path.ends_with("vpcpay.html") {
            // VNPay's page carries the signed request through its form.
            form.push(("request", query.to_owned()));
            path.to_owned()
        } else {
            page.to_owned()
        };
        self.http.post(target).form(&form).send().await.unwrap()
    }

    async fn state(&self, id: i64) -> String {
        payment_row::Entity::find_by_id(id)
            .one(self.db.conn())
            .await
            .unwrap()
            .unwrap()
            .state
    }

    async fn total(&self, account_id: &str, currency: Currency) -> Money {
        ledger::balances(self.db.conn(), account_id, currency)
            .await
            .unwrap()
            .total()
    }
}

#[tokio::test]
async fn the_expiry_job_credits_what_each_sandbox_reports_paid_while_its_callback_is_held() {
    let s = serve().await;
    for (email, amount) in [
        ("vn@example.com", Money::from_minor(500_000, Currency::Vnd)),
        ("jp@example.com", Money::from_minor(3_000, Currency::Jpy)),
        ("us@example.com", Money::from_minor(2_500, Currency::Usd)),
    ] {
        let currency = amount.currency();
        let account = s.customer(email, currency).await;
        let (paid, page) = s.start(&account, amount).await;
        let (never, _) = s.start(&account, amount).await;
        s.hold_next_callback().await;
        let back = s.press(&page, "pay").await;
        assert!(back.status().is_redirection(), "{}", back.status());
        // PayPal: approved, but the customer never came back for us to capture.
        assert_eq!(s.state(paid.id).await, "pending", "{currency}");
        assert_eq!(s.total(&account, currency).await, Money::zero(currency));

        let after = now() + Duration::minutes(31);
        let (credited, expired) = gateways::close_due(&s.db, &s.gateways, after)
            .await
            .unwrap();
        assert_eq!(credited, 1, "{currency}");
        assert!(expired <= 1, "{currency}");
        assert_eq!(s.state(paid.id).await, "succeeded", "{currency}");
        // Stripe: the job expires the open session through the API, and Stripe's
        // `checkout.session.expired` webhook may fail our payment before the job's own
        // expiry does; either way it is closed and credited nothing.
        let closed = s.state(never.id).await;
        assert!(
            closed == "expired" || closed == "failed",
            "{currency}: {closed}"
        );
        assert_eq!(s.total(&account, currency).await, amount, "{currency}");
        // The held callback, delivered at last, changes nothing.
        let replay = s
            .http
            .post(format!(
                "{}/sandbox/control/{}/replay",
                s.base, paid.reference
            ))
            .send()
            .await
            .unwrap();
        if gateway_for(currency) != Gateway::PayPal {
            assert!(replay.status().is_success(), "{currency}");
        }
        assert_eq!(s.total(&account, currency).await, amount, "{currency}");
        assert!(
            ledger::audit(s.db.conn(), &account)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// A customer who cancels at Stripe reads "cancelled" on our page, whatever the order of
/// their return and Stripe's expiry webhook; the session is closed at Stripe, so the
/// page they left can no longer take their money.
#[tokio::test]
async fn a_stripe_cancel_reads_cancelled_and_closes_the_session() {
    let s = serve().await;
    // Yen is paid through Stripe.
    let amount = Money::from_minor(3_000, Currency::Jpy);
    let account = s.customer("cancels@example.com", Currency::Jpy).await;
    let (made, page) = s.start(&account, amount).await;
    let back = s.press(&page, "cancel").await;
    let location = back.headers()[reqwest::header::LOCATION].to_str().unwrap();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let settled = gateways::returned(&s.db, &s.gateways, Gateway::Stripe, &account, &query)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.state, "failed");
    let reason = Failure::parse(settled.failure.as_deref()).unwrap();
    assert!(reason.is_cancelled(), "{reason:?}");
    // Stripe's page for the session is gone, and paying it is refused.
    let refused = s.press(&page, "pay").await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    // Stripe's expiry webhook, sent in the background after our call, delivered (again)
    // now that it has certainly been sent: it changes nothing, the reason stays the
    // customer's and nothing is credited.
    let replay = format!("{}/sandbox/control/{}/replay", s.base, made.reference);
    let mut delivered = false;
    for _ in 0..200 {
        let r = s.http.post(&replay).send().await.unwrap();
        if r.status() != reqwest::StatusCode::NOT_FOUND {
            delivered = r.status().is_success();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(delivered, "Stripe's expiry webhook was never sent");
    let again = payment_row::Entity::find_by_id(made.id)
        .one(s.db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.state, "failed");
    assert_eq!(again.failure, settled.failure);
    assert_eq!(
        s.total(&account, Currency::Jpy).await,
        Money::zero(Currency::Jpy)
    );
}

#[tokio::test]
async fn paypal_webhooks_are_verified_on_the_bytes_paypal_sent() {
    let s = serve().await;
    let amount = Money::from_minor(2_500, Currency::Usd);
    let account = s.customer("pp@example.com", Currency::Usd).await;
    let (made, page) = s.start(&account, amount).await;
    s.hold_next_callback().await;
    let back = s.press(&page, "pay").await;
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(location.split_once('?').map_or("", |(_, q)| q).as_bytes())
            .into_owned()
            .collect();
    // The customer's return captures (the payment is `capturing` meanwhile); the
    // capture's webhook is held back.
    let settled = gateways::returned(&s.db, &s.gateways, Gateway::PayPal, &account, &query)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settled.state, "succeeded");
    // The webhook arrives: its body is not how serde_json would write it, so only a
    // verify call that sends the raw bytes gets SUCCESS from the sandbox (which checks
    // the signature over the bytes it sent, as PayPal does). Verified: 200; refused: 400.
    let answer: serde_json::Value = s
        .http
        .post(format!(
            "{}/sandbox/control/{}/replay",
            s.base, made.reference
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["deliveries"][0]["status"], 200, "{answer}");
    let forged: serde_json::Value = s
        .http
        .post(format!(
            "{}/sandbox/control/{}/bad-signature",
            s.base, made.reference
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(forged["deliveries"][0]["status"], 400, "{forged}");
    // A post without PayPal's transmission headers never reaches PayPal's verify API.
    let junk = s
        .http
        .post(format!("{}/payments/paypal/webhook", s.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), 400);
    assert_eq!(s.total(&account, Currency::Usd).await, amount);
}

#[tokio::test]
async fn a_stripe_dispute_and_a_paypal_reversal_reverse_partly_spent_top_ups() {
    use app::domain::entities::user;
    use app::domain::reversal;
    let s = serve().await;
    let finance: user::Model = auth::create_user(
        s.db.conn(),
        "finance@example.com",
        "a password",
        Role::Operator,
        now(),
    )
    .await
    .unwrap();
    for (email, amount, spend, action) in [
        (
            "jp@example.com",
            Money::from_minor(3_000, Currency::Jpy),
            1_000,
            "dispute",
        ),
        (
            "us@example.com",
            Money::from_minor(2_500, Currency::Usd),
            1_000,
            "reverse",
        ),
    ] {
        let currency = amount.currency();
        let account = s.customer(email, currency).await;
        let (made, page) = s.start(&account, amount).await;
        let back = s.press(&page, "pay").await;
        if gateway_for(currency) == Gateway::PayPal {
            // PayPal: the customer's return captures; the capture's webhook follows.
            let location = back.headers()["location"].to_str().unwrap().to_owned();
            let query: Vec<(String, String)> =
                form_urlencoded::parse(location.split_once('?').map_or("", |(_, q)| q).as_bytes())
                    .into_owned()
                    .collect();
            gateways::returned(&s.db, &s.gateways, Gateway::PayPal, &account, &query)
                .await
                .unwrap();
        }
        assert_eq!(s.total(&account, currency).await, amount, "{currency}");
        ledger::charge(
            &s.db,
            &ledger::ChargeRequest {
                account_id: account.clone(),
                service: app::model::ledger::Service::AiInference,
                resource: "llm".into(),
                description: "inference".into(),
                amount: Money::from_minor(spend, currency),
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
        // The gateway tells us of the charge-back (retried until its first callback is
        // on record: PayPal's capture webhook goes out in the background).
        let control = |what: &str| format!("{}/sandbox/control/{}/{what}", s.base, made.reference);
        let mut answer = serde_json::Value::Null;
        for _ in 0..50 {
            let r = s.http.post(control(action)).send().await.unwrap();
            if r.status().is_success() {
                answer = r.json().await.unwrap();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            answer["deliveries"][0]["status"], 200,
            "{currency}: {answer}"
        );
        // Told twice (a new event about the same payment): still one reversal.
        s.http.post(control(action)).send().await.unwrap();
        let opened = reversal::for_account(s.db.conn(), &account).await.unwrap();
        assert_eq!(opened.len(), 1, "{currency}");
        assert_eq!(
            (opened[0].status.as_str(), opened[0].source.as_str()),
            ("pending", "gateway")
        );
        assert_eq!(
            s.total(&account, currency).await,
            Money::from_minor(amount.to_minor().unwrap() - spend, currency)
        );

        let applied = reversal::approve(&s.db, opened[0].id, &finance, now())
            .await
            .unwrap();
        let left = amount.to_minor().unwrap() - spend;
        assert_eq!(
            (applied.taken_minor, applied.owed_minor),
            (left, spend),
            "{currency}"
        );
        assert_eq!(s.total(&account, currency).await, Money::zero(currency));
        assert_eq!(reversal::owed(s.db.conn(), &account).await.unwrap(), spend);

        // Won: everything comes back and nothing is owed (a lost one changes nothing).
        for closing in ["dispute-lost", "dispute-won"] {
            let r = s.http.post(control(closing)).send().await.unwrap();
            assert!(r.status().is_success(), "{currency} {closing}");
        }
        assert_eq!(
            s.total(&account, currency).await,
            Money::from_minor(left, currency)
        );
        assert_eq!(reversal::owed(s.db.conn(), &account).await.unwrap(), 0);
        let row = reversal::for_account(s.db.conn(), &account).await.unwrap();
        assert_eq!(row[0].status, "reinstated", "{currency}");
        assert!(
            ledger::audit(s.db.conn(), &account)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
