//! Billing plans: the catalogue, each account's subscription, upgrades paid from the
//! balance, downgrades and cancellations at the period's end, and renewals.
//!
//! Rules kept here:
//! - every account is on a plan: without a subscription row, the free (default) plan,
//!   with monthly periods counted from the account's opening;
//! - an upgrade takes effect at once and charges the prorated difference for the rest
//!   of the period (`model::plan::upgrade_charge`), from the balance, voucher credits
//!   first, in the transaction that changes the plan; balance short: nothing changes;
//! - a downgrade or cancellation waits for the period's end and can be undone until
//!   then; it never charges;
//! - a renewal charges the next period once per (account, period): the subscription's
//!   period only moves forward under the account's lock, and its plan change carries the
//!   key `renewal:<period start>` (unique per account). Balance short: a grace period
//!   (the plan stays), retried daily and when credit arrives; after it, the free plan.
//!
//! Every write locks the account first (`ledger::lock_account`) and reads the
//! subscription after: upgrades, scheduled changes and renewals of one account never
//! interleave, in one process or several.

use super::audit::{self, Actor, Entry};
use super::db::Db;
use super::entities::{plan, plan_change, plan_price, subscription, user};
use super::ledger::{self, LedgerError, LockedAccount, Spend, Spent};
use super::narrative::{self, Narrative};
use super::settings::LocalTime;
use crate::model::ledger::{Balances, Kind, Service};
use crate::model::money::{Currency, Money};
use crate::model::plan::{
    CurrentPlan, Grace, PlanAction, PlanOffer, PlanSpec, PlanSummary, PlansPage, ScheduledChange,
    Shortfall, UpgradePreview, period_start, upgrade_charge,
};
use crate::model::top_up;
use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;

/// How long an unpaid renewal keeps its plan before the free plan, unless configured.
pub const DEFAULT_GRACE_DAYS: i64 = 3;

/// Why a plan change did not happen. The messages are the customer's.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("There is no plan called {0:?}.")]
    UnknownPlan(String),
    #[error("The {0} plan is not offered in {1}.")]
    NotOffered(String, Currency),
    #[error("You are already on the {0} plan.")]
    AlreadyOn(String),
    #[error(
        "{0} costs less than your plan: choose Downgrade, which takes effect at the end of your period."
    )]
    NotAnUpgrade(String),
    #[error("{0} costs more than your plan: choose Upgrade.")]
    NotADowngrade(String),
    #[error("Your {0} renewal is unpaid: add credit to pay it before changing plans.")]
    RenewalUnpaid(String),
    #[error("Your plan is renewing right now; try again in a minute.")]
    Renewing,
    #[error("You are on the free plan: there is nothing to cancel.")]
    NothingToCancel,
    #[error("No plan change is scheduled.")]
    NothingScheduled,
    #[error("Your balance is short by {}: add credit, then upgrade.", .0.missing)]
    Short(Shortfall),
    #[error("The upgrade now costs {0}, more than you were shown. Check it and confirm again.")]
    PriceChanged(Money),
    #[error("{0}")]
    Catalogue(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl PlanError {
    /// Whether the customer (or operator) can act on this error; the rest are ours.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, PlanError::Ledger(_) | PlanError::Db(_))
    }
}

/// A plan with its prices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CataloguePlan {
    pub plan: plan::Model,
    pub prices: HashMap<Currency, i64>,
}

impl CataloguePlan {
    /// Its monthly price in `currency`; the free plan costs nothing anywhere; `None`:
    /// not offered in that currency.
    pub fn price(&self, currency: Currency) -> Option<Money> {
        if self.plan.is_default {
            return Some(Money::zero(currency));
        }
        self.prices
            .get(&currency)
            .map(|minor| Money::from_minor(*minor, currency))
    }

    /// The features, one line each.
    pub fn features(&self) -> Vec<String> {
        self.plan
            .features
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The whole catalogue, cheapest (lowest rank) first.
pub async fn catalogue<C: ConnectionTrait>(conn: &C) -> Result<Vec<CataloguePlan>, DbErr> {
    let plans = plan::Entity::find()
        .order_by_asc(plan::Column::Rank)
        .order_by_asc(plan::Column::Id)
        .all(conn)
        .await?;
    let mut prices: HashMap<i64, HashMap<Currency, i64>> = HashMap::new();
    for price in plan_price::Entity::find().all(conn).await? {
        if let Some(currency) = Currency::from_code(&price.currency) {
            prices
                .entry(price.plan_id)
                .or_default()
                .insert(currency, price.amount_minor);
        }
    }
    Ok(plans
        .into_iter()
        .map(|plan| CataloguePlan {
            prices: prices.remove(&plan.id).unwrap_or_default(),
            plan,
        })
        .collect())
}

/// A limit's value in the JSON services read: numbers, true/false and null keep their
/// type; anything else is text.
fn limit_value(text: &str) -> serde_json::Value {
    serde_json::from_str(text)
        .ok()
        .filter(|v: &serde_json::Value| !v.is_object() && !v.is_array() && !v.is_string())
        .unwrap_or_else(|| serde_json::Value::String(text.to_owned()))
}

/// Creates the plan, or replaces the one with its code (prices included). A new price
/// applies from each subscriber's next renewal; an upgrade already paid stays paid.
pub async fn define(
    db: &Db,
    definition: &PlanSpec,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<plan::Model, PlanError> {
    if let Some(problem) = definition.problems().into_iter().next() {
        return Err(PlanError::Catalogue(problem.problem.to_string()));
    }
    let limits: serde_json::Map<String, serde_json::Value> = definition
        .limits
        .iter()
        .map(|(name, value)| (name.clone(), limit_value(value)))
        .collect();
    let txn = db.write().await?;
    let existing = plan::Entity::find()
        .filter(plan::Column::Code.eq(definition.code.as_str()))
        .one(&*txn)
        .await?;
    if existing.as_ref().is_some_and(|p| p.is_default) && !definition.is_default {
        return Err(PlanError::Catalogue(
            "The default plan stays the default: make another plan the default first.".into(),
        ));
    }
    if definition.is_default {
        // One default plan: it is where every account starts and falls back to.
        plan::Entity::update_many()
            .col_expr(plan::Column::IsDefault, Expr::value(false))
            .filter(plan::Column::Code.ne(definition.code.as_str()))
            .exec(&*txn)
            .await?;
    }
    let mut row = plan::ActiveModel {
        code: Set(definition.code.clone()),
        name: Set(definition.name.trim().to_owned()),
        description: Set(definition.description.trim().to_owned()),
        features: Set(definition.features.join("\n")),
        limits: Set(serde_json::Value::Object(limits).to_string()),
        rank: Set(definition.rank),
        is_default: Set(definition.is_default),
        active: Set(definition.active || definition.is_default),
        created_at: Set(at),
        ..Default::default()
    };
    let before = match &existing {
        Some(old) => json!({
            "name": old.name,
            "active": old.active,
            "default": old.is_default,
            "limits": old.limits,
            "prices": prices_text(&txn, old.id).await?,
        }),
        None => json!({}),
    };
    let saved = match existing {
        Some(old) => {
            row.id = Set(old.id);
            row.created_at = Set(old.created_at);
            row.update(&*txn).await?
        }
        None => row.insert(&*txn).await?,
    };
    plan_price::Entity::delete_many()
        .filter(plan_price::Column::PlanId.eq(saved.id))
        .exec(&*txn)
        .await?;
    for price in &definition.prices {
        plan_price::ActiveModel {
            plan_id: Set(saved.id),
            currency: Set(price.currency().code().to_owned()),
            amount_minor: Set(price.to_minor().unwrap_or(0)),
        }
        .insert(&*txn)
        .await?;
    }
    let after = json!({
        "name": saved.name,
        "active": saved.active,
        "default": saved.is_default,
        "limits": saved.limits,
        "prices": prices_text(&txn, saved.id).await?,
    });
    audit::append(
        &txn,
        &Entry {
            actor,
            action: "plan.defined",
            account_id: None,
            subject: format!("plan:{}", saved.code),
            before,
            after,
            reason: "",
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// A plan's prices as the audit log writes them: `["VND 499000", …]` in minor units.
async fn prices_text(txn: &DatabaseTransaction, plan_id: i64) -> Result<Vec<String>, DbErr> {
    Ok(plan_price::Entity::find()
        .filter(plan_price::Column::PlanId.eq(plan_id))
        .order_by_asc(plan_price::Column::Currency)
        .all(txn)
        .await?
        .into_iter()
        .map(|p| format!("{} {}", p.currency, p.amount_minor))
        .collect())
}

/// The catalogue as the operators' console lists it, with each plan's subscribers.
pub async fn summaries<C: ConnectionTrait>(conn: &C) -> Result<Vec<PlanSummary>, DbErr> {
    let counts: Vec<(i64, i64)> = subscription::Entity::find()
        .select_only()
        .column(subscription::Column::PlanId)
        .column_as(
            sea_orm::sea_query::Expr::cust("CAST(COUNT(*) AS BIGINT)"),
            "n",
        )
        .group_by(subscription::Column::PlanId)
        .into_tuple()
        .all(conn)
        .await?;
    let counts: HashMap<i64, i64> = counts.into_iter().collect();
    Ok(catalogue(conn)
        .await?
        .into_iter()
        .map(|p| PlanSummary {
            features: p.features(),
            prices: Currency::ALL
                .iter()
                .filter(|_| !p.plan.is_default)
                .filter_map(|c| p.price(*c))
                .collect(),
            subscribers: counts
                .get(&p.plan.id)
                .copied()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            code: p.plan.code,
            name: p.plan.name,
            description: p.plan.description,
            limits: p.plan.limits,
            rank: p.plan.rank,
            is_default: p.plan.is_default,
            active: p.plan.active,
        })
        .collect())
}

/// The monthly period of `anchor`'s sequence that holds `at` (the first one if `at` is
/// before the anchor).
pub fn period_at(anchor: DateTime<Utc>, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let months = (at.year() - anchor.year()) * 12 + at.month() as i32 - anchor.month() as i32;
    let mut n = u32::try_from(months.max(0)).unwrap_or(0);
    while n > 0 && period_start(anchor, n) > at {
        n -= 1;
    }
    while period_start(anchor, n + 1) <= at {
        n += 1;
    }
    (period_start(anchor, n), period_start(anchor, n + 1))
}

/// The account's subscription as it stands at `at`: its row, or the free plan from the
/// account's opening. A free plan's period rolls forward by itself (nothing to charge).
fn standing(
    row: Option<subscription::Model>,
    account_id: &str,
    opened_at: DateTime<Utc>,
    free: &CataloguePlan,
    at: DateTime<Utc>,
) -> subscription::Model {
    let mut sub = row.unwrap_or_else(|| {
        let (start, end) = period_at(opened_at, at);
        subscription::Model {
            account_id: account_id.to_owned(),
            plan_id: free.plan.id,
            anchor: opened_at,
            period_start: start,
            period_end: end,
            scheduled_plan_id: None,
            grace_until: None,
            retry_at: None,
            updated_at: at,
        }
    });
    if sub.plan_id == free.plan.id && sub.scheduled_plan_id.is_none() && sub.period_end <= at {
        (sub.period_start, sub.period_end) = period_at(sub.anchor, at);
    }
    sub
}

/// The catalogue and where the account stands in it at `at` (no write).
async fn read_standing<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    opened_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<(Vec<CataloguePlan>, subscription::Model), PlanError> {
    let catalogue = catalogue(conn).await?;
    let free = default_plan(&catalogue)?;
    let row = subscription::Entity::find_by_id(account_id.to_owned())
        .one(conn)
        .await?;
    let sub = standing(row, account_id, opened_at, free, at);
    Ok((catalogue, sub))
}

fn default_plan(catalogue: &[CataloguePlan]) -> Result<&CataloguePlan, PlanError> {
    catalogue
        .iter()
        .find(|p| p.plan.is_default)
        .ok_or_else(|| PlanError::Catalogue("No default plan is defined.".into()))
}

fn by_id(catalogue: &[CataloguePlan], id: i64) -> Result<&CataloguePlan, PlanError> {
    catalogue
        .iter()
        .find(|p| p.plan.id == id)
        .ok_or_else(|| PlanError::Catalogue(format!("plan {id} is missing")))
}

fn by_code<'a>(catalogue: &'a [CataloguePlan], code: &str) -> Result<&'a CataloguePlan, PlanError> {
    catalogue
        .iter()
        .find(|p| p.plan.code == code && p.plan.active)
        .ok_or_else(|| PlanError::UnknownPlan(code.to_owned()))
}

/// The subscription row under the account's lock, created (free plan) if missing, with a
/// free plan's period rolled forward.
async fn locked_subscription(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    free: &CataloguePlan,
    at: DateTime<Utc>,
) -> Result<subscription::Model, DbErr> {
    let row = subscription::Entity::find_by_id(account.id.clone())
        .one(txn)
        .await?;
    let stored = row.clone();
    let sub = standing(row, &account.id, account.opened_at, free, at);
    match stored {
        None => {
            subscription::ActiveModel::from(sub.clone())
                .insert(txn)
                .await?;
        }
        Some(stored) if stored != sub => save_subscription(txn, &sub, at).await?,
        Some(_) => {}
    }
    Ok(sub)
}

async fn save_subscription(
    txn: &DatabaseTransaction,
    sub: &subscription::Model,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    subscription::ActiveModel {
        account_id: sea_orm::ActiveValue::Unchanged(sub.account_id.clone()),
        plan_id: Set(sub.plan_id),
        anchor: Set(sub.anchor),
        period_start: Set(sub.period_start),
        period_end: Set(sub.period_end),
        scheduled_plan_id: Set(sub.scheduled_plan_id),
        grace_until: Set(sub.grace_until),
        retry_at: Set(sub.retry_at),
        updated_at: Set(at),
    }
    .update(txn)
    .await?;
    Ok(())
}

/// One row of the plan changes' log.
struct Change<'a> {
    kind: &'static str,
    from: Option<i64>,
    to: i64,
    amount_minor: i64,
    period: (DateTime<Utc>, DateTime<Utc>),
    reason: String,
    actor: &'a str,
    key: Option<String>,
}

async fn log_change(
    txn: &DatabaseTransaction,
    account_id: &str,
    change: Change<'_>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    plan_change::ActiveModel {
        account_id: Set(account_id.to_owned()),
        kind: Set(change.kind.to_owned()),
        from_plan_id: Set(change.from),
        to_plan_id: Set(change.to),
        amount_minor: Set(change.amount_minor),
        period_start: Set(change.period.0),
        period_end: Set(change.period.1),
        reason: Set(change.reason.clone()),
        actor: Set(change.actor.to_owned()),
        idempotency_key: Set(change.key.clone()),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let actor = match change.actor.strip_prefix("user:").map(str::parse::<i64>) {
        Some(Ok(id)) => user::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map_or(Actor::System, |u| Actor::user(&u)),
        _ => Actor::System,
    };
    audit::append(
        txn,
        &Entry {
            actor: &actor,
            action: &format!("plan.{}", change.kind),
            account_id: Some(account_id),
            subject: format!("subscription:{account_id}"),
            before: json!({ "plan_id": change.from }),
            after: json!({
                "plan_id": change.to,
                "charged_minor": change.amount_minor,
                "period_start": change.period.0.to_rfc3339(),
                "period_end": change.period.1.to_rfc3339(),
                "key": change.key,
            }),
            reason: &change.reason,
        },
        at,
    )
    .await?;
    Ok(())
}

async fn change_with_key<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    key: &str,
) -> Result<Option<plan_change::Model>, DbErr> {
    plan_change::Entity::find()
        .filter(plan_change::Column::AccountId.eq(account_id))
        .filter(plan_change::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await
}

/// The Billing Plans tab for an account.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
    opened_at: DateTime<Utc>,
    dates: LocalTime,
    at: DateTime<Utc>,
) -> Result<PlansPage, PlanError> {
    let (catalogue, sub) = read_standing(conn, account_id, opened_at, at).await?;
    let current = by_id(&catalogue, sub.plan_id)?;
    let current_price = current.price(currency).unwrap_or(Money::zero(currency));
    let plans = catalogue
        .iter()
        .filter(|p| p.plan.active || p.plan.id == sub.plan_id)
        .filter_map(|p| p.price(currency).map(|price| (p, price)))
        .map(|(p, price)| PlanOffer {
            code: p.plan.code.clone(),
            name: p.plan.name.clone(),
            description: p.plan.description.clone(),
            features: p.features(),
            action: if p.plan.id == sub.plan_id {
                PlanAction::Current
            } else if Some(p.plan.id) == sub.scheduled_plan_id {
                PlanAction::Scheduled
            } else if price.amount() >= current_price.amount() {
                PlanAction::Upgrade
            } else {
                PlanAction::Downgrade
            },
            price,
        })
        .collect();
    let scheduled = match sub.scheduled_plan_id {
        Some(id) => {
            let to = by_id(&catalogue, id)?;
            Some(ScheduledChange {
                to_code: to.plan.code.clone(),
                to_name: to.plan.name.clone(),
                cancel: to.plan.is_default,
                on: dates.date(sub.period_end),
            })
        }
        None => None,
    };
    let grace = match sub.grace_until {
        Some(until) => {
            let due_plan = by_id(&catalogue, sub.scheduled_plan_id.unwrap_or(sub.plan_id))?;
            let due = due_plan.price(currency).unwrap_or(Money::zero(currency));
            let balances = ledger::balances(conn, account_id, currency).await?;
            Some(Grace {
                until: dates.date_minute(until),
                shortfall: shortfall(due, &balances).map_or(Money::zero(currency), |s| s.missing),
                due,
            })
        }
        None => None,
    };
    Ok(PlansPage {
        plans,
        current: CurrentPlan {
            code: current.plan.code.clone(),
            name: current.plan.name.clone(),
            price: current_price,
            is_free: current.plan.is_default,
            period_start: dates.date(sub.period_start),
            renews_on: dates.date(sub.period_end),
            scheduled,
            grace,
        },
    })
}

/// What is missing for a charge of `due`, and what Add credit should start with.
fn shortfall(due: Money, balances: &Balances) -> Option<Shortfall> {
    let currency = due.currency();
    let missing = due.to_minor()? - balances.total().to_minor()?;
    (missing > 0).then(|| {
        let minimum = top_up::minimum(currency).to_minor().unwrap_or(0);
        Shortfall {
            missing: Money::from_minor(missing, currency),
            top_up: Money::from_minor(missing.max(minimum), currency),
        }
    })
}

/// The upgrade to `to_code` worked out at `at`, as the preview shows it and the upgrade
/// charges it.
struct Worked<'a> {
    from: &'a CataloguePlan,
    to: &'a CataloguePlan,
    amount: Money,
    /// What the charge covers, as its ledger row says it.
    covers: Narrative,
    renewal_price: Money,
}

fn work_out<'a>(
    catalogue: &'a [CataloguePlan],
    sub: &subscription::Model,
    to_code: &str,
    currency: Currency,
    dates: LocalTime,
    at: DateTime<Utc>,
) -> Result<Worked<'a>, PlanError> {
    let from = by_id(catalogue, sub.plan_id)?;
    if sub.grace_until.is_some() {
        return Err(PlanError::RenewalUnpaid(from.plan.name.clone()));
    }
    if sub.period_end <= at {
        // A paid period ended and the renewal job has not reached it yet.
        return Err(PlanError::Renewing);
    }
    let to = by_code(catalogue, to_code)?;
    if to.plan.id == from.plan.id {
        return Err(PlanError::AlreadyOn(to.plan.name.clone()));
    }
    let to_price = to
        .price(currency)
        .ok_or_else(|| PlanError::NotOffered(to.plan.name.clone(), currency))?;
    let from_price = from.price(currency).unwrap_or(Money::zero(currency));
    if to_price.amount() < from_price.amount() {
        return Err(PlanError::NotAnUpgrade(to.plan.name.clone()));
    }
    let amount = upgrade_charge(from_price, to_price, sub.period_start, sub.period_end, at)
        .map_err(|e| PlanError::Catalogue(e.to_string()))?;
    let (first, last) = narrative::days(
        &at.with_timezone(&dates.tz),
        &sub.period_end.with_timezone(&dates.tz),
    );
    let covers = Narrative::PlanUpgrade {
        from: from.plan.name.clone(),
        to: to.plan.name.clone(),
        first,
        last,
    };
    Ok(Worked {
        from,
        to,
        amount,
        covers,
        renewal_price: to_price,
    })
}

/// What upgrading to `to_code` would charge now, and whether the balance covers it.
pub async fn preview_upgrade<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
    opened_at: DateTime<Utc>,
    to_code: &str,
    dates: LocalTime,
    at: DateTime<Utc>,
) -> Result<UpgradePreview, PlanError> {
    let (catalogue, sub) = read_standing(conn, account_id, opened_at, at).await?;
    let worked = work_out(&catalogue, &sub, to_code, currency, dates, at)?;
    let balances = ledger::balances(conn, account_id, currency).await?;
    Ok(UpgradePreview {
        from_name: worked.from.plan.name.clone(),
        to_code: worked.to.plan.code.clone(),
        to_name: worked.to.plan.name.clone(),
        shortfall: shortfall(worked.amount, &balances),
        amount: worked.amount,
        covers: worked.covers.words(dates.language).unwrap_or_default(),
        renews_on: dates.date(sub.period_end),
        renewal_price: worked.renewal_price,
        balances,
    })
}

/// An upgrade as the customer confirmed it.
#[derive(Clone, Debug)]
pub struct UpgradeRequest<'a> {
    pub account_id: &'a str,
    pub to_code: &'a str,
    /// The Confirm click's token: a double click upgrades (and charges) once.
    pub token: Option<&'a str>,
    /// The amount the preview showed; a higher charge is refused, never taken.
    pub expected: Option<Money>,
    /// `user:<id>`.
    pub actor: &'a str,
    pub dates: LocalTime,
}

/// A made upgrade: what it charged and the balances after.
#[derive(Clone, Debug, PartialEq)]
pub struct Upgraded {
    pub to_name: String,
    pub charged: Money,
    pub balances: Balances,
    /// The same click seen before: nothing was done again.
    pub replayed: bool,
}

/// Upgrades at once, charging the prorated difference from the balance in the same
/// transaction. Balance short: nothing changes ([`PlanError::Short`]).
pub async fn upgrade(
    db: &Db,
    request: &UpgradeRequest<'_>,
    at: DateTime<Utc>,
) -> Result<Upgraded, PlanError> {
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, request.account_id).await?;
    let key = request.token.map(|t| format!("upgrade:{t}"));
    if let Some(key) = &key
        && let Some(done) = change_with_key(&*txn, &account.id, key).await?
    {
        let catalogue = catalogue(&*txn).await?;
        return Ok(Upgraded {
            to_name: by_id(&catalogue, done.to_plan_id)?.plan.name.clone(),
            charged: Money::from_minor(done.amount_minor, account.currency),
            balances: ledger::balances(&*txn, &account.id, account.currency).await?,
            replayed: true,
        });
    }
    let catalogue = catalogue(&*txn).await?;
    let free = default_plan(&catalogue)?;
    let mut sub = locked_subscription(&txn, &account, free, at).await?;
    let worked = work_out(
        &catalogue,
        &sub,
        request.to_code,
        account.currency,
        request.dates,
        at,
    )?;
    if let Some(expected) = request.expected
        && worked.amount.amount() > expected.amount()
    {
        return Err(PlanError::PriceChanged(worked.amount));
    }
    let balances = if worked.amount.to_minor().unwrap_or(0) > 0 {
        let ledger_key = key.as_ref().map(|k| format!("plan:{k}"));
        let spend = Spend {
            kind: Kind::Plan,
            service: Service::BillingPlans,
            source: &worked.to.plan.name,
            description: "",
            narrative: Some(&worked.covers),
            amount: worked.amount,
            idempotency_key: ledger_key.as_deref(),
        };
        match ledger::spend_locked(&txn, &account, &spend, at).await? {
            Spent::Done { balances, .. } => balances,
            Spent::Short { balances } => {
                return Err(PlanError::Short(
                    shortfall(worked.amount, &balances).unwrap_or(Shortfall {
                        missing: worked.amount,
                        top_up: worked.amount,
                    }),
                ));
            }
        }
    } else {
        ledger::balances(&*txn, &account.id, account.currency).await?
    };
    let from_id = sub.plan_id;
    sub.plan_id = worked.to.plan.id;
    // An upgrade replaces any downgrade or cancellation that was waiting.
    sub.scheduled_plan_id = None;
    save_subscription(&txn, &sub, at).await?;
    log_change(
        &txn,
        &account.id,
        Change {
            kind: "upgrade",
            from: Some(from_id),
            to: worked.to.plan.id,
            amount_minor: worked.amount.to_minor().unwrap_or(0),
            period: (sub.period_start, sub.period_end),
            reason: worked.covers.english(""),
            actor: request.actor,
            key,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(Upgraded {
        to_name: worked.to.plan.name.clone(),
        charged: worked.amount,
        balances,
        replayed: false,
    })
}

/// What a scheduled change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub to_name: String,
    /// When it takes effect: the period's end.
    pub on: DateTime<Utc>,
    /// Already applied (during an unpaid renewal's grace, when the renewal went through).
    pub applied: bool,
}

/// Schedules a downgrade to `to_code`, or with `None` a cancellation (back to the free
/// plan), for the end of the current period. Charges nothing now. During an unpaid
/// renewal's grace the period has already ended, so the change applies at once.
pub async fn schedule_change(
    db: &Db,
    account_id: &str,
    to_code: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Scheduled, PlanError> {
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, account_id).await?;
    let catalogue = catalogue(&*txn).await?;
    let free = default_plan(&catalogue)?;
    let mut sub = locked_subscription(&txn, &account, free, at).await?;
    let from = by_id(&catalogue, sub.plan_id)?;
    let to = match to_code {
        Some(code) => by_code(&catalogue, code)?,
        None if from.plan.is_default => return Err(PlanError::NothingToCancel),
        None => free,
    };
    if to.plan.id == from.plan.id {
        return Err(PlanError::AlreadyOn(to.plan.name.clone()));
    }
    let currency = account.currency;
    let to_price = to
        .price(currency)
        .ok_or_else(|| PlanError::NotOffered(to.plan.name.clone(), currency))?;
    let from_price = from.price(currency).unwrap_or(Money::zero(currency));
    if to_price.amount() >= from_price.amount() {
        return Err(PlanError::NotADowngrade(to.plan.name.clone()));
    }
    sub.scheduled_plan_id = Some(to.plan.id);
    save_subscription(&txn, &sub, at).await?;
    log_change(
        &txn,
        &account.id,
        Change {
            kind: if to.plan.is_default {
                "cancel_scheduled"
            } else {
                "downgrade_scheduled"
            },
            from: Some(from.plan.id),
            to: to.plan.id,
            amount_minor: 0,
            period: (sub.period_start, sub.period_end),
            reason: String::new(),
            actor,
            key: None,
        },
        at,
    )
    .await?;
    let on = sub.period_end;
    let applied = if sub.grace_until.is_some() {
        let (_, step) = renew_locked(&txn, &account, sub, &catalogue, at, Duration::zero()).await?;
        step != Step::Unpaid
    } else {
        false
    };
    txn.commit().await?;
    Ok(Scheduled {
        to_name: to.plan.name.clone(),
        on,
        applied,
    })
}

/// Undoes a scheduled downgrade or cancellation: the plan renews as before.
pub async fn undo_scheduled(
    db: &Db,
    account_id: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), PlanError> {
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, account_id).await?;
    let catalogue = catalogue(&*txn).await?;
    let free = default_plan(&catalogue)?;
    let mut sub = locked_subscription(&txn, &account, free, at).await?;
    let Some(scheduled) = sub.scheduled_plan_id.take() else {
        return Err(PlanError::NothingScheduled);
    };
    save_subscription(&txn, &sub, at).await?;
    log_change(
        &txn,
        &account.id,
        Change {
            kind: "schedule_undone",
            from: Some(scheduled),
            to: sub.plan_id,
            amount_minor: 0,
            period: (sub.period_start, sub.period_end),
            reason: String::new(),
            actor,
            key: None,
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// What one renewal step did for an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The next period is paid (or free): the subscription moved on.
    Renewed,
    /// The balance is short: in grace, retried later.
    Unpaid,
    /// The grace period ended unpaid: now on the free plan.
    FellBack,
}

/// Totals of a renewal run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenewalReport {
    pub renewed: usize,
    pub unpaid: usize,
    pub fell_back: usize,
}

/// Renews every subscription whose period has ended by `at` (and retries unpaid ones
/// that are due), one account per transaction. Safe with several processes: each
/// account is locked, and a period already renewed is not due any more.
pub async fn renew_due(
    db: &Db,
    at: DateTime<Utc>,
    grace: Duration,
) -> Result<RenewalReport, PlanError> {
    let catalogue = catalogue(db.conn()).await?;
    let free = default_plan(&catalogue)?.plan.id;
    let due: Vec<String> = subscription::Entity::find()
        .select_only()
        .column(subscription::Column::AccountId)
        .filter(subscription::Column::PeriodEnd.lte(at))
        .filter(
            Condition::any()
                .add(subscription::Column::PlanId.ne(free))
                .add(subscription::Column::ScheduledPlanId.is_not_null()),
        )
        .filter(
            Condition::any()
                .add(subscription::Column::RetryAt.is_null())
                .add(subscription::Column::RetryAt.lte(at)),
        )
        .order_by_asc(subscription::Column::PeriodEnd)
        .into_tuple()
        .all(db.conn())
        .await?;
    let mut report = RenewalReport::default();
    for account_id in due {
        for step in renew_account(db, &account_id, at, grace).await? {
            match step {
                Step::Renewed => report.renewed += 1,
                Step::Unpaid => report.unpaid += 1,
                Step::FellBack => report.fell_back += 1,
            }
        }
    }
    Ok(report)
}

/// Renews one account's subscription for every period that has ended by `at`.
pub async fn renew_account(
    db: &Db,
    account_id: &str,
    at: DateTime<Utc>,
    grace: Duration,
) -> Result<Vec<Step>, PlanError> {
    let txn = db.write().await?;
    let account = ledger::lock_account(&txn, account_id).await?;
    let Some(mut sub) = subscription::Entity::find_by_id(account_id.to_owned())
        .one(&*txn)
        .await?
    else {
        return Ok(Vec::new());
    };
    let catalogue = catalogue(&*txn).await?;
    let mut steps = Vec::new();
    while sub.period_end <= at {
        let (next, step) = renew_locked(&txn, &account, sub, &catalogue, at, grace).await?;
        steps.push(step);
        sub = next;
        if step != Step::Renewed || by_id(&catalogue, sub.plan_id)?.plan.is_default {
            break;
        }
    }
    txn.commit().await?;
    Ok(steps)
}

/// After credit arrived (a top-up, a voucher): an unpaid renewal is tried again at once.
pub async fn retry_after_credit(
    db: &Db,
    account_id: &str,
    at: DateTime<Utc>,
) -> Result<Vec<Step>, PlanError> {
    let in_grace = subscription::Entity::find_by_id(account_id.to_owned())
        .filter(subscription::Column::GraceUntil.is_not_null())
        .one(db.conn())
        .await?
        .is_some();
    if !in_grace {
        return Ok(Vec::new());
    }
    // The grace already runs; its length is not needed again.
    renew_account(db, account_id, at, Duration::zero()).await
}

/// [`retry_after_credit`] after a credit has committed: the credit stands whatever
/// happens here, so a failure is logged (the daily retry tries again), not returned.
pub async fn retry_after_credit_logged(db: &Db, account_id: &str) {
    match retry_after_credit(db, account_id, super::db::now()).await {
        Ok(steps) if !steps.is_empty() => {
            tracing::info!(
                account = account_id,
                ?steps,
                "unpaid renewal retried after credit"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::error!(account = account_id, error = %e, "renewal retry failed"),
    }
}

/// One period's renewal of the locked account: the next period at the plan it will be
/// on (a scheduled change applies now), charged once; short: grace, then the free plan.
async fn renew_locked(
    txn: &DatabaseTransaction,
    account: &LockedAccount,
    mut sub: subscription::Model,
    catalogue: &[CataloguePlan],
    at: DateTime<Utc>,
    grace: Duration,
) -> Result<(subscription::Model, Step), PlanError> {
    let free = default_plan(catalogue)?;
    let from = sub.plan_id;
    let target = by_id(catalogue, sub.scheduled_plan_id.unwrap_or(sub.plan_id))?;
    let next = (sub.period_end, period_at(sub.anchor, sub.period_end).1);
    let scheduled = sub.scheduled_plan_id.is_some();
    let price = target.price(account.currency);
    let Some(price) = price.filter(|p| p.to_minor().unwrap_or(0) > 0) else {
        // Free, or no longer priced in this currency: the free plan, nothing charged.
        let lost_price = price.is_none();
        sub.plan_id = if lost_price {
            free.plan.id
        } else {
            target.plan.id
        };
        sub.scheduled_plan_id = None;
        sub.grace_until = None;
        sub.retry_at = None;
        (sub.period_start, sub.period_end) = if sub.plan_id == free.plan.id {
            period_at(sub.anchor, at)
        } else {
            next
        };
        save_subscription(txn, &sub, at).await?;
        let kind = match (lost_price, scheduled) {
            (true, _) => "free_fallback",
            (false, true) => "cancel",
            (false, false) => "renewal",
        };
        let reason = if lost_price {
            format!(
                "{} is no longer offered in {}",
                target.plan.name, account.currency
            )
        } else {
            String::new()
        };
        log_change(
            txn,
            &account.id,
            Change {
                kind,
                from: Some(from),
                to: sub.plan_id,
                amount_minor: 0,
                period: (sub.period_start, sub.period_end),
                reason,
                actor: "system",
                key: Some(format!("renewal:{}", next.0.to_rfc3339())),
            },
            at,
        )
        .await?;
        let step = if lost_price {
            Step::FellBack
        } else {
            Step::Renewed
        };
        return Ok((sub, step));
    };
    let key = format!("renewal:{}", next.0.to_rfc3339());
    if change_with_key(txn, &account.id, &key).await?.is_some() {
        // Already renewed (the subscription row says otherwise only if edited by hand).
        return Err(PlanError::Catalogue(format!(
            "period {} of {} was renewed already",
            next.0, account.id
        )));
    }
    let tz = user_time_zone(txn, account.user_id).await?;
    let (first, last) =
        narrative::days(&next.0.with_timezone(&tz.tz), &next.1.with_timezone(&tz.tz));
    let covers = Narrative::PlanRenewal {
        plan: target.plan.name.clone(),
        first,
        last,
    };
    let ledger_key = format!("plan:{key}");
    let spend = Spend {
        kind: Kind::Plan,
        service: Service::BillingPlans,
        source: &target.plan.name,
        description: "",
        narrative: Some(&covers),
        amount: price,
        idempotency_key: Some(&ledger_key),
    };
    match ledger::spend_locked(txn, account, &spend, at).await? {
        Spent::Done { .. } => {
            sub.plan_id = target.plan.id;
            sub.scheduled_plan_id = None;
            sub.grace_until = None;
            sub.retry_at = None;
            (sub.period_start, sub.period_end) = next;
            save_subscription(txn, &sub, at).await?;
            log_change(
                txn,
                &account.id,
                Change {
                    kind: if scheduled { "downgrade" } else { "renewal" },
                    from: Some(from),
                    to: target.plan.id,
                    amount_minor: price.to_minor().unwrap_or(0),
                    period: next,
                    reason: covers.english(""),
                    actor: "system",
                    key: Some(key),
                },
                at,
            )
            .await?;
            Ok((sub, Step::Renewed))
        }
        Spent::Short { balances } => {
            let missing = shortfall(price, &balances).map_or(price, |s| s.missing);
            let first = sub.grace_until.is_none();
            let until = *sub.grace_until.get_or_insert(sub.period_end + grace);
            if at >= until {
                sub.plan_id = free.plan.id;
                sub.scheduled_plan_id = None;
                sub.grace_until = None;
                sub.retry_at = None;
                (sub.period_start, sub.period_end) = period_at(sub.anchor, at);
                save_subscription(txn, &sub, at).await?;
                log_change(
                    txn,
                    &account.id,
                    Change {
                        kind: "free_fallback",
                        from: Some(from),
                        to: free.plan.id,
                        amount_minor: 0,
                        period: (sub.period_start, sub.period_end),
                        reason: format!(
                            "The {} renewal of {} was not paid by the end of the grace period (short by {missing})",
                            target.plan.name,
                            next.0.format("%Y-%m-%d")
                        ),
                        actor: "system",
                        key: None,
                    },
                    at,
                )
                .await?;
                return Ok((sub, Step::FellBack));
            }
            sub.retry_at = Some(std::cmp::min(at + Duration::days(1), until));
            save_subscription(txn, &sub, at).await?;
            if first {
                log_change(
                    txn,
                    &account.id,
                    Change {
                        kind: "renewal_unpaid",
                        from: Some(from),
                        to: target.plan.id,
                        amount_minor: 0,
                        period: next,
                        reason: format!("Balance short by {missing}"),
                        actor: "system",
                        key: None,
                    },
                    at,
                )
                .await?;
            }
            Ok((sub, Step::Unpaid))
        }
    }
}

async fn user_time_zone(txn: &DatabaseTransaction, user_id: i64) -> Result<LocalTime, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .one(txn)
        .await?
        .map_or(LocalTime::UTC, |u| LocalTime::of(&u)))
}

/// The account's plan as the marketplace's services read it (`GET
/// /api/v1/accounts/{id}/plan`): code, name, status, period and limits.
pub async fn for_services<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    opened_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<serde_json::Value, PlanError> {
    let (catalogue, sub) = read_standing(conn, account_id, opened_at, at).await?;
    let plan = by_id(&catalogue, sub.plan_id)?;
    let limits: serde_json::Value =
        serde_json::from_str(&plan.plan.limits).unwrap_or_else(|_| serde_json::json!({}));
    let scheduled = match sub.scheduled_plan_id {
        Some(id) => {
            let to = by_id(&catalogue, id)?;
            serde_json::json!({
                "plan": to.plan.code,
                "at": sub.period_end.to_rfc3339(),
            })
        }
        None => serde_json::Value::Null,
    };
    Ok(serde_json::json!({
        "account_id": account_id,
        "plan": plan.plan.code,
        "name": plan.plan.name,
        "status": if sub.grace_until.is_some() { "grace" } else { "active" },
        "grace_until": sub.grace_until.map(|g| g.to_rfc3339()),
        "period_start": sub.period_start.to_rfc3339(),
        "period_end": sub.period_end.to_rfc3339(),
        "limits": limits,
        "scheduled_change": scheduled,
    }))
}
