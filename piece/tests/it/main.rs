//! monsoon-piece integration tests (one binary).
mod bitfield;
mod geometry;
mod model;
mod picker;
