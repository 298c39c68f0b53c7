//! monsoon-storage integration tests (one binary).
mod file;
mod hashing;
mod layout;
mod memory;
mod props;
mod recheck;
mod symlinks;
mod table;
mod util;
