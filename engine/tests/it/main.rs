//! monsoon-engine integration tests (one binary).
mod listener;
mod support;
mod swarm;
mod versions;
