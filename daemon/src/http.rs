//! What every HTTP route shares: the app state, JSON errors, a JSON body
//! extractor that answers bad JSON with a JSON error, and the guard of the
//! own API (host, password, session id for writes).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::auth::{Auth, MONSOON_SESSION_HEADER};
use crate::error::DaemonError;
use crate::throttle::{AuthFailed, AuthSucceeded};
use crate::torrents::Torrents;

/// Sent by the web page: a 401 then carries no `WWW-Authenticate`, so
/// the browser shows the page's login form, not its own dialog.
pub(crate) const WEB_HEADER: &str = "x-monsoon-web";

/// Everything a handler needs.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) torrents: Arc<Torrents>,
    pub(crate) auth: Arc<Auth>,
    /// Becomes true when the daemon stops (event streams end).
    pub(crate) stopping: watch::Receiver<bool>,
    /// Where the HTTP API listens.
    pub(crate) local_addr: std::net::SocketAddr,
    /// qBittorrent's `sync/maindata` answers, to send differences.
    pub(crate) qb_sync: crate::qbittorrent::SharedSync,
}

/// A JSON error answer: `{"error": code, "message": text}`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    (status, Json(body)).into_response()
}

impl IntoResponse for DaemonError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        error_response(status, self.code(), &self.to_string())
    }
}

/// A JSON request body, whatever its content type (`curl -d` sends a
/// form's); bad JSON or a wrong shape is a 400, too large a body a 413,
/// each with a JSON error.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                };
                error_response(status, code, &rejection.body_text())
            })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            error_response(
                StatusCode::BAD_REQUEST,
                "bad_json",
                &format!("bad JSON body: {e}"),
            )
        })
    }
}

/// Every request: an address banned for guessing the password gets 429
/// and nothing else; a response that refused credentials counts against
/// its address, one that accepted them clears the count.
pub(crate) async fn throttle_guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(ip) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    let now = std::time::Instant::now();
    let throttle = &app.auth.throttle;
    if let Some(left) = throttle.banned(ip, now) {
        let secs = left.as_secs() + 1;
        let mut r = error_response(
            StatusCode::TOO_MANY_REQUESTS,
            "banned",
            &format!("too many wrong passwords from {ip}: refused for {secs} more seconds"),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let had_credentials = req.headers().contains_key(header::AUTHORIZATION);
    let r = next.run(req).await;
    if r.extensions().get::<AuthFailed>().is_some() {
        if throttle.failed(ip, now) {
            tracing::warn!(%ip, minutes = crate::throttle::BAN.as_secs() / 60, "too many wrong passwords: address banned");
        }
    } else if r.extensions().get::<AuthSucceeded>().is_some()
        || (had_credentials && r.status().is_success())
    {
        throttle.succeeded(ip);
    }
    r
}

/// Marks a response as a refusal of credentials the request carried (a
/// request without any is not a guess).
pub(crate) fn refused_credentials(headers: &axum::http::HeaderMap, r: &mut Response) {
    if headers.contains_key(header::AUTHORIZATION) {
        r.extensions_mut().insert(AuthFailed);
    }
}

/// The own API's guard: the `Host` check, the password, and for anything
/// but GET/HEAD the session id (answered with 409 and the id in
/// `X-Monsoon-Session-Id`, as Transmission does). Every answer carries the
/// id.
pub(crate) async fn api_guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let auth = &app.auth;
    let headers = req.headers();
    if !auth.host_ok(headers) {
        return error_response(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "the Host header must be an IP address or localhost (DNS rebinding protection; \
             set a password to serve other names)",
        );
    }
    // Logging in and out needs no login (and no session id: a forged
    // login or logout gains an attacker nothing).
    let path = req.uri().path();
    if path.ends_with("/login") || path.ends_with("/logout") {
        return next.run(req).await;
    }
    if !auth.authenticated(headers) {
        let mut r = error_response(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this daemon needs its password (HTTP basic auth, Authorization: Bearer PASSWORD, \
             or the cookie POST /api/v1/login hands out)",
        );
        refused_credentials(headers, &mut r);
        // The web page logs in with its own form: no browser dialog for it.
        if !headers.contains_key(WEB_HEADER) {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"monsoon\""),
            );
        }
        return r;
    }
    let sid = HeaderValue::from_str(auth.session_id()).ok();
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    let mut resp = if write && !auth.csrf_ok(headers, MONSOON_SESSION_HEADER) {
        error_response(
            StatusCode::CONFLICT,
            "session_id",
            "write requests must send the X-Monsoon-Session-Id header this answer carries \
             (or Authorization: Bearer PASSWORD)",
        )
    } else {
        next.run(req).await
    };
    if let Some(sid) = sid {
        resp.headers_mut().insert(MONSOON_SESSION_HEADER, sid);
    }
    resp
}
