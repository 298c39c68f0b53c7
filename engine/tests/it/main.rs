//! monsoon-engine integration tests (one binary).
mod listener;
mod metainfo;
mod sim;
mod support;
mod swarm;
