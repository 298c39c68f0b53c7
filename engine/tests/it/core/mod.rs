//! The torrent core's decisions, tested through its public sans-IO API
//! with a fake clock: no sockets, no tasks.
mod decisions;
mod harness;
mod lifecycle;
mod pex;
mod pipeline;
mod upload;
mod v2;
