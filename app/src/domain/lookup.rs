//! The console's account lookup and account view.
//!
//! One search box finds an account by any of its keys, each an exact match on an
//! indexed column: the owner's email, the account id, our payment reference or the
//! gateway's, a voucher code the account redeemed, or the billing tax code. Exact rather
//! than partial: support works from what the customer quotes, and an index answers an
//! exact key at a million accounts in well under a millisecond (`benches/lookup.rs`).

use super::entities::{
    account, balance, billing_profile, payment, user, voucher_code, voucher_grant,
};
use super::settings::LocalTime;
use super::{adjustment, auth, billing, plan, reversal, voucher};
use crate::model::ledger::Balances;
use crate::model::money::{Currency, Money};
use crate::model::operator::{
    AccountView, GrantLine, LOOKUP_LIMIT, LookupHit, LookupKey, LookupResult,
};
use crate::model::voucher::read_code;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{HashMap, HashSet};

/// Every account whose key equals `query`, at most [`LOOKUP_LIMIT`], each with the key
/// it matched by.
pub async fn search<C: ConnectionTrait>(conn: &C, query: &str) -> Result<LookupResult, DbErr> {
    let query = query.trim();
    let mut found: Vec<(String, LookupKey)> = Vec::new();
    let limit = LOOKUP_LIMIT as u64 + 1;
    if query.contains('@') {
        let email = auth::normalize_email(query);
        let ids: Vec<String> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .filter(
                account::Column::UserId.in_subquery(
                    sea_orm::sea_query::Query::select()
                        .column(user::Column::Id)
                        .from(user::Entity)
                        .and_where(user::Column::Email.eq(email))
                        .to_owned(),
                ),
            )
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(ids.into_iter().map(|id| (id, LookupKey::Email)));
    }
    if query.len() == 36 {
        let ids: Vec<String> = account::Entity::find()
            .select_only()
            .column(account::Column::Id)
            .filter(account::Column::Id.eq(query.to_lowercase()))
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(ids.into_iter().map(|id| (id, LookupKey::AccountId)));
    }
    for (column, key) in [
        (payment::Column::Reference, LookupKey::PaymentReference),
        (payment::Column::GatewayRef, LookupKey::GatewayReference),
    ] {
        let ids: Vec<String> = payment::Entity::find()
            .select_only()
            .column(payment::Column::AccountId)
            .filter(column.eq(query))
            .limit(limit)
            .into_tuple()
            .all(conn)
            .await?;
        found.extend(ids.into_iter().map(|id| (id, key)));
    }
    if let Ok(code) = read_code(query) {
        let code_ids: Vec<i64> = voucher_code::Entity::find()
            .select_only()
            .column(voucher_code::Column::Id)
            .filter(voucher_code::Column::Lookup.eq(voucher::lookup(&code)))
            .into_tuple()
            .all(conn)
            .await?;
        if !code_ids.is_empty() {
            let ids: Vec<String> = voucher_grant::Entity::find()
                .select_only()
                .column(voucher_grant::Column::AccountId)
                .filter(voucher_grant::Column::VoucherCodeId.is_in(code_ids))
                .order_by_desc(voucher_grant::Column::Id)
                .limit(limit)
                .into_tuple()
                .all(conn)
                .await?;
            found.extend(ids.into_iter().map(|id| (id, LookupKey::VoucherCode)));
        }
    }
    let ids: Vec<String> = billing_profile::Entity::find()
        .select_only()
        .column(billing_profile::Column::AccountId)
        .filter(billing_profile::Column::TaxCode.eq(query))
        .limit(limit)
        .into_tuple()
        .all(conn)
        .await?;
    found.extend(ids.into_iter().map(|id| (id, LookupKey::TaxCode)));

    let mut seen = HashSet::new();
    found.retain(|(id, _)| seen.insert(id.clone()));
    let more = found.len() > LOOKUP_LIMIT;
    found.truncate(LOOKUP_LIMIT);
    Ok(LookupResult {
        hits: hits(conn, found).await?,
        more,
    })
}

async fn hits<C: ConnectionTrait>(
    conn: &C,
    found: Vec<(String, LookupKey)>,
) -> Result<Vec<LookupHit>, DbErr> {
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    let owners = super::account::owners(conn, &ids).await?;
    let profiles: HashMap<String, billing_profile::Model> = billing_profile::Entity::find()
        .filter(billing_profile::Column::AccountId.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.account_id.clone(), p))
        .collect();
    let mut totals: HashMap<String, i64> = HashMap::new();
    for row in balance::Entity::find()
        .filter(balance::Column::AccountId.is_in(ids.iter().copied()))
        .all(conn)
        .await?
    {
        *totals.entry(row.account_id).or_default() += row.amount_minor;
    }
    Ok(found
        .into_iter()
        .filter_map(|(id, matched)| {
            let (email, currency) = owners.get(&id)?.clone();
            let profile = profiles.get(&id);
            Some(LookupHit {
                balance: Money::from_minor(totals.get(&id).copied().unwrap_or(0), currency),
                billing_name: profile.map(|p| p.name.clone()),
                country: profile.map(|p| p.country.clone()),
                account_id: id,
                email,
                matched,
            })
        })
        .collect())
}

/// Everything the console's account page shows above the histories, in the operator's
/// dates. None for an unknown account.
pub async fn account_view(
    db: &super::db::Db,
    account_id: &str,
    viewer: &user::Model,
    may_approve: bool,
    threshold: impl Fn(Currency) -> Money,
    at: DateTime<Utc>,
) -> Result<Option<AccountView>, DbErr> {
    let conn = db.conn();
    let Some(acct) = account::Entity::find_by_id(account_id.to_owned())
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let currency = super::account::currency(&acct)?;
    let owner = user::Entity::find_by_id(acct.user_id).one(conn).await?;
    let dates = LocalTime::of(viewer);
    let billing = billing::profile(db, &acct).await?.map(|p| {
        vec![
            ("Name".to_owned(), p.name),
            ("Billing type".to_owned(), p.billing_type.label().to_owned()),
            ("Billing email".to_owned(), p.email),
            ("Address".to_owned(), p.address),
            ("Country".to_owned(), p.country),
            (
                "Tax code".to_owned(),
                p.tax_code.unwrap_or_else(|| "—".into()),
            ),
        ]
    });
    let plan = match plan::for_services(conn, &acct.id, acct.created_at, at).await {
        Ok(p) => {
            let name = p["name"].as_str().unwrap_or_default();
            match p["status"].as_str() {
                Some("grace") => format!("{name} (renewal unpaid, in grace)"),
                _ => name.to_owned(),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, account = %acct.id, "plan unreadable for the console");
            "unknown".to_owned()
        }
    };
    let balances: Balances = super::ledger::balances(conn, &acct.id, currency).await?;
    let grants = voucher_grant::Entity::find()
        .filter(voucher_grant::Column::AccountId.eq(acct.id.as_str()))
        .order_by_desc(voucher_grant::Column::Id)
        .limit(100)
        .all(conn)
        .await?
        .into_iter()
        .map(|g| GrantLine {
            code: g.code,
            granted: Money::from_minor(g.amount_minor, currency),
            remaining: Money::from_minor(g.remaining_minor, currency),
            granted_at: dates.date_minute(g.created_at),
            expires: g
                .expires_at
                .map_or_else(|| "Never".into(), |e| dates.date_minute(e)),
        })
        .collect();
    let rows = adjustment::for_account(conn, &acct.id).await?;
    let adjustments = adjustment::views(conn, rows, Some(viewer.id), may_approve, dates).await?;
    let rows = reversal::for_account(conn, &acct.id).await?;
    let reversals = reversal::views(conn, rows, viewer, may_approve).await?;
    let owed = Money::from_minor(reversal::owed(conn, &acct.id).await?, currency);
    Ok(Some(AccountView {
        email: owner.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        time_zone: owner.map(|u| u.time_zone).unwrap_or_default(),
        account_id: acct.id,
        currency,
        opened: dates.date_minute(acct.created_at),
        billing,
        plan,
        balances,
        grants,
        adjustments,
        approval_threshold: threshold(currency),
        reversals,
        owed,
    }))
}
