//! Answer keys in the client's spelling: snake_case for a client of the
//! rpc-version 18 protocol, else the older mix (camelCase in torrents and
//! session stats, kebab-case in the session, with a few exceptions).

use serde_json::{Map, Value};

/// `bytes_completed` → `bytesCompleted` (`is_utp` → `isUTP`).
pub(crate) fn camel(key: &str) -> String {
    if key == "is_utp" {
        return "isUTP".into();
    }
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A session key of the old protocol: kebab-case, but the seeding ratio
/// keys are camelCase.
pub(crate) fn legacy_session(key: &str) -> String {
    match key {
        "seed_ratio_limit" => "seedRatioLimit".into(),
        "seed_ratio_limited" => "seedRatioLimited".into(),
        "total_size" => "total_size".into(),
        _ => key.replace('_', "-"),
    }
}

/// Key style of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Snake,
    Camel,
    Kebab,
}

impl Style {
    pub(crate) fn key(self, snake: &str) -> String {
        match self {
            Style::Snake => snake.to_owned(),
            Style::Camel => camel(snake),
            Style::Kebab => legacy_session(snake),
        }
    }

    /// An object whose keys (given in snake_case) are respelled.
    pub(crate) fn object(self, pairs: Vec<(&str, Value)>) -> Value {
        let mut m = Map::with_capacity(pairs.len());
        for (k, v) in pairs {
            m.insert(self.key(k), v);
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(camel("hash_string"), "hashString");
        assert_eq!(camel("bytes_completed"), "bytesCompleted");
        assert_eq!(camel("is_utp"), "isUTP");
        assert_eq!(camel("id"), "id");
        assert_eq!(legacy_session("rpc_version_minimum"), "rpc-version-minimum");
        assert_eq!(legacy_session("seed_ratio_limit"), "seedRatioLimit");
        assert_eq!(Style::Kebab.key("speed_limit_down"), "speed-limit-down");
        assert_eq!(Style::Snake.key("speed_limit_down"), "speed_limit_down");
        // Folding a respelled key gives the snake_case key back.
        for k in [
            "hash_string",
            "is_utp",
            "seed_ratio_limited",
            "peer_limit_global",
        ] {
            assert_eq!(super::super::request::canonical_key(&camel(k)), k);
            assert_eq!(super::super::request::canonical_key(&legacy_session(k)), k);
        }
    }
}
