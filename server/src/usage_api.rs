//! The usage API for metering services (`/api/v1`). The interface is fixed: other
//! services call it. HTTP only here; the rules are in `app::domain::usage`.
//!
//! | answer | when |
//! |---|---|
//! | 201 | charged: the rows and the new balances |
//! | 402 | balance too low: the Failed row is recorded |
//! | 400 | malformed JSON, a missing or bad field, a bad Idempotency-Key (names the field) |
//! | 401 | missing or unknown API key |
//! | 403 | the API key may not charge this service |
//! | 404 | unknown account |
//! | 422 | the Idempotency-Key was used with a different request; `currency` is not the account's; the amount is over the key's maximum |
//!
//! Nothing is recorded on any 4xx but 402. A replay carries `Idempotent-Replayed: true`.

use app::domain::api_key::ScopeError;
use app::domain::db::Db;
use app::domain::entities::api_key;
use app::domain::ledger::{self, ChargeRequest, LedgerError};
use app::domain::usage::{self, Answer, ChargeBody, Charged, FieldError};
use app::domain::{self as domain, account};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

/// The `/api/v1` routes and `/healthz`.
pub fn router(db: Db) -> Router {
    Router::new()
        .route("/api/v1/charges", post(create_charge))
        .route("/api/v1/accounts/{account_id}/balance", get(balance))
        .route("/api/v1/accounts/{account_id}/plan", get(plan))
        .route("/healthz", get(health))
        .with_state(db)
}

fn json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, code: &str, field: Option<&str>, message: &str) -> Response {
    json(status, &usage::error_json(code, field, message))
}

fn bad_request(e: &FieldError) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some(e.field),
        &e.message,
    )
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "usage API failed");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        None,
        "something went wrong on our side; retry with the same Idempotency-Key",
    )
}

fn answer(a: &Answer, replayed: bool) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(status, &a.body);
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// The caller's API key, or the 401 to answer with.
async fn authenticate(db: &Db, headers: &HeaderMap) -> Result<api_key::Model, Response> {
    let unauthorized = |message: &str| {
        let mut r = error(StatusCode::UNAUTHORIZED, "unauthorized", None, message);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let Some(presented) = presented else {
        return Err(unauthorized(
            "send the API key as `Authorization: Bearer <key>`",
        ));
    };
    match domain::api_key::authenticate(db.conn(), presented).await {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(unauthorized("the API key is not valid")),
        Err(e) => Err(internal(e)),
    }
}

async fn create_charge(State(db): State<Db>, headers: HeaderMap, body: Bytes) -> Response {
    let key = match authenticate(&db, &headers).await {
        Ok(key) => key,
        Err(response) => return response,
    };
    let idempotency_key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        Some(Err(_)) => {
            return bad_request(&FieldError {
                field: "Idempotency-Key",
                message: "the Idempotency-Key header must be visible ASCII".into(),
            });
        }
        Some(Ok(k)) => usage::check_idempotency_key(Some(k)),
        None => usage::check_idempotency_key(None),
    };
    let idempotency_key = match idempotency_key {
        Ok(k) => k.to_owned(),
        Err(e) => return bad_request(&e),
    };
    let body = match ChargeBody::parse(&body) {
        Ok(body) => body,
        Err(e) => return bad_request(&e),
    };
    let fingerprint = body.fingerprint();
    match usage::previous(db.conn(), key.id, &idempotency_key, &fingerprint).await {
        Ok(Some(seen)) => return charged(&seen),
        Ok(None) => {}
        Err(e) => return internal(e),
    }
    let account = match usage::find_account(db.conn(), &body.account_id).await {
        Ok(Some(account)) => account,
        Ok(None) => return account_not_found(&body.account_id),
        Err(e) => return internal(e),
    };
    let currency = match account::currency(&account) {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    if let Some(sent) = body.currency.filter(|c| *c != currency) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "currency_mismatch",
            Some("currency"),
            &format!(
                "the charge is in {} but account {} holds {}; nothing was charged",
                sent.code(),
                account.id,
                currency.code()
            ),
        );
    }
    let amount = match body.amount_in(currency) {
        Ok(amount) => amount,
        Err(e) => return bad_request(&e),
    };
    if let Err(e) = domain::api_key::Scope::of(&key).allows(body.service, amount) {
        let (status, code, field) = match e {
            ScopeError::Service(..) => (StatusCode::FORBIDDEN, "service_not_allowed", "service"),
            ScopeError::OverMaximum(_) | ScopeError::Currency(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "over_key_limit", "amount")
            }
        };
        return error(
            status,
            code,
            Some(field),
            &format!("{e}; nothing was charged"),
        );
    }
    let request = ChargeRequest {
        account_id: account.id,
        service: body.service,
        resource: body.resource,
        description: body.description,
        amount,
        idempotency_key: Some(format!("api:{}:{idempotency_key}", key.id)),
    };
    match usage::charge_once(&db, key.id, &idempotency_key, &fingerprint, &request).await {
        Ok(outcome) => charged(&outcome),
        Err(LedgerError::AccountNotFound(id)) => account_not_found(&id),
        Err(e) => internal(e),
    }
}

fn charged(outcome: &Charged) -> Response {
    match outcome {
        Charged::Fresh(a) => answer(a, false),
        Charged::Replayed(a) => answer(a, true),
        Charged::KeyReused => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            Some("Idempotency-Key"),
            "this Idempotency-Key was already used with a different request; use a new key for a new charge",
        ),
    }
}

fn account_not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "account_not_found",
        Some("account_id"),
        &format!("no account has the id {id:?}"),
    )
}

async fn balance(
    State(db): State<Db>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
) -> Response {
    let account = match authorized_account(&db, &headers, &account_id).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let balances = match account::currency(&account) {
        Ok(currency) => ledger::balances(db.conn(), &account.id, currency).await,
        Err(e) => return internal(e),
    };
    match balances {
        Ok(b) => json(StatusCode::OK, &usage::balances_json(&account.id, &b)),
        Err(e) => internal(e),
    }
}

/// The account a read names, for a caller with a valid API key; or the 401/404 to send.
async fn authorized_account(
    db: &Db,
    headers: &HeaderMap,
    account_id: &str,
) -> Result<app::domain::entities::account::Model, Response> {
    authenticate(db, headers).await?;
    match usage::find_account(db.conn(), account_id).await {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(account_not_found(account_id)),
        Err(e) => Err(internal(e)),
    }
}

/// The account's plan and its limits, for services deciding what the account may run.
async fn plan(
    State(db): State<Db>,
    headers: HeaderMap,
    Path(account_id): Path<String>,
) -> Response {
    let account = match authorized_account(&db, &headers, &account_id).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match domain::plan::for_services(
        db.conn(),
        &account.id,
        account.created_at,
        app::domain::db::now(),
    )
    .await
    {
        Ok(body) => json(StatusCode::OK, &body),
        Err(e) => internal(e),
    }
}

async fn health(State(db): State<Db>) -> Response {
    if db.ping().await {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

#[cfg(test)]
mod tests {
    //! The usage API's refusals over HTTP: each answers its status, names the field,
    //! and records nothing.
    #![allow(clippy::unwrap_used)]

    use app::domain::api_key::{self, Scope};
    use app::domain::db::{Db, now};
    use app::domain::entities::{api_idempotency, transaction};
    use app::domain::{account, auth};
    use app::model::ledger::Service;
    use app::model::money::{Currency, Money};
    use app::model::session::Role;
    use sea_orm::{EntityTrait, PaginatorTrait};
    use serde_json::{Value, json};

    struct Api {
        db: Db,
        base: String,
        account: String,
        http: reqwest::Client,
        _dir: tempfile::TempDir,
    }

    async fn serve() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        let user = auth::create_user(
            db.conn(),
            "m@example.com",
            "a password",
            Role::Customer,
            now(),
        )
        .await
        .unwrap();
        let account = account::open(db.conn(), user.id, Currency::Vnd, None, now())
            .await
            .unwrap()
            .id;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = super::router(db.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Api {
            db,
            base,
            account,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    impl Api {
        async fn key(&self, scope: &Scope) -> String {
            api_key::create(self.db.conn(), "svc", scope, now())
                .await
                .unwrap()
                .1
        }

        async fn charge(&self, key: &str, idempotency: &str, body: &str) -> (u16, Value) {
            let r = self
                .http
                .post(format!("{}/api/v1/charges", self.base))
                .bearer_auth(key)
                .header("Idempotency-Key", idempotency)
                .header("Content-Type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
        }

        async fn recorded(&self) -> (u64, u64) {
            (
                transaction::Entity::find()
                    .count(self.db.conn())
                    .await
                    .unwrap(),
                api_idempotency::Entity::find()
                    .count(self.db.conn())
                    .await
                    .unwrap(),
            )
        }
    }

    fn body(account: &str, service: &str, amount: &str, currency: Option<&str>) -> String {
        let mut b = json!({
            "account_id": account, "service": service, "resource": "gpu-a100-01",
            "description": "1 h", "amount": amount,
        });
        if let Some(c) = currency {
            b["currency"] = json!(c);
        }
        b.to_string()
    }

    #[tokio::test]
    async fn keys_outside_their_scope_and_foreign_currencies_are_refused_and_nothing_is_recorded() {
        let api = serve().await;
        let a = api.account.clone();
        let inference_only = api
            .key(&Scope {
                services: vec![Service::AiInference],
                max_charges: vec![Money::from_minor(100_000, Currency::Vnd)],
            })
            .await;
        let usd_only = api
            .key(&Scope {
                services: Service::USAGE.to_vec(),
                max_charges: vec![Money::from_minor(20_000, Currency::Usd)],
            })
            .await;
        let any = api.key(&Scope::all()).await;

        let cases = [
            (&inference_only, body(&a, "gpu_container", "1000", None), 403, "service_not_allowed", "service"),
            (&inference_only, body(&a, "ai_inference", "100001", None), 422, "over_key_limit", "amount"),
            (&usd_only, body(&a, "ai_inference", "1000", None), 422, "over_key_limit", "amount"),
            (&any, body(&a, "ai_inference", "12.50", Some("USD")), 422, "currency_mismatch", "currency"),
            (&any, body(&a, "ai_inference", "1000", Some("XXX")), 400, "invalid_request", "currency"),
            (&any, body(&a, "ai_inference\u{0}", "1000", None), 400, "invalid_request", "service"),
            (&any, json!({"account_id": a, "service": "ai_inference", "resource": "gpu\u{0}01", "description": "d", "amount": "1000"}).to_string(), 400, "invalid_request", "resource"),
            (&any, json!({"account_id": a, "service": "ai_inference", "resource": "r", "description": "d\u{0}", "amount": "1000"}).to_string(), 400, "invalid_request", "description"),
            (&any, format!(r#"{{"account_id":"{a}","service":"ai_inference","resource":"r","description":"d","amount":"1","amount":"900000"}}"#), 400, "invalid_request", "body"),
        ];
        for (i, (key, request, status, code, field)) in cases.iter().enumerate() {
            let (got, answer) = api.charge(key, &format!("k{i}"), request).await;
            assert_eq!(got, *status, "case {i}: {answer}");
            assert_eq!(answer["error"]["code"], *code, "case {i}: {answer}");
            assert_eq!(answer["error"]["field"], *field, "case {i}: {answer}");
        }
        assert_eq!(api.recorded().await, (0, 0), "nothing recorded");

        // Within scope, with the account's currency named: charged (402 here: no credit).
        let (status, answer) = api
            .charge(
                &inference_only,
                "ok",
                &body(&a, "ai_inference", "1000", Some("VND")),
            )
            .await;
        assert_eq!(status, 402, "{answer}");
    }
}
