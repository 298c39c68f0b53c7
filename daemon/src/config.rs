//! [`DaemonConfig`]: where the daemon listens, keeps its state and puts
//! downloads, and who may talk to it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use monsoon_engine::SessionConfig;

/// The default HTTP address (Transmission's port, loopback only).
pub const DEFAULT_HTTP: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9091);

/// How a [`Daemon`](crate::Daemon) runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DaemonConfig {
    /// Where the HTTP API and Transmission RPC listen (port 0: any free
    /// port). Anything but a loopback address needs a password.
    pub http: SocketAddr,
    /// The state directory (torrents, their settings, resume files).
    pub state_dir: PathBuf,
    /// Where torrents are saved unless a client names another folder.
    pub download_dir: PathBuf,
    /// Other folders clients may save into or add .torrent files from
    /// (the download folder always is one).
    pub allowed_dirs: Vec<PathBuf>,
    /// The password every request must carry (HTTP basic auth, any user
    /// name; or `Authorization: Bearer PASSWORD`).
    pub password: Option<String>,
    /// The engine's session (peer port, limits, DHT).
    pub session: SessionConfig,
    /// How long a stop may take in all (announcing `stopped`, saving
    /// resume data) before the daemon exits anyway.
    pub shutdown_grace: Duration,
}

impl DaemonConfig {
    /// Defaults: HTTP on 127.0.0.1:9091, no password, the engine's defaults.
    pub fn new(state_dir: impl Into<PathBuf>, download_dir: impl Into<PathBuf>) -> Self {
        let download_dir = download_dir.into();
        Self {
            http: DEFAULT_HTTP,
            state_dir: state_dir.into(),
            session: SessionConfig::new(download_dir.clone()),
            download_dir,
            allowed_dirs: Vec::new(),
            password: None,
            shutdown_grace: Duration::from_secs(4),
        }
    }

    /// The download folder and the other allowed folders.
    pub(crate) fn allowed(&self) -> Vec<PathBuf> {
        let mut v = vec![self.download_dir.clone()];
        v.extend(self.allowed_dirs.iter().cloned());
        v
    }
}
