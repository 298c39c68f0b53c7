//! Against an in-test HTTP server, for the answers opentracker cannot
//! produce: failure reason, warning, redirects (followed, and a bounded
//! loop), gzip, dictionary peer lists, IPv6 peers, the body size limit,
//! status codes, the query sent, scrape, and the timeout.

use std::io::Write as _;
use std::time::Duration;

use monsoon_tracker::{ClientConfig, HttpTracker, TrackerError};

use crate::support::{CannedServer, dead_port, fast_config, ok, request, response};

fn tracker(url: &str) -> HttpTracker {
    HttpTracker::new(url, &fast_config()).unwrap()
}

#[tokio::test]
async fn failure_reason_and_warning() {
    let srv = CannedServer::start(|t| {
        if t.starts_with("/fail") {
            ok(b"d14:failure reason22:torrent not on trackere", "")
        } else if t.starts_with("/bad-status") {
            response(403, "Forbidden", b"d14:failure reason6:bannede", "")
        } else if t.starts_with("/500") {
            response(500, "Oops", b"<html>", "")
        } else {
            ok(
                b"d8:intervali60e5:peers0:15:warning message12:update soon!e",
                "",
            )
        }
    })
    .await;
    let req = request([1; 20], 1, 6881);
    let e = tracker(&srv.url("/fail")).announce(&req).await.unwrap_err();
    assert!(
        matches!(e, TrackerError::Failure(ref s) if s == "torrent not on tracker"),
        "{e}"
    );
    let e = tracker(&srv.url("/bad-status"))
        .announce(&req)
        .await
        .unwrap_err();
    assert!(
        matches!(e, TrackerError::Failure(ref s) if s == "banned"),
        "{e}"
    );
    let e = tracker(&srv.url("/500")).announce(&req).await.unwrap_err();
    assert!(matches!(e, TrackerError::HttpStatus(500)), "{e}");
    let r = tracker(&srv.url("/announce")).announce(&req).await.unwrap();
    assert_eq!(r.warning.as_deref(), Some("update soon!"));
    assert_eq!(r.interval, Duration::from_secs(60));
}

#[tokio::test]
async fn query_is_byte_encoded_and_keeps_the_passkey() {
    let srv = CannedServer::start(|_| ok(b"d8:intervali1ee", "")).await;
    let mut req = request(*b"\x00\xff ab%/?&=+-._~01234", 7, 6881);
    req.numwant = Some(5);
    tracker(&srv.url("/announce?passkey=s3cr%20t"))
        .announce(&req)
        .await
        .unwrap();
    let t = &srv.targets()[0];
    assert!(
        t.starts_with(
            "/announce?passkey=s3cr%20t&info_hash=%00%FF%20ab%25%2F%3F%26%3D%2B-._~01234&peer_id=-MO0001-00000000000%07&port=6881"
        ),
        "{t}"
    );
    assert!(t.contains("&numwant=5&key=00000007"), "{t}");
}

#[tokio::test]
async fn redirects_are_followed_a_bounded_number_of_times() {
    let srv = CannedServer::start(|t| {
        if t.starts_with("/old") {
            let to = format!("Location: /new?{}\r\n", t.split_once('?').unwrap().1);
            response(302, "Found", b"", &to)
        } else if t.starts_with("/loop") {
            response(302, "Found", b"", "Location: /loop\r\n")
        } else {
            ok(b"d8:intervali77e5:peers6:\x01\x02\x03\x04\x00\x50e", "")
        }
    })
    .await;
    let req = request([2; 20], 1, 6881);
    let r = tracker(&srv.url("/old")).announce(&req).await.unwrap();
    assert_eq!(r.interval, Duration::from_secs(77));
    assert_eq!(r.peers, ["1.2.3.4:80".parse().unwrap()]);
    assert!(
        srv.targets()[1].starts_with("/new?info_hash="),
        "{:?}",
        srv.targets()
    );

    let e = tracker(&srv.url("/loop")).announce(&req).await.unwrap_err();
    assert!(matches!(e, TrackerError::Transport(_)), "{e}");
    let loops = srv
        .targets()
        .iter()
        .filter(|t| t.starts_with("/loop"))
        .count();
    assert_eq!(loops, ClientConfig::default().max_redirects + 1);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn gzip_bodies_are_decoded() {
    let body = gzip(b"d8:intervali600e5:peers6:\x0a\x00\x00\x05\x1a\xe1e");
    let srv = CannedServer::start(move |_| ok(&body, "Content-Encoding: gzip\r\n")).await;
    let r = tracker(&srv.url("/announce"))
        .announce(&request([3; 20], 1, 1))
        .await
        .unwrap();
    assert_eq!(r.peers, ["10.0.0.5:6881".parse().unwrap()]);
}

#[tokio::test]
async fn dictionary_and_ipv6_peers() {
    let srv = CannedServer::start(|_| {
        let mut b = b"d8:intervali1e5:peersld2:ip9:127.0.0.24:porti7000eed2:ip11:2001:db8::24:porti7001eee6:peers618:".to_vec();
        b.extend(std::net::Ipv6Addr::LOCALHOST.octets());
        b.extend(7002u16.to_be_bytes());
        b.push(b'e');
        ok(&b, "")
    })
    .await;
    let r = tracker(&srv.url("/announce"))
        .announce(&request([4; 20], 1, 1))
        .await
        .unwrap();
    let want: Vec<std::net::SocketAddr> = ["127.0.0.2:7000", "[2001:db8::2]:7001", "[::1]:7002"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(r.peers, want);
}

#[tokio::test]
async fn body_larger_than_the_limit_is_an_error() {
    let big = {
        let mut b = b"d8:intervali1e5:peers6000:".to_vec();
        b.extend([1u8; 6000]);
        b.push(b'e');
        b
    };
    let chunked = big.clone();
    let gz = gzip(&big);
    let srv = CannedServer::start(move |t| {
        if t.starts_with("/nolen") {
            // No Content-Length: the limit is enforced while reading.
            let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            r.extend_from_slice(&chunked);
            r
        } else if t.starts_with("/gz") {
            ok(&gz, "Content-Encoding: gzip\r\n")
        } else {
            ok(&big, "")
        }
    })
    .await;
    let config = ClientConfig {
        max_body: 1000,
        ..fast_config()
    };
    let req = request([5; 20], 1, 1);
    for path in ["/len", "/nolen", "/gz"] {
        let t = HttpTracker::new(&srv.url(path), &config).unwrap();
        let e = t.announce(&req).await.unwrap_err();
        assert!(
            matches!(e, TrackerError::BodyTooLarge { limit: 1000 }),
            "{path}: {e}"
        );
    }
    // The same body passes with the default limit.
    let r = tracker(&srv.url("/len")).announce(&req).await.unwrap();
    assert_eq!(r.peers.len(), 1000);
}

#[tokio::test]
async fn scrape_through_the_convention() {
    let mut body = b"d5:filesd20:".to_vec();
    body.extend([6u8; 20]);
    body.extend(b"d8:completei2e10:downloadedi5e10:incompletei3eeee");
    let srv = CannedServer::start(move |_| ok(&body, "")).await;
    let s = tracker(&srv.url("/x/announce.php?k=1"))
        .scrape(&[[6; 20]])
        .await
        .unwrap();
    assert_eq!(
        s.get(&[6; 20]).map(|s| (s.complete, s.downloaded)),
        Some((2, 5))
    );
    assert!(
        srv.targets()[0].starts_with("/x/scrape.php?k=1&info_hash=%06%06"),
        "{:?}",
        srv.targets()
    );
    let e = tracker(&srv.url("/tracker"))
        .scrape(&[[6; 20]])
        .await
        .unwrap_err();
    assert!(matches!(e, TrackerError::ScrapeNotSupported), "{e}");
}

#[tokio::test]
async fn connection_refused_and_timeout() {
    let req = request([7; 20], 1, 1);
    let url = format!("http://127.0.0.1:{}/announce", dead_port());
    let e = tracker(&url).announce(&req).await.unwrap_err();
    assert!(matches!(e, TrackerError::Transport(_)), "{e}");

    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/announce", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let config = ClientConfig {
        timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let e = HttpTracker::new(&url, &config)
        .unwrap()
        .announce(&req)
        .await
        .unwrap_err();
    assert!(matches!(e, TrackerError::Timeout), "{e}");
    hold.abort();
}
