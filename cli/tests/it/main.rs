//! Tests of the `monsoon` binary (one test binary).

mod announce;
mod create;
mod info;
mod resume;
mod seed;
mod util;
