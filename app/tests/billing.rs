//! Billing settings: the first save opens the account; the currency never changes.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

mod support;

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
