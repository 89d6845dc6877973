//! Server functions answer every error with HTTP 500 (Leptos 0.8); this layer gives
//! each the status it is: the body is our `AppError`, whose `status()` says (401 for
//! a wrong password, 422 for a bad form, 429 when throttled…), so a guessing run or a
//! mistyped date never looks like a server fault. Real faults stay 500.

use app::model::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

/// An error body is a few hundred bytes; anything larger is not ours to read.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn honest_status(request: Request, next: Next) -> Response {
    let is_rpc = request.uri().path().starts_with("/rpc/");
    let response = next.run(request).await;
    if !is_rpc || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
