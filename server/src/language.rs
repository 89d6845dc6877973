//! Which language a page or server function answers in, decided once per request
//! (`Language::choose` holds the rule) and handed on as a request extension: the page's
//! `<html lang>` and text, and the dates server functions write, all read it. The
//! signed-in user it reads for their saved language, and their account, are handed on
//! too (`Asker`), so the page's server functions do not read them again.

use app::api::server::Asker;
use app::domain::db::Db;
use app::model::settings::{LANGUAGE_COOKIE, Language};
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::middleware::Next;
use axum::response::Response;
use tower_sessions::Session;
use tower_sessions::cookie::Cookie;

/// Runs inside the session layer: a signed-in user's saved preference comes first.
pub async fn choose(State(db): State<Db>, mut request: Request, next: Next) -> Response {
    // A failed read hands nothing on: each server function then reads for itself, and
    // reports the failure, rather than taking the user for signed out.
    let asker = match request.extensions().get::<Session>() {
        Some(session) => Asker::read(&db, session).await.ok(),
        None => None,
    };
    let saved = asker
        .as_ref()
        .and_then(Asker::user)
        .and_then(|user| Language::parse(&user.language));
    let headers = request.headers();
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .flatten()
        .find(|c| c.name() == LANGUAGE_COOKIE)
        .map(|c| c.value().to_owned());
    let accept = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    let language = Language::choose(saved, cookie.as_deref(), accept);
    request.extensions_mut().insert(language);
    if let Some(asker) = asker {
        request.extensions_mut().insert(asker);
    }
    next.run(request).await
}
