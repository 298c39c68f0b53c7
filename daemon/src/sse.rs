//! Live updates at `/api/v1/events` (server-sent events): a `snapshot` of
//! every torrent first, then `torrent` (one torrent changed, about once a
//! second while it moves), `removed`, `session` (limits changed) and
//! `stats` (session totals, every 2 s). A client that falls behind gets a
//! new `snapshot`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::http::App;
use crate::torrents::{Event, TorrentRef};
use crate::views::TorrentView;

/// Session totals: torrent counts, rates, bytes this run and in all runs.
pub(crate) async fn session_stats(app: &App) -> serde_json::Value {
    let t = &app.torrents;
    let list = t.list();
    let active = list
        .iter()
        .filter(|s| s.stats.download_rate >= 1.0 || s.stats.upload_rate >= 1.0)
        .count();
    let paused = list.iter().filter(|s| s.record.paused).count();
    let down: f64 = list.iter().map(|s| s.stats.download_rate).sum();
    let up: f64 = list.iter().map(|s| s.stats.upload_rate).sum();
    let (sent, received) = t.session_bytes();
    let c = t.settings().cumulative;
    json!({
        "torrents": list.len(),
        "active": active,
        "paused": paused,
        "download_rate": down as u64,
        "upload_rate": up as u64,
        "session": { "uploaded": sent, "downloaded": received, "seconds": t.uptime().as_secs() },
        "cumulative": {
            "uploaded": c.uploaded + sent,
            "downloaded": c.downloaded + received,
            "files_added": c.files_added,
            "sessions": c.session_count,
            "seconds": c.seconds_active + t.uptime().as_secs(),
        },
    })
}

fn snapshot(app: &App) -> SseEvent {
    let all: Vec<TorrentView> = app.torrents.list().iter().map(TorrentView::new).collect();
    SseEvent::default()
        .event("snapshot")
        .json_data(all)
        .unwrap_or_default()
}

/// What the stream does next.
enum Next {
    First,
    Wait,
}

pub(crate) async fn events(
    State(app): State<App>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = app.torrents.subscribe();
    let stopping = app.stopping.clone();
    let tick = tokio::time::interval(Duration::from_secs(2));
    let stream = futures_util::stream::unfold(
        (app, rx, stopping, tick, Next::First),
        |(app, mut rx, mut stopping, mut tick, next)| async move {
            if let Next::First = next {
                let ev = snapshot(&app);
                return Some((Ok(ev), (app, rx, stopping, tick, Next::Wait)));
            }
            loop {
                if *stopping.borrow() {
                    return None;
                }
                let ev = tokio::select! {
                    _ = stopping.changed() => return None,
                    _ = tick.tick() => Some(SseEvent::default()
                        .event("stats")
                        .json_data(session_stats(&app).await)
                        .unwrap_or_default()),
                    got = rx.recv() => match got {
                        Ok(Event::Added(id) | Event::Updated(id)) => app
                            .torrents
                            .get(&TorrentRef::Id(id))
                            .ok()
                            .and_then(|s| {
                                SseEvent::default()
                                    .event("torrent")
                                    .json_data(TorrentView::new(&s))
                                    .ok()
                            }),
                        Ok(Event::Removed { id, hash }) => SseEvent::default()
                            .event("removed")
                            .json_data(json!({ "id": id, "hash": hash }))
                            .ok(),
                        Ok(Event::Session) => SseEvent::default()
                            .event("session")
                            .json_data(json!({
                                "download_dir": app.torrents.default_dir(),
                                "upload_limit": app.torrents.settings().upload_limit,
                                "download_limit": app.torrents.settings().download_limit,
                            }))
                            .ok(),
                        Err(RecvError::Lagged(_)) => Some(snapshot(&app)),
                        Err(RecvError::Closed) => return None,
                    },
                };
                if let Some(ev) = ev {
                    return Some((Ok(ev), (app, rx, stopping, tick, Next::Wait)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
