//! monsoon-daemon: the long-running monsoon service.
//!
//! A [`Daemon`] keeps a persistent engine session: every torrent added to
//! it is saved in a state directory (its .torrent, save path, file
//! priorities, limits, paused or not, labels, and the engine's fast-resume
//! file) and comes back when the daemon starts again, trusting unchanged
//! files instead of hashing them. It serves, on one HTTP port:
//!
//! - its own JSON API under `/api/v1` with live updates as server-sent
//!   events at `/api/v1/events`;
//! - Transmission's RPC at `/transmission/rpc`, so `transmission-remote`,
//!   the `transmission-rpc` Python package and other Transmission tools
//!   drive it;
//! - qBittorrent's WebUI API (v2) at `/api/v2`, for Sonarr, Radarr and
//!   `qbittorrent-api`;
//! - a web page at `/`, embedded in the binary (plain HTML, CSS and
//!   JavaScript, no build step).
//!
//! A magnet link's files go to the daemon's download folder (the engine
//! places them once the metadata arrives); the link is kept in the state
//! directory until then, and the fetched metadata as a .torrent after.
//!
//! Security: it binds 127.0.0.1 unless given a password; every write needs
//! the session id (the 409 handshake Transmission uses) or the password as
//! a bearer token; logins hand out an HttpOnly, SameSite=Strict cookie; client paths must lie inside the allowed download
//! folders; bodies are bounded (a .torrent is at most 20 MiB).
//!
//! ```no_run
//! # async fn demo() -> Result<(), monsoon_daemon::DaemonError> {
//! use monsoon_daemon::{Daemon, DaemonConfig};
//!
//! let cfg = DaemonConfig::new("/var/lib/monsoon", "/srv/downloads");
//! let daemon = Daemon::start(cfg).await?;
//! eprintln!("listening on http://{}", daemon.local_addr());
//! daemon.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
#![deny(unsafe_code)]
// serde_json's `json!` of qBittorrent's 50-field torrent object.
#![recursion_limit = "256"]
#![warn(missing_docs)]

mod api;
mod auth;
mod config;
mod error;
mod free_space;
mod http;
mod paths;
mod qbittorrent;
mod sse;
mod state;
mod storage;
mod throttle;
mod torrents;
mod transmission;
mod views;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

pub use config::{DEFAULT_HTTP, DaemonConfig};
pub use error::DaemonError;
pub use paths::PathError;
pub use state::{MAX_TORRENT_BYTES, StateProblem};
pub use transmission::{IdRef, Ids, MAX_LIST, RpcRequest, RpcRequestError, canonical_key};

use http::App;
use torrents::Torrents;

/// A running daemon: its session restored, its HTTP port bound.
pub struct Daemon {
    app: App,
    stop: watch::Sender<bool>,
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Daemon {
    /// Checks the configuration, binds the HTTP port, opens the state
    /// directory and restores every torrent in it.
    ///
    /// # Errors
    /// [`DaemonError::PasswordRequired`] for a non-loopback address without
    /// a password; [`DaemonError::Bind`] when a port is taken; state
    /// directory errors. Unusable files *inside* the state directory are
    /// not errors: they are moved aside and reported
    /// ([`Daemon::problems`]).
    pub async fn start(cfg: DaemonConfig) -> Result<Self, DaemonError> {
        let password = cfg.password.clone().filter(|p| !p.is_empty());
        if !cfg.http.ip().is_loopback() && password.is_none() {
            return Err(DaemonError::PasswordRequired(cfg.http));
        }
        let listener = TcpListener::bind(cfg.http)
            .await
            .map_err(|source| DaemonError::Bind {
                addr: cfg.http,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| DaemonError::Bind {
            addr: cfg.http,
            source,
        })?;
        let torrents = Torrents::open(cfg).await?;
        let (stop, stopping) = watch::channel(false);
        let app = App {
            torrents,
            auth: Arc::new(auth::Auth::new(password)),
            stopping,
            local_addr,
            qb_sync: Arc::default(),
        };
        Ok(Self {
            app,
            stop,
            listener,
            local_addr,
        })
    }

    /// Where the HTTP API listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The peer port of the session.
    pub async fn peer_port(&self) -> Option<u16> {
        self.app.torrents.listen_port().await
    }

    /// What in the state directory could not be used, and what was done.
    pub fn problems(&self) -> Vec<StateProblem> {
        self.app.torrents.problems()
    }

    /// Serves until `shutdown` completes, then stops every torrent
    /// (announcing `stopped`, saving resume data) within the configured
    /// grace, and returns.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), DaemonError> {
        let router = router(self.app.clone());
        let mut stopping = self.app.stopping.clone();
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(self.listener, service).with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|s| *s).await;
        });
        let mut server = tokio::spawn(async move { serve.await });
        tokio::select! {
            () = shutdown => {}
            done = &mut server => {
                let e = match done {
                    Ok(Err(e)) => e,
                    _ => std::io::Error::other("the HTTP server ended"),
                };
                return Err(DaemonError::Bind { addr: self.local_addr, source: e });
            }
        }
        info!("stopping");
        let _ = self.stop.send(true);
        if tokio::time::timeout(Duration::from_secs(1), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
        self.app.torrents.shutdown().await;
        info!("stopped");
        Ok(())
    }
}

/// Every route of the daemon.
fn router(app: App) -> Router {
    Router::new()
        .nest("/api/v1", api::routes(app.clone()))
        .nest("/api/v2", qbittorrent::routes(app.clone()))
        .merge(transmission::routes(app.clone()))
        .merge(web::routes())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            http::throttle_guard,
        ))
        .with_state(app)
}
