//! monsoon-engine integration tests (one binary).
mod core;
mod encryption;
mod listener;
mod lsd;
mod resume;
mod session;
mod sim;
mod support;
mod swarm;
mod upload;
mod versions;
