//! Unit tests of the core's decisions (filled below).
