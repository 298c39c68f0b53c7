//! Tests of the `monsoon` binary (one test binary).

mod announce;
mod create;
mod info;
mod seed;
mod util;
