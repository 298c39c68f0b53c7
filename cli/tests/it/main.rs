//! Tests of the `monsoon` binary (one test binary).

mod create;
mod info;
mod util;
