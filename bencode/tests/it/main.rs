//! monsoon-bencode integration tests (one binary).
mod decode;
mod props;
