//! monsoon-engine integration tests (one binary).
mod listener;
mod metainfo;
mod support;
mod swarm;
