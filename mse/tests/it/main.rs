//! monsoon-mse integration tests (one binary).
mod errors;
mod kat;
mod padding;
mod splits;
mod support;
