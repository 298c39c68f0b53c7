//! Tests of the `monsoon` binary (one test binary).

mod announce;
mod create;
mod daemon;
mod dht;
mod fd_limit;
mod info;
mod input;
mod resume;
mod seed;
mod util;
