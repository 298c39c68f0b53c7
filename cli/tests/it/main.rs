//! Tests of the `monsoon` binary (one test binary).

mod announce;
mod create;
mod info;
mod input;
mod seed;
mod util;
