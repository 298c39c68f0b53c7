//! Transmission's RPC at `/transmission/rpc`: the session-id handshake
//! (409 with `X-Transmission-Session-Id`), basic auth when a password is
//! set, and the methods Transmission tools use. Requests are parsed by
//! [`RpcRequest`] (pure, fuzzed by a proptest); answers use the client's
//! spelling (see `names`).

mod actions;
mod names;
mod request;
mod session;
mod torrent_get;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub use request::{IdRef, Ids, MAX_LIST, RpcRequest, RpcRequestError, canonical_key};

use crate::auth::TRANSMISSION_SESSION_HEADER;
use crate::http::App;
use crate::state::MAX_TORRENT_BYTES;
use crate::torrents::Snapshot;

/// Largest RPC body: a 20 MiB .torrent in base64 (4/3) and the envelope.
const RPC_BODY_LIMIT: usize = MAX_TORRENT_BYTES / 3 * 4 + (1 << 20);

pub(crate) fn routes(_app: App) -> Router<App> {
    Router::new()
        .route("/transmission/rpc", post(rpc).get(rpc_get))
        // transmission-remote posts to `/transmission/rpc/`.
        .route("/transmission/rpc/", post(rpc).get(rpc_get))
        .layer(DefaultBodyLimit::max(RPC_BODY_LIMIT))
}

/// The checks Transmission makes before a request: host, password,
/// session id (or `None`: go on).
fn guard(app: &App, headers: &HeaderMap) -> Option<Response> {
    if !app.auth.host_ok(headers) {
        return Some(
            (
                StatusCode::FORBIDDEN,
                "<h1>403: Forbidden</h1><p>Unauthorized Host header (DNS rebinding protection). \
                 Use an IP address or localhost, or set a password.</p>",
            )
                .into_response(),
        );
    }
    if !app.auth.authenticated(headers) {
        let mut r = (StatusCode::UNAUTHORIZED, "<h1>401: Unauthorized</h1>").into_response();
        crate::http::refused_credentials(headers, &mut r);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Transmission\""),
        );
        return Some(r);
    }
    if !app.auth.csrf_ok(headers, TRANSMISSION_SESSION_HEADER) {
        let mut r = (
            StatusCode::CONFLICT,
            format!(
                "<h1>409: Conflict</h1><p>Your request had an invalid session-id header.</p>\
                 <p><code>{TRANSMISSION_SESSION_HEADER}: {}</code></p>",
                app.auth.session_id()
            ),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(app.auth.session_id()) {
            r.headers_mut().insert(TRANSMISSION_SESSION_HEADER, v);
        }
        return Some(r);
    }
    None
}

/// A GET gets the handshake answer (clients use it to learn the id).
async fn rpc_get(State(app): State<App>, headers: HeaderMap) -> Response {
    guard(&app, &headers)
        .unwrap_or_else(|| (StatusCode::METHOD_NOT_ALLOWED, "POST a JSON request").into_response())
}

async fn rpc(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Some(r) = guard(&app, &headers) {
        return r;
    }
    let body = match body {
        Ok(b) => b,
        Err(rej) => {
            let status = rej.status();
            return (status, axum::Json(json!({ "result": rej.body_text() }))).into_response();
        }
    };
    let req = match RpcRequest::parse(&body) {
        Ok(r) => r,
        Err(err) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "result": err.to_string() })),
            )
                .into_response();
        }
    };
    let answer = dispatch(&app, &req).await;
    let mut out = match answer {
        Ok(arguments) => json!({ "result": "success", "arguments": arguments }),
        Err(message) => json!({ "result": message, "arguments": {} }),
    };
    if let Some(tag) = req.tag {
        out["tag"] = tag;
    }
    axum::Json(out).into_response()
}

async fn dispatch(app: &App, req: &RpcRequest) -> Result<Value, String> {
    match req.method.as_str() {
        "session-get" => session::get(app, req).await,
        "session-set" => session::set(app, req).await,
        "session-stats" => session::stats(app, req).await,
        "free-space" => session::free_space(app, req).await,
        "torrent-get" => torrent_get::run(app, req).await,
        "torrent-add" => actions::add(app, req).await,
        "torrent-start" | "torrent-start-now" => actions::start(app, req).await,
        "torrent-stop" => actions::stop(app, req).await,
        "torrent-verify" => actions::verify(app, req).await,
        "torrent-remove" => actions::remove(app, req).await,
        "torrent-set" => actions::set(app, req).await,
        "torrent-reannounce" | "queue-move-top" | "queue-move-up" | "queue-move-down"
        | "queue-move-bottom" => actions::queue_move(app, req).await,
        _ => Err("method name not recognized".into()),
    }
}

/// The torrents `ids` selects (unknown ones are skipped), by id.
pub(crate) fn select(app: &App, ids: &Ids) -> Vec<Snapshot> {
    let all = app.torrents.list();
    match ids {
        Ids::All => all,
        Ids::RecentlyActive => all.into_iter().filter(|s| s.recently_active).collect(),
        Ids::Some(list) => all
            .into_iter()
            .filter(|s| {
                list.iter().any(|r| match r {
                    IdRef::Id(i) => *i == s.record.id,
                    IdRef::Hash(h) => *h == s.record.info_hash,
                })
            })
            .collect(),
    }
}
