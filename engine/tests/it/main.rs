//! monsoon-engine integration tests (one binary).
mod metainfo;
