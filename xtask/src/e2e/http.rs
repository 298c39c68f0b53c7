//! A minimal HTTP/1.0 client over std sockets, for the clients driven through
//! a web API on 127.0.0.1 (qBittorrent's WebUI). One request per connection;
//! a few fields of a JSON reply are picked out as text.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

/// What a request sends.
pub(crate) enum Body<'a> {
    /// A GET.
    None,
    /// A POST of `application/x-www-form-urlencoded` text (already encoded).
    Form(&'a str),
    /// A POST of `multipart/form-data`: text fields and one file.
    Multipart {
        fields: &'a [(&'a str, &'a str)],
        file_field: &'a str,
        file_name: &'a str,
        file: &'a [u8],
    },
}

/// Sends one request to `127.0.0.1:port` and returns the status code and body.
pub(crate) fn request(port: u16, path: &str, body: &Body<'_>) -> Result<(u16, String)> {
    const BOUNDARY: &str = "xtask-e2e-7d1c5b0f";
    let (method, content_type, payload) = match body {
        Body::None => ("GET", None, Vec::new()),
        Body::Form(text) => (
            "POST",
            Some("application/x-www-form-urlencoded".to_owned()),
            text.as_bytes().to_vec(),
        ),
        Body::Multipart {
            fields,
            file_field,
            file_name,
            file,
        } => {
            let mut p = Vec::new();
            for (name, value) in *fields {
                write!(
                    p,
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )?;
            }
            write!(
                p,
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file_field}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/x-bittorrent\r\n\r\n"
            )?;
            p.extend_from_slice(file);
            write!(p, "\r\n--{BOUNDARY}--\r\n")?;
            (
                "POST",
                Some(format!("multipart/form-data; boundary={BOUNDARY}")),
                p,
            )
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("connect to {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        payload.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(&payload)?;
    s.flush()?;
    // Read by Content-Length: qBittorrent keeps the connection open after
    // its reply whatever the request says, so reading to EOF would wait for
    // its idle timeout.
    let mut reply = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_len, body_len) = loop {
        if let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&reply[..end]).to_ascii_lowercase();
            if head.contains("transfer-encoding: chunked") {
                bail!("{method} {path}: a chunked reply to an HTTP/1.0 request");
            }
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>())
                .transpose()
                .with_context(|| format!("{method} {path}: bad Content-Length"))?;
            break (end + 4, len);
        }
        let n = s
            .read(&mut buf)
            .with_context(|| format!("{method} {path}: reading the reply"))?;
        ensure!(
            n > 0,
            "{method} {path}: connection closed before the headers end"
        );
        reply.extend_from_slice(&buf[..n]);
    };
    match body_len {
        Some(len) => {
            while reply.len() < head_len + len {
                let n = s
                    .read(&mut buf)
                    .with_context(|| format!("{method} {path}: reading the body"))?;
                ensure!(
                    n > 0,
                    "{method} {path}: body shorter than its Content-Length"
                );
                reply.extend_from_slice(&buf[..n]);
            }
            reply.truncate(head_len + len);
        }
        None => {
            s.read_to_end(&mut reply)
                .with_context(|| format!("{method} {path}: reading the body"))?;
        }
    }
    let head = String::from_utf8_lossy(&reply[..head_len]);
    let body = String::from_utf8_lossy(&reply[head_len..]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("{method} {path}: bad status line in {head:?}"))?;
    Ok((status, body))
}

/// The raw text of `"key":VALUE` in a flat JSON object (a number, `true`,
/// or a string without its quotes), the first occurrence.
pub(crate) fn json_field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\":");
    let at = json.find(&needle)? + needle.len();
    let rest = json[at..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        return s.find('"').map(|end| &s[..end]);
    }
    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    #[test]
    fn a_reply_is_read_by_its_length_on_a_connection_left_open() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(7).any(|w| w == b"a=1&b=2") {
                let n = s.read(&mut buf).unwrap();
                request.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOk.")
                .unwrap();
            // Keeps the connection open until the client has its answer.
            let _ = s.read(&mut buf);
            String::from_utf8(request).unwrap()
        });
        let (code, body) = request(port, "/api/v2/x", &Body::Form("a=1&b=2")).unwrap();
        assert_eq!((code, body.as_str()), (200, "Ok."));
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /api/v2/x HTTP/1.0\r\n"),
            "{request}"
        );
        assert!(request.contains("Content-Length: 7\r\n"), "{request}");
    }

    #[test]
    fn json_fields_of_a_torrent_list() {
        let json = r#"[{"hash":"d758","num_seeds":1,"progress":0.25,"state":"downloading"}]"#;
        assert_eq!(json_field(json, "hash"), Some("d758"));
        assert_eq!(json_field(json, "num_seeds"), Some("1"));
        assert_eq!(json_field(json, "progress"), Some("0.25"));
        assert_eq!(json_field(json, "state"), Some("downloading"));
        assert_eq!(json_field(json, "eta"), None);
    }
}
