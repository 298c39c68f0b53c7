//! qBittorrent's WebUI API (v2) at `/api/v2`, the subset Sonarr, Radarr
//! and most remote apps use: log in for an `SID` cookie, then read and
//! change torrents with qBittorrent's parameter and field names. monsoon
//! answers as qBittorrent 4.5.2 (WebAPI 2.8.19) does, and takes the
//! `stop`/`start` spellings of 5.x too. The table of endpoints is in the
//! crate's README.

mod params;
mod sync;
mod torrents;
mod views;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::error::DaemonError;
use crate::http::App;
use crate::web::with_cookie;

pub(crate) use params::Params;
pub(crate) use sync::Shared as SharedSync;

/// The qBittorrent version whose API monsoon speaks.
pub(crate) const APP_VERSION: &str = "v4.5.2";
/// Its WebAPI version.
pub(crate) const WEBAPI_VERSION: &str = "2.8.19";

/// An error as qBittorrent answers one: a status and a line of text.
#[derive(Debug)]
pub(crate) struct QbError(pub(crate) StatusCode, pub(crate) String);

impl QbError {
    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        Self(StatusCode::BAD_REQUEST, msg.into())
    }
}

impl IntoResponse for QbError {
    fn into_response(self) -> Response {
        let mut r = (self.0, self.1).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        r
    }
}

impl From<DaemonError> for QbError {
    fn from(e: DaemonError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let msg = match &e {
            // qBittorrent's words for an unknown hash.
            DaemonError::NotFound(_) => "Torrent hash was not found".to_owned(),
            _ => e.to_string(),
        };
        QbError(status, msg)
    }
}

pub(crate) type QbResult = Result<Response, QbError>;

pub(crate) fn ok_text() -> Response {
    text("Ok.")
}

pub(crate) fn text(s: &str) -> Response {
    let mut r = s.to_owned().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    r
}

pub(crate) fn json_response(v: Value) -> Response {
    axum::Json(v).into_response()
}

pub(crate) fn routes(app: App) -> Router<App> {
    Router::new()
        .route("/app/version", get(version).post(version))
        .route(
            "/app/webapiVersion",
            get(webapi_version).post(webapi_version),
        )
        .route("/app/buildInfo", get(build_info).post(build_info))
        .route(
            "/app/defaultSavePath",
            get(default_save_path).post(default_save_path),
        )
        .route("/app/preferences", get(preferences).post(preferences))
        .route("/app/setPreferences", post(set_preferences))
        .route("/transfer/info", get(transfer_info).post(transfer_info))
        .route(
            "/transfer/downloadLimit",
            get(download_limit).post(download_limit),
        )
        .route(
            "/transfer/uploadLimit",
            get(upload_limit).post(upload_limit),
        )
        .route("/transfer/setDownloadLimit", post(set_download_limit))
        .route("/transfer/setUploadLimit", post(set_upload_limit))
        .route("/sync/maindata", get(sync::maindata).post(sync::maindata))
        .route("/auth/logout", post(logout))
        .merge(torrents::routes())
        .route_layer(middleware::from_fn_with_state(app, guard))
        // Logging in needs no login.
        .route("/auth/login", post(login).get(login))
        .fallback(|| async { QbError(StatusCode::NOT_FOUND, "Not Found".into()) })
        .layer(DefaultBodyLimit::max(crate::api::ADD_BODY_LIMIT))
}

/// Every endpoint but the login: the `Host` check, a request another site
/// started (its `Origin` or `Referer` not this host, as qBittorrent
/// checks), and a login's cookie, or the password as basic or bearer
/// auth. A failure is 403 "Forbidden", as in qBittorrent.
async fn guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let forbidden = || QbError(StatusCode::FORBIDDEN, "Forbidden".into()).into_response();
    if !app.auth.host_ok(h) || cross_site(h) {
        return forbidden();
    }
    let password_ok = app.auth.has_password() && app.auth.authenticated(h);
    if !(app.auth.logged_in(h) || password_ok) {
        let mut r = forbidden();
        crate::http::refused_credentials(h, &mut r);
        return r;
    }
    next.run(req).await
}

/// Whether `Origin` or `Referer` names another host than `Host`.
pub(crate) fn cross_site(h: &HeaderMap) -> bool {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    let other = |name: header::HeaderName| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && *v != "null")
            .map(|v| {
                let rest = v.split_once("://").map_or(v, |(_, r)| r);
                let their = rest.split('/').next().unwrap_or("");
                host.is_none_or(|ours| !their.eq_ignore_ascii_case(ours))
            })
    };
    other(header::ORIGIN).or_else(|| other(header::REFERER)) == Some(true)
}

/// `auth/login` (`username`, `password`): "Ok." with the `SID` cookie, or
/// "Fails.". Without a daemon password any credentials log in.
async fn login(State(app): State<App>, p: Params) -> Response {
    if cross_site(&p.headers) || !app.auth.host_ok(&p.headers) {
        return QbError(StatusCode::FORBIDDEN, "Forbidden".into()).into_response();
    }
    let password = p.get("password").unwrap_or("");
    match app.auth.login(password) {
        Some(token) => {
            let mut r = with_cookie(ok_text(), &Auth::set_cookie(&token));
            r.extensions_mut().insert(crate::throttle::AuthSucceeded);
            r
        }
        None => {
            tracing::warn!("a qBittorrent API login with a wrong password");
            let mut r = text("Fails.");
            r.extensions_mut().insert(crate::throttle::AuthFailed);
            r
        }
    }
}

async fn logout(State(app): State<App>, p: Params) -> Response {
    app.auth.logout(&p.headers);
    with_cookie(ok_text(), &Auth::clear_cookie())
}

async fn version() -> Response {
    text(APP_VERSION)
}

async fn webapi_version() -> Response {
    text(WEBAPI_VERSION)
}

async fn build_info() -> Response {
    json_response(json!({
        "qt": "", "libtorrent": "", "boost": "", "openssl": "", "zlib": "",
        "bitness": usize::BITS,
        "monsoon": env!("CARGO_PKG_VERSION"),
    }))
}

async fn default_save_path(State(app): State<App>) -> Response {
    text(&app.torrents.default_dir().display().to_string())
}

/// The preferences monsoon has (qBittorrent's names); the rest of
/// qBittorrent's long list is left out.
async fn preferences(State(app): State<App>) -> Response {
    let s = app.torrents.settings();
    let kib = |b: u64| b / 1024;
    json_response(json!({
        "save_path": app.torrents.default_dir().display().to_string(),
        "temp_path_enabled": false,
        "temp_path": "",
        "dl_limit": s.download_limit,
        "up_limit": s.upload_limit,
        "alt_dl_limit": kib(s.download_limit),
        "alt_up_limit": kib(s.upload_limit),
        "max_ratio_enabled": s.seed_ratio.is_some(),
        "max_ratio": s.seed_ratio.unwrap_or(-1.0),
        "max_seeding_time_enabled": s.seed_time_secs.is_some(),
        "max_seeding_time": s.seed_time_secs.map_or(-1, |t| (t / 60) as i64),
        "max_ratio_act": 0,
        "queueing_enabled": false,
        "listen_port": app.torrents.listen_port().await.unwrap_or(0),
        "dht": app.torrents.dht_enabled(),
        "pex": true,
        "lsd": app.torrents.lsd_enabled(),
        "encryption": 0,
        "web_ui_port": app.local_addr.port(),
        "torrent_content_layout": "Original",
        "start_paused_enabled": false,
        "auto_tmm_enabled": false,
        "incomplete_files_ext": false,
    }))
}

/// `app/setPreferences` (`json={...}`): `dl_limit`, `up_limit` (bytes/s),
/// `save_path`, `max_ratio(_enabled)`, `max_seeding_time(_enabled)`
/// (minutes); other keys are accepted and ignored.
async fn set_preferences(State(app): State<App>, p: Params) -> QbResult {
    let raw = p.required("json")?;
    let v: Value = serde_json::from_str(raw).map_err(|e| QbError::bad(format!("bad json: {e}")))?;
    let o = v
        .as_object()
        .ok_or_else(|| QbError::bad("json must be an object"))?;
    let s = app.torrents.settings();
    let rate = |key: &str, old: u64| -> Result<u64, QbError> {
        match o.get(key) {
            None => Ok(old),
            Some(v) => v
                .as_i64()
                .map(|n| n.max(0) as u64)
                .ok_or_else(|| QbError::bad(format!("{key} must be a number"))),
        }
    };
    let (down, up) = (
        rate("dl_limit", s.download_limit)?,
        rate("up_limit", s.upload_limit)?,
    );
    if let Some(dir) = o.get("save_path") {
        let dir = dir
            .as_str()
            .ok_or_else(|| QbError::bad("save_path must be a string"))?;
        app.torrents.set_download_dir(std::path::Path::new(dir))?;
    }
    let flag = |key: &str| o.get(key).and_then(Value::as_bool);
    let mut ratio = s.seed_ratio;
    if let Some(r) = o.get("max_ratio").and_then(Value::as_f64) {
        ratio = (r >= 0.0).then_some(r);
    }
    if flag("max_ratio_enabled") == Some(false) {
        ratio = None;
    }
    let mut time = s.seed_time_secs;
    if let Some(m) = o.get("max_seeding_time").and_then(Value::as_i64) {
        time = (m >= 0).then_some(m as u64 * 60);
    }
    if flag("max_seeding_time_enabled") == Some(false) {
        time = None;
    }
    if (down, up) != (s.download_limit, s.upload_limit) {
        app.torrents.set_session_limits(up, down).await;
    }
    if (ratio, time) != (s.seed_ratio, s.seed_time_secs) {
        app.torrents.set_session_seed_limits(ratio, time).await;
    }
    Ok(ok_text())
}

/// `transfer/info`.
pub(crate) fn transfer(app: &App) -> Value {
    let list = app.torrents.list();
    let down: f64 = list.iter().map(|s| s.stats.download_rate).sum();
    let up: f64 = list.iter().map(|s| s.stats.upload_rate).sum();
    let (sent, received) = app.torrents.session_bytes();
    let s = app.torrents.settings();
    json!({
        "connection_status": "connected",
        "dht_nodes": 0,
        "dl_info_data": received,
        "dl_info_speed": down as u64,
        "dl_rate_limit": s.download_limit,
        "up_info_data": sent,
        "up_info_speed": up as u64,
        "up_rate_limit": s.upload_limit,
    })
}

async fn transfer_info(State(app): State<App>) -> Response {
    json_response(transfer(&app))
}

async fn download_limit(State(app): State<App>) -> Response {
    text(&app.torrents.settings().download_limit.to_string())
}

async fn upload_limit(State(app): State<App>) -> Response {
    text(&app.torrents.settings().upload_limit.to_string())
}

async fn set_download_limit(State(app): State<App>, p: Params) -> QbResult {
    let limit = p.int("limit")?.unwrap_or(0).max(0) as u64;
    let up = app.torrents.settings().upload_limit;
    app.torrents.set_session_limits(up, limit).await;
    Ok(ok_text())
}

async fn set_upload_limit(State(app): State<App>, p: Params) -> QbResult {
    let limit = p.int("limit")?.unwrap_or(0).max(0) as u64;
    let down = app.torrents.settings().download_limit;
    app.torrents.set_session_limits(limit, down).await;
    Ok(ok_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn requests_from_other_sites_are_told_apart() {
        let host = ("host", "127.0.0.1:9091");
        assert!(!cross_site(&headers(&[host])));
        assert!(!cross_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:9091")
        ])));
        assert!(!cross_site(&headers(&[
            host,
            ("referer", "http://127.0.0.1:9091/index.html")
        ])));
        assert!(cross_site(&headers(&[
            host,
            ("origin", "https://evil.example")
        ])));
        assert!(cross_site(&headers(&[
            host,
            ("referer", "http://evil.example/page")
        ])));
        assert!(cross_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8080")
        ])));
    }
}
