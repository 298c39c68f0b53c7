//! Who may talk to the daemon: the password (HTTP basic auth, a bearer
//! token, or the `SID` cookie a login hands out), the session id that
//! write requests must echo (CSRF: a page on another site cannot read it,
//! so cannot send it), and the `Host` check that stops DNS rebinding when
//! there is no password.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Mutex;

use axum::http::{HeaderMap, header};
use base64::Engine;

/// Header of the daemon's own API carrying the session id.
pub(crate) const MONSOON_SESSION_HEADER: &str = "x-monsoon-session-id";
/// Transmission's session-id header.
pub(crate) const TRANSMISSION_SESSION_HEADER: &str = "x-transmission-session-id";
/// The login cookie (qBittorrent's name, which its clients look for).
pub(crate) const COOKIE: &str = "SID";
/// Logins remembered at once; the oldest is forgotten past this.
const MAX_LOGINS: usize = 256;

/// The daemon's credentials and session id.
#[derive(Debug)]
pub(crate) struct Auth {
    password: Option<String>,
    session_id: String,
    /// Cookies handed out by logins, newest last.
    logins: Mutex<VecDeque<String>>,
    /// Wrong passwords by address, and bans.
    pub(crate) throttle: crate::throttle::Throttle,
}

impl Auth {
    pub(crate) fn new(password: Option<String>) -> Self {
        Self {
            password: password.filter(|p| !p.is_empty()),
            session_id: random_token(),
            logins: Mutex::new(VecDeque::new()),
            throttle: crate::throttle::Throttle::default(),
        }
    }

    /// A new login cookie value if `password` is right (any password when
    /// the daemon has none).
    pub(crate) fn login(&self, password: &str) -> Option<String> {
        if let Some(want) = &self.password {
            if !same(password.as_bytes(), want.as_bytes()) {
                return None;
            }
        }
        let token = random_token();
        let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        if logins.len() >= MAX_LOGINS {
            logins.pop_front();
        }
        logins.push_back(token.clone());
        Some(token)
    }

    /// Forgets the login of this request's cookie.
    pub(crate) fn logout(&self, headers: &HeaderMap) {
        if let Some(token) = cookie(headers, COOKIE) {
            let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
            logins.retain(|t| !same(t.as_bytes(), token.as_bytes()));
        }
    }

    /// Whether the request carries the cookie of a login.
    pub(crate) fn logged_in(&self, headers: &HeaderMap) -> bool {
        let Some(token) = cookie(headers, COOKIE) else {
            return false;
        };
        let logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins.iter().any(|t| same(t.as_bytes(), token.as_bytes()))
    }

    /// `Set-Cookie` for a login: the browser keeps it from scripts
    /// (HttpOnly) and never sends it with a request another site starts
    /// (SameSite=Strict).
    pub(crate) fn set_cookie(token: &str) -> String {
        format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
    }

    /// `Set-Cookie` that clears the login cookie.
    pub(crate) fn clear_cookie() -> String {
        format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    }

    /// The token write requests must send back.
    pub(crate) fn session_id(&self) -> &str {
        &self.session_id
    }

    pub(crate) fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// Whether the request carries the password (basic auth with any user
    /// name, or `Bearer PASSWORD`) or a login's cookie; always true
    /// without a password.
    pub(crate) fn authenticated(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.password else {
            return true;
        };
        if self.logged_in(headers) {
            return true;
        }
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        if let Some(token) = value.strip_prefix("Bearer ") {
            return same(token.trim().as_bytes(), want.as_bytes());
        }
        let Some(b64) = value.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|&b| b == b':') else {
            return false;
        };
        same(&decoded[colon + 1..], want.as_bytes())
    }

    /// Whether the request proves it is not a cross-site one: it echoes the
    /// session id in `header`, or carries the password as a bearer token
    /// (browsers never add one by themselves, unlike basic auth).
    pub(crate) fn csrf_ok(&self, headers: &HeaderMap, header: &str) -> bool {
        let echoed = headers
            .get(header)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| same(v.trim().as_bytes(), self.session_id.as_bytes()));
        let bearer = self.password.as_ref().is_some_and(|p| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| same(t.trim().as_bytes(), p.as_bytes()))
        });
        echoed || bearer
    }

    /// Without a password, the `Host` header must be an IP address or
    /// `localhost`: a name of an attacker's site that resolves to us (DNS
    /// rebinding) is refused. With one, every host is fine.
    pub(crate) fn host_ok(&self, headers: &HeaderMap) -> bool {
        if self.password.is_some() {
            return true;
        }
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            // HTTP/1.0 without Host: not a browser.
            return true;
        };
        host_is_local_name(host)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// `localhost`, `localhost.`, or an IP literal, with or without a port.
fn host_is_local_name(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest
            .split(']')
            .next()
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    } else {
        host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        })
    };
    let lower = name.to_ascii_lowercase();
    lower == "localhost" || lower == "localhost." || name.parse::<std::net::IpAddr>().is_ok()
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 128 random bits from the OS, as hex.
fn random_token() -> String {
    let mut buf = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for chunk in buf.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn basic_and_bearer_auth() {
        let a = Auth::new(Some("s3cret".into()));
        // user:s3cret, any user name.
        let good = base64::engine::general_purpose::STANDARD.encode("admin:s3cret");
        let bad = base64::engine::general_purpose::STANDARD.encode("admin:s3cre");
        assert!(a.authenticated(&headers(&[("authorization", &format!("Basic {good}"))])));
        assert!(!a.authenticated(&headers(&[("authorization", &format!("Basic {bad}"))])));
        assert!(a.authenticated(&headers(&[("authorization", "Bearer s3cret")])));
        assert!(!a.authenticated(&headers(&[("authorization", "Bearer nope")])));
        assert!(!a.authenticated(&HeaderMap::new()));
        assert!(!a.authenticated(&headers(&[("authorization", "Basic !!!")])));
        assert!(Auth::new(None).authenticated(&HeaderMap::new()));
    }

    #[test]
    fn csrf_needs_the_session_id_or_a_bearer_token() {
        let a = Auth::new(Some("pw".into()));
        let sid = a.session_id().to_owned();
        assert_eq!(sid.len(), 32);
        assert_ne!(sid, Auth::new(None).session_id());
        assert!(a.csrf_ok(
            &headers(&[(MONSOON_SESSION_HEADER, &sid)]),
            MONSOON_SESSION_HEADER
        ));
        assert!(!a.csrf_ok(
            &headers(&[(MONSOON_SESSION_HEADER, "x")]),
            MONSOON_SESSION_HEADER
        ));
        assert!(a.csrf_ok(
            &headers(&[("authorization", "Bearer pw")]),
            MONSOON_SESSION_HEADER
        ));
        let basic = base64::engine::general_purpose::STANDARD.encode("u:pw");
        assert!(!a.csrf_ok(
            &headers(&[("authorization", &format!("Basic {basic}"))]),
            MONSOON_SESSION_HEADER
        ));
    }

    #[test]
    fn logins_hand_out_cookies_that_authenticate_until_logout() {
        let a = Auth::new(Some("pw".into()));
        assert_eq!(a.login("nope"), None);
        let t = a.login("pw").unwrap();
        let with = headers(&[("cookie", &format!("theme=dark; SID={t}"))]);
        assert!(a.authenticated(&with));
        assert!(!a.authenticated(&headers(&[("cookie", "SID=forged")])));
        assert!(Auth::set_cookie(&t).contains("HttpOnly; SameSite=Strict"));
        a.logout(&with);
        assert!(!a.authenticated(&with));
        // Without a password any login works (qBittorrent clients log in).
        assert!(Auth::new(None).login("whatever").is_some());
    }

    #[test]
    fn hosts_without_a_password() {
        let a = Auth::new(None);
        for ok in [
            "127.0.0.1:9091",
            "localhost:9091",
            "localhost",
            "[::1]:9091",
            "10.0.0.2",
        ] {
            assert!(a.host_ok(&headers(&[("host", ok)])), "{ok}");
        }
        for bad in [
            "evil.example:9091",
            "evil.example",
            "localhost.evil.example",
        ] {
            assert!(!a.host_ok(&headers(&[("host", bad)])), "{bad}");
        }
        assert!(Auth::new(Some("p".into())).host_ok(&headers(&[("host", "nas.lan:9091")])));
    }
}
