//! Billing settings: the first save opens the account; the currency never changes.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::billing::{self, BillingError};
use app::domain::db::now;
use app::domain::{account, auth};
use app::model::billing::BillingForm;
use app::model::money::Currency;
use app::model::session::Role;
use support::TestDb;

fn form(country: &str, currency: &str) -> BillingForm {
    BillingForm {
        billing_type: "company".into(),
        name: "Sakura AI K.K.".into(),
        email: "billing@sakura.example".into(),
        address: "1-2-3 Shibuya, Tokyo".into(),
        country: country.into(),
        currency: currency.into(),
        tax_code: "T1234567890123".into(),
    }
}

#[tokio::test]
async fn the_first_save_opens_the_account_and_the_currency_is_then_fixed() {
    let t = TestDb::new().await;
    let user = auth::create_user(
        t.db.conn(),
        "k@sakura.example",
        "password123",
        Role::Customer,
        now(),
    )
    .await
    .unwrap();
    assert!(
        account::of_user(t.db.conn(), user.id)
            .await
            .unwrap()
            .is_none()
    );

    let jp = form("JP", "JPY").validate().unwrap();
    let acct = billing::save(&t.db, user.id, &jp).await.unwrap();
    assert_eq!(account::currency(&acct).unwrap(), Currency::Jpy);
    assert_eq!(billing::profile(&t.db, &acct).await.unwrap().unwrap(), jp);

    // Details may change; the same account is kept.
    let moved = BillingForm {
        address: "4-5-6 Minato, Tokyo".into(),
        ..form("JP", "JPY")
    }
    .validate()
    .unwrap();
    assert_eq!(
        billing::save(&t.db, user.id, &moved).await.unwrap().id,
        acct.id
    );
    assert_eq!(
        billing::profile(&t.db, &acct)
            .await
            .unwrap()
            .unwrap()
            .address,
        "4-5-6 Minato, Tokyo"
    );

    // The currency may not, even through a country that would allow another.
    let euro = form("DE", "EUR").validate().unwrap();
    let err = billing::save(&t.db, user.id, &euro).await.unwrap_err();
    assert!(matches!(err, BillingError::CurrencyLocked(Currency::Jpy)));
    assert_eq!(
        err.to_string(),
        "Your account's currency is JPY; it cannot be changed."
    );
    let still = account::of_user(t.db.conn(), user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account::currency(&still).unwrap(), Currency::Jpy);
    assert_eq!(
        billing::profile(&t.db, &still)
            .await
            .unwrap()
            .unwrap()
            .address,
        "4-5-6 Minato, Tokyo"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_first_saves_at_once_open_one_account_and_answer_the_second_clearly() {
    let t = TestDb::new().await;
    for round in 0..5 {
        let user = auth::create_user(
            t.db.conn(),
            &format!("race{round}@sakura.example"),
            "password123",
            Role::Customer,
            now(),
        )
        .await
        .unwrap();
        // Two tabs: one saves JPY, the other USD, at the same moment.
        let jp = form("JP", "JPY").validate().unwrap();
        let us = form("US", "USD").validate().unwrap();
        let (a, b) = tokio::join!(
            {
                let db = t.db.clone();
                async move { billing::save(&db, user.id, &jp).await }
            },
            {
                let db = t.db.clone();
                async move { billing::save(&db, user.id, &us).await }
            }
        );
        // One opened the account; the other was saved onto it or refused for its
        // currency, never a database error.
        let opened = [&a, &b]
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|acct| acct.id.clone())
            .collect::<Vec<_>>();
        assert!(!opened.is_empty(), "{a:?} {b:?}");
        for r in [&a, &b] {
            assert!(
                matches!(r, Ok(_) | Err(BillingError::CurrencyLocked(_))),
                "{r:?}"
            );
        }
        let held = account::of_user(t.db.conn(), user.id)
            .await
            .unwrap()
            .unwrap();
        assert!(opened.iter().all(|id| *id == held.id), "one account");
    }
}
