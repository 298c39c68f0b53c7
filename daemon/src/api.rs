//! The daemon's own JSON API under `/api/v1` (the table of endpoints is in
//! the crate's README).

use std::path::PathBuf;

use axum::Router;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, Request, State,
};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, middleware};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use crate::error::DaemonError;
use crate::http::{App, JsonBody, api_guard, error_response};
use crate::state::MAX_TORRENT_BYTES;
use crate::torrents::{AddRequest, Added, TorrentRef};
use crate::views::{self, PeerView, TorrentView, TrackersView};

/// Largest body of an add (a 20 MiB .torrent and a multipart envelope).
pub(crate) const ADD_BODY_LIMIT: usize = MAX_TORRENT_BYTES + (1 << 20);

pub(crate) fn routes(app: App) -> Router<App> {
    Router::new()
        .route("/torrents", get(list).post(add))
        .route("/torrents/{id}", get(one).delete(remove))
        .route("/torrents/{id}/pause", post(pause))
        .route("/torrents/{id}/resume", post(resume))
        .route("/torrents/{id}/recheck", post(recheck))
        .route("/torrents/{id}/files", get(files).put(set_files))
        .route("/torrents/{id}/peers", get(peers).post(add_peers))
        .route("/torrents/{id}/trackers", get(trackers))
        .route("/torrents/{id}/limits", put(set_limits))
        .route("/torrents/{id}/labels", put(set_labels))
        .route("/session", get(session))
        .route(
            "/session/limits",
            get(session_limits).put(set_session_limits),
        )
        .route("/session/stats", get(session_stats))
        .route("/events", get(crate::sse::events))
        .route("/login", post(crate::web::login))
        .route("/logout", post(crate::web::logout))
        .fallback(|| async {
            error_response(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .layer(DefaultBodyLimit::max(ADD_BODY_LIMIT))
        .route_layer(middleware::from_fn_with_state(app, api_guard))
}

type Result<T> = std::result::Result<T, DaemonError>;

/// Query arguments; a bad one is a 400 with a JSON error.
struct Query<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> std::result::Result<Self, Response> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| error_response(StatusCode::BAD_REQUEST, "bad_query", &e.body_text()))
    }
}

fn id(s: &str) -> Result<TorrentRef> {
    TorrentRef::parse(s)
}

async fn list(State(app): State<App>) -> Json<Vec<TorrentView>> {
    Json(app.torrents.list().iter().map(TorrentView::new).collect())
}

async fn one(State(app): State<App>, Path(tid): Path<String>) -> Result<Json<serde_json::Value>> {
    let r = id(&tid)?;
    let snap = app.torrents.get(&r)?;
    let (_, h) = app.torrents.handle(&r)?;
    let progress = h.file_progress().await.unwrap_or_default();
    let mut v = serde_json::to_value(TorrentView::new(&snap)).unwrap_or_default();
    v["files"] = serde_json::to_value(views::files(&snap, &progress)).unwrap_or_default();
    v["trackers"] = json!(snap.meta.trackers);
    v["piece_length"] = json!(snap.meta.piece_length);
    v["private"] = json!(snap.meta.private);
    v["comment"] = json!(snap.meta.comment);
    Ok(Json(v))
}

/// Options of an add given in the query string (raw and multipart bodies).
#[derive(Debug, Default, Deserialize)]
struct AddQuery {
    save_path: Option<PathBuf>,
    paused: Option<bool>,
    /// Comma-separated.
    labels: Option<String>,
    category: Option<String>,
}

/// An add as JSON: a .torrent on the daemon's host, or a magnet link.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddJson {
    path: Option<PathBuf>,
    magnet: Option<String>,
    save_path: Option<PathBuf>,
    #[serde(default)]
    paused: bool,
    #[serde(default)]
    labels: Vec<String>,
    file_priorities: Option<Vec<u8>>,
    category: Option<String>,
}

fn split_labels(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// `POST /torrents`: a .torrent as the raw body, as the `torrent` field of
/// a multipart form, or `{"path": ...}` naming one on the daemon's host
/// inside an allowed folder.
async fn add(State(app): State<App>, Query(q): Query<AddQuery>, req: Request) -> Response {
    match add_inner(&app, q, req).await {
        Ok((status, v)) => (status, Json(v)).into_response(),
        Err(e) => e,
    }
}

async fn add_inner(
    app: &App,
    q: AddQuery,
    req: Request,
) -> std::result::Result<(StatusCode, serde_json::Value), Response> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut add = AddRequest {
        save_path: q.save_path,
        paused: q.paused.unwrap_or(false),
        labels: split_labels(q.labels.as_deref()),
        category: q.category.unwrap_or_default(),
        ..AddRequest::default()
    };
    if ctype.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(req, &())
            .await
            .map_err(IntoResponse::into_response)?;
        read_form(&mut form, &mut add).await?;
    } else if ctype.starts_with("application/json") {
        let JsonBody(j) = JsonBody::<AddJson>::from_request(req, &()).await?;
        match (j.path, j.magnet) {
            (Some(path), None) => {
                add.torrent = read_torrent_path(app, &path).map_err(IntoResponse::into_response)?;
            }
            (None, Some(link)) => add.magnet = Some(link),
            _ => {
                return Err(DaemonError::BadRequest(
                    "give `path` (a .torrent on the daemon's host) or `magnet`".into(),
                )
                .into_response());
            }
        }
        add.save_path = j.save_path.or(add.save_path);
        add.paused |= j.paused;
        add.labels.extend(j.labels);
        add.file_priorities = j.file_priorities;
        if let Some(c) = j.category {
            add.category = c;
        }
    } else {
        let body = axum::body::to_bytes(req.into_body(), ADD_BODY_LIMIT)
            .await
            .map_err(|_| DaemonError::TooLarge.into_response())?;
        add.torrent = body.to_vec();
    }
    if add.magnet.is_none() && add.torrent.trim_ascii_start().starts_with(b"magnet:") {
        let link = String::from_utf8(std::mem::take(&mut add.torrent)).map_err(|_| {
            DaemonError::BadRequest("a magnet link must be UTF-8".into()).into_response()
        })?;
        add.magnet = Some(link);
    }
    if add.torrent.is_empty() && add.magnet.is_none() {
        return Err(DaemonError::BadRequest("no .torrent in the request".into()).into_response());
    }
    let added = app
        .torrents
        .add(add)
        .await
        .map_err(IntoResponse::into_response)?;
    match added {
        Added::New(id) => {
            let snap = app
                .torrents
                .get(&TorrentRef::Id(id))
                .map_err(IntoResponse::into_response)?;
            let v = serde_json::to_value(TorrentView::new(&snap)).unwrap_or_default();
            Ok((StatusCode::CREATED, v))
        }
        Added::Duplicate(id) => {
            let hash = app
                .torrents
                .get(&TorrentRef::Id(id))
                .map(|s| s.record.info_hash)
                .unwrap_or_default();
            Err(DaemonError::Duplicate { id, hash }.into_response())
        }
    }
}

async fn read_form(
    form: &mut Multipart,
    add: &mut AddRequest,
) -> std::result::Result<(), Response> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_multipart"
        };
        error_response(e.status(), code, &e.body_text())
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        match name.as_str() {
            "torrent" | "file" | "torrents" => {
                add.torrent = field.bytes().await.map_err(bad)?.to_vec()
            }
            "magnet" => add.magnet = Some(field.text().await.map_err(bad)?),
            "category" => add.category = field.text().await.map_err(bad)?,
            "save_path" => add.save_path = Some(field.text().await.map_err(bad)?.into()),
            "paused" => {
                add.paused = matches!(field.text().await.map_err(bad)?.as_str(), "true" | "1")
            }
            "labels" => add
                .labels
                .extend(split_labels(Some(&field.text().await.map_err(bad)?))),
            other => {
                return Err(
                    DaemonError::BadRequest(format!("unknown form field {other:?}"))
                        .into_response(),
                );
            }
        }
    }
    Ok(())
}

/// Reads a .torrent on the daemon's host: inside an allowed folder, a
/// regular file, at most 20 MiB.
pub(crate) fn read_torrent_path(app: &App, path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let resolved = app.torrents.resolve(path)?;
    let bad = |e: std::io::Error| DaemonError::BadRequest(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(&resolved).map_err(bad)?;
    if !meta.is_file() {
        return Err(DaemonError::BadRequest(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&resolved)
        .map_err(bad)?
        .take(MAX_TORRENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(bad)?;
    if bytes.len() > MAX_TORRENT_BYTES {
        return Err(DaemonError::TooLarge);
    }
    Ok(bytes)
}

async fn pause(State(app): State<App>, Path(tid): Path<String>) -> Result<StatusCode> {
    app.torrents.pause(&id(&tid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn resume(State(app): State<App>, Path(tid): Path<String>) -> Result<StatusCode> {
    app.torrents.resume(&id(&tid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn recheck(State(app): State<App>, Path(tid): Path<String>) -> Result<StatusCode> {
    app.torrents.recheck(&id(&tid)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct RemoveQuery {
    #[serde(default)]
    delete_data: bool,
}

async fn remove(
    State(app): State<App>,
    Path(tid): Path<String>,
    Query(q): Query<RemoveQuery>,
) -> Result<StatusCode> {
    app.torrents.remove(&id(&tid)?, q.delete_data).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn files(
    State(app): State<App>,
    Path(tid): Path<String>,
) -> Result<Json<Vec<views::FileView>>> {
    let r = id(&tid)?;
    let snap = app.torrents.get(&r)?;
    let (_, h) = app.torrents.handle(&r)?;
    let progress = h.file_progress().await?;
    Ok(Json(views::files(&snap, &progress)))
}

/// Either every file's priority, or one priority for some files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetFiles {
    priorities: Option<Vec<u8>>,
    indices: Option<Vec<usize>>,
    priority: Option<u8>,
}

async fn set_files(
    State(app): State<App>,
    Path(tid): Path<String>,
    JsonBody(body): JsonBody<SetFiles>,
) -> Result<StatusCode> {
    let r = id(&tid)?;
    match body {
        SetFiles {
            priorities: Some(p),
            indices: None,
            priority: None,
        } => app.torrents.set_file_priorities(&r, p).await?,
        SetFiles {
            priorities: None,
            indices: Some(ix),
            priority: Some(p),
        } => {
            app.torrents
                .edit_file_priorities(&r, |prios| {
                    for i in ix {
                        let n = prios.len();
                        *prios.get_mut(i).ok_or_else(|| {
                            DaemonError::BadRequest(format!("no file {i} (the torrent has {n})"))
                        })? = p;
                    }
                    Ok(())
                })
                .await?;
        }
        _ => {
            return Err(DaemonError::BadRequest(
                "give either `priorities` (one per file) or `indices` and `priority`".into(),
            ));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn peers(State(app): State<App>, Path(tid): Path<String>) -> Result<Json<Vec<PeerView>>> {
    let (_, h) = app.torrents.handle(&id(&tid)?)?;
    Ok(Json(h.peers().await?.iter().map(PeerView::new).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddPeers {
    peers: Vec<std::net::SocketAddr>,
}

/// Peers to connect to (`ip:port`), besides those the trackers give.
async fn add_peers(
    State(app): State<App>,
    Path(tid): Path<String>,
    JsonBody(body): JsonBody<AddPeers>,
) -> Result<StatusCode> {
    if body.peers.len() > 200 {
        return Err(DaemonError::BadRequest("at most 200 peers at once".into()));
    }
    let (_, h) = app.torrents.handle(&id(&tid)?)?;
    h.add_peers(body.peers).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn trackers(State(app): State<App>, Path(tid): Path<String>) -> Result<Json<TrackersView>> {
    let r = id(&tid)?;
    let snap = app.torrents.get(&r)?;
    let (_, h) = app.torrents.handle(&r)?;
    let status = h.tracker_status().await?;
    Ok(Json(TrackersView::new(&snap, &status)))
}

/// `Some(None)` when the key is there with `null`, `None` when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Limits to change (absent: unchanged; a seeding limit of `null`: none
/// of its own).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    upload: Option<u64>,
    download: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    seed_ratio: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    seed_time_secs: Option<Option<u64>>,
}

fn check_ratio(r: Option<Option<f64>>) -> Result<Option<Option<f64>>> {
    if let Some(Some(x)) = r {
        if !x.is_finite() || x < 0.0 {
            return Err(DaemonError::BadRequest(format!("bad seed ratio {x}")));
        }
    }
    Ok(r)
}

async fn set_limits(
    State(app): State<App>,
    Path(tid): Path<String>,
    JsonBody(l): JsonBody<Limits>,
) -> Result<StatusCode> {
    let r = id(&tid)?;
    let rec = app.torrents.get(&r)?.record;
    let seed_ratio = check_ratio(l.seed_ratio)?;
    if l.upload.is_some() || l.download.is_some() {
        let up = l.upload.unwrap_or(rec.upload_limit);
        let down = l.download.unwrap_or(rec.download_limit);
        app.torrents.set_rate_limits(&r, up, down).await?;
    }
    if seed_ratio.is_some() || l.seed_time_secs.is_some() {
        let ratio = seed_ratio.unwrap_or(rec.seed_ratio);
        let time = l.seed_time_secs.unwrap_or(rec.seed_time_secs);
        app.torrents.set_seed_limits(&r, ratio, time).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Labels {
    labels: Vec<String>,
}

async fn set_labels(
    State(app): State<App>,
    Path(tid): Path<String>,
    JsonBody(l): JsonBody<Labels>,
) -> Result<StatusCode> {
    app.torrents.set_labels(&id(&tid)?, l.labels)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn session(State(app): State<App>) -> Json<serde_json::Value> {
    let t = &app.torrents;
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "session_id": app.auth.session_id(),
        "password": app.auth.has_password(),
        "peer_port": t.listen_port().await,
        "download_dir": t.default_dir(),
        "allowed_dirs": t.allowed(),
        "state_dir": t.state_dir(),
        "torrents": t.list().len(),
        "uptime_secs": t.uptime().as_secs(),
        "problems": t.problems(),
    }))
}

fn limits_json(app: &App) -> serde_json::Value {
    let s = app.torrents.settings();
    json!({
        "upload": s.upload_limit,
        "download": s.download_limit,
        "seed_ratio": s.seed_ratio,
        "seed_time_secs": s.seed_time_secs,
    })
}

async fn session_limits(State(app): State<App>) -> Json<serde_json::Value> {
    Json(limits_json(&app))
}

async fn set_session_limits(
    State(app): State<App>,
    JsonBody(l): JsonBody<Limits>,
) -> Result<Json<serde_json::Value>> {
    let s = app.torrents.settings();
    let seed_ratio = check_ratio(l.seed_ratio)?;
    if l.upload.is_some() || l.download.is_some() {
        let up = l.upload.unwrap_or(s.upload_limit);
        let down = l.download.unwrap_or(s.download_limit);
        app.torrents.set_session_limits(up, down).await;
    }
    if seed_ratio.is_some() || l.seed_time_secs.is_some() {
        let ratio = seed_ratio.unwrap_or(s.seed_ratio);
        let time = l.seed_time_secs.unwrap_or(s.seed_time_secs);
        app.torrents.set_session_seed_limits(ratio, time).await;
    }
    Ok(Json(limits_json(&app)))
}

async fn session_stats(State(app): State<App>) -> Json<serde_json::Value> {
    Json(crate::sse::session_stats(&app).await)
}
