//! Billing plans on SQLite and (with BILLING_TEST_DB=postgres) PostgreSQL, on a test
//! clock (every time is passed in): the prorated upgrade paid from the balance, voucher
//! credits first, in one transaction; a short balance changing nothing; a double click
//! charging once; downgrades and cancellations at the period's end and their undo;
//! renewals exactly once per period with two processes; grace, retry on credit, and the
//! fall back to the free plan. Also the settings' change log.
#![cfg(feature = "ssr")]
#![allow(clippy::unwrap_used)]

use crate::support;

use app::domain::audit::Actor;
use app::domain::db::Db;
use app::domain::entities::{account, plan_change, subscription, transaction, user};
use app::domain::ledger::{self, TopUp, VoucherCredit};
use app::domain::plan::{self, PlanError, Step, UpgradeRequest};
use app::domain::settings::{self, LocalTime};
use app::model::ledger::{Balances, Kind, Service, Status};
use app::model::money::{Currency, Money};
use app::model::plan::PlanAction;
use app::model::plan::PlanSpec;
use app::model::settings::{DateFormat, Language, Preferences};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use std::sync::Arc;
use support::{TestDb, customer};

fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().unwrap()
}

fn vnd(n: i64) -> Money {
    Money::from_minor(n, Currency::Vnd)
}

/// Pro at 200,000 ₫ (and ¥1,200) and Business at 500,000 ₫ (VND only).
async fn catalogue(db: &Db) {
    for (code, name, price, rank) in [
        ("pro", "Pro", 200_000, 1),
        ("business", "Business", 500_000, 2),
    ] {
        let mut prices = vec![vnd(price)];
        if code == "pro" {
            prices.push(Money::from_minor(1_200, Currency::Jpy));
        }
        let limits = vec![("max_gpu_containers".to_owned(), (rank * 4).to_string())];
        plan::define(
            db,
            &PlanSpec {
                code: code.into(),
                name: name.into(),
                description: format!("{name} plan"),
                features: vec![format!("{} GPU containers", rank * 4)],
                limits,
                prices,
                rank,
                is_default: false,
                active: true,
            },
            &Actor::System,
            t(2026, 11, 1),
        )
        .await
        .unwrap();
    }
}

/// A customer whose account opened at `opened` (the periods' anchor).
async fn opened(db: &Db, email: &str, currency: Currency, opened: DateTime<Utc>) -> String {
    let id = customer(db, email, currency).await;
    account::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id.clone()),
        created_at: Set(opened),
        ..Default::default()
    }
    .update(db.conn())
    .await
    .unwrap();
    id
}

async fn top_up(db: &Db, account: &str, amount: Money, at: DateTime<Utc>) {
    let txn = db.write().await.unwrap();
    ledger::record_top_up_in(
        &txn,
        &TopUp {
            account_id: account.into(),
            amount,
            gateway: "VNPay".into(),
            reference: uuid::Uuid::new_v4().to_string(),
        },
        Status::Success,
        at,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn voucher(db: &Db, account: &str, amount: Money, at: DateTime<Utc>) {
    let txn = db.write().await.unwrap();
    ledger::grant_voucher_in(
        &txn,
        &VoucherCredit {
            account_id: account.into(),
            code: "GIFT".into(),
            amount,
            expires_at: Some(at + Duration::days(60)),
            description: "Gift".into(),
            origin: None,
        },
        at,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

async fn upgrade(
    db: &Db,
    account: &str,
    to: &str,
    token: Option<&str>,
    at: DateTime<Utc>,
) -> Result<plan::Upgraded, PlanError> {
    plan::upgrade(
        db,
        &UpgradeRequest {
            account_id: account,
            to_code: to,
            token,
            expected: None,
            actor: "user:1",
            dates: LocalTime::UTC,
        },
        at,
    )
    .await
}

async fn balances(db: &Db, account: &str) -> Balances {
    ledger::balances(db.conn(), account, Currency::Vnd)
        .await
        .unwrap()
}

async fn plan_rows(db: &Db, account: &str) -> Vec<transaction::Model> {
    transaction::Entity::find()
        .filter(transaction::Column::AccountId.eq(account))
        .filter(transaction::Column::Kind.eq(Kind::Plan.as_str()))
        .all(db.conn())
        .await
        .unwrap()
}

async fn current_plan(db: &Db, account: &str, at: DateTime<Utc>) -> String {
    plan::page(
        db.conn(),
        account,
        Currency::Vnd,
        t(2026, 12, 1),
        LocalTime::UTC,
        at,
    )
    .await
    .unwrap()
    .current
    .code
}

async fn audit_clean(db: &Db, account: &str) {
    assert_eq!(
        ledger::audit(db.conn(), account).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn every_account_starts_on_the_free_plan_with_periods_from_its_opening() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let id = opened(db, "a@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    let page = plan::page(
        db.conn(),
        &id,
        Currency::Vnd,
        t(2026, 12, 1),
        LocalTime::UTC,
        t(2027, 2, 10),
    )
    .await
    .unwrap();
    assert_eq!(page.current.code, "free");
    assert!(page.current.is_free);
    assert_eq!(page.current.period_start, "2027-02-01");
    assert_eq!(page.current.renews_on, "2027-03-01");
    let offered: Vec<(&str, PlanAction)> = page
        .plans
        .iter()
        .map(|p| (p.code.as_str(), p.action))
        .collect();
    assert_eq!(
        offered,
        [
            ("free", PlanAction::Current),
            ("pro", PlanAction::Upgrade),
            ("business", PlanAction::Upgrade)
        ]
    );
    // What the marketplace's services read.
    let api = plan::for_services(db.conn(), &id, t(2026, 12, 1), t(2027, 2, 10))
        .await
        .unwrap();
    assert_eq!(api["plan"], "free");
    assert_eq!(api["status"], "active");
    assert_eq!(api["limits"]["max_gpu_containers"], 1);
}

#[tokio::test]
async fn an_upgrade_charges_the_prorated_difference_voucher_credits_first() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let id = opened(db, "up@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    top_up(db, &id, vnd(500_000), t(2026, 12, 2)).await;
    voucher(db, &id, vnd(20_000), t(2026, 12, 2)).await;
    let at = t(2026, 12, 22); // 10 of 31 days left
    let preview = plan::preview_upgrade(
        db.conn(),
        &id,
        Currency::Vnd,
        t(2026, 12, 1),
        "pro",
        LocalTime::UTC,
        at,
    )
    .await
    .unwrap();
    // 200,000 × 10/31 = 64,516.13 → 64,516 ₫ (rounded down, the customer's way).
    assert_eq!(preview.amount, vnd(64_516));
    assert_eq!(preview.covers, "Upgrade Free → Pro, 22–31 Dec");
    assert_eq!(preview.renews_on, "2027-01-01");
    assert_eq!(preview.shortfall, None);

    let done = upgrade(db, &id, "pro", Some("click-1"), at).await.unwrap();
    assert_eq!(done.charged, vnd(64_516));
    assert!(!done.replayed);
    assert_eq!(
        done.balances,
        Balances {
            top_up: vnd(500_000 - 44_516),
            voucher: vnd(0)
        }
    );
    assert_eq!(balances(db, &id).await, done.balances);
    let rows = plan_rows(db, &id).await;
    let mut parts: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.bucket.clone(), r.amount_minor))
        .collect();
    parts.sort();
    assert_eq!(
        parts,
        [("top_up".into(), -44_516), ("voucher".into(), -20_000)]
    );
    for row in &rows {
        assert_eq!(row.service.as_deref(), Some(Service::BillingPlans.as_str()));
        assert_eq!(row.source, "Pro");
        assert_eq!(row.description, "Upgrade Free → Pro, 22–31 Dec");
        assert_eq!(row.status, "success");
    }
    assert_eq!(current_plan(db, &id, at).await, "pro");
    audit_clean(db, &id).await;
    // The Voucher List counts a plan's spend as used: granted = used + expired + remaining.
    let list =
        app::domain::voucher::list_for_account(db.conn(), &id, Currency::Vnd, LocalTime::UTC, at)
            .await
            .unwrap();
    assert_eq!(
        (
            list.rows[0].granted,
            list.rows[0].used,
            list.rows[0].remaining
        ),
        (vnd(20_000), vnd(20_000), vnd(0))
    );

    // Pro → Business in the same period: the difference for what is left.
    let later = t(2026, 12, 27); // 5 of 31 days left: 300,000 × 5/31 = 48,387.09…
    let done = upgrade(db, &id, "business", None, later).await.unwrap();
    assert_eq!(done.charged, vnd(48_387));
    // Cheaper plans and the same plan are not upgrades.
    assert!(matches!(
        upgrade(db, &id, "pro", None, later).await,
        Err(PlanError::NotAnUpgrade(_))
    ));
    assert!(matches!(
        upgrade(db, &id, "business", None, later).await,
        Err(PlanError::AlreadyOn(_))
    ));
    assert!(matches!(
        upgrade(db, &id, "gold", None, later).await,
        Err(PlanError::UnknownPlan(_))
    ));
    audit_clean(db, &id).await;
}

#[tokio::test]
async fn a_short_balance_changes_nothing_and_names_the_shortfall() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let id = opened(db, "short@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    top_up(db, &id, vnd(10_000), t(2026, 12, 1)).await;
    let at = t(2026, 12, 1);
    let preview = plan::preview_upgrade(
        db.conn(),
        &id,
        Currency::Vnd,
        t(2026, 12, 1),
        "pro",
        LocalTime::UTC,
        at,
    )
    .await
    .unwrap();
    let short = preview.shortfall.unwrap();
    assert_eq!(short.missing, vnd(190_000));
    // Add credit starts at the minimum top-up when the shortfall is smaller.
    assert_eq!(short.top_up, vnd(500_000));
    match upgrade(db, &id, "pro", Some("k"), at).await {
        Err(PlanError::Short(s)) => assert_eq!(s.missing, vnd(190_000)),
        other => panic!("expected a shortfall, got {other:?}"),
    }
    assert_eq!(current_plan(db, &id, at).await, "free");
    assert!(plan_rows(db, &id).await.is_empty());
    assert_eq!(balances(db, &id).await.top_up, vnd(10_000));
    let changes = plan_change::Entity::find().count(db.conn()).await.unwrap();
    assert_eq!(changes, 0);
    // A higher price than the customer was shown is refused, never taken.
    top_up(db, &id, vnd(1_000_000), at).await;
    let refused = plan::upgrade(
        db,
        &UpgradeRequest {
            account_id: &id,
            to_code: "pro",
            token: None,
            expected: Some(vnd(100_000)),
            actor: "user:1",
            dates: LocalTime::UTC,
        },
        at,
    )
    .await;
    assert!(matches!(refused, Err(PlanError::PriceChanged(m)) if m == vnd(200_000)));
    assert!(plan_rows(db, &id).await.is_empty());
}

#[tokio::test]
async fn a_double_click_upgrades_and_charges_once_across_processes() {
    let test = TestDb::new().await;
    let db = test.db.clone();
    let other = test.another_process().await;
    catalogue(&db).await;
    let id = opened(&db, "dbl@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    top_up(&db, &id, vnd(5_000_000), t(2026, 12, 1)).await;
    let at = t(2026, 12, 11);
    let id = Arc::new(id);
    // The same click eight times (one token), over two connection pools.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = if i % 2 == 0 {
            db.clone()
        } else {
            other.clone()
        };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            upgrade(&db, &id, "pro", Some("same-click"), at).await
        }));
    }
    let mut replays = 0;
    for task in tasks {
        let done = task.await.unwrap().unwrap();
        assert_eq!(done.charged, vnd(135_483)); // 200,000 × 21/31
        replays += usize::from(done.replayed);
    }
    assert_eq!(replays, 7);
    assert_eq!(plan_rows(&db, &id).await.len(), 1);
    // Eight different clicks for Business at once: one upgrade, the rest see it done.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = if i % 2 == 0 {
            db.clone()
        } else {
            other.clone()
        };
        let id = id.clone();
        let token = format!("click-{i}");
        tasks.push(tokio::spawn(async move {
            upgrade(&db, &id, "business", Some(&token), at).await
        }));
    }
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(PlanError::AlreadyOn(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(made, 1);
    assert_eq!(plan_rows(&db, &id).await.len(), 2);
    audit_clean(&db, &id).await;
}

#[tokio::test]
async fn downgrades_and_cancellations_wait_for_the_period_end_and_can_be_undone() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let id = opened(db, "down@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    top_up(db, &id, vnd(5_000_000), t(2026, 12, 1)).await;
    upgrade(db, &id, "business", None, t(2026, 12, 1))
        .await
        .unwrap();
    let charged = plan_rows(db, &id).await.len();
    let at = t(2026, 12, 10);
    assert!(matches!(
        plan::schedule_change(db, &id, Some("business"), "user:1", at).await,
        Err(PlanError::AlreadyOn(_))
    ));
    let scheduled = plan::schedule_change(db, &id, Some("pro"), "user:1", at)
        .await
        .unwrap();
    assert_eq!(scheduled.on, t(2027, 1, 1));
    let page = plan::page(
        db.conn(),
        &id,
        Currency::Vnd,
        t(2026, 12, 1),
        LocalTime::UTC,
        at,
    )
    .await
    .unwrap();
    assert_eq!(page.current.code, "business");
    let s = page.current.scheduled.unwrap();
    assert_eq!(
        (s.to_code.as_str(), s.cancel, s.on.as_str()),
        ("pro", false, "2027-01-01")
    );
    assert_eq!(
        plan_rows(db, &id).await.len(),
        charged,
        "scheduling charges nothing"
    );
    plan::undo_scheduled(db, &id, "user:1", at).await.unwrap();
    assert!(matches!(
        plan::undo_scheduled(db, &id, "user:1", at).await,
        Err(PlanError::NothingScheduled)
    ));
    // Cancel: at the period's end the free plan, nothing charged.
    plan::schedule_change(db, &id, None, "user:1", at)
        .await
        .unwrap();
    let before = balances(db, &id).await;
    let report = plan::renew_due(db, t(2027, 1, 1), Duration::days(3))
        .await
        .unwrap();
    assert_eq!(report.renewed, 1);
    assert_eq!(current_plan(db, &id, t(2027, 1, 1)).await, "free");
    assert_eq!(balances(db, &id).await, before);
    assert!(matches!(
        plan::schedule_change(db, &id, None, "user:1", t(2027, 1, 2)).await,
        Err(PlanError::NothingToCancel)
    ));
    // A scheduled downgrade renews at the cheaper price.
    upgrade(db, &id, "business", None, t(2027, 1, 2))
        .await
        .unwrap();
    plan::schedule_change(db, &id, Some("pro"), "user:1", t(2027, 1, 3))
        .await
        .unwrap();
    assert!(matches!(
        plan::schedule_change(db, &id, Some("business"), "user:1", t(2027, 1, 3)).await,
        Err(PlanError::AlreadyOn(_))
    ));
    plan::renew_due(db, t(2027, 2, 1), Duration::days(3))
        .await
        .unwrap();
    assert_eq!(current_plan(db, &id, t(2027, 2, 1)).await, "pro");
    let last = plan_rows(db, &id)
        .await
        .into_iter()
        .max_by_key(|r| r.id)
        .unwrap();
    assert_eq!(last.amount_minor, -200_000);
    assert_eq!(last.description, "Pro plan, 1–28 Feb");
    audit_clean(db, &id).await;
}

#[tokio::test]
async fn each_period_renews_once_with_two_processes_at_once() {
    let test = TestDb::new().await;
    let db = test.db.clone();
    let other = test.another_process().await;
    catalogue(&db).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = opened(
            &db,
            &format!("r{i}@example.com"),
            Currency::Vnd,
            t(2026, 12, 1),
        )
        .await;
        top_up(&db, &id, vnd(1_000_000), t(2026, 12, 1)).await;
        upgrade(&db, &id, "pro", None, t(2026, 12, 1))
            .await
            .unwrap();
        ids.push(id);
    }
    let end = t(2027, 1, 1);
    let (a, b) = tokio::join!(
        plan::renew_due(&db, end, Duration::days(3)),
        plan::renew_due(&other, end, Duration::days(3)),
    );
    assert_eq!(a.unwrap().renewed + b.unwrap().renewed, 12);
    // Run again (a retry, a restart): nothing is due.
    assert_eq!(
        plan::renew_due(&db, end + Duration::hours(1), Duration::days(3))
            .await
            .unwrap()
            .renewed,
        0
    );
    for id in &ids {
        let rows = plan_rows(&db, id).await;
        assert_eq!(rows.len(), 2, "the upgrade and one renewal");
        assert_eq!(balances(&db, id).await.top_up, vnd(600_000));
        let sub = subscription::Entity::find_by_id(id.clone())
            .one(db.conn())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (sub.period_start, sub.period_end),
            (t(2027, 1, 1), t(2027, 2, 1))
        );
        audit_clean(&db, id).await;
    }
    // The key per account and period is unique in the database as well.
    let keys = plan_change::Entity::find()
        .filter(plan_change::Column::Kind.eq("renewal"))
        .count(db.conn())
        .await
        .unwrap();
    assert_eq!(keys, 12);
}

#[tokio::test]
async fn an_unpaid_renewal_gets_grace_is_retried_when_credit_arrives_then_falls_back() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let paid_later = opened(db, "later@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    let never = opened(db, "never@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    for id in [&paid_later, &never] {
        top_up(db, id, vnd(250_000), t(2026, 12, 1)).await;
        upgrade(db, id, "pro", None, t(2026, 12, 1)).await.unwrap();
    }
    let end = t(2027, 1, 1);
    let report = plan::renew_due(db, end, Duration::days(3)).await.unwrap();
    assert_eq!((report.renewed, report.unpaid), (0, 2));
    for id in [&paid_later, &never] {
        let page = plan::page(
            db.conn(),
            id,
            Currency::Vnd,
            t(2026, 12, 1),
            LocalTime::UTC,
            end,
        )
        .await
        .unwrap();
        assert_eq!(page.current.code, "pro", "the plan stays during grace");
        let grace = page.current.grace.unwrap();
        assert_eq!(grace.until, "2027-01-04 00:00");
        assert_eq!(grace.shortfall, vnd(150_000));
        assert_eq!(
            app::domain::account::standing(db.conn(), id, Currency::Vnd)
                .await
                .unwrap()
                .grace_until,
            Some(t(2027, 1, 4))
        );
        assert!(matches!(
            upgrade(db, id, "business", None, end).await,
            Err(PlanError::RenewalUnpaid(_))
        ));
    }
    // Not retried again within the day; the next day's retry is still short.
    assert_eq!(
        plan::renew_due(db, end + Duration::hours(2), Duration::days(3))
            .await
            .unwrap()
            .unpaid,
        0
    );
    assert_eq!(
        plan::renew_due(db, end + Duration::days(1), Duration::days(3))
            .await
            .unwrap()
            .unpaid,
        2
    );
    // Credit arrives: the renewal is paid at once, for the period it was due.
    top_up(db, &paid_later, vnd(500_000), end + Duration::days(2)).await;
    assert_eq!(
        plan::retry_after_credit(db, &paid_later, end + Duration::days(2))
            .await
            .unwrap(),
        [Step::Renewed]
    );
    let sub = subscription::Entity::find_by_id(paid_later.clone())
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (sub.period_start, sub.period_end, sub.grace_until),
        (end, t(2027, 2, 1), None)
    );
    assert_eq!(balances(db, &paid_later).await.top_up, vnd(350_000));
    // The other falls back to the free plan when the grace ends, with the reason kept.
    let report = plan::renew_due(db, t(2027, 1, 4), Duration::days(3))
        .await
        .unwrap();
    assert_eq!(report.fell_back, 1);
    assert_eq!(current_plan(db, &never, t(2027, 1, 4)).await, "free");
    let fallback = plan_change::Entity::find()
        .filter(plan_change::Column::AccountId.eq(never.as_str()))
        .filter(plan_change::Column::Kind.eq("free_fallback"))
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    assert!(
        fallback.reason.contains("short by 150.000 ₫"),
        "{}",
        fallback.reason
    );
    assert_eq!(
        plan_rows(db, &never).await.len(),
        1,
        "only the upgrade was ever charged"
    );
    let standing = app::domain::account::standing(db.conn(), &never, Currency::Vnd).await;
    assert_eq!(standing.unwrap().grace_until, None);
    for id in [&paid_later, &never] {
        audit_clean(db, id).await;
    }
}

#[tokio::test]
async fn a_plan_without_a_price_in_the_currency_is_not_offered() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let id = opened(db, "jp@example.com", Currency::Jpy, t(2026, 12, 1)).await;
    let page = plan::page(
        db.conn(),
        &id,
        Currency::Jpy,
        t(2026, 12, 1),
        LocalTime::UTC,
        t(2026, 12, 5),
    )
    .await
    .unwrap();
    let codes: Vec<&str> = page.plans.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["free", "pro"]);
    assert_eq!(page.plans[1].price, Money::from_minor(1_200, Currency::Jpy));
    assert!(matches!(
        upgrade(db, &id, "business", None, t(2026, 12, 5)).await,
        Err(PlanError::NotOffered(_, Currency::Jpy))
    ));
}

#[tokio::test]
async fn settings_changes_are_logged_with_who_and_what() {
    let test = TestDb::new().await;
    let db = &test.db;
    let account = customer(db, "pref@example.com", Currency::Vnd).await;
    let user_id = account::Entity::find_by_id(account)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let at = t(2026, 12, 3);
    let prefs = Preferences {
        language: Language::Vi,
        time_zone: "Asia/Ho_Chi_Minh".into(),
        date_format: DateFormat::Dmy,
    };
    assert_eq!(
        settings::save_preferences(db, user_id, user_id, &prefs, at)
            .await
            .unwrap(),
        3
    );
    // Saving the same again records nothing.
    assert_eq!(
        settings::save_preferences(db, user_id, user_id, &prefs, at)
            .await
            .unwrap(),
        0
    );
    let saved = user::Entity::find_by_id(user_id)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap();
    let dates = LocalTime::of(&saved);
    assert_eq!(dates.date_time(t(2026, 12, 3)), "03/12/2026 07:00:00");
    let log = settings::changes(db.conn(), user_id, dates, 10)
        .await
        .unwrap();
    let fields: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|c| (c.field.as_str(), c.from.as_str(), c.to.as_str()))
        .collect();
    // In the reader's language (now Vietnamese): the settings, and the values that are
    // ours (languages by name, date formats as Settings lists them); zones as stored.
    assert_eq!(fields.len(), 3);
    assert!(fields.contains(&("Múi giờ", "UTC", "Asia/Ho_Chi_Minh")));
    assert!(fields.contains(&("Ngôn ngữ", "English", "Tiếng Việt")));
    assert!(fields.contains(&(
        "Định dạng ngày",
        "2026-11-25 (năm-tháng-ngày)",
        "25/11/2026 (ngày/tháng/năm)"
    )));
    assert!(
        log.iter()
            .all(|c| c.who == "Bạn" && c.when == "03/12/2026 07:00")
    );
}

#[tokio::test]
async fn a_new_price_applies_from_the_next_renewal_and_the_catalogue_counts_subscribers() {
    let test = TestDb::new().await;
    let db = &test.db;
    catalogue(db).await;
    let id = opened(db, "price@example.com", Currency::Vnd, t(2026, 12, 1)).await;
    top_up(db, &id, vnd(2_000_000), t(2026, 12, 1)).await;
    upgrade(db, &id, "pro", None, t(2026, 12, 1)).await.unwrap();
    let listed = plan::summaries(db.conn()).await.unwrap();
    let pro = listed.iter().find(|p| p.code == "pro").unwrap();
    assert_eq!(pro.subscribers, 1);
    assert_eq!(pro.limits, r#"{"max_gpu_containers":4}"#);
    // Pro now costs 300,000 ₫: paid upgrades stay paid; the renewal charges the new price.
    let form = app::model::plan::PlanForm {
        code: "pro".into(),
        name: "Pro".into(),
        limits: "max_gpu_containers=6".into(),
        price_vnd: "300000".into(),
        rank: "1".into(),
        active: true,
        ..Default::default()
    };
    plan::define(
        db,
        &form.validate().unwrap(),
        &Actor::System,
        t(2026, 12, 15),
    )
    .await
    .unwrap();
    plan::renew_due(db, t(2027, 1, 1), Duration::days(3))
        .await
        .unwrap();
    let charged: Vec<i64> = plan_rows(db, &id)
        .await
        .iter()
        .map(|r| r.amount_minor)
        .collect();
    assert_eq!(charged, [-200_000, -300_000]);
    let api = plan::for_services(db.conn(), &id, t(2026, 12, 1), t(2027, 1, 2))
        .await
        .unwrap();
    assert_eq!(api["limits"]["max_gpu_containers"], 6);
    // The free plan stays the default; a plan without prices cannot be stored.
    let priceless = app::model::plan::PlanSpec {
        prices: Vec::new(),
        ..form.validate().unwrap()
    };
    assert!(matches!(
        plan::define(db, &priceless, &Actor::System, t(2027, 1, 2)).await,
        Err(PlanError::Catalogue(_))
    ));
}

#[tokio::test]
async fn a_first_billing_country_sets_the_time_zone_still_on_utc() {
    use app::model::billing::{BillingProfile, BillingType};
    let test = TestDb::new().await;
    let db = &test.db;
    let account = customer(db, "tz@example.com", Currency::Jpy).await;
    let user_id = account::Entity::find_by_id(account)
        .one(db.conn())
        .await
        .unwrap()
        .unwrap()
        .user_id;
    let mut profile = BillingProfile {
        billing_type: BillingType::Personal,
        name: "Sato Hanako".into(),
        email: "tz@example.com".into(),
        address: "1-1 Chiyoda, Tokyo".into(),
        country: "JP".into(),
        currency: Currency::Jpy,
        tax_code: None,
    };
    app::domain::billing::save(db, user_id, &profile)
        .await
        .unwrap();
    let conn = db.conn().clone();
    let zone = move || {
        let conn = conn.clone();
        async move {
            user::Entity::find_by_id(user_id)
                .one(&conn)
                .await
                .unwrap()
                .unwrap()
                .time_zone
        }
    };
    assert_eq!(zone().await, "Asia/Tokyo");
    // Later saves leave the user's own choice alone.
    let prefs = Preferences {
        language: Language::En,
        time_zone: "Europe/London".into(),
        date_format: DateFormat::Ymd,
    };
    settings::save_preferences(db, user_id, user_id, &prefs, t(2026, 12, 1))
        .await
        .unwrap();
    profile.address = "2-2 Chiyoda, Tokyo".into();
    app::domain::billing::save(db, user_id, &profile)
        .await
        .unwrap();
    assert_eq!(zone().await, "Europe/London");
    let log = settings::changes(db.conn(), user_id, LocalTime::UTC, 20)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|c| c.field == "Time zone" && c.from == "UTC" && c.to == "Asia/Tokyo")
    );
    assert!(
        log.iter()
            .any(|c| c.field == "Address" && c.to == "2-2 Chiyoda, Tokyo")
    );
}
