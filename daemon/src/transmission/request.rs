//! Parsing a Transmission RPC request: `{"method", "arguments", "tag"}`
//! with the method and argument keys in any of the protocol's spellings
//! (kebab-case and camelCase up to rpc-version 17, snake_case from 18),
//! folded to one canonical snake_case form. Pure: no I/O, no daemon state.

use serde_json::{Map, Value};

/// Largest number of ids or file indices a request may list.
pub const MAX_LIST: usize = 1 << 20;

/// Why a request cannot be used (answered with this text as `result`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RpcRequestError {
    /// The body is not JSON.
    #[error("request is not JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object.
    #[error("request is not a JSON object")]
    NotAnObject,
    /// No `method` string.
    #[error("no method name")]
    NoMethod,
    /// `arguments` is not an object.
    #[error("arguments must be an object")]
    BadArguments,
    /// An argument has the wrong type or value.
    #[error("argument `{key}`: {reason}")]
    BadArgument {
        /// Its canonical name.
        key: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcRequest {
    /// The method in kebab-case (`torrent-get`), whatever the spelling.
    pub method: String,
    /// The client used the snake_case protocol (`torrent_get`): answer in
    /// snake_case.
    pub snake: bool,
    /// The `tag`, echoed in the answer.
    pub tag: Option<Value>,
    /// The arguments, keys folded to snake_case (the last spelling wins
    /// when a client sends one key twice).
    pub arguments: Map<String, Value>,
}

/// A torrent named in `ids`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRef {
    /// A torrent id.
    Id(u32),
    /// An info-hash (lowercase hex).
    Hash(String),
}

/// Which torrents a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ids {
    /// No `ids`: every torrent.
    All,
    /// `"recently-active"`.
    RecentlyActive,
    /// These.
    Some(Vec<IdRef>),
}

/// `hashString`, `hash-string` and `hash_string` → `hash_string`; a run of
/// capitals is one word (`isUTP` → `is_utp`).
pub fn canonical_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.chars() {
        if c == '-' {
            out.push('_');
            prev_lower = false;
        } else if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

impl RpcRequest {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<Self, RpcRequestError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| RpcRequestError::NotJson(e.to_string()))?;
        let Value::Object(mut top) = v else {
            return Err(RpcRequestError::NotAnObject);
        };
        let method = match top.remove("method") {
            Some(Value::String(m)) if !m.is_empty() && m.len() <= 64 => m,
            _ => return Err(RpcRequestError::NoMethod),
        };
        let snake = method.contains('_');
        let method = method.replace('_', "-");
        let tag = top.remove("tag");
        let arguments = match top.remove("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(args)) => args
                .into_iter()
                .map(|(k, v)| (canonical_key(&k), v))
                .collect(),
            Some(_) => return Err(RpcRequestError::BadArguments),
        };
        Ok(Self {
            method,
            snake,
            tag,
            arguments,
        })
    }

    fn bad(key: &str, reason: &'static str) -> RpcRequestError {
        RpcRequestError::BadArgument {
            key: key.to_owned(),
            reason,
        }
    }

    /// The argument `key` (canonical), if present and not null.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.arguments.get(key).filter(|v| !v.is_null())
    }

    /// A boolean (`0`/`1` accepted, as old clients send them).
    pub fn bool(&self, key: &str) -> Result<Option<bool>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
            Some(_) => Err(Self::bad(key, "expected a boolean")),
        }
    }

    /// A non-negative integer.
    pub fn u64(&self, key: &str) -> Result<Option<u64>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.8e19)
                        .map(|f| f as u64)
                })
                .map(Some)
                .ok_or_else(|| Self::bad(key, "expected a non-negative number")),
        }
    }

    /// An integer (may be negative).
    pub fn i64(&self, key: &str) -> Result<Option<i64>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| Self::bad(key, "expected an integer")),
        }
    }

    /// A finite number.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| Self::bad(key, "expected a number")),
        }
    }

    /// A string.
    pub fn str(&self, key: &str) -> Result<Option<&str>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Self::bad(key, "expected a string")),
        }
    }

    /// A list of strings.
    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) if a.len() <= MAX_LIST => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| Self::bad(key, "expected a list of strings")),
            Some(_) => Err(Self::bad(key, "expected a list of strings")),
        }
    }

    /// A list of file indices (an empty list means every file).
    pub fn indices(&self, key: &str) -> Result<Option<Vec<usize>>, RpcRequestError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) if a.len() <= MAX_LIST => a
                .iter()
                .map(|v| v.as_u64().and_then(|n| usize::try_from(n).ok()))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| Self::bad(key, "expected a list of file indices")),
            Some(_) => Err(Self::bad(key, "expected a list of file indices")),
        }
    }

    /// `ids`: a number, a hash, `"recently-active"`, or a list of numbers
    /// and hashes; absent: every torrent.
    pub fn ids(&self) -> Result<Ids, RpcRequestError> {
        let one = |v: &Value| -> Result<IdRef, RpcRequestError> {
            match v {
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .map(IdRef::Id)
                    .ok_or_else(|| Self::bad("ids", "an id is not a torrent number")),
                Value::String(s) if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    Ok(IdRef::Hash(s.to_ascii_lowercase()))
                }
                Value::String(s) => s
                    .parse::<u32>()
                    .map(IdRef::Id)
                    .map_err(|_| Self::bad("ids", "a string id must be a 40-digit info-hash")),
                _ => Err(Self::bad("ids", "an id must be a number or an info-hash")),
            }
        };
        match self.get("ids") {
            None => Ok(Ids::All),
            Some(Value::String(s)) if s == "recently-active" || s == "recently_active" => {
                Ok(Ids::RecentlyActive)
            }
            Some(Value::Array(a)) if a.len() > MAX_LIST => Err(Self::bad("ids", "too many ids")),
            Some(Value::Array(a)) => a.iter().map(one).collect::<Result<_, _>>().map(Ids::Some),
            Some(v) => one(v).map(|r| Ids::Some(vec![r])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_fold_to_snake_case() {
        for (given, want) in [
            ("hashString", "hash_string"),
            ("hash-string", "hash_string"),
            ("hash_string", "hash_string"),
            ("delete-local-data", "delete_local_data"),
            ("isUTP", "is_utp"),
            ("seedRatioLimited", "seed_ratio_limited"),
            ("rpc-version-minimum", "rpc_version_minimum"),
            ("id", "id"),
        ] {
            assert_eq!(canonical_key(given), want, "{given}");
        }
    }

    #[test]
    fn a_request_in_each_spelling_parses_the_same() {
        let legacy = br#"{"method":"torrent-remove","arguments":{"ids":[1,"abcdef0123456789abcdef0123456789abcdef01"],"delete-local-data":true},"tag":7}"#;
        let snake = br#"{"method":"torrent_remove","arguments":{"ids":[1,"abcdef0123456789abcdef0123456789abcdef01"],"delete_local_data":true},"tag":7}"#;
        let a = RpcRequest::parse(legacy).unwrap();
        let b = RpcRequest::parse(snake).unwrap();
        assert_eq!(a.method, "torrent-remove");
        assert!(!a.snake && b.snake);
        assert_eq!(a.arguments, b.arguments);
        assert_eq!(a.tag, Some(Value::from(7)));
        assert_eq!(a.bool("delete_local_data"), Ok(Some(true)));
        let hash = "abcdef0123456789abcdef0123456789abcdef01".to_owned();
        assert_eq!(
            a.ids(),
            Ok(Ids::Some(vec![IdRef::Id(1), IdRef::Hash(hash)]))
        );
    }

    #[test]
    fn ids_forms() {
        let ids = |j: &str| {
            RpcRequest::parse(format!(r#"{{"method":"x","arguments":{{"ids":{j}}}}}"#).as_bytes())
                .unwrap()
                .ids()
        };
        assert_eq!(ids("3"), Ok(Ids::Some(vec![IdRef::Id(3)])));
        assert_eq!(ids(r#""recently-active""#), Ok(Ids::RecentlyActive));
        assert_eq!(ids(r#""recently_active""#), Ok(Ids::RecentlyActive));
        assert_eq!(ids("[]"), Ok(Ids::Some(vec![])));
        let upper = format!(r#"["{}"]"#, "AB".repeat(20));
        assert_eq!(
            ids(&upper),
            Ok(Ids::Some(vec![IdRef::Hash("ab".repeat(20))]))
        );
        assert!(ids("-1").is_err());
        assert!(ids("4294967296").is_err());
        assert!(ids(r#""nope""#).is_err());
        assert!(ids("{}").is_err());
        assert!(ids("[true]").is_err());
        let none = RpcRequest::parse(br#"{"method":"torrent-get"}"#).unwrap();
        assert_eq!(none.ids(), Ok(Ids::All));
    }

    #[test]
    fn bad_requests() {
        assert!(matches!(
            RpcRequest::parse(b"{"),
            Err(RpcRequestError::NotJson(_))
        ));
        assert_eq!(RpcRequest::parse(b"[]"), Err(RpcRequestError::NotAnObject));
        assert_eq!(RpcRequest::parse(b"{}"), Err(RpcRequestError::NoMethod));
        assert_eq!(
            RpcRequest::parse(br#"{"method":5}"#),
            Err(RpcRequestError::NoMethod)
        );
        assert_eq!(
            RpcRequest::parse(br#"{"method":"a","arguments":[1]}"#),
            Err(RpcRequestError::BadArguments)
        );
        let r =
            RpcRequest::parse(br#"{"method":"a","arguments":{"paused":"yes","n":-2}}"#).unwrap();
        assert!(r.bool("paused").is_err());
        assert!(r.u64("n").is_err());
        assert_eq!(r.i64("n"), Ok(Some(-2)));
        // Deep nesting is refused by the JSON parser, not a stack overflow.
        let deep = format!(
            r#"{{"method":"a","arguments":{{"x":{}{}}}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(
            RpcRequest::parse(deep.as_bytes()),
            Err(RpcRequestError::NotJson(_))
        ));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-zA-Z0-9_-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map("[a-zA-Z_-]{1,10}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any bytes: an answer (Ok or a typed error), never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = RpcRequest::parse(&bytes);
        }

        /// Any JSON request: the accessors never panic, folding keys is
        /// idempotent, and every accessor agrees with the raw value's type.
        #[test]
        fn arbitrary_requests(
            method in "[a-z]{1,8}([-_][a-z]{1,8}){0,2}",
            args in prop::collection::btree_map("[a-zA-Z][a-zA-Z_-]{0,14}", json_value(), 0..8),
            tag in json_value(),
        ) {
            let mut top = Map::new();
            top.insert("method".into(), Value::from(method.clone()));
            top.insert("arguments".into(), Value::Object(args.clone().into_iter().collect()));
            top.insert("tag".into(), tag);
            let body = serde_json::to_vec(&Value::Object(top)).unwrap();
            let r = RpcRequest::parse(&body).unwrap();
            prop_assert_eq!(r.snake, method.contains('_'));
            prop_assert!(!r.method.contains('_'));
            for k in r.arguments.keys() {
                prop_assert_eq!(&canonical_key(k), k);
            }
            for k in args.keys() {
                let key = canonical_key(k);
                let _ = (r.ids(), r.strings(&key), r.indices(&key), r.str(&key), r.f64(&key));
                if let Ok(Some(b)) = r.bool(&key) {
                    let raw = r.get(&key).unwrap();
                    prop_assert!(raw.as_bool() == Some(b) || raw.as_u64() == Some(u64::from(b)));
                }
            }
        }
    }
}
