//! Tests of the `monsoon` binary (one test binary).
