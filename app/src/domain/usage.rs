//! The usage API's rules, apart from HTTP: reading a charge request field by field,
//! charging exactly once per Idempotency-Key, and the JSON it answers with.
//!
//! An idempotency record is written in the same database transaction as the charge
//! (`group_commit` batches them), so a charge and its record exist together or not at
//! all. The same key with the same
//! request replays the first answer; with a different request it is refused. Keys are
//! scoped to the API key that sent them.

use super::db::Db;
use super::entities::{account, api_idempotency, transaction};
use super::group_commit::Once;
use super::ledger::{ChargeOutcome, ChargeRequest, LedgerError};
use crate::model::ledger::{Balances, Service};
use crate::model::money::{Currency, Money};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, TryInsertResult,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Longest Idempotency-Key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;
const MAX_RESOURCE_LEN: usize = 255;
const MAX_DESCRIPTION_LEN: usize = 1000;

/// A request the API refuses with 400, naming the field at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// A charge request whose fields are present and well-formed. The amount is still
/// text: its precision depends on the account's currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeBody {
    pub account_id: String,
    pub service: Service,
    pub resource: String,
    pub description: String,
    pub amount: String,
    /// The currency the metering service means; when sent it must be the account's.
    pub currency: Option<Currency>,
}

/// A JSON object read with duplicate keys refused: `{"amount":"1","amount":"900"}`
/// must not quietly mean whichever came last.
struct UniqueObject(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueObject, A::Error> {
                let mut fields = Map::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if fields.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!(
                            "the field {key:?} appears more than once"
                        )));
                    }
                    fields.insert(key, value);
                }
                Ok(UniqueObject(fields))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

impl ChargeBody {
    /// Reads the JSON body of `POST /api/v1/charges`.
    pub fn parse(body: &[u8]) -> Result<ChargeBody, FieldError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| FieldError::new("body", format!("the body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(FieldError::new("body", "the body must be a JSON object"));
        }
        let UniqueObject(fields) = serde_json::from_slice(body)
            .map_err(|e| FieldError::new("body", format!("the body is not valid: {e}")))?;
        let account_id = text(&fields, "account_id", 64)?;
        if account_id.trim().is_empty() {
            return Err(FieldError::new(
                "account_id",
                "account_id must not be empty",
            ));
        }
        let service_name = text(&fields, "service", 64)?;
        let service = Service::parse(&service_name)
            .filter(|s| s.is_usage())
            .ok_or_else(|| {
                FieldError::new(
                    "service",
                    format!(
                        "service must be one of {}; got {service_name:?}",
                        Service::USAGE
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        let resource = text(&fields, "resource", MAX_RESOURCE_LEN)?;
        if resource.trim().is_empty() {
            return Err(FieldError::new("resource", "resource must not be empty"));
        }
        let description = text(&fields, "description", MAX_DESCRIPTION_LEN)?;
        let amount = match fields.get("amount") {
            None | Some(Value::Null) => {
                return Err(FieldError::new("amount", "amount is required"));
            }
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(_)) => {
                return Err(FieldError::new(
                    "amount",
                    "amount must be a decimal string such as \"12.50\", not a JSON number",
                ));
            }
            Some(_) => return Err(FieldError::new("amount", "amount must be a decimal string")),
        };
        let currency = match fields.get("currency") {
            None | Some(Value::Null) => None,
            Some(Value::String(code)) => Some(Currency::from_code(code).ok_or_else(|| {
                FieldError::new(
                    "currency",
                    format!(
                        "currency must be one of {}; got {code:?}",
                        Currency::ALL.map(|c| c.code()).join(", ")
                    ),
                )
            })?),
            Some(_) => {
                return Err(FieldError::new(
                    "currency",
                    "currency must be a string such as \"VND\"",
                ));
            }
        };
        Ok(ChargeBody {
            account_id,
            service,
            resource,
            description,
            amount,
            currency,
        })
    }

    /// What makes two requests "the same" for an Idempotency-Key: every field's value,
    /// whatever the JSON's spacing or key order.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for part in [
            self.account_id.as_str(),
            self.service.as_str(),
            self.resource.as_str(),
            self.description.as_str(),
            self.amount.as_str(),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        // Only when sent, so fingerprints of requests without it are as they were.
        if let Some(currency) = self.currency {
            hash.update(b"currency");
            hash.update(currency.code().as_bytes());
        }
        hex::encode(hash.finalize())
    }

    /// Parses the amount in the account's currency.
    pub fn amount_in(&self, currency: Currency) -> Result<Money, FieldError> {
        Money::parse_positive(&self.amount, currency)
            .map_err(|e| FieldError::new("amount", format!("amount: {e}")))
    }
}

fn text(fields: &Map<String, Value>, name: &'static str, max: usize) -> Result<String, FieldError> {
    match fields.get(name) {
        None | Some(Value::Null) => Err(FieldError::new(name, format!("{name} is required"))),
        Some(Value::String(s)) if s.chars().count() > max => Err(FieldError::new(
            name,
            format!("{name} must be at most {max} characters"),
        )),
        // No database stores NUL in text (PostgreSQL refuses it); other control
        // characters have no place in a name or a line of a statement.
        Some(Value::String(s)) if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            Err(FieldError::new(
                name,
                format!("{name} must not contain control characters such as NUL"),
            ))
        }
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(FieldError::new(name, format!("{name} must be a string"))),
    }
}

/// Checks an Idempotency-Key header value.
pub fn check_idempotency_key(key: Option<&str>) -> Result<&str, FieldError> {
    match key {
        None => Err(FieldError::new(
            "Idempotency-Key",
            "the Idempotency-Key header is required",
        )),
        Some(k) if k.trim().is_empty() => Err(FieldError::new(
            "Idempotency-Key",
            "the Idempotency-Key header must not be empty",
        )),
        Some(k) if k.len() > MAX_IDEMPOTENCY_KEY_LEN => Err(FieldError::new(
            "Idempotency-Key",
            format!(
                "the Idempotency-Key header must be at most {MAX_IDEMPOTENCY_KEY_LEN} characters"
            ),
        )),
        Some(k) => Ok(k),
    }
}

/// An HTTP answer: status and JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

/// What became of a charge request with an Idempotency-Key.
#[derive(Clone, Debug, PartialEq)]
pub enum Charged {
    /// First time: this answer was just recorded.
    Fresh(Answer),
    /// The key was seen with the same request: the first answer, again.
    Replayed(Answer),
    /// The key was seen with a different request.
    KeyReused,
}

/// A previous answer for this key, or `KeyReused` if its request differed.
pub async fn previous<C: ConnectionTrait>(
    conn: &C,
    api_key_id: i64,
    key: &str,
    fingerprint: &str,
) -> Result<Option<Charged>, DbErr> {
    let found = api_idempotency::Entity::find()
        .filter(api_idempotency::Column::ApiKeyId.eq(api_key_id))
        .filter(api_idempotency::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?;
    Ok(found.map(|record| replay(&record, fingerprint)))
}

/// What a stored record answers a request with this fingerprint: its first answer
/// again, or `KeyReused` if the request differs.
pub fn replay(record: &api_idempotency::Model, fingerprint: &str) -> Charged {
    if record.request_hash != fingerprint {
        return Charged::KeyReused;
    }
    Charged::Replayed(Answer {
        status: u16::try_from(record.status_code).unwrap_or(500),
        body: serde_json::from_str(&record.response_body).unwrap_or(Value::Null),
    })
}

/// The account a request names, if it exists.
pub async fn find_account<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
) -> Result<Option<account::Model>, DbErr> {
    account::Entity::find_by_id(account_id.to_owned())
        .one(conn)
        .await
}

/// Charges once per (API key, Idempotency-Key): the charge and the record of its answer
/// commit together, in the account's next batch (`group_commit`). A key already
/// answered is replayed without waiting for the account.
pub async fn charge_once(
    db: &Db,
    api_key_id: i64,
    key: &str,
    fingerprint: &str,
    request: &ChargeRequest,
) -> Result<Charged, LedgerError> {
    if let Some(seen) = previous(db.conn(), api_key_id, key, fingerprint).await? {
        return Ok(seen);
    }
    let once = Once {
        api_key_id,
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
    };
    db.charges().charge_once(db, request.clone(), once).await
}

/// The record of a key's first answer, to insert with its charge.
pub fn record(
    api_key_id: i64,
    key: &str,
    fingerprint: &str,
    answer: &Answer,
    at: chrono::DateTime<chrono::Utc>,
) -> api_idempotency::ActiveModel {
    api_idempotency::ActiveModel {
        api_key_id: Set(api_key_id),
        idempotency_key: Set(key.to_owned()),
        request_hash: Set(fingerprint.to_owned()),
        status_code: Set(i32::from(answer.status)),
        response_body: Set(answer.body.to_string()),
        created_at: Set(at),
        ..Default::default()
    }
}

/// Inserts these records; `false` (and nothing to commit) when a key was recorded by
/// another transaction first. `ON CONFLICT DO NOTHING` rather than a failed insert:
/// on PostgreSQL a failed statement would abort the whole transaction.
pub async fn record_all(
    txn: &DatabaseTransaction,
    records: Vec<api_idempotency::ActiveModel>,
) -> Result<bool, DbErr> {
    let expected = u64::try_from(records.len()).unwrap_or(u64::MAX);
    let inserted = api_idempotency::Entity::insert_many(records)
        .on_conflict_do_nothing_on([
            api_idempotency::Column::ApiKeyId,
            api_idempotency::Column::IdempotencyKey,
        ])
        .exec_without_returning(txn)
        .await?;
    Ok(match inserted {
        TryInsertResult::Inserted(n) => n == expected,
        TryInsertResult::Conflicted | TryInsertResult::Empty => expected == 0,
    })
}

/// Deletes idempotency records older than `before` (the jobs call it with the configured
/// retention): a key older than that replays nothing and charges again, so metering
/// services must not retry with a key for longer (README).
pub async fn purge_idempotency<C: ConnectionTrait>(
    conn: &C,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DbErr> {
    Ok(api_idempotency::Entity::delete_many()
        .filter(api_idempotency::Column::CreatedAt.lt(before))
        .exec(conn)
        .await?
        .rows_affected)
}

/// The JSON for one ledger row.
pub fn row_json(row: &transaction::Model, currency: Currency) -> Value {
    json!({
        "id": row.id,
        "bucket": row.bucket,
        "kind": row.kind,
        "service": row.service,
        "source": row.source,
        "description": row.description,
        "voucher_code": row.voucher_code,
        "status": row.status,
        "amount": Money::from_minor(row.amount_minor, currency).to_plain_string(),
        "currency": currency.code(),
        "created_at": row.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
}

/// The JSON for an account's balances.
pub fn balances_json(account_id: &str, balances: &Balances) -> Value {
    json!({
        "account_id": account_id,
        "currency": balances.currency().code(),
        "total": balances.total().to_plain_string(),
        "top_up": balances.top_up.to_plain_string(),
        "voucher": balances.voucher.to_plain_string(),
    })
}

/// 201 with the rows and new balances, or 402 with the Failed row.
pub fn answer_for(account_id: &str, outcome: &ChargeOutcome) -> Answer {
    match outcome {
        ChargeOutcome::Charged { rows, balances } => Answer {
            status: 201,
            body: json!({
                "status": "charged",
                "transactions": rows.iter().map(|r| row_json(r, balances.currency())).collect::<Vec<_>>(),
                "balance": balances_json(account_id, balances),
            }),
        },
        ChargeOutcome::Declined { row, balances } => Answer {
            status: 402,
            body: json!({
                "status": "declined",
                "error": {
                    "code": "insufficient_balance",
                    "message": format!(
                        "The balance is too low: the charge is {} but only {} is available. Nothing was deducted.",
                        Money::from_minor(-row.amount_minor, balances.currency()),
                        balances.total(),
                    ),
                },
                "transactions": [row_json(row, balances.currency())],
                "balance": balances_json(account_id, balances),
            }),
        },
    }
}

/// A 4xx answer other than 402.
pub fn error_json(code: &str, field: Option<&str>, message: &str) -> Value {
    let mut error = json!({ "code": code, "message": message });
    if let Some(field) = field {
        error["field"] = json!(field);
    }
    json!({ "error": error })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<ChargeBody, FieldError> {
        ChargeBody::parse(json.as_bytes())
    }

    const GOOD: &str = r#"{"account_id":"a1","service":"ai_inference","resource":"llm-7b","description":"1k tokens","amount":"12.50"}"#;

    #[test]
    fn reads_a_good_request() {
        let b = body(GOOD).unwrap();
        assert_eq!(b.service, Service::AiInference);
        assert_eq!(b.amount_in(Currency::Usd).unwrap().to_minor(), Some(1250));
    }

    #[test]
    fn names_the_field_at_fault() {
        let cases = [
            ("not json", "body"),
            ("[1]", "body"),
            (
                r#"{"service":"ai_inference","resource":"r","description":"d","amount":"1"}"#,
                "account_id",
            ),
            (
                r#"{"account_id":"a","service":"mining","resource":"r","description":"d","amount":"1"}"#,
                "service",
            ),
            (
                r#"{"account_id":"a","service":"ai_inference","description":"d","amount":"1"}"#,
                "resource",
            ),
            (
                r#"{"account_id":"a","service":"ai_inference","resource":"r","amount":"1"}"#,
                "description",
            ),
            (
                r#"{"account_id":"a","service":"ai_inference","resource":"r","description":"d"}"#,
                "amount",
            ),
            (
                r#"{"account_id":"a","service":"ai_inference","resource":"r","description":"d","amount":12.5}"#,
                "amount",
            ),
            (
                r#"{"account_id":7,"service":"ai_inference","resource":"r","description":"d","amount":"1"}"#,
                "account_id",
            ),
        ];
        for (json, field) in cases {
            assert_eq!(body(json).unwrap_err().field, field, "{json}");
        }
        let b = body(&GOOD.replace("12.50", "12.505")).unwrap();
        assert_eq!(b.amount_in(Currency::Usd).unwrap_err().field, "amount");
        let b = body(&GOOD.replace("12.50", "0")).unwrap();
        assert!(
            b.amount_in(Currency::Usd)
                .unwrap_err()
                .message
                .contains("greater than zero")
        );
        let b = body(&GOOD.replace("12.50", "-3")).unwrap();
        assert!(b.amount_in(Currency::Usd).is_err());
    }

    #[test]
    fn fingerprint_ignores_spacing_and_order_but_not_values() {
        let a = body(GOOD).unwrap().fingerprint();
        let reordered = r#"{ "amount": "12.50", "description": "1k tokens", "resource": "llm-7b",
            "service": "ai_inference", "account_id": "a1" }"#;
        assert_eq!(body(reordered).unwrap().fingerprint(), a);
        assert_ne!(
            body(&GOOD.replace("12.50", "12.51")).unwrap().fingerprint(),
            a
        );
    }

    #[test]
    fn idempotency_key_rules() {
        assert!(check_idempotency_key(None).is_err());
        assert!(check_idempotency_key(Some(" ")).is_err());
        assert!(check_idempotency_key(Some(&"k".repeat(256))).is_err());
        assert!(check_idempotency_key(Some(&"k".repeat(255))).is_ok());
    }
}
