//! monsoon-storage integration tests (one binary).
mod file;
mod layout;
mod props;
mod recheck;
mod util;
