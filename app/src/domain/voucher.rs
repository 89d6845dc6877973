//! Vouchers: campaigns and their codes, redemption, the customer's Voucher List and the
//! operator's figures. Spending and expiry of what a voucher grants are the ledger's
//! (`ledger::charge_in`, `ledger::expire_due`).
//!
//! Rules kept here:
//! - a code is found by the SHA-256 of its normalised text; a generated code is stored
//!   only as that hash until redeemed (80 random bits: the hash cannot be walked back);
//! - a redemption takes, in this order, the account's lock (`ledger::lock_account`),
//!   then the campaign row's (an UPDATE counting the redemption), then a single-use
//!   code's (an UPDATE marking it spent). Every writer takes them in that order, so
//!   concurrent redemptions queue and never deadlock, and every cap is checked under
//!   the lock that serialises it: the total cap under the campaign's, the per-account
//!   cap under the account's;
//! - a refused redemption changes nothing (its transaction rolls back) but counts as a
//!   failed attempt, per account and per client address, in the database
//!   ([`throttle`](super::throttle)); a successful one is taken back off the count;
//! - one Apply Code click (its token) grants at most once: a repeat returns that grant.

use super::audit::{self, Actor, Entry};
use super::db::Db;
use super::entities::{
    account, transaction, voucher_campaign, voucher_campaign_amount, voucher_code, voucher_grant,
};
use super::ledger::{self, GrantOrigin, LedgerError, VoucherCredit};
use super::settings::LocalTime;
use super::throttle::{self, Limit, Throttled};
use crate::model::ledger::{Kind, Status};
use crate::model::money::{Currency, Money};
use crate::model::voucher::{
    CampaignCodes, CampaignFigures, CampaignSummary, CreatedCampaign, CreditExpiry, NewCampaign,
    Redeemed, TypedCode, VoucherList, VoucherRow, VoucherState, encode_generated, group,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Failed redemptions per account: enough for a few typos, far too few to guess codes.
pub const REDEEM_ACCOUNT: Limit = Limit {
    kind: "voucher_account",
    max: 10,
    window_minutes: 15,
};

/// Failed redemptions per client address, across accounts (one address trying codes
/// from many accounts).
pub const REDEEM_IP: Limit = Limit {
    kind: "voucher_ip",
    max: 30,
    window_minutes: 15,
};

/// Why a code was not redeemed. Each message says what the customer can do.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("This voucher code does not exist. Check it and try again.")]
    Unknown,
    #[error("This voucher code has been disabled.")]
    Disabled,
    #[error("This voucher code is not valid yet. It can be used from {0}.")]
    NotYetValid(String),
    #[error("This voucher code is no longer valid.")]
    Ended,
    #[error("This voucher code has been fully redeemed.")]
    FullyRedeemed,
    #[error("You have already redeemed this voucher code.")]
    AlreadyRedeemed,
    #[error("This voucher code is not available for accounts in {0}.")]
    NotInCurrency(Currency),
    #[error("too many failed attempts")]
    Throttled(Throttled),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl RedeemError {
    /// Whether the customer's attempt failed (counted), rather than our side.
    fn counts(&self) -> bool {
        !matches!(
            self,
            RedeemError::Ledger(_) | RedeemError::Db(_) | RedeemError::Throttled(_)
        )
    }
}

/// Why a campaign was not created.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("the code {0} is taken by another campaign")]
    CodeTaken(String),
    #[error("no campaign {0}")]
    NotFound(i64),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// SHA-256 (hex) of a normalised code: how a typed code is found.
pub fn lookup(code: &TypedCode) -> String {
    hex::encode(Sha256::digest(code.normalised().as_bytes()))
}

/// `n` new generated codes (canonical, ungrouped), 80 bits each from the OS's CSPRNG.
pub fn generate(n: usize) -> Result<Vec<String>, rand::rand_core::OsError> {
    use rand::TryRngCore;
    let mut rng = rand::rngs::OsRng;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let mut bytes = [0u8; 16];
        rng.try_fill_bytes(&mut bytes)?;
        if let Some(code) = encode_generated(u128::from_le_bytes(bytes)) {
            out.push(code);
        }
    }
    Ok(out)
}

const SHARED: &str = "shared";
const BATCH: &str = "batch";

/// Creates a campaign and its codes in one transaction. A batch's codes are returned
/// grouped, this once; only their hashes are stored.
pub async fn create_campaign(
    db: &Db,
    new: &NewCampaign,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<CreatedCampaign, CampaignError> {
    let txn = db.write().await?;
    let created = create_campaign_in(&txn, new, at).await?;
    let amounts: Vec<String> = new.amounts.iter().map(ToString::to_string).collect();
    audit::append(
        &txn,
        &Entry {
            actor,
            action: "voucher.campaign_created",
            account_id: None,
            subject: format!("campaign:{} {}", created.id, created.name),
            before: json!({}),
            after: json!({
                "name": new.name,
                "codes": match &new.codes {
                    CampaignCodes::Shared(code) => code.clone(),
                    CampaignCodes::Batch(n) => format!("{n} single-use codes"),
                },
                "amounts": amounts,
                "valid_from": new.valid_from.map(|d| d.to_rfc3339()),
                "valid_until": new.valid_until.map(|d| d.to_rfc3339()),
                "max_redemptions": new.max_redemptions,
                "per_account_limit": new.per_account_limit,
            }),
            reason: "",
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// [`create_campaign`] inside `txn`.
pub async fn create_campaign_in(
    txn: &DatabaseTransaction,
    new: &NewCampaign,
    at: DateTime<Utc>,
) -> Result<CreatedCampaign, CampaignError> {
    let generated = match &new.codes {
        CampaignCodes::Batch(n) => generate(usize::try_from(*n).unwrap_or(0))
            .map_err(|e| DbErr::Custom(format!("the OS's random source failed: {e}")))?,
        CampaignCodes::Shared(_) => Vec::new(),
    };
    let (expires_at, expires_days) = match new.credit_expiry {
        CreditExpiry::Never => (None, None),
        CreditExpiry::On(when) => (Some(when), None),
        CreditExpiry::DaysAfter(days) => (None, i32::try_from(days).ok()),
    };
    let campaign = voucher_campaign::ActiveModel {
        name: Set(new.name.clone()),
        description: Set(new.description.clone()),
        kind: Set(match new.codes {
            CampaignCodes::Shared(_) => SHARED,
            CampaignCodes::Batch(_) => BATCH,
        }
        .to_owned()),
        valid_from: Set(new.valid_from),
        valid_until: Set(new.valid_until),
        credit_expires_at: Set(expires_at),
        credit_expires_days: Set(expires_days),
        max_redemptions: Set(new.max_redemptions),
        per_account_limit: Set(new.per_account_limit),
        redemptions: Set(0),
        enabled: Set(true),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    voucher_campaign_amount::Entity::insert_many(new.amounts.iter().map(|m| {
        voucher_campaign_amount::ActiveModel {
            campaign_id: Set(campaign.id),
            currency: Set(m.currency().code().to_owned()),
            amount_minor: Set(m.to_minor().unwrap_or(0)),
        }
    }))
    .exec(txn)
    .await?;
    match &new.codes {
        CampaignCodes::Shared(shown) => {
            let typed = TypedCode::Shared(shown.replace('-', ""));
            let key = lookup(&typed);
            let taken = voucher_code::Entity::find()
                .filter(voucher_code::Column::Lookup.eq(key.as_str()))
                .count(txn)
                .await?;
            if taken > 0 {
                return Err(CampaignError::CodeTaken(shown.clone()));
            }
            voucher_code::ActiveModel {
                campaign_id: Set(campaign.id),
                lookup: Set(key),
                code: Set(Some(shown.clone())),
                redeemed_at: Set(None),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        CampaignCodes::Batch(_) => {
            // 1,000 rows per statement stays far under both databases' parameter limits.
            for chunk in generated.chunks(1000) {
                voucher_code::Entity::insert_many(chunk.iter().map(|code| {
                    voucher_code::ActiveModel {
                        campaign_id: Set(campaign.id),
                        lookup: Set(lookup(&TypedCode::Generated(code.clone()))),
                        code: Set(None),
                        redeemed_at: Set(None),
                        ..Default::default()
                    }
                }))
                .exec(txn)
                .await?;
            }
        }
    }
    Ok(CreatedCampaign {
        id: campaign.id,
        name: campaign.name,
        codes: generated.iter().map(|c| group(c)).collect(),
    })
}

/// Disables a campaign: its codes stop working at once; credits already granted stay.
pub async fn disable(
    db: &Db,
    campaign_id: i64,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<(), CampaignError> {
    let txn = db.write().await?;
    let campaign = voucher_campaign::Entity::find_by_id(campaign_id)
        .one(&*txn)
        .await?
        .ok_or(CampaignError::NotFound(campaign_id))?;
    if !campaign.enabled {
        return Ok(());
    }
    voucher_campaign::Entity::update_many()
        .col_expr(voucher_campaign::Column::Enabled, Expr::value(false))
        .filter(voucher_campaign::Column::Id.eq(campaign_id))
        .exec(&*txn)
        .await?;
    audit::append(
        &txn,
        &Entry {
            actor,
            action: "voucher.campaign_disabled",
            account_id: None,
            subject: format!("campaign:{} {}", campaign.id, campaign.name),
            before: json!({ "enabled": true }),
            after: json!({ "enabled": false }),
            reason: "",
        },
        at,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A successful redemption.
#[derive(Clone, Debug)]
pub struct Redemption {
    pub grant: voucher_grant::Model,
    pub redeemed: Redeemed,
}

/// Redeems a typed code for an account: throttled per account and per `client_ip`,
/// then [`redeem_in`] in its own transaction. `token` identifies the Apply Code click.
pub async fn redeem(
    db: &Db,
    account_id: &str,
    code: &TypedCode,
    token: Option<&str>,
    client_ip: &str,
    dates: impl Into<LocalTime>,
    at: DateTime<Utc>,
) -> Result<Redemption, RedeemError> {
    let tz = dates.into();
    let mine = throttle::attempt(db.conn(), REDEEM_ACCOUNT, account_id, at).await?;
    let from_ip = throttle::attempt(db.conn(), REDEEM_IP, client_ip, at).await?;
    let counted = match (mine, from_ip) {
        (Ok(a), Ok(b)) => [a, b],
        (Ok(id), Err(wait)) | (Err(wait), Ok(id)) => {
            throttle::release(db.conn(), id).await?;
            return Err(RedeemError::Throttled(wait));
        }
        (Err(a), Err(b)) => {
            return Err(RedeemError::Throttled(std::cmp::max_by_key(a, b, |t| {
                t.retry_after
            })));
        }
    };
    let txn = db.write().await?;
    match redeem_in(&txn, account_id, code, token, tz, at).await {
        Ok(done) => {
            // A success is not a failed attempt: taken back in the same commit.
            for id in counted {
                throttle::release(&*txn, id).await?;
            }
            txn.commit().await?;
            super::plan::retry_after_credit_logged(db, account_id).await;
            Ok(done)
        }
        Err(e) => {
            // Dropping the transaction rolls it back: nothing changed.
            drop(txn);
            if !e.counts() {
                for id in counted {
                    throttle::release(db.conn(), id).await?;
                }
            }
            Err(e)
        }
    }
}

/// Redeems inside `txn`: locks the account, then the campaign, then a single-use code;
/// checks every rule under those locks; grants the credits through the ledger.
pub async fn redeem_in(
    txn: &DatabaseTransaction,
    account_id: &str,
    code: &TypedCode,
    token: Option<&str>,
    dates: impl Into<LocalTime>,
    at: DateTime<Utc>,
) -> Result<Redemption, RedeemError> {
    let tz = dates.into();
    let account = ledger::lock_account(txn, account_id).await?;
    if let Some(token) = token {
        let earlier = voucher_grant::Entity::find()
            .filter(voucher_grant::Column::AccountId.eq(account.id.as_str()))
            .filter(voucher_grant::Column::RedeemToken.eq(token))
            .one(txn)
            .await?;
        if let Some(grant) = earlier {
            let redeemed = redeemed(txn, &grant, account.currency, tz).await?;
            return Ok(Redemption { grant, redeemed });
        }
    }
    let Some(code_row) = voucher_code::Entity::find()
        .filter(voucher_code::Column::Lookup.eq(lookup(code)))
        .one(txn)
        .await?
    else {
        return Err(RedeemError::Unknown);
    };
    // Counting the redemption takes the campaign row's lock; a refusal below rolls the
    // count back with everything else.
    let campaign = voucher_campaign::Entity::update_many()
        .col_expr(
            voucher_campaign::Column::Redemptions,
            Expr::col(voucher_campaign::Column::Redemptions).add(1),
        )
        .filter(voucher_campaign::Column::Id.eq(code_row.campaign_id))
        .exec_with_returning(txn)
        .await?
        .pop()
        .ok_or(RedeemError::Unknown)?;
    if !campaign.enabled {
        return Err(RedeemError::Disabled);
    }
    if let Some(from) = campaign.valid_from.filter(|from| at < *from) {
        return Err(RedeemError::NotYetValid(local(from, tz)));
    }
    let credit_expires_at = match (campaign.credit_expires_at, campaign.credit_expires_days) {
        (Some(when), _) => Some(when),
        (None, Some(days)) => Some(at + Duration::days(i64::from(days))),
        (None, None) => None,
    };
    if campaign.valid_until.is_some_and(|until| at >= until)
        || credit_expires_at.is_some_and(|when| when <= at)
    {
        return Err(RedeemError::Ended);
    }
    let mine = voucher_grant::Entity::find()
        .filter(voucher_grant::Column::CampaignId.eq(campaign.id))
        .filter(voucher_grant::Column::AccountId.eq(account.id.as_str()))
        .count(txn)
        .await?;
    if mine >= u64::try_from(campaign.per_account_limit).unwrap_or(1) {
        return Err(RedeemError::AlreadyRedeemed);
    }
    if campaign
        .max_redemptions
        .is_some_and(|cap| campaign.redemptions > cap)
    {
        return Err(RedeemError::FullyRedeemed);
    }
    let amount = voucher_campaign_amount::Entity::find_by_id((
        campaign.id,
        account.currency.code().to_owned(),
    ))
    .one(txn)
    .await?
    .ok_or(RedeemError::NotInCurrency(account.currency))?;
    let shown = code_row.code.clone().unwrap_or_else(|| code.display());
    if campaign.kind == BATCH {
        // A single-use code: spent by whoever marks it first.
        let spent = voucher_code::Entity::update_many()
            .col_expr(voucher_code::Column::RedeemedAt, Expr::value(Some(at)))
            .col_expr(voucher_code::Column::Code, Expr::value(Some(shown.clone())))
            .filter(voucher_code::Column::Id.eq(code_row.id))
            .filter(voucher_code::Column::RedeemedAt.is_null())
            .exec(txn)
            .await?;
        if spent.rows_affected != 1 {
            return Err(RedeemError::FullyRedeemed);
        }
    }
    let credit = VoucherCredit {
        account_id: account.id.clone(),
        code: shown,
        amount: Money::from_minor(amount.amount_minor, account.currency),
        expires_at: credit_expires_at,
        description: campaign.description.clone(),
        origin: Some(GrantOrigin {
            campaign_id: campaign.id,
            voucher_code_id: code_row.id,
            redeem_token: token.map(str::to_owned),
        }),
    };
    let (grant, _) = ledger::grant_voucher_locked(txn, &account, &credit, at).await?;
    let redeemed = redeemed(txn, &grant, account.currency, tz).await?;
    Ok(Redemption { grant, redeemed })
}

async fn redeemed(
    txn: &DatabaseTransaction,
    grant: &voucher_grant::Model,
    currency: Currency,
    tz: LocalTime,
) -> Result<Redeemed, DbErr> {
    Ok(Redeemed {
        code: grant.code.clone(),
        amount: Money::from_minor(grant.amount_minor, currency),
        expires_at: grant.expires_at.map(|e| local(e, tz)),
        balances: ledger::balances(txn, &grant.account_id, currency).await?,
    })
}

/// A time as the customer reads it, in their time zone and date format.
fn local(at: DateTime<Utc>, dates: LocalTime) -> String {
    dates.date_minute(at)
}

/// Where a grant's credits went: spent (usage charges and plan charges alike, and an
/// operator's debit) or lost to expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Gone {
    Used,
    Expired,
}

/// What each grant lost to spending and to expiry, summed from its ledger rows.
async fn spent_and_expired<C: ConnectionTrait>(
    conn: &C,
    grant_ids: &[i64],
) -> Result<BTreeMap<(i64, Gone), i64>, DbErr> {
    let mut out = BTreeMap::new();
    for chunk in grant_ids.chunks(500) {
        let rows: Vec<(Option<i64>, String, i64)> = transaction::Entity::find()
            .select_only()
            .column(transaction::Column::VoucherGrantId)
            .column(transaction::Column::Kind)
            .column_as(
                Expr::cust("CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT)"),
                "total",
            )
            .filter(transaction::Column::VoucherGrantId.is_in(chunk.iter().copied()))
            .filter(transaction::Column::Status.eq(Status::Success.as_str()))
            .filter(transaction::Column::Kind.is_in([
                Kind::Charge.as_str(),
                Kind::Plan.as_str(),
                Kind::Adjustment.as_str(),
                Kind::Expiry.as_str(),
            ]))
            // Only what left the grant: an operator's voucher credit is a grant's first row.
            .filter(transaction::Column::AmountMinor.lt(0))
            .group_by(transaction::Column::VoucherGrantId)
            .group_by(transaction::Column::Kind)
            .into_tuple()
            .all(conn)
            .await?;
        for (grant, kind, total) in rows {
            let gone = if kind == Kind::Expiry.as_str() {
                Gone::Expired
            } else {
                Gone::Used
            };
            if let Some(grant) = grant {
                *out.entry((grant, gone)).or_insert(0) -= total;
            }
        }
    }
    Ok(out)
}

/// Every voucher the account redeemed, for the Voucher List: active ones first,
/// soonest-expiring first; then used up and expired ones, latest first. Not paged: an
/// account redeems each campaign at most its per-account cap, so the list stays short.
pub async fn list_for_account<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
    dates: impl Into<LocalTime>,
    at: DateTime<Utc>,
) -> Result<VoucherList, DbErr> {
    let tz = dates.into();
    let grants = voucher_grant::Entity::find()
        .filter(voucher_grant::Column::AccountId.eq(account_id))
        .order_by_desc(voucher_grant::Column::CreatedAt)
        .order_by_desc(voucher_grant::Column::Id)
        .all(conn)
        .await?;
    let campaign_ids: Vec<i64> = grants.iter().filter_map(|g| g.campaign_id).collect();
    let campaigns: BTreeMap<i64, voucher_campaign::Model> = voucher_campaign::Entity::find()
        .filter(voucher_campaign::Column::Id.is_in(campaign_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let ids: Vec<i64> = grants.iter().map(|g| g.id).collect();
    let sums = spent_and_expired(conn, &ids).await?;
    let money = |minor: i64| Money::from_minor(minor, currency);
    let mut rows: Vec<(VoucherRow, Option<DateTime<Utc>>)> = grants
        .iter()
        .map(|g| {
            let used = sums.get(&(g.id, Gone::Used)).copied();
            let expired = sums.get(&(g.id, Gone::Expired)).copied();
            let state = if g.remaining_minor > 0 && g.expires_at.is_none_or(|e| e > at) {
                VoucherState::Active
            } else if g.expires_at.is_some_and(|e| e <= at)
                && g.remaining_minor + expired.unwrap_or(0) > 0
            {
                VoucherState::Expired
            } else {
                VoucherState::UsedUp
            };
            let campaign = g.campaign_id.and_then(|id| campaigns.get(&id));
            let row = VoucherRow {
                code: g.code.clone(),
                campaign: campaign.map_or_else(|| "Voucher".to_owned(), |c| c.name.clone()),
                description: campaign.map(|c| c.description.clone()).unwrap_or_default(),
                granted: money(g.amount_minor),
                used: money(used.unwrap_or(0)),
                expired: money(expired.unwrap_or(0)),
                remaining: money(g.remaining_minor),
                redeemed_at: local(g.created_at, tz),
                expires_at: g.expires_at.map(|e| local(e, tz)),
                state,
            };
            (row, g.expires_at)
        })
        .collect();
    // Active first, soonest expiry first (never-expiring last); the rest keep their
    // latest-first order (the sort is stable).
    rows.sort_by_key(|(row, expires)| match row.state {
        VoucherState::Active => (0, expires.is_none(), *expires),
        _ => (1, false, None),
    });
    let sum = |f: fn(&VoucherRow) -> &Money| {
        money(rows.iter().map(|(r, _)| f(r).to_minor().unwrap_or(0)).sum())
    };
    Ok(VoucherList {
        granted: sum(|r| &r.granted),
        used: sum(|r| &r.used),
        expired: sum(|r| &r.expired),
        remaining: sum(|r| &r.remaining),
        rows: rows.into_iter().map(|(r, _)| r).collect(),
    })
}

/// Every campaign, newest first, with its figures per currency.
pub async fn campaigns<C: ConnectionTrait>(conn: &C) -> Result<Vec<CampaignSummary>, DbErr> {
    let all = voucher_campaign::Entity::find()
        .order_by_desc(voucher_campaign::Column::Id)
        .all(conn)
        .await?;
    let mut out = Vec::with_capacity(all.len());
    for c in all {
        let mut amounts: Vec<Money> = voucher_campaign_amount::Entity::find()
            .filter(voucher_campaign_amount::Column::CampaignId.eq(c.id))
            .all(conn)
            .await?
            .into_iter()
            .filter_map(|a| {
                Currency::from_code(&a.currency).map(|cur| Money::from_minor(a.amount_minor, cur))
            })
            .collect();
        // In the form's order: VND, JPY, USD, EUR.
        amounts.sort_by_key(|m| Currency::ALL.iter().position(|c| *c == m.currency()));
        let codes = if c.kind == BATCH {
            let n = voucher_code::Entity::find()
                .filter(voucher_code::Column::CampaignId.eq(c.id))
                .count(conn)
                .await?;
            format!("{n} single-use {}", if n == 1 { "code" } else { "codes" })
        } else {
            voucher_code::Entity::find()
                .filter(voucher_code::Column::CampaignId.eq(c.id))
                .one(conn)
                .await?
                .and_then(|code| code.code)
                .unwrap_or_default()
        };
        out.push(CampaignSummary {
            id: c.id,
            name: c.name.clone(),
            description: c.description.clone(),
            codes,
            amounts,
            window: window(&c),
            credit_expiry: match (c.credit_expires_at, c.credit_expires_days) {
                (Some(when), _) => format!("On {} UTC", when.format("%Y-%m-%d %H:%M")),
                (None, Some(days)) => format!("{days} days after redemption"),
                (None, None) => "Never".to_owned(),
            },
            redemptions: c.redemptions,
            max_redemptions: c.max_redemptions,
            per_account_limit: c.per_account_limit,
            enabled: c.enabled,
            figures: figures(conn, c.id).await?,
        });
    }
    Ok(out)
}

fn window(c: &voucher_campaign::Model) -> String {
    let day = |d: DateTime<Utc>| d.format("%Y-%m-%d").to_string();
    // `valid_until` is the end of the last day (exclusive).
    let last = |d: DateTime<Utc>| day(d - Duration::seconds(1));
    match (c.valid_from, c.valid_until) {
        (None, None) => "Always".to_owned(),
        (Some(from), None) => format!("From {} (UTC)", day(from)),
        (None, Some(until)) => format!("Until {} (UTC)", last(until)),
        (Some(from), Some(until)) => format!("{} – {} (UTC)", day(from), last(until)),
    }
}

/// A campaign's credits per currency: granted, spent, expired and still remaining.
async fn figures<C: ConnectionTrait>(
    conn: &C,
    campaign_id: i64,
) -> Result<Vec<CampaignFigures>, DbErr> {
    let grants: Vec<(i64, String, i64, i64)> = voucher_grant::Entity::find()
        .select_only()
        .column(voucher_grant::Column::Id)
        .column(account::Column::Currency)
        .column(voucher_grant::Column::AmountMinor)
        .column(voucher_grant::Column::RemainingMinor)
        .inner_join(account::Entity)
        .filter(voucher_grant::Column::CampaignId.eq(campaign_id))
        .into_tuple()
        .all(conn)
        .await?;
    let ids: Vec<i64> = grants.iter().map(|g| g.0).collect();
    let sums = spent_and_expired(conn, &ids).await?;
    let mut per: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    for (id, currency, amount, remaining) in grants {
        let f = per.entry(currency).or_default();
        f[0] += amount;
        f[1] += sums.get(&(id, Gone::Used)).copied().unwrap_or(0);
        f[2] += sums.get(&(id, Gone::Expired)).copied().unwrap_or(0);
        f[3] += remaining;
    }
    Ok(per
        .into_iter()
        .filter_map(|(code, [granted, spent, expired, remaining])| {
            let c = Currency::from_code(&code)?;
            Some(CampaignFigures {
                granted: Money::from_minor(granted, c),
                spent: Money::from_minor(spent, c),
                expired: Money::from_minor(expired, c),
                remaining: Money::from_minor(remaining, c),
            })
        })
        .collect())
}
