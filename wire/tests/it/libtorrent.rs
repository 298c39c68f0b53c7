//! Talks to a real peer nobody here wrote: a libtorrent seeder on 127.0.0.1.
//!
//! The seeder is `tests/peers/lt_seeder.py`, run with Debian's
//! `python3-libtorrent` (`/usr/bin/python3`). The conversation is driven
//! through the codecs alone: handshake, extension handshake, bitfield or
//! have-all, interested, unchoke, requests for every block of piece 0, and
//! the SHA-1 of the assembled piece checked against the torrent; on the
//! side, a BEP 9 request for the metadata, whose SHA-1 must be the info-hash.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use monsoon_wire::{
    BlockRef, ExtendedHandshake, Handshake, HandshakeCodec, Message, MetadataMessage, PeerCodec,
    UT_METADATA,
};
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const PYTHON: &str = "/usr/bin/python3";
const BLOCK: u32 = 16 * 1024;
/// The extended id we ask peers to send `ut_metadata` messages with.
const OUR_UT_METADATA: u8 = 3;
/// Upper bound on the whole conversation, so the test always ends by itself.
const CONVERSATION_BOUND: Duration = Duration::from_secs(60);

/// What the seeder printed about its torrent.
struct Seed {
    port: u16,
    info_hash: [u8; 20],
    piece0_len: u32,
    piece0_sha1: [u8; 20],
}

/// The seeder process; closing its stdin stops it, and it is killed if it
/// does not stop.
struct Seeder(Child);

impl Drop for Seeder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        for _ in 0..50 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hex20(s: &str) -> [u8; 20] {
    assert_eq!(s.len(), 40, "not a 40-digit hex hash: {s}");
    let mut out = [0; 20];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn start_seeder() -> (Seeder, Seed) {
    let probe = Command::new(PYTHON)
        .args(["-c", "import libtorrent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        matches!(probe, Ok(s) if s.success()),
        "`{PYTHON} -c 'import libtorrent'` failed: install python3-libtorrent (cargo xtask setup)"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/lt_seeder.py");
    let mut child = Command::new(PYTHON)
        .args([script, "90"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the libtorrent seeder");
    let stdout = child.stdout.take().unwrap();
    let seeder = Seeder(child);

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the libtorrent seeder printed nothing");
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("seeder said {line:?}: {e}"));
    let seed = Seed {
        port: v["port"].as_u64().unwrap() as u16,
        info_hash: hex20(v["info_hash"].as_str().unwrap()),
        piece0_len: v["piece0_len"].as_u64().unwrap() as u32,
        piece0_sha1: hex20(v["piece0_sha1"].as_str().unwrap()),
    };
    (seeder, seed)
}

/// `-MO0001-` and 12 digits that differ from run to run (BEP 20 style).
fn peer_id() -> [u8; 20] {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mix = nanos ^ (u128::from(std::process::id()) << 64);
    let mut id = *b"-MO0001-000000000000";
    let mut n = mix;
    for b in &mut id[8..] {
        *b = b'0' + (n % 10) as u8;
        n /= 10;
    }
    id
}

/// What the conversation observed.
#[derive(Debug, Default)]
struct Seen {
    their_handshake: Option<Handshake>,
    extended: Option<ExtendedHandshake>,
    has_piece0: bool,
    unchoked: bool,
    piece: Vec<u8>,
    received: Vec<bool>,
    metadata: Option<(MetadataMessage, Vec<u8>)>,
}

async fn converse(seed: &Seed) -> Seen {
    let mut seen = Seen {
        piece: vec![0; seed.piece0_len as usize],
        received: vec![false; seed.piece0_len.div_ceil(BLOCK) as usize],
        ..Seen::default()
    };
    let tcp = TcpStream::connect(("127.0.0.1", seed.port)).await.unwrap();
    let mut framed = Framed::new(tcp, HandshakeCodec);
    framed
        .send(Handshake::new(seed.info_hash, peer_id()))
        .await
        .unwrap();
    let theirs = framed.next().await.expect("seeder closed").unwrap();
    seen.their_handshake = Some(theirs);

    let mut framed = framed.map_codec(|_| PeerCodec::new());
    let mut ours = ExtendedHandshake::default();
    ours.m.insert(UT_METADATA.into(), OUR_UT_METADATA);
    ours.v = Some("monsoon-wire test".into());
    ours.reqq = Some(64);
    framed.send(ours.to_message()).await.unwrap();

    let mut interested_sent = false;
    let mut requested = false;
    while let Some(msg) = framed.next().await {
        match msg.unwrap() {
            Message::Extended { id: 0, payload } => {
                let ext = ExtendedHandshake::decode(&payload).unwrap();
                if let Some(id) = ext.extension_id(UT_METADATA) {
                    let payload = MetadataMessage::Request { piece: 0 }.encode().freeze();
                    framed
                        .send(Message::Extended { id, payload })
                        .await
                        .unwrap();
                }
                seen.extended = Some(ext);
            }
            Message::Extended {
                id: OUR_UT_METADATA,
                payload,
            } => {
                let (header, offset) = MetadataMessage::decode(&payload).unwrap();
                seen.metadata = Some((header, payload[offset..].to_vec()));
            }
            Message::HaveAll => seen.has_piece0 = true,
            Message::Bitfield(bits) => {
                seen.has_piece0 = bits.first().is_some_and(|b| b & 0x80 != 0)
            }
            Message::Have(0) => seen.has_piece0 = true,
            Message::Unchoke => {
                seen.unchoked = true;
                requested = false;
            }
            Message::Choke => seen.unchoked = false,
            Message::Reject(b) => {
                // BEP 6: a rejected request may be sent again later.
                assert_eq!(b.index, 0);
                requested = false;
            }
            Message::Piece { index, begin, data } => {
                assert_eq!(index, 0);
                let at = begin as usize;
                seen.piece[at..at + data.len()].copy_from_slice(&data);
                seen.received[(begin / BLOCK) as usize] = true;
            }
            _ => {}
        }
        if seen.received.iter().all(|&r| r) && seen.metadata.is_some() {
            return seen;
        }
        if seen.has_piece0 && !interested_sent {
            framed.send(Message::Interested).await.unwrap();
            interested_sent = true;
        }
        if seen.unchoked && !requested {
            for (i, _) in seen.received.iter().enumerate().filter(|(_, r)| !**r) {
                let begin = i as u32 * BLOCK;
                let length = BLOCK.min(seed.piece0_len - begin);
                let block = BlockRef {
                    index: 0,
                    begin,
                    length,
                };
                framed.feed(Message::Request(block)).await.unwrap();
            }
            framed.flush().await.unwrap();
            requested = true;
        }
    }
    panic!(
        "the seeder closed the connection; saw {:?}",
        seen.their_handshake
    );
}

#[tokio::test]
async fn downloads_piece_0_from_a_libtorrent_seeder() {
    let (_seeder, seed) = start_seeder();
    let seen = tokio::time::timeout(CONVERSATION_BOUND, converse(&seed))
        .await
        .expect("the conversation with libtorrent did not finish");

    let theirs = seen.their_handshake.unwrap();
    assert_eq!(theirs.info_hash, seed.info_hash);
    assert!(
        theirs.reserved.extension_protocol(),
        "{:?}",
        theirs.reserved
    );
    assert!(theirs.reserved.fast(), "{:?}", theirs.reserved);
    let ext = seen
        .extended
        .expect("no extension handshake from libtorrent");
    assert!(ext.extension_id(UT_METADATA).is_some(), "{ext:?}");
    assert!(ext.metadata_size.is_some(), "{ext:?}");
    assert!(seen.has_piece0);
    let digest: [u8; 20] = Sha1::digest(&seen.piece).into();
    assert_eq!(
        digest, seed.piece0_sha1,
        "piece 0 does not match the torrent"
    );

    // BEP 9: the metadata is the info dictionary, so its SHA-1 is the info-hash.
    let (header, info) = seen.metadata.unwrap();
    let size = ext.metadata_size.unwrap();
    assert_eq!(
        header,
        MetadataMessage::Data {
            piece: 0,
            total_size: size
        }
    );
    assert_eq!(
        info.len() as u64,
        size,
        "the test torrent's metadata fits in one piece"
    );
    let digest: [u8; 20] = Sha1::digest(&info).into();
    assert_eq!(
        digest, seed.info_hash,
        "metadata does not hash to the info-hash"
    );
}
