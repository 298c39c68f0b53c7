//! monsoon-engine integration tests (one binary).
mod metainfo;
mod support;
mod swarm;
