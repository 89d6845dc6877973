//! Cross-site request forgery guard for the browser's state-changing requests (server
//! functions). Browsers say where a request comes from (`Sec-Fetch-Site`, or `Origin`);
//! a request another site made is refused. Requests that carry neither header do not
//! come from a browser page, and so cannot ride a user's cookies. This is the same rule
//! as Go's `http.CrossOriginProtection`; with SameSite=Lax cookies it closes the hole.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses unsafe-method requests that a browser marks as cross-origin.
pub async fn same_origin_only(request: Request<Body>, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || is_same_origin(&request) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "cross-site request refused: this action can only be sent from this site's pages",
        )
            .into_response()
    }
}

fn is_same_origin(request: &Request<Body>) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder = Request::post("/rpc/sign_out").header("host", "127.0.0.1:3000");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).expect("request")
    }

    #[test]
    fn refuses_cross_site_browser_requests() {
        assert!(!is_same_origin(&request(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(!is_same_origin(&request(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(!is_same_origin(&request(&[(
            "origin",
            "https://evil.example"
        )])));
    }

    #[test]
    fn allows_same_origin_and_non_browser_requests() {
        assert!(is_same_origin(&request(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(is_same_origin(&request(&[(
            "origin",
            "http://127.0.0.1:3000"
        )])));
        assert!(is_same_origin(&request(&[])));
    }
}
