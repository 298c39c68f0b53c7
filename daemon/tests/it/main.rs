//! Tests of the daemon over real sockets (one test binary).

mod api;
mod magnet;
mod qbittorrent;
mod security;
mod transmission;
mod util;
