//! qBittorrent's parameters: from the query string and from a form body
//! (`application/x-www-form-urlencoded`, or `multipart/form-data` with
//! .torrent files), each checked when read; a bad one is a 400.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode, header};

use super::QbError;
use crate::torrents::TorrentRef;

/// Most parameters and files one request may carry.
const MAX_PARAMS: usize = 256;
const MAX_FILES: usize = 64;

/// A request's parameters (a later one of the same name wins) and files.
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: BTreeMap<String, String>,
    /// `(file name, bytes)` of the multipart parts that are files.
    pub(crate) files: Vec<(String, Vec<u8>)>,
    pub(crate) headers: HeaderMap,
}

/// Which torrents a request names: `hashes=h1|h2` or `all`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hashes {
    All,
    Some(Vec<TorrentRef>),
}

impl Params {
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// A parameter that must be there.
    pub(crate) fn required(&self, key: &str) -> Result<&str, QbError> {
        self.get(key)
            .ok_or_else(|| QbError::bad(format!("missing parameter `{key}`")))
    }

    /// `true`/`false` (any case), absent: `None`.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, QbError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => Ok(None),
            Some("true") | Some("1") => Ok(Some(true)),
            Some("false") | Some("0") => Ok(Some(false)),
            Some(other) => Err(QbError::bad(format!(
                "`{key}` must be true or false, not {other:?}"
            ))),
        }
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, QbError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| QbError::bad(format!("`{key}` must be an integer, not {v:?}"))),
        }
    }

    pub(crate) fn float(&self, key: &str) -> Result<Option<f64>, QbError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => match v.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(QbError::bad(format!("`{key}` must be a number, not {v:?}"))),
            },
        }
    }

    /// `hashes` (or `hash`): `all`, or info-hashes separated by `|`.
    pub(crate) fn hashes(&self) -> Result<Hashes, QbError> {
        let raw = self
            .get("hashes")
            .or_else(|| self.get("hash"))
            .ok_or_else(|| QbError::bad("missing parameter `hashes`"))?;
        if raw.eq_ignore_ascii_case("all") {
            return Ok(Hashes::All);
        }
        let mut out = Vec::new();
        for h in raw.split('|').map(str::trim).filter(|h| !h.is_empty()) {
            out.push(hash(h)?);
        }
        Ok(Hashes::Some(out))
    }

    /// `hash`: one info-hash.
    pub(crate) fn hash(&self) -> Result<TorrentRef, QbError> {
        hash(self.required("hash")?)
    }
}

/// A 40-digit hex info-hash (any case). Anything else cannot name a
/// torrent: qBittorrent answers 404 for it, as for an unknown hash.
fn hash(h: &str) -> Result<TorrentRef, QbError> {
    if h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(TorrentRef::Hash(h.to_ascii_lowercase()))
    } else {
        Err(QbError(
            StatusCode::NOT_FOUND,
            "Torrent hash was not found".into(),
        ))
    }
}

/// Decodes `a=1&b=x%20y` (`+` is a space).
pub(crate) fn parse_urlencoded(
    s: &str,
    into: &mut BTreeMap<String, String>,
) -> Result<(), QbError> {
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        if into.len() >= MAX_PARAMS {
            return Err(QbError::bad("too many parameters"));
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        into.insert(decode(k)?, decode(v)?);
    }
    Ok(())
}

fn decode(s: &str) -> Result<String, QbError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| QbError::bad("bad percent-encoding"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| QbError::bad("a parameter is not UTF-8"))
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = QbError;

    async fn from_request(req: Request, state: &S) -> Result<Self, QbError> {
        let mut p = Params {
            headers: req.headers().clone(),
            ..Params::default()
        };
        if let Some(q) = req.uri().query() {
            parse_urlencoded(q, &mut p.values)?;
        }
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let too_large = |status: StatusCode| {
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                QbError(status, "Request body too large".into())
            } else {
                QbError::bad("bad request body")
            }
        };
        if ctype.starts_with("multipart/form-data") {
            let mut form = Multipart::from_request(req, state)
                .await
                .map_err(|e| QbError::bad(e.body_text()))?;
            while let Some(field) = form.next_field().await.map_err(|e| too_large(e.status()))? {
                let name = field.name().unwrap_or("").to_owned();
                if let Some(file) = field.file_name().map(str::to_owned) {
                    if p.files.len() >= MAX_FILES {
                        return Err(QbError::bad("too many files"));
                    }
                    let bytes = field.bytes().await.map_err(|e| too_large(e.status()))?;
                    p.files.push((file, bytes.to_vec()));
                } else {
                    if p.values.len() >= MAX_PARAMS {
                        return Err(QbError::bad("too many parameters"));
                    }
                    let text = field.text().await.map_err(|e| too_large(e.status()))?;
                    p.values.insert(name, text);
                }
            }
        } else {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| too_large(e.status()))?;
            if !body.is_empty() {
                let s = std::str::from_utf8(&body)
                    .map_err(|_| QbError::bad("the form body is not UTF-8"))?;
                parse_urlencoded(s, &mut p.values)?;
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_and_bad_ones_are_errors() {
        let mut m = BTreeMap::new();
        parse_urlencoded("hashes=a%7Cb&name=x+y&empty&u=%C3%A9", &mut m).unwrap();
        assert_eq!(m["hashes"], "a|b");
        assert_eq!(m["name"], "x y");
        assert_eq!(m["empty"], "");
        assert_eq!(m["u"], "é");
        for bad in ["a=%zz", "a=%4", "a=%ff"] {
            assert!(
                parse_urlencoded(bad, &mut BTreeMap::new()).is_err(),
                "{bad}"
            );
        }
        let many: String = (0..300).map(|i| format!("k{i}=v&")).collect();
        assert!(parse_urlencoded(&many, &mut BTreeMap::new()).is_err());
    }

    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    proptest::proptest! {
        /// Any text is a form or a 400, never a panic; what a client
        /// encodes comes back as it was.
        #[test]
        fn any_form_parses_or_is_refused(raw in ".{0,200}", k in ".{1,20}", v in ".{0,40}") {
            let _ = parse_urlencoded(&raw, &mut BTreeMap::new());
            let mut m = BTreeMap::new();
            parse_urlencoded(&format!("{}={}", encode(&k), encode(&v)), &mut m).unwrap();
            proptest::prop_assert_eq!(m.get(&k), Some(&v));
        }
    }

    #[test]
    fn hashes_are_all_or_a_list_and_junk_is_not_found() {
        let mut p = Params::default();
        p.values.insert("hashes".into(), "all".into());
        assert_eq!(p.hashes().unwrap(), Hashes::All);
        let h = "AB".repeat(20);
        p.values
            .insert("hashes".into(), format!("{h}|{}", "cd".repeat(20)));
        assert_eq!(
            p.hashes().unwrap(),
            Hashes::Some(vec![
                TorrentRef::Hash("ab".repeat(20)),
                TorrentRef::Hash("cd".repeat(20))
            ])
        );
        p.values.insert("hashes".into(), "nothex".into());
        assert_eq!(p.hashes().unwrap_err().0, StatusCode::NOT_FOUND);
        p.values.insert("flag".into(), "maybe".into());
        assert_eq!(p.bool("flag").unwrap_err().0, StatusCode::BAD_REQUEST);
        p.values.insert("n".into(), "NaN".into());
        assert!(p.float("n").is_err());
    }
}
