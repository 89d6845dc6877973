//! Vouchers on SQLite and (with BILLING_TEST_DB=postgres) PostgreSQL: creating
//! campaigns, redeeming codes, every refusal changing nothing, exact caps under
//! concurrency, throttling shared between processes, and the Voucher List against the
//! ledger.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::audit::Actor;
use app::domain::db::{Db, now};
use app::domain::entities::{transaction, voucher_campaign, voucher_code, voucher_grant};
use app::domain::ledger::{self, ChargeOutcome, ChargeRequest};
use app::domain::voucher::{self, REDEEM_ACCOUNT, RedeemError};
use app::model::ledger::{Balances, Service};
use app::model::money::{Currency, Money};
use app::model::voucher::{
    CampaignCodes, CreditExpiry, NewCampaign, TypedCode, VoucherState, group, read_code,
};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::sync::Arc;
use support::{TestDb, customer};

const UTC: Tz = chrono_tz::UTC;

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

fn campaign(codes: CampaignCodes) -> NewCampaign {
    NewCampaign {
        name: "Welcome".into(),
        description: "Welcome credits for new customers".into(),
        amounts: vec![vnd(100_000), Money::from_minor(500, Currency::Jpy)],
        codes,
        valid_from: None,
        valid_until: None,
        credit_expiry: CreditExpiry::DaysAfter(30),
        max_redemptions: None,
        per_account_limit: 1,
    }
}

async fn redeem(
    db: &Db,
    account: &str,
    typed: &str,
    at: DateTime<Utc>,
) -> Result<voucher::Redemption, RedeemError> {
    let code = read_code(typed).unwrap();
    voucher::redeem(db, account, &code, None, "203.0.113.7", UTC, at).await
}

async fn balances(db: &Db, account: &str) -> Balances {
    ledger::balances(db.conn(), account, Currency::Vnd)
        .await
        .unwrap()
}

async fn grants(db: &Db) -> u64 {
    voucher_grant::Entity::find()
        .count(db.conn())
        .await
        .unwrap()
}

async fn campaign_row(db: &Db, id: i64) -> voucher_campaign::Model {
    voucher_campaign::Entity::find_by_id(id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_shared_code_grants_its_currency_amount_through_the_ledger() {
    let t = TestDb::new().await;
    let db = &t.db;
    let made = voucher::create_campaign(
        db,
        &campaign(CampaignCodes::Shared("WELCOME-VND".into())),
        &Actor::System,
        now(),
    )
    .await
    .unwrap();
    assert!(made.codes.is_empty());
    let account = customer(db, "a@example.com", Currency::Vnd).await;
    let at = now();
    let done = redeem(db, &account, " welcome vnd ", at).await.unwrap();
    assert_eq!(done.redeemed.amount, vnd(100_000));
    assert_eq!(done.redeemed.code, "WELCOME-VND");
    let expires = (at + Duration::days(30))
        .format("%Y-%m-%d %H:%M")
        .to_string();
    assert_eq!(done.redeemed.expires_at.as_deref(), Some(expires.as_str()));
    assert_eq!(balances(db, &account).await.voucher, vnd(100_000));
    let row = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account.as_str()))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.bucket.as_str(),
            row.kind.as_str(),
            row.service.as_deref(),
            row.source.as_str(),
            row.voucher_code.as_deref(),
            row.status.as_str(),
            row.amount_minor,
            row.description.as_str()
        ),
        (
            "voucher",
            "voucher_grant",
            Some("system"),
            "Voucher",
            Some("WELCOME-VND"),
            "success",
            100_000,
            "Welcome credits for new customers"
        )
    );
    assert_eq!(campaign_row(db, made.id).await.redemptions, 1);
    assert!(ledger::audit(db.conn(), &account).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_refusal_says_why_and_changes_nothing() {
    let t = TestDb::new().await;
    let db = &t.db;
    let at = now();
    let account = customer(db, "a@example.com", Currency::Vnd).await;
    let usd_account = customer(db, "u@example.com", Currency::Usd).await;
    let make = |code: &str, tweak: fn(&mut NewCampaign)| {
        let mut c = campaign(CampaignCodes::Shared(code.into()));
        tweak(&mut c);
        c
    };
    let cases = [
        make("LATER", |c| c.valid_from = Some(now() + Duration::days(2))),
        make("OVER", |c| c.valid_until = Some(now() - Duration::days(1))),
        make("LAPSED", |c| {
            c.credit_expiry = CreditExpiry::On(now() - Duration::hours(1));
        }),
        make("CAPPED", |c| c.max_redemptions = Some(1)),
        make("ONCE", |_| {}),
        make("OFFNOW", |_| {}),
    ];
    let mut ids = Vec::new();
    for c in &cases {
        ids.push(
            voucher::create_campaign(db, c, &Actor::System, at)
                .await
                .unwrap()
                .id,
        );
    }
    voucher::disable(db, ids[5], &Actor::System, at)
        .await
        .unwrap();
    let other = customer(db, "b@example.com", Currency::Vnd).await;
    redeem(db, &other, "capped", at).await.unwrap();
    redeem(db, &account, "once", at).await.unwrap();

    let before = (balances(db, &account).await, grants(db).await);
    let said = |r: Result<voucher::Redemption, RedeemError>| r.err().unwrap().to_string();
    assert_eq!(
        said(redeem(db, &account, "NOSUCHCODE", at).await),
        "This voucher code does not exist. Check it and try again."
    );
    assert_eq!(
        said(redeem(db, &account, "later", at).await),
        format!(
            "This voucher code is not valid yet. It can be used from {}.",
            (at + Duration::days(2)).format("%Y-%m-%d %H:%M")
        )
    );
    assert_eq!(
        said(redeem(db, &account, "over", at).await),
        "This voucher code is no longer valid."
    );
    assert_eq!(
        said(redeem(db, &account, "lapsed", at).await),
        "This voucher code is no longer valid."
    );
    assert_eq!(
        said(redeem(db, &account, "capped", at).await),
        "This voucher code has been fully redeemed."
    );
    assert_eq!(
        said(redeem(db, &account, "once", at).await),
        "You have already redeemed this voucher code."
    );
    assert_eq!(
        said(redeem(db, &account, "off-now", at).await),
        "This voucher code has been disabled."
    );
    let eur = customer(db, "e@example.com", Currency::Eur).await;
    assert_eq!(
        said(redeem(db, &eur, "once", at).await),
        "This voucher code is not available for accounts in EUR."
    );
    assert_eq!((balances(db, &account).await, grants(db).await), before);
    // The refused attempts counted nothing on the campaigns.
    assert_eq!(campaign_row(db, ids[3]).await.redemptions, 1);
    assert_eq!(campaign_row(db, ids[4]).await.redemptions, 1);
    for id in [ids[0], ids[1], ids[2], ids[5]] {
        assert_eq!(campaign_row(db, id).await.redemptions, 0);
    }
    // A USD account gets nothing from a campaign with no USD amount either.
    assert!(matches!(
        redeem(db, &usd_account, "once", at).await,
        Err(RedeemError::NotInCurrency(Currency::Usd))
    ));
    // A shared code cannot be taken twice.
    assert!(matches!(
        voucher::create_campaign(db, &make("ON-CE", |_| {}), &Actor::System, at).await,
        Err(voucher::CampaignError::CodeTaken(_))
    ));
}

#[tokio::test]
async fn a_batch_stores_only_hashes_and_each_code_is_used_once() {
    let t = TestDb::new().await;
    let db = &t.db;
    let made = voucher::create_campaign(
        db,
        &campaign(CampaignCodes::Batch(50)),
        &Actor::System,
        now(),
    )
    .await
    .unwrap();
    assert_eq!(made.codes.len(), 50);
    let stored = voucher_code::Entity::find()
        .filter(voucher_code::Column::CampaignId.eq(made.id))
        .all(db.conn())
        .await
        .unwrap();
    assert_eq!(stored.len(), 50);
    for row in &stored {
        assert_eq!(row.code, None);
        assert!(
            made.codes
                .iter()
                .all(|c| !row.lookup.contains(&c.replace('-', "")))
        );
    }
    let code = &made.codes[7];
    assert_eq!(code.len(), 21);
    assert_eq!(code.matches('-').count(), 4);
    // Typed in lower case without dashes, 1 as l and 0 as o where they occur.
    let typed = code
        .replace('-', "")
        .to_lowercase()
        .replace('1', "l")
        .replace('0', "o");
    let a = customer(db, "a@example.com", Currency::Vnd).await;
    let b = customer(db, "b@example.com", Currency::Vnd).await;
    let done = redeem(db, &a, &typed, now()).await.unwrap();
    assert_eq!(&done.redeemed.code, code);
    assert!(matches!(
        redeem(db, &b, code, now()).await,
        Err(RedeemError::FullyRedeemed)
    ));
    // The spent code is kept in the clear: it can no longer be redeemed.
    let spent = voucher_code::Entity::find()
        .filter(voucher_code::Column::Lookup.eq(voucher::lookup(&read_code(code).unwrap())))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spent.code.as_deref(), Some(code.as_str()));
    assert!(spent.redeemed_at.is_some());
    // Another code of the batch works for b; a second one for a is over its cap of 1.
    redeem(db, &b, &made.codes[8], now()).await.unwrap();
    assert!(matches!(
        redeem(db, &a, &made.codes[9], now()).await,
        Err(RedeemError::AlreadyRedeemed)
    ));
    assert_eq!(campaign_row(db, made.id).await.redemptions, 2);
}

#[tokio::test]
async fn a_capped_code_gives_exactly_its_cap_under_200_concurrent_redemptions() {
    let t = TestDb::new().await;
    let cap = 37;
    let mut c = campaign(CampaignCodes::Shared("RUSH".into()));
    c.max_redemptions = Some(cap);
    let made = voucher::create_campaign(&t.db, &c, &Actor::System, now())
        .await
        .unwrap();
    let mut accounts = Vec::new();
    for i in 0..200 {
        accounts.push(customer(&t.db, &format!("c{i}@example.com"), Currency::Vnd).await);
    }
    // Half the callers come through a second connection pool, as a second server would.
    let other = t.another_process().await;
    let code = Arc::new(read_code("rush").unwrap());
    let mut tasks = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let db = if i % 2 == 0 {
            t.db.clone()
        } else {
            other.clone()
        };
        let (account, code) = (account.clone(), code.clone());
        let ip = format!("198.51.100.{}", i % 250);
        tasks.push(tokio::spawn(async move {
            voucher::redeem(&db, &account, &code, None, &ip, UTC, now()).await
        }));
    }
    let (mut granted, mut full) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => granted += 1,
            Err(RedeemError::FullyRedeemed) => full += 1,
            Err(e) => panic!("unexpected refusal: {e:?}"),
        }
    }
    assert_eq!((granted, full), (cap, 200 - cap));
    assert_eq!(grants(&t.db).await, u64::try_from(cap).unwrap());
    assert_eq!(campaign_row(&t.db, made.id).await.redemptions, cap);
    for account in &accounts {
        support::assert_books_balance(&t.db, account).await;
    }
}

#[tokio::test]
async fn one_account_double_clicking_gets_one_grant() {
    let t = TestDb::new().await;
    let mut c = campaign(CampaignCodes::Shared("TWICE".into()));
    // Even where the campaign allows several per account, one click grants once.
    c.per_account_limit = 5;
    voucher::create_campaign(&t.db, &c, &Actor::System, now())
        .await
        .unwrap();
    let account = customer(&t.db, "a@example.com", Currency::Vnd).await;
    let code = Arc::new(read_code("twice").unwrap());
    let other = t.another_process().await;
    // Eight at once: more in flight than the ten attempts an account may have open
    // would be throttled, as a script hammering Apply Code should be.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = if i % 2 == 0 {
            t.db.clone()
        } else {
            other.clone()
        };
        let (account, code) = (account.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            voucher::redeem(
                &db,
                &account,
                &code,
                Some("click-1"),
                "203.0.113.9",
                UTC,
                now(),
            )
            .await
        }));
    }
    let mut grant_ids = Vec::new();
    for task in tasks {
        grant_ids.push(task.await.unwrap().unwrap().grant.id);
    }
    grant_ids.dedup();
    assert_eq!(
        grant_ids.len(),
        1,
        "every repeat answers with the one grant"
    );
    assert_eq!(grants(&t.db).await, 1);
    assert_eq!(balances(&t.db, &account).await.voucher, vnd(100_000));
    // Without a shared token, a per-account cap of 1 still holds under concurrency.
    voucher::create_campaign(
        &t.db,
        &campaign(CampaignCodes::Shared("SINGLE".into())),
        &Actor::System,
        now(),
    )
    .await
    .unwrap();
    let single = Arc::new(read_code("single").unwrap());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = if i % 2 == 0 {
            t.db.clone()
        } else {
            other.clone()
        };
        let (account, code) = (account.clone(), single.clone());
        tasks.push(tokio::spawn(async move {
            voucher::redeem(&db, &account, &code, None, "203.0.113.9", UTC, now()).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(RedeemError::AlreadyRedeemed) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
    support::assert_books_balance(&t.db, &account).await;
}

#[tokio::test]
async fn failed_attempts_are_throttled_across_processes_and_successes_are_not_counted() {
    let t = TestDb::new().await;
    let other = t.another_process().await;
    let at = now();
    voucher::create_campaign(
        &t.db,
        &campaign(CampaignCodes::Shared("GOOD".into())),
        &Actor::System,
        at,
    )
    .await
    .unwrap();
    let account = customer(&t.db, "a@example.com", Currency::Vnd).await;
    let bad = read_code("WRONGCODE").unwrap();
    let good = read_code("GOOD").unwrap();
    let attempt = |db: &Db, code: &TypedCode, ip: &str| {
        let (db, code, ip, account) = (db.clone(), code.clone(), ip.to_owned(), account.clone());
        async move { voucher::redeem(&db, &account, &code, None, &ip, UTC, at).await }
    };
    for i in 0..REDEEM_ACCOUNT.max - 1 {
        let db = if i % 2 == 0 { &t.db } else { &other };
        assert!(matches!(
            attempt(db, &bad, "203.0.113.1").await,
            Err(RedeemError::Unknown)
        ));
    }
    // A success is not counted: the customer still has one failure left after it.
    attempt(&other, &good, "203.0.113.1").await.unwrap();
    assert!(matches!(
        attempt(&t.db, &bad, "203.0.113.1").await,
        Err(RedeemError::Unknown)
    ));
    // Now the account is out of attempts, whichever process or address asks, even with
    // a code that exists.
    for (db, ip) in [(&t.db, "203.0.113.2"), (&other, "203.0.113.3")] {
        match attempt(db, &good, ip).await {
            Err(RedeemError::Throttled(wait)) => assert_eq!(wait.minutes(), 15),
            other => panic!("{other:?}"),
        }
    }
    // One address trying codes for many accounts is stopped too.
    let mut refused = 0;
    for i in 0..40 {
        let someone = customer(&t.db, &format!("s{i}@example.com"), Currency::Vnd).await;
        let r = voucher::redeem(&t.db, &someone, &bad, None, "192.0.2.50", UTC, at).await;
        if matches!(r, Err(RedeemError::Throttled(_))) {
            refused += 1;
        }
    }
    assert_eq!(refused, 40 - voucher::REDEEM_IP.max);
}

#[tokio::test]
async fn the_voucher_list_agrees_with_the_ledger() {
    let t = TestDb::new().await;
    let db = &t.db;
    let t0 = now() - Duration::days(40);
    let account = customer(db, "a@example.com", Currency::Vnd).await;
    let mut soon = campaign(CampaignCodes::Shared("SOON".into()));
    soon.credit_expiry = CreditExpiry::DaysAfter(45);
    let mut later = campaign(CampaignCodes::Shared("LATER".into()));
    later.credit_expiry = CreditExpiry::Never;
    later.amounts = vec![vnd(300_000)];
    let mut lapsing = campaign(CampaignCodes::Shared("LAPSING".into()));
    lapsing.credit_expiry = CreditExpiry::DaysAfter(10);
    let mut spent = campaign(CampaignCodes::Shared("SPENT".into()));
    spent.credit_expiry = CreditExpiry::DaysAfter(90);
    spent.amounts = vec![vnd(50_000)];
    for c in [&soon, &later, &lapsing, &spent] {
        voucher::create_campaign(db, c, &Actor::System, t0)
            .await
            .unwrap();
    }
    for code in ["lapsing", "spent", "soon", "later"] {
        redeem(db, &account, code, t0).await.unwrap();
    }
    // Grants are spent soonest-expiry first: LAPSING (10 days), SOON (45), SPENT (90),
    // LATER (never).
    let charge = ChargeRequest {
        account_id: account.clone(),
        service: Service::AiInference,
        resource: "inference".into(),
        description: "tokens".into(),
        amount: vnd(30_000),
        idempotency_key: None,
    };
    let txn = db.write().await.unwrap();
    let ChargeOutcome::Charged { rows, .. } =
        ledger::charge_in(&txn, &charge, t0 + Duration::days(1))
            .await
            .unwrap()
    else {
        panic!("declined");
    };
    txn.commit().await.unwrap();
    // The charge's row names the grant it spent, for the voucher view of Credit History.
    assert_eq!(rows[0].voucher_code.as_deref(), Some("LAPSING"));
    // A later charge uses up LAPSING, SOON and SPENT; the expiry run finds nothing left.
    let txn = db.write().await.unwrap();
    let mut big = charge.clone();
    big.amount = vnd(70_000 + 100_000 + 50_000);
    ledger::charge_in(&txn, &big, t0 + Duration::days(2))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    ledger::expire_due(db, t0 + Duration::days(11))
        .await
        .unwrap();

    let at = now();
    let list = voucher::list_for_account(db.conn(), &account, Currency::Vnd, UTC, at)
        .await
        .unwrap();
    let seen: Vec<(&str, VoucherState)> = list
        .rows
        .iter()
        .map(|r| (r.code.as_str(), r.state))
        .collect();
    assert_eq!(
        seen,
        [
            ("LATER", VoucherState::Active),
            ("SOON", VoucherState::UsedUp),
            ("SPENT", VoucherState::UsedUp),
            ("LAPSING", VoucherState::UsedUp),
        ]
    );
    let m = |x: &Money| x.to_minor().unwrap();
    for r in &list.rows {
        assert_eq!(
            m(&r.granted),
            m(&r.used) + m(&r.expired) + m(&r.remaining),
            "{r:?}"
        );
    }
    // The sums match the ledger's rows and balance.
    let b = balances(db, &account).await;
    assert_eq!(list.remaining, b.voucher);
    let voucher_rows = transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account.as_str()))
        .filter(transaction::Column::Bucket.eq("voucher"))
        .all(db.conn())
        .await
        .unwrap();
    let sum = |kind: &str| -> i64 {
        voucher_rows
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.amount_minor)
            .sum()
    };
    assert_eq!(m(&list.granted), sum("voucher_grant"));
    assert_eq!(m(&list.used), -sum("charge"));
    assert_eq!(m(&list.expired), -sum("expiry"));
    assert!(ledger::audit(db.conn(), &account).await.unwrap().is_empty());
}

#[tokio::test]
async fn expired_credits_show_as_expired_with_what_was_lost() {
    let t = TestDb::new().await;
    let db = &t.db;
    let t0 = now() - Duration::days(20);
    let account = customer(db, "a@example.com", Currency::Vnd).await;
    let mut c = campaign(CampaignCodes::Shared("SHORT".into()));
    c.credit_expiry = CreditExpiry::DaysAfter(5);
    voucher::create_campaign(db, &c, &Actor::System, t0)
        .await
        .unwrap();
    redeem(db, &account, "short", t0).await.unwrap();
    ledger::expire_due(db, t0 + Duration::days(6))
        .await
        .unwrap();
    let list = voucher::list_for_account(db.conn(), &account, Currency::Vnd, UTC, now())
        .await
        .unwrap();
    assert_eq!(list.rows[0].state, VoucherState::Expired);
    assert_eq!(list.rows[0].expired, vnd(100_000));
    assert_eq!(list.rows[0].remaining, vnd(0));
    assert_eq!(group("ABCDEFGHJKMNPQRS7"), "ABCD-EFGH-JKMN-PQRS-7");
}

#[tokio::test]
async fn the_demo_has_an_unused_code_and_vouchers_in_each_state() {
    use app::domain::{account, demo};
    let t = TestDb::new().await;
    demo::load(&t.db).await.unwrap();
    let acct = account::of_email(t.db.conn(), demo::CUSTOMER)
        .await
        .unwrap()
        .unwrap();
    support::assert_books_balance(&t.db, &acct.id).await;
    let list = voucher::list_for_account(t.db.conn(), &acct.id, Currency::Vnd, UTC, now())
        .await
        .unwrap();
    let seen: Vec<(&str, VoucherState)> = list
        .rows
        .iter()
        .map(|r| (r.code.as_str(), r.state))
        .collect();
    assert_eq!(
        seen,
        [
            ("SPRING200K", VoucherState::Active),
            ("WELCOME1M", VoucherState::UsedUp),
            ("LAUNCH100K", VoucherState::Expired),
        ]
    );
    assert_eq!(list.rows[2].expired, vnd(100_000));
    assert_eq!(list.remaining, balances(&t.db, &acct.id).await.voucher);
    let before = balances(&t.db, &acct.id).await.voucher;
    let done = redeem(&t.db, &acct.id, &demo::VOUCHER.to_lowercase(), now())
        .await
        .unwrap();
    assert_eq!(done.redeemed.amount, vnd(500_000));
    assert_eq!(
        balances(&t.db, &acct.id).await.voucher,
        vnd(before.to_minor().unwrap() + 500_000)
    );
}
