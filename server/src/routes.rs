//! The web server: Leptos pages and server functions (with sessions and the CSRF
//! guard), the usage API, static files, and the periodic jobs.

use crate::config::Config;
use crate::sandbox::{self, Sandbox};
use crate::{csrf, export, jobs, language, payments, rpc_status, usage_api};
use app::domain::adjustment::Thresholds;
use app::domain::db::Db;
use app::domain::gateways::Gateways;
use app::domain::session_store::DbSessionStore;
use app::ui::{App, shell};
use axum::Router;
use axum::handler::Handler;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The largest request body a page or server function takes.
const MAX_PAGE_BODY: usize = 64 * 1024;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "billing_session";

/// Builds the whole router on a connected database. With a sandbox, its routes are
/// served too.
pub fn router(
    db: Db,
    leptos_options: LeptosOptions,
    https: bool,
    trusted_proxy: bool,
    gateways: Gateways,
    thresholds: Thresholds,
    sandbox: Option<Sandbox>,
) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(db.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(https)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(7)));
    let routes = generate_route_list(App);
    // The site's files (the bundle, the stylesheet, the icons) come straight from the
    // directory; a path that is no file goes on to Leptos (its not-found page). Not
    // through leptos_axum's `file_and_error_handler` alone: it answers a file under
    // `Owner::new()`, a child of whatever reactive owner the worker thread last left
    // current, and applies that owner's `ResponseOptions` to the file, so a file could
    // go out with another request's status and headers (a 403 and its nonce: 4 of 2,000
    // stylesheet requests beside a run of 403 pages; in the browser, a page's wasm piece
    // refused and the page dead). Answered here, a file has no owner at all.
    let site = ServeDir::new(&*leptos_options.site_root)
        .call_fallback_on_method_not_allowed(true)
        .fallback(leptos_axum::file_and_error_handler(shell).with_state(leptos_options.clone()));
    let pages = Router::new()
        .leptos_routes_with_context(
            &leptos_options,
            routes,
            {
                let db = db.clone();
                let gateways = gateways.clone();
                move || {
                    provide_context(db.clone());
                    provide_context(gateways.clone());
                    provide_context(thresholds.clone());
                }
            },
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback_service(site)
        .with_state(leptos_options)
        .merge(export::router(db.clone()))
        .merge(payments::returns(db.clone(), gateways.clone()))
        .layer(axum::middleware::from_fn(rpc_status::honest_status))
        .layer(axum::middleware::from_fn_with_state(
            trusted_proxy,
            client_ip,
        ))
        .layer(axum::middleware::from_fn(csrf::same_origin_only))
        .layer(axum::middleware::from_fn_with_state(
            db.clone(),
            language::choose,
        ))
        // Forms and server-function calls are a few KB: larger bodies get 413.
        .layer(RequestBodyLimitLayer::new(MAX_PAGE_BODY))
        .layer(sessions);
    let mut app = usage_api::router(db.clone())
        .merge(payments::callbacks(db, gateways))
        .merge(pages);
    if let Some(sandbox) = sandbox {
        app = app.merge(sandbox::router(sandbox));
    }
    security_headers(app, https).layer(TraceLayer::new_for_http())
}

/// Establishes who the client is, for throttling and for VNPay's `vnp_IpAddr`: the
/// socket's peer, or, behind a trusted reverse proxy (`TRUSTED_PROXY=on`), the last
/// address in `X-Forwarded-For` (the one our proxy appended; earlier ones are the
/// client's word). Without this, every customer behind the proxy would share one
/// address and one sign-in limit.
async fn client_ip(
    axum::extract::State(trusted_proxy): axum::extract::State<bool>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = trusted_proxy
        .then(|| request.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok());
    if let Some(ip) = forwarded.or(peer) {
        request
            .extensions_mut()
            .insert(app::api::server::ClientIp(ip.to_string()));
    }
    next.run(request).await
}

/// Headers every response carries. Pages set their own Content-Security-Policy (with
/// the nonce of their inline scripts, `ui::shell`); everything else gets one that at
/// least forbids framing.
fn security_headers(app: Router, https: bool) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let mut headers = vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
    ];
    if https {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    headers
        .into_iter()
        .fold(app, |app, (name, value): (HeaderName, HeaderValue)| {
            app.layer(SetResponseHeaderLayer::if_not_present(name, value))
        })
}

/// Connects, migrates, starts the jobs and serves until Ctrl-C.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    config.prepare()?;
    let settings = &config.payments;
    if !settings.sandbox && !settings.missing.is_empty() {
        return Err(format!(
            "payment gateways are not configured: set {} (or PAYMENT_SANDBOX=on for the built-in sandboxes)",
            settings.missing.join(", ")
        )
        .into());
    }
    if !settings.sandbox && !settings.allow_test_mode && !settings.test_mode.is_empty() {
        return Err(format!(
            "live payments point at a test environment: {} (set PAYMENT_ALLOW_TEST_MODE=on to allow it)",
            settings.test_mode.join("; ")
        )
        .into());
    }
    let gateways = settings.gateways(&config.public_url);
    let sandbox = settings
        .sandbox
        .then(|| Sandbox::new(settings.clone(), &config.public_url));
    if sandbox.is_some() {
        tracing::warn!("payment gateways are the built-in sandboxes: no real money moves");
    }
    let db = Db::connect_with_pool(&config.database_url, config.database_pool_size).await?;
    let leptos_options = get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    tokio::spawn(jobs::run(
        db.clone(),
        gateways.clone(),
        DbSessionStore::new(db.clone()),
        jobs::Periods {
            idempotency_days: config.idempotency_retention_days,
            plan_grace_days: config.plan_grace_days,
        },
    ));
    let app = router(
        db,
        leptos_options,
        config.https(),
        config.trusted_proxy,
        gateways,
        config.approval_thresholds.clone(),
        sandbox,
    );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(database = %config.database_for_log(), "listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::PaymentSettings;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    /// A worker thread can be left with a page's reactive owner current after rendering
    /// it. A file answered on that thread must not take that page's status (here a
    /// refusal) or headers: it once did, through leptos_axum's file handler.
    #[tokio::test]
    async fn a_site_file_never_takes_a_page_s_status() {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        std::fs::write(site.path().join("pkg/piece.wasm"), b"\0asm\x01\0\0\0").unwrap();
        let data = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", data.path().join("t.db").display());
        let db = Db::connect(&url).await.unwrap();
        let options = LeptosOptions::builder()
            .output_name("billing")
            .site_root(site.path().to_str().unwrap())
            .build();
        let public_url = "http://127.0.0.1:3000";
        let payments = PaymentSettings::read(public_url, &|name| {
            (name == "PAYMENT_SANDBOX").then(|| "on".into())
        });
        let app = router(
            db,
            options,
            false,
            false,
            payments.gateways(public_url),
            Thresholds::default(),
            None,
        );

        let page = Owner::new();
        page.set();
        let refused = leptos_axum::ResponseOptions::default();
        refused.set_status(StatusCode::FORBIDDEN);
        provide_context(refused);

        let file = Request::get("/pkg/piece.wasm").body(Body::empty()).unwrap();
        let response = app.clone().oneshot(file).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        // A path that is no file still reaches the app's not-found page.
        let missing = Request::get("/pkg/nothing.wasm")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(missing).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        page.unset();
    }
}
