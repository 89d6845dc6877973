//! The gateways' ways back to us: VNPay's IPN, Stripe's and PayPal's webhooks (no
//! session, no CSRF guard: gateways call them, and each is verified by its signature),
//! and the customer's return from a gateway's page (signed in, then sent on to the
//! outcome page). The rules are in `app::domain::gateways`.

use app::domain::account;
use app::domain::auth;
use app::domain::db::Db;
use app::domain::gateways::{self, Answer, Gateways, Notification};
use app::model::top_up::Gateway;
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use tower_sessions::Session;

#[derive(Clone)]
struct Payments {
    db: Db,
    gateways: Gateways,
    /// Each PayPal webhook costs a call to PayPal's verify API: a flood from one
    /// address must not turn into a flood of those (or use up our API quota).
    paypal_limit: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

/// PayPal webhooks one address may send: 20 a second, bursts of 100.
fn paypal_webhook_limit() -> DefaultKeyedRateLimiter<IpAddr> {
    let per_second = NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

/// The callback routes, which gateways call.
pub fn callbacks(db: Db, gateways: Gateways) -> Router {
    Router::new()
        .route("/payments/vnpay/ipn", get(vnpay_ipn))
        .route("/payments/stripe/webhook", post(stripe_webhook))
        .route("/payments/paypal/webhook", post(paypal_webhook))
        .with_state(Payments {
            db,
            gateways,
            paypal_limit: Arc::new(paypal_webhook_limit()),
        })
}

/// The customer's return route; needs the session layer.
pub fn returns(db: Db, gateways: Gateways) -> Router {
    Router::new()
        .route("/billing/top-up/return/{gateway}", get(customer_return))
        .with_state(Payments {
            db,
            gateways,
            paypal_limit: Arc::new(paypal_webhook_limit()),
        })
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn notification(raw: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Notification {
    Notification {
        query: query_pairs(raw),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    }
}

fn respond(answer: Answer) -> Response {
    (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body,
    )
        .into_response()
}

async fn vnpay_ipn(State(p): State<Payments>, RawQuery(raw): RawQuery) -> Response {
    let call = notification(raw.as_deref(), &HeaderMap::new(), &[]);
    respond(gateways::notified(&p.db, p.gateways.vnpay.as_ref(), &call).await)
}

async fn stripe_webhook(State(p): State<Payments>, headers: HeaderMap, body: Bytes) -> Response {
    let call = notification(None, &headers, &body);
    respond(gateways::notified(&p.db, p.gateways.stripe.as_ref(), &call).await)
}

async fn paypal_webhook(
    State(p): State<Payments>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Tests serve without connection info: they count as one address.
    let ip = peer.map_or(IpAddr::from([0, 0, 0, 0]), |Extension(ConnectInfo(a))| {
        a.ip()
    });
    if p.paypal_limit.check_key(&ip).is_err() {
        // PayPal retries a 429 later, with backoff.
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    let call = notification(None, &headers, &body);
    respond(gateways::notified(&p.db, p.gateways.paypal.as_ref(), &call).await)
}

/// Back from the gateway's page: settle if the return is authoritative, then show the
/// outcome page. Only the signed-in owner's payment is looked at.
async fn customer_return(
    State(p): State<Payments>,
    Path(gateway): Path<String>,
    RawQuery(raw): RawQuery,
    session: Session,
) -> Response {
    let Some(gateway) = Gateway::parse(&gateway) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let user = match auth::signed_in(p.db.conn(), &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/sign-in").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "return: session lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let query = query_pairs(raw.as_deref());
    let found = match account::of_user(p.db.conn(), user.id).await {
        Ok(Some(acct)) => gateways::returned(&p.db, &p.gateways, gateway, &acct.id, &query).await,
        Ok(None) => Ok(None),
        Err(e) => Err(e.into()),
    };
    match found {
        Ok(Some(payment)) => {
            Redirect::to(&format!("/billing/top-up/{}", payment.reference)).into_response()
        }
        Ok(None) => Redirect::to("/billing/payments").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "return could not be handled");
            Redirect::to("/billing/payments").into_response()
        }
    }
}
