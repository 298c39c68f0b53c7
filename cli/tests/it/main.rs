//! Tests of the `monsoon` binary (one test binary).

mod announce;
mod create;
mod fd_limit;
mod info;
mod input;
mod resume;
mod seed;
mod util;
