//! The `monsoon` command.
fn main() {}
