//! The web page at `/`: HTML, CSS and JavaScript embedded in the binary
//! (no build step, no CDN; it works offline), and the login that hands
//! the page its cookie.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::auth::Auth;
use crate::http::{App, JsonBody, error_response};

/// The page's files: path, content type, bytes.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_str!("../web/app.js"),
    ),
    (
        "/style.css",
        "text/css; charset=utf-8",
        include_str!("../web/style.css"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_str!("../web/favicon.svg"),
    ),
];

/// What the page may load and run: its own files only (no inline script,
/// no other origin), and it may not be framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

pub(crate) fn routes() -> Router<App> {
    let mut r = Router::new();
    for &(path, ctype, body) in FILES {
        r = r.route(path, get(move || async move { page_file(ctype, body) }));
    }
    r.route(
        "/index.html",
        get(|| async { page_file(FILES[0].1, FILES[0].2) }),
    )
}

fn page_file(ctype: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    password: String,
}

/// `POST /api/v1/login {"password": ...}`: 204 with the `SID` cookie
/// (HttpOnly, SameSite=Strict), or 401.
pub(crate) async fn login(State(app): State<App>, JsonBody(l): JsonBody<Login>) -> Response {
    if l.password.len() > 1024 {
        return error_response(StatusCode::BAD_REQUEST, "bad_request", "password too long");
    }
    match app.auth.login(&l.password) {
        Some(token) => {
            let mut r = with_cookie(
                StatusCode::NO_CONTENT.into_response(),
                &Auth::set_cookie(&token),
            );
            r.extensions_mut().insert(crate::throttle::AuthSucceeded);
            r
        }
        None => {
            tracing::warn!("a login with a wrong password");
            let mut r = error_response(StatusCode::UNAUTHORIZED, "unauthorized", "wrong password");
            r.extensions_mut().insert(crate::throttle::AuthFailed);
            r
        }
    }
}

/// `POST /api/v1/logout`: forgets the cookie.
pub(crate) async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    app.auth.logout(&headers);
    with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &Auth::clear_cookie(),
    )
}

pub(crate) fn with_cookie(mut r: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
