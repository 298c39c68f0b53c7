//! Metainfo parsing tests.
