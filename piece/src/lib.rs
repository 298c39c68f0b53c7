//! monsoon-piece: filled in by its own issue.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
