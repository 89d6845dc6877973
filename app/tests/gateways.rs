//! The gateways behind one trait: PayPal's amounts and messages, Stripe's session
//! events, and a storm of Stripe webhooks (each ×5, shuffled, with forged, stale and
//! contradicting ones, from concurrent tasks) settling each payment exactly once, on
//! SQLite and PostgreSQL.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::db::now;
use app::domain::entities::payment as payment_row;
use app::domain::gateways::paypal::{amount_value, order_body, read_amount, read_capture};
use app::domain::gateways::stripe::{SessionEventKind, Stripe, StripeConfig, session_event};
use app::domain::gateways::{self, Checkout, Heard, Notification, PaymentGateway};
use app::domain::ledger;
use app::domain::payment::{self, NewPayment, Settled};
use app::model::money::{Currency, Money};
use app::model::top_up::Gateway;
use chrono::Duration;
use hmac::{Hmac, Mac};
use rand::seq::SliceRandom;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::json;
use sha2::Sha256;
use support::{TestDb, customer};

#[test]
fn paypal_amounts_are_decimal_strings_in_the_currency_unit() {
    assert_eq!(
        amount_value(Money::from_minor(2_500, Currency::Usd)),
        json!({ "currency_code": "USD", "value": "25.00" })
    );
    assert_eq!(
        amount_value(Money::from_minor(3_000, Currency::Jpy)),
        json!({ "currency_code": "JPY", "value": "3000" })
    );
    assert_eq!(
        read_amount(&json!({ "currency_code": "EUR", "value": "100.50" })),
        Some(Money::from_minor(10_050, Currency::Eur))
    );
    // More decimals than the currency has, a float, an unknown currency: unreadable.
    assert_eq!(
        read_amount(&json!({ "currency_code": "USD", "value": "25.001" })),
        None
    );
    assert_eq!(
        read_amount(&json!({ "currency_code": "USD", "value": 25.0 })),
        None
    );
    assert_eq!(
        read_amount(&json!({ "currency_code": "GBP", "value": "25.00" })),
        None
    );
}

#[test]
fn a_paypal_order_carries_our_reference_and_return_links() {
    let at = now();
    let checkout = Checkout {
        reference: "TU-ABC",
        amount: Money::from_minor(5_000, Currency::Eur),
        client_ip: "127.0.0.1",
        created_at: at,
        expires_at: at + Duration::minutes(15),
        return_url: "https://billing.example/r?reference=TU-ABC".into(),
        cancel_url: "https://billing.example/r?reference=TU-ABC&cancelled=1".into(),
    };
    let body = order_body(&checkout);
    assert_eq!(body["intent"], "CAPTURE");
    let unit = &body["purchase_units"][0];
    assert_eq!(unit["custom_id"], "TU-ABC");
    assert_eq!(unit["reference_id"], "TU-ABC");
    assert_eq!(
        unit["amount"],
        json!({ "currency_code": "EUR", "value": "50.00" })
    );
    let context = &body["payment_source"]["paypal"]["experience_context"];
    assert_eq!(
        context["return_url"],
        "https://billing.example/r?reference=TU-ABC"
    );
    assert_eq!(
        context["cancel_url"],
        "https://billing.example/r?reference=TU-ABC&cancelled=1"
    );
    let capture = json!({
        "id": "3C679366HH908993F",
        "status": "COMPLETED",
        "amount": { "currency_code": "EUR", "value": "50.00" },
        "custom_id": "TU-ABC",
    });
    assert_eq!(
        read_capture(&capture),
        Some((
            "3C679366HH908993F".to_owned(),
            Money::from_minor(5_000, Currency::Eur),
            "COMPLETED".to_owned()
        ))
    );
}

fn session(reference: &str, yen: i64, status: &str, payment_status: &str) -> serde_json::Value {
    json!({
        "id": format!("cs_test_{reference}"),
        "object": "checkout.session",
        "amount_total": yen,
        "currency": "jpy",
        "client_reference_id": reference,
        "status": status,
        "payment_status": payment_status,
    })
}

fn event(id: &str, kind: &str, session: &serde_json::Value) -> String {
    json!({ "id": id, "object": "event", "type": kind, "data": { "object": session } }).to_string()
}

#[test]
fn stripe_session_events_map_to_outcomes() {
    let paid = event(
        "evt_1",
        "checkout.session.completed",
        &session("TU-1", 3_000, "complete", "paid"),
    );
    let read = session_event(paid.as_bytes()).unwrap();
    assert_eq!(read.kind, SessionEventKind::Paid);
    // JPY is zero-decimal: amount_total 3000 is ¥3,000.
    assert_eq!(read.amount, Money::from_minor(3_000, Currency::Jpy));
    assert_eq!(read.reference, "TU-1");
    let unpaid = event(
        "evt_2",
        "checkout.session.completed",
        &session("TU-1", 3_000, "complete", "unpaid"),
    );
    assert_eq!(
        session_event(unpaid.as_bytes()).unwrap().kind,
        SessionEventKind::Awaiting
    );
    let expired = event(
        "evt_3",
        "checkout.session.expired",
        &session("TU-1", 3_000, "expired", "unpaid"),
    );
    assert_eq!(
        session_event(expired.as_bytes()).unwrap().kind,
        SessionEventKind::Failed
    );
    let other = event(
        "evt_4",
        "customer.created",
        &session("TU-1", 3_000, "open", "unpaid"),
    );
    assert_eq!(session_event(other.as_bytes()), None);
}

fn signed(secret: &str, body: &str, age_seconds: i64) -> Notification {
    let t = now().timestamp() - age_seconds;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let sig = hex::encode(mac.finalize().into_bytes());
    Notification {
        headers: vec![("stripe-signature".into(), format!("t={t},v1={sig}"))],
        body: body.as_bytes().to_vec(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_stripe_webhooks_credits_each_payment_once() {
    let t = TestDb::new().await;
    let secret = "whsec_storm";
    let stripe = std::sync::Arc::new(Stripe {
        config: StripeConfig {
            api_base: "http://127.0.0.1:9".into(),
            secret_key: SecretString::from("sk_test".to_owned()),
            webhook_secret: SecretString::from(secret.to_owned()),
        },
        http: gateways::http_client(),
    });
    let accounts = [
        customer(&t.db, "j1@example.com", Currency::Jpy).await,
        customer(&t.db, "j2@example.com", Currency::Jpy).await,
    ];
    let mut made = Vec::new();
    for i in 0..8_i64 {
        let new = NewPayment {
            account_id: accounts[usize::try_from(i % 2).unwrap()].clone(),
            amount: Money::from_minor(3_000 + i * 100, Currency::Jpy),
            gateway: Gateway::Stripe,
            client_token: format!("click-{i}"),
            consent_version: "test-terms".into(),
        };
        made.push(
            payment::create(&t.db, &new, Duration::minutes(30))
                .await
                .unwrap(),
        );
    }
    let mut calls = Vec::new();
    for (i, p) in made.iter().enumerate() {
        let paid = event(
            &format!("evt_paid_{i}"),
            "checkout.session.completed",
            &session(&p.reference, p.amount_minor, "complete", "paid"),
        );
        // Stripe redelivers the same event (same id) when unsure it arrived.
        for _ in 0..5 {
            calls.push(("genuine", signed(secret, &paid, 0)));
        }
        calls.push(("forged", signed("whsec_wrong", &paid, 0)));
        calls.push(("stale", signed(secret, &paid, 400)));
        let wrong_amount = event(
            &format!("evt_more_{i}"),
            "checkout.session.completed",
            &session(&p.reference, p.amount_minor * 10, "complete", "paid"),
        );
        calls.push(("wrong amount", signed(secret, &wrong_amount, 0)));
        if i % 2 == 0 {
            // An expiry for the same session, after or before the payment: the first
            // to arrive decides, the other changes nothing.
            let expired = event(
                &format!("evt_exp_{i}"),
                "checkout.session.expired",
                &session(&p.reference, p.amount_minor, "expired", "unpaid"),
            );
            calls.push(("contradicting", signed(secret, &expired, 0)));
        }
    }
    calls.shuffle(&mut rand::rng());
    let mut tasks = Vec::new();
    for (kind, call) in calls {
        let (db, stripe) = (t.db.clone(), stripe.clone());
        tasks.push(tokio::spawn(async move {
            let heard = gateways::hear(&db, stripe.as_ref(), &call).await;
            let answer = stripe.answer(&heard);
            (kind, heard, answer.status)
        }));
    }
    let mut settled_now = 0;
    for task in tasks {
        let (kind, heard, status) = task.await.unwrap();
        match kind {
            "forged" | "stale" => {
                assert!(matches!(heard, Heard::Refused(_)), "{kind}: {heard:?}");
                assert_eq!(status, 400);
            }
            "wrong amount" => assert!(
                matches!(
                    heard,
                    Heard::Settled(Settled::AmountMismatch { .. } | Settled::Already(_))
                ),
                "{heard:?}"
            ),
            _ => {
                assert_eq!(status, 200, "{heard:?}");
                if matches!(
                    heard,
                    Heard::Settled(Settled::Credited(_) | Settled::Failed)
                ) {
                    settled_now += 1;
                }
            }
        }
    }
    assert_eq!(
        settled_now,
        made.len(),
        "each payment settled by exactly one webhook"
    );
    for account in &accounts {
        let rows: Vec<payment_row::Model> = payment_row::Entity::find()
            .filter(payment_row::Column::AccountId.eq(account.as_str()))
            .all(t.db.conn())
            .await
            .unwrap();
        let credited: i64 = rows
            .iter()
            .filter(|p| p.state == "succeeded")
            .map(|p| p.amount_minor)
            .sum();
        assert!(
            rows.iter()
                .all(|p| p.state == "succeeded" || p.state == "failed")
        );
        let balance = ledger::balances(t.db.conn(), account, Currency::Jpy)
            .await
            .unwrap()
            .total();
        assert_eq!(balance, Money::from_minor(credited, Currency::Jpy));
        support::assert_books_balance(&t.db, account).await;
    }
    // Payments with no contradicting event can only have succeeded.
    for (i, p) in made.iter().enumerate() {
        if i % 2 == 1 {
            let now_row = payment_row::Entity::find_by_id(p.id)
                .one(t.db.conn())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(now_row.state, "succeeded");
        }
    }
}

#[tokio::test]
async fn an_unreachable_gateway_fails_the_payment_and_the_same_click_cannot_revive_it() {
    use app::domain::gateways::StartError;
    let t = TestDb::new().await;
    let account = customer(&t.db, "down@example.com", Currency::Jpy).await;
    let gateways = offline_gateways();
    let new = NewPayment {
        account_id: account.clone(),
        amount: Money::from_minor(3_000, Currency::Jpy),
        gateway: Gateway::Stripe,
        client_token: "click-down".into(),
        consent_version: "test-terms".into(),
    };
    let first = gateways::start(&t.db, &gateways, &new, "127.0.0.1").await;
    assert!(matches!(first, Err(StartError::Gateway(_))), "{first:?}");
    let again = gateways::start(&t.db, &gateways, &new, "127.0.0.1").await;
    assert!(matches!(again, Err(StartError::Ended(_))), "{again:?}");
    let rows: Vec<payment_row::Model> = payment_row::Entity::find()
        .filter(payment_row::Column::AccountId.eq(account.as_str()))
        .all(t.db.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "failed");
    // Stripe sessions live at least 30 minutes, so the payment waited as long.
    assert_eq!(
        rows[0].expires_at - rows[0].created_at,
        Duration::minutes(30)
    );
    let balance = ledger::balances(t.db.conn(), &account, Currency::Jpy)
        .await
        .unwrap()
        .total();
    assert_eq!(balance, Money::zero(Currency::Jpy));
}

/// Gateways whose APIs cannot be reached (VNPay needs none to start: its request is a
/// signed URL).
fn offline_gateways() -> app::domain::gateways::Gateways {
    use app::domain::gateways::Gateways;
    use app::domain::gateways::paypal::{PayPal, PayPalConfig};
    use app::domain::gateways::vnpay::{VnPay, VnPayConfig};
    let nowhere = "http://127.0.0.1:9";
    let secret = || SecretString::from("s".to_owned());
    Gateways {
        vnpay: std::sync::Arc::new(VnPay {
            config: VnPayConfig {
                tmn_code: "T".into(),
                hash_secret: secret(),
                pay_url: nowhere.into(),
                return_url: String::new(),
                api_url: nowhere.into(),
            },
            http: gateways::http_client(),
        }),
        stripe: std::sync::Arc::new(Stripe {
            config: StripeConfig {
                api_base: nowhere.into(),
                secret_key: secret(),
                webhook_secret: secret(),
            },
            http: gateways::http_client(),
        }),
        paypal: std::sync::Arc::new(PayPal::new(
            PayPalConfig {
                api_base: nowhere.into(),
                client_id: "c".into(),
                client_secret: secret(),
                webhook_id: "w".into(),
            },
            gateways::http_client(),
        )),
        ttl: Duration::minutes(15),
        public_url: "http://billing.test".into(),
        maximum: std::sync::Arc::new(|c| Money::from_minor(10_000_000, c)),
    }
}

#[tokio::test]
async fn a_repeated_click_pays_the_stored_amount_whatever_the_second_request_says() {
    let t = TestDb::new().await;
    let account = customer(&t.db, "twice@example.com", Currency::Vnd).await;
    let gateways = offline_gateways();
    let click = |dong: i64| NewPayment {
        account_id: account.clone(),
        amount: Money::from_minor(dong, Currency::Vnd),
        gateway: Gateway::VnPay,
        client_token: "same-click".into(),
        consent_version: "test-terms".into(),
    };
    let (first, url) = gateways::start(&t.db, &gateways, &click(500_000), "127.0.0.1")
        .await
        .unwrap();
    let (again, url_again) = gateways::start(&t.db, &gateways, &click(900_000), "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(first.id, again.id);
    assert!(url.redirect_url.contains("vnp_Amount=50000000&"));
    assert!(
        url_again.redirect_url.contains("vnp_Amount=50000000&"),
        "{}",
        url_again.redirect_url
    );
}

#[tokio::test]
async fn pay_clicks_are_rate_limited_per_account() {
    let t = TestDb::new().await;
    let busy = customer(&t.db, "busy@example.com", Currency::Vnd).await;
    let calm = customer(&t.db, "calm@example.com", Currency::Vnd).await;
    let gateways = offline_gateways();
    let click = |account: &str, n: usize| NewPayment {
        account_id: account.to_owned(),
        amount: Money::from_minor(500_000, Currency::Vnd),
        gateway: Gateway::VnPay,
        client_token: format!("click-{n}"),
        consent_version: "test-terms".into(),
    };
    for n in 0..20 {
        gateways::start(&t.db, &gateways, &click(&busy, n), "127.0.0.1")
            .await
            .unwrap();
    }
    let refused = gateways::start(&t.db, &gateways, &click(&busy, 20), "127.0.0.1").await;
    let Err(gateways::StartError::Throttled(wait)) = refused else {
        panic!("the 21st Pay within 10 minutes must be refused: {refused:?}");
    };
    assert_eq!(wait.minutes(), 10);
    let made = payment_row::Entity::find()
        .filter(payment_row::Column::AccountId.eq(busy.as_str()))
        .all(t.db.conn())
        .await
        .unwrap();
    assert_eq!(made.len(), 20, "the refused click made no payment");
    // Another account is not held up by this one.
    gateways::start(&t.db, &gateways, &click(&calm, 0), "127.0.0.1")
        .await
        .unwrap();
}

#[test]
fn charge_back_events_name_our_payment_and_what_happened() {
    use app::domain::gateways::Event;
    use app::domain::gateways::{paypal, stripe};
    use app::domain::reversal::DisputeEvent;
    // Stripe: the dispute names the PaymentIntent; open and closed events.
    let created = json!({
        "id": "evt_1", "type": "charge.dispute.created",
        "data": { "object": { "id": "dp_1", "payment_intent": "pi_1", "reason": "fraudulent", "status": "needs_response" } },
    });
    let read = stripe::dispute_event(created.to_string().as_bytes()).unwrap();
    assert_eq!(
        read,
        (
            "evt_1".into(),
            "dp_1".into(),
            "pi_1".into(),
            DisputeEvent::Opened,
            "fraudulent".into()
        )
    );
    for (status, happened) in [
        ("won", Some(DisputeEvent::Won)),
        ("lost", Some(DisputeEvent::Lost)),
        ("under_review", None),
    ] {
        let closed = json!({
            "id": "evt_2", "type": if status == "under_review" { "charge.dispute.updated" } else { "charge.dispute.closed" },
            "data": { "object": { "id": "dp_1", "payment_intent": "pi_1", "status": status } },
        });
        assert_eq!(
            stripe::dispute_event(closed.to_string().as_bytes()).map(|r| r.3),
            happened
        );
    }
    // A checkout session's event is not a dispute.
    let session =
        json!({ "id": "evt_3", "type": "checkout.session.completed", "data": { "object": {} } });
    assert_eq!(stripe::dispute_event(session.to_string().as_bytes()), None);

    // PayPal: a reversed capture names our reference in custom_id; a dispute in its
    // disputed transaction.
    let reversed = json!({
        "id": "WH-1", "event_type": "PAYMENT.CAPTURE.REVERSED",
        "resource": { "id": "CAP1", "custom_id": "TU-9", "status": "REVERSED", "status_details": { "reason": "CHARGEBACK" } },
    });
    let opened = json!({
        "id": "WH-2", "event_type": "CUSTOMER.DISPUTE.CREATED",
        "resource": { "dispute_id": "PP-D-1", "reason": "UNAUTHORISED", "disputed_transactions": [{ "invoice_number": "TU-9" }] },
    });
    let resolved = json!({
        "id": "WH-3", "event_type": "CUSTOMER.DISPUTE.RESOLVED",
        "resource": { "dispute_id": "PP-D-1", "disputed_transactions": [{ "custom": "TU-9" }],
                      "dispute_outcome": { "outcome_code": "RESOLVED_SELLER_FAVOUR" } },
    });
    let happened: Vec<(String, DisputeEvent, String)> = [reversed, opened, resolved]
        .iter()
        .map(|e| match paypal::dispute_event(e) {
            Some(Event::Dispute { event_id, dispute }) => {
                assert_eq!(dispute.reference, "TU-9");
                assert_eq!(dispute.gateway, Gateway::PayPal);
                (event_id, dispute.event, dispute.dispute_id)
            }
            other => panic!("not a dispute: {other:?}"),
        })
        .collect();
    assert_eq!(
        happened,
        [
            ("WH-1".into(), DisputeEvent::Reversed, "CAP1".into()),
            ("WH-2".into(), DisputeEvent::Opened, "PP-D-1".into()),
            ("WH-3".into(), DisputeEvent::Won, "PP-D-1".into()),
        ]
    );
    let capture =
        json!({ "id": "WH-4", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {} });
    assert_eq!(paypal::dispute_event(&capture), None);
}
