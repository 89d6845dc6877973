//! Billing accounts: opened once per customer with a currency that never changes.

use super::entities::{account, balance, user};
use crate::model::ledger::{Balances, Bucket};
use crate::model::money::{Currency, Money};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter,
};

/// Opens the account of `user_id` in `currency`, with both buckets at zero.
pub async fn open<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
    currency: Currency,
    country: Option<&str>,
    at: DateTime<Utc>,
) -> Result<account::Model, DbErr> {
    let account = account::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        user_id: Set(user_id),
        currency: Set(currency.code().to_owned()),
        country: Set(country.map(str::to_owned)),
        lock_version: Set(0),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    for bucket in Bucket::ALL {
        balance::ActiveModel {
            account_id: Set(account.id.clone()),
            bucket: Set(bucket.as_str().to_owned()),
            amount_minor: Set(0),
            updated_at: Set(at),
        }
        .insert(conn)
        .await?;
    }
    Ok(account)
}

/// The account of a user, if they have one yet.
pub async fn of_user<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find()
        .filter(account::Column::UserId.eq(user_id))
        .one(conn)
        .await
}

/// The account of the user with this email, if any (for operators' tools).
pub async fn of_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<account::Model>, DbErr> {
    let email = super::auth::normalize_email(email);
    let Some(user) = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    of_user(conn, user.id).await
}

/// The account's currency. An unknown code is a corrupted row, reported as an error,
/// never guessed.
pub fn currency(account: &account::Model) -> Result<Currency, DbErr> {
    Currency::from_code(&account.currency).ok_or_else(|| {
        DbErr::Custom(format!(
            "account {} has an unknown currency {:?}",
            account.id, account.currency
        ))
    })
}

/// The user's account and its currency, if they have an account yet.
pub async fn with_currency<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<(account::Model, Currency)>, DbErr> {
    match of_user(conn, user_id).await? {
        Some(acct) => {
            let currency = currency(&acct)?;
            Ok(Some((acct, currency)))
        }
        None => Ok(None),
    }
}

/// The owner's email and the currency of each account (for lists that name accounts).
pub async fn owners<C: ConnectionTrait>(
    conn: &C,
    account_ids: &[&str],
) -> Result<std::collections::HashMap<String, (String, Currency)>, DbErr> {
    let mut out = std::collections::HashMap::new();
    for chunk in account_ids.chunks(500) {
        let accounts = account::Entity::find()
            .filter(account::Column::Id.is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        let emails: std::collections::HashMap<i64, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(accounts.iter().map(|a| a.user_id)))
            .all(conn)
            .await?
            .into_iter()
            .map(|u| (u.id, u.email))
            .collect();
        for acct in accounts {
            let currency = currency(&acct)?;
            let email = emails.get(&acct.user_id).cloned().unwrap_or_default();
            out.insert(acct.id, (email, currency));
        }
    }
    Ok(out)
}

/// What every signed-in page's header shows about an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub balances: Balances,
    /// When an unpaid plan renewal's grace period ends, if one runs.
    pub grace_until: Option<DateTime<Utc>>,
    /// What reversed payments left owing, in minor units (0 when nothing is).
    pub owed_minor: i64,
}

/// The account's balances, plan grace and amount owed, in one statement of scalar
/// subqueries. The header is on every page; on SQLite each statement is a hand-off to
/// sqlx's connection thread and back, and three reads cost three (docs/benchmarks.md,
/// "Pages under load"). The same values as `ledger::balances`, the subscription row's
/// `grace_until` and `reversal::owed`, which the ledger's model-based test checks.
pub async fn standing<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    currency: Currency,
) -> Result<Standing, DbErr> {
    use sea_orm::sea_query::{Expr, Query};
    let mut query = Query::select();
    standing_columns(&mut query, Expr::val(account_id));
    let row = conn
        .query_one(&query)
        .await?
        .ok_or_else(|| DbErr::Custom("a select of constants returned no row".into()))?;
    standing_of_row(&row, currency)
}

/// A user's account as one read saw it, with its currency and the header's figures.
#[derive(Clone, Debug)]
pub struct AccountAndStanding {
    pub account: account::Model,
    pub currency: Currency,
    pub standing: Standing,
}

/// The user with this id and, if they have one, their account with its standing: one
/// statement (the user left-joined to the account, with `standing`'s subqueries over
/// it) where separate reads take three. Every signed-in request reads this once, joined
/// to its session row (`session_store::DbSessionStore::load_with_user`,
/// `api::server::Asker`); on PostgreSQL each statement is a round trip the database
/// serves, on SQLite a hand-off to sqlx's connection thread and back
/// (docs/benchmarks.md, "Pages under load").
pub async fn user_and_account<C: ConnectionTrait>(
    conn: &C,
    user_id: i64,
) -> Result<Option<(user::Model, Option<AccountAndStanding>)>, DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let mut query = Query::select();
    query
        .from(user::Entity)
        .and_where(Expr::col((user::Entity, user::Column::Id)).eq(user_id));
    with_user_and_account(&mut query);
    match conn.query_one(&query).await? {
        Some(row) => user_and_account_of_row(&row),
        None => Ok(None),
    }
}

/// Adds to `query`, which reads from `users` (or joins it), the user's columns, their
/// account left-joined, and `standing`'s figures for it; `user_and_account_of_row` reads
/// them back.
pub(crate) fn with_user_and_account(query: &mut sea_orm::sea_query::SelectStatement) {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait};
    use sea_orm::{IdenStatic, Iterable};
    query.left_join(
        account::Entity,
        Expr::col((account::Entity, account::Column::UserId))
            .equals((user::Entity, user::Column::Id)),
    );
    // Each table's columns under a prefix of its own, which `from_query_result` reads.
    for column in user::Column::iter() {
        query.expr_as(
            Expr::col((user::Entity, column)),
            Alias::new(format!("u_{}", column.as_str())),
        );
    }
    for column in account::Column::iter() {
        query.expr_as(
            Expr::col((account::Entity, column)),
            Alias::new(format!("a_{}", column.as_str())),
        );
    }
    standing_columns(query, Expr::col((account::Entity, account::Column::Id)));
}

/// What `with_user_and_account` added to a row: `None` when it joined no user.
pub(crate) fn user_and_account_of_row(
    row: &sea_orm::QueryResult,
) -> Result<Option<(user::Model, Option<AccountAndStanding>)>, DbErr> {
    use sea_orm::FromQueryResult;
    // A left join leaves every column of a table it found no row in NULL.
    if row.try_get::<Option<i64>>("u_", "id")?.is_none() {
        return Ok(None);
    }
    let user = user::Model::from_query_result(row, "u_")?;
    if row.try_get::<Option<String>>("a_", "id")?.is_none() {
        return Ok(Some((user, None)));
    }
    let account = account::Model::from_query_result(row, "a_")?;
    let currency = currency(&account)?;
    let standing = standing_of_row(row, currency)?;
    Ok(Some((
        user,
        Some(AccountAndStanding {
            account,
            currency,
            standing,
        }),
    )))
}

/// Adds `Standing`'s figures to `query` as the columns `top_up`, `voucher`,
/// `grace_until` and `owed`: scalar subqueries over the account `account_id` names (a
/// value, or a joined account's id column).
fn standing_columns(
    query: &mut sea_orm::sea_query::SelectStatement,
    account_id: sea_orm::sea_query::Expr,
) {
    use super::entities::{reversal, subscription};
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let bucket = |bucket: Bucket| {
        Query::select()
            .column(balance::Column::AmountMinor)
            .from(balance::Entity)
            .and_where(
                Expr::col((balance::Entity, balance::Column::AccountId)).eq(account_id.clone()),
            )
            .and_where(balance::Column::Bucket.eq(bucket.as_str()))
            .to_owned()
    };
    let grace = Query::select()
        .column(subscription::Column::GraceUntil)
        .from(subscription::Entity)
        .and_where(
            Expr::col((subscription::Entity, subscription::Column::AccountId))
                .eq(account_id.clone()),
        )
        .to_owned();
    let owed = Query::select()
        .expr(Expr::cust(
            "CAST(COALESCE(SUM(owed_left_minor), 0) AS BIGINT)",
        ))
        .from(reversal::Entity)
        .and_where(
            Expr::col((reversal::Entity, reversal::Column::AccountId)).eq(account_id.clone()),
        )
        .to_owned();
    query
        .expr_as(bucket(Bucket::TopUp), Alias::new("top_up"))
        .expr_as(bucket(Bucket::Voucher), Alias::new("voucher"))
        .expr_as(grace, Alias::new("grace_until"))
        .expr_as(owed, Alias::new("owed"));
}

/// Reads the columns `standing_columns` added.
fn standing_of_row(row: &sea_orm::QueryResult, currency: Currency) -> Result<Standing, DbErr> {
    // An account always has both balance rows (`open`); a missing one reads as zero.
    let minor = |column: &str| -> Result<i64, DbErr> {
        Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
    };
    Ok(Standing {
        balances: Balances {
            top_up: Money::from_minor(minor("top_up")?, currency),
            voucher: Money::from_minor(minor("voucher")?, currency),
        },
        grace_until: row.try_get("", "grace_until")?,
        owed_minor: minor("owed")?,
    })
}
