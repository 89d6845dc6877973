//! `GET /billing/history/export`: the Credit History as an .xlsx file, through a plain
//! authenticated GET so the browser's own download handles it. The account comes from
//! the session (an operator with "View accounts" may name one: `account=<id>`); the
//! filter from the query string, as on the page.
//!
//! The page's button adds `download=<token>`; the answer sets a short-lived
//! `export_done=<token>` cookie, which tells the page the file is on its way (the only
//! signal a browser gives a page about a native download).

use app::domain::db::Db;
use app::domain::export::{self, ExportOptions};
use app::domain::{account, auth, operator};
use app::model::error::AppError;
use app::model::history::HistoryFilter;
use app::model::money::Currency;
use app::model::operator::Capability;
use app::model::session::Role;
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sea_orm::EntityTrait;
use tokio_util::io::ReaderStream;
use tower_sessions::Session;

/// The export route (it needs the session layer).
pub fn router(db: Db) -> Router {
    Router::new()
        .route("/billing/history/export", get(download))
        .with_state(db)
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "export failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "The export failed on our side. Please try again.",
    )
        .into_response()
}

/// One parameter of the query string, decoded.
fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The account an operator asked to export, if they may see it.
async fn operator_export(
    db: &Db,
    user: &app::domain::entities::user::Model,
    account_id: &str,
) -> Result<(app::domain::entities::account::Model, Currency), Response> {
    let capabilities = operator::of_user(db.conn(), user.id)
        .await
        .map_err(failed)?;
    if user.role != Role::Operator.as_str() || !capabilities.contains(&Capability::ViewAccounts) {
        return Err((
            StatusCode::FORBIDDEN,
            AppError::MissingCapability(Capability::ViewAccounts).to_string(),
        )
            .into_response());
    }
    let found = app::domain::entities::account::Entity::find_by_id(account_id.to_owned())
        .one(db.conn())
        .await
        .map_err(failed)?
        .ok_or_else(|| {
            (StatusCode::NOT_FOUND, "There is no account with this id.").into_response()
        })?;
    let currency = account::currency(&found).map_err(failed)?;
    Ok((found, currency))
}

/// A download token is echoed into a cookie, so only harmless characters pass.
fn token(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix("download="))
        .filter(|t| !t.is_empty() && t.len() <= 64)
        .filter(|t| {
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .map(str::to_owned)
}

async fn download(State(db): State<Db>, session: Session, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let user = match auth::signed_in(db.conn(), &session).await {
        Ok(Some(user)) => user,
        Ok(None) => return Redirect::to("/sign-in").into_response(),
        Err(e) => return failed(e),
    };
    // An operator exports a customer's history by naming the account (`account=<id>`),
    // with the "View accounts" capability; a customer exports only their own.
    let (account, currency) = match param(&query, "account") {
        Some(account_id) => match operator_export(&db, &user, &account_id).await {
            Ok(found) => found,
            Err(response) => return response,
        },
        None => match account::with_currency(db.conn(), user.id).await {
            Ok(Some(found)) => found,
            Ok(None) => {
                return (
                    StatusCode::NOT_FOUND,
                    "You have no billing profile yet, so there is nothing to export.",
                )
                    .into_response();
            }
            Err(e) => return failed(e),
        },
    };
    let filter = HistoryFilter::from_query_string(&query);
    if let Err(e) = filter.validate() {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    let dates = app::domain::settings::LocalTime::of(&user);
    let file = match tempfile::NamedTempFile::new() {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let written = export::write_xlsx(
        &db,
        &account.id,
        currency,
        dates,
        &filter,
        file.path(),
        ExportOptions::default(),
    )
    .await;
    if let Err(e) = written {
        return failed(e);
    }
    // Open the finished file, then let the temporary path go: the open handle keeps the
    // data readable until the download ends, and nothing is left on disk after.
    let opened = match file.reopen() {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    drop(file);
    let today = chrono::Utc::now().with_timezone(&dates.tz).date_naive();
    let name = export::file_name(filter.bucket, today);
    let body = Body::from_stream(ReaderStream::new(tokio::fs::File::from_std(opened)));
    let mut response = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(token) = token(&query)
        && let Ok(v) = HeaderValue::from_str(&format!(
            "export_done={token}; Path=/; Max-Age=120; SameSite=Lax"
        ))
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::token;

    #[test]
    fn only_plain_tokens_reach_the_cookie() {
        assert_eq!(
            token("balance=voucher&download=1732-7"),
            Some("1732-7".into())
        );
        assert_eq!(token("download=a;b"), None);
        assert_eq!(token("download="), None);
        assert_eq!(token("balance=voucher"), None);
    }
}
