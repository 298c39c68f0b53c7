//! A user-space link emulator (this kernel has no `netem`): a TCP relay in
//! front of one seeder that gives each direction a one-way delay and a rate
//! cap, and can stall (deliver nothing for a while, as a run of losses
//! would) or cut the connection once it has carried a number of bytes to
//! the downloader.
//!
//! Model, per direction: bytes read from the sender are cut into small
//! chunks; a chunk starts on the "wire" when the previous one has left it
//! (the rate cap), never inside a stall, and is delivered `delay` after it
//! has left. Bytes waiting or in flight are bounded (the delay's worth of
//! the rate plus a small buffer): past that the relay stops reading, so the
//! sender's TCP backs off as it would behind a slow link.
//!
//! [`Pacer`] is that arithmetic, pure and tested on its own; [`relay`] runs
//! it between any two streams (tests use in-memory pipes and tokio's paused
//! clock); [`Link`] holds one seeder's settings and counters, and
//! [`Link::serve`] accepts downloaders on a TCP listener.
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, sleep_until};

/// A window during which the link delivers nothing, both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stall {
    /// When it starts, from the moment the link is armed.
    pub(crate) at: Duration,
    /// How long it lasts.
    pub(crate) len: Duration,
}

/// One seeder's link to the downloader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkSpec {
    /// One-way delay (the round trip is twice this).
    pub(crate) delay: Duration,
    /// Seeder to downloader, bytes per second (0: no cap).
    pub(crate) down_rate: u64,
    /// Downloader to seeder, bytes per second (0: no cap).
    pub(crate) up_rate: u64,
    /// Windows in which nothing is delivered.
    pub(crate) stalls: Vec<Stall>,
    /// Cut the connection once this many bytes reached the downloader on
    /// it; the seeder is then gone (later connections are closed at once)
    /// until the link is armed again.
    pub(crate) disconnect_after: Option<u64>,
}

impl LinkSpec {
    /// A plain link: `rtt` round trip, `rate` bytes per second both ways.
    pub(crate) fn new(rtt: Duration, rate: u64) -> Self {
        Self {
            delay: rtt / 2,
            down_rate: rate,
            up_rate: rate,
            stalls: Vec::new(),
            disconnect_after: None,
        }
    }
}

/// The timing of one direction of a link: when each chunk is delivered.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    rate: u64,
    delay: Duration,
    /// Stalls as absolute times, sorted.
    stalls: Vec<(Instant, Instant)>,
    /// When the wire is free for the next chunk.
    free_at: Instant,
}

impl Pacer {
    /// A direction capped at `rate` bytes per second (0: no cap) with a
    /// one-way `delay`, and `stalls` counted from `epoch`.
    pub(crate) fn new(rate: u64, delay: Duration, stalls: &[Stall], epoch: Instant) -> Self {
        let mut stalls: Vec<(Instant, Instant)> = stalls
            .iter()
            .map(|s| (epoch + s.at, epoch + s.at + s.len))
            .collect();
        stalls.sort();
        Self {
            rate,
            delay,
            stalls,
            free_at: epoch,
        }
    }

    /// `len` bytes were read from the sender at `now`: when they reach the
    /// other end. Calls must come in time order; deliveries come out in
    /// the same order.
    pub(crate) fn schedule(&mut self, now: Instant, len: usize) -> Instant {
        let mut start = self.free_at.max(now);
        for &(from, to) in &self.stalls {
            if start >= from && start < to {
                start = to;
            }
        }
        let on_wire = if self.rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(len as f64 / self.rate as f64)
        };
        self.free_at = start + on_wire;
        self.free_at + self.delay
    }

    /// The most bytes read from the sender and not yet delivered: the
    /// delay's worth of the rate plus 50 ms of it, and at least four
    /// chunks (1 MiB with no cap).
    pub(crate) fn queue_limit(&self) -> usize {
        if self.rate == 0 {
            return 1 << 20;
        }
        let secs = self.delay.as_secs_f64() + 0.05;
        ((self.rate as f64 * secs) as usize).max(4 * self.chunk())
    }

    /// Bytes read at a time: about 5 ms of the rate, from 1 KiB to 64 KiB,
    /// so pacing stays smooth on a slow link.
    pub(crate) fn chunk(&self) -> usize {
        if self.rate == 0 {
            return 64 * 1024;
        }
        ((self.rate / 200) as usize).clamp(1024, 64 * 1024)
    }
}

/// Why a relayed connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Both sides finished (or one failed).
    Closed,
    /// The byte budget towards the downloader was used up: cut.
    Cut,
}

/// What a direction counts as it delivers.
struct Pipe<'a> {
    pacer: Pacer,
    /// Bytes delivered on this link (all connections, since it was armed).
    delivered: &'a AtomicU64,
    /// Bytes this connection may still deliver (`None`: no limit).
    budget: Option<u64>,
}

/// Copies `from` to `to` through `pipe`; `Ok(Ended::Cut)` when the budget
/// ran out, `Ok(Ended::Closed)` at the sender's end of stream.
async fn pipe<R, W>(mut from: R, mut to: W, pipe: Pipe<'_>) -> io::Result<Ended>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let Pipe {
        mut pacer,
        delivered,
        mut budget,
    } = pipe;
    let chunk = pacer.chunk();
    let room = &Semaphore::new(pacer.queue_limit());
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let result = loop {
            let permit = match room.acquire_many(chunk as u32).await {
                Ok(p) => p,
                Err(_) => break Err(io::Error::other("closed")),
            };
            permit.forget();
            let mut buf = vec![0u8; chunk];
            let n = match from.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            room.add_permits(chunk - n);
            if n == 0 {
                break Ok(());
            }
            buf.truncate(n);
            let at = pacer.schedule(Instant::now(), n);
            if tx.send((at, buf)).is_err() {
                break Ok(());
            }
        };
        // The writer ends once everything queued is delivered.
        drop(tx);
        result
    };
    let write = async {
        while let Some((at, buf)) = rx.recv().await {
            sleep_until(at).await;
            let n = match budget {
                Some(left) => buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
                None => buf.len(),
            };
            to.write_all(&buf[..n]).await?;
            delivered.fetch_add(n as u64, Ordering::Relaxed);
            room.add_permits(buf.len());
            if let Some(left) = &mut budget {
                *left -= n as u64;
                if *left == 0 {
                    to.flush().await?;
                    return Ok::<_, io::Error>(Ended::Cut);
                }
            }
        }
        to.shutdown().await?;
        Ok(Ended::Closed)
    };
    tokio::pin!(read, write);
    tokio::select! {
        // A cut ends the reading too.
        w = &mut write => w,
        r = &mut read => {
            r?;
            write.await
        }
    }
}

/// The settings and counters of one seeder's link.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) spec: LinkSpec,
    /// Where the seeder listens.
    pub(crate) seeder: SocketAddr,
    /// When stalls are counted from (set by [`arm`](Self::arm)).
    epoch: Mutex<Instant>,
    /// Bytes delivered to the downloader since armed.
    pub(crate) down_bytes: AtomicU64,
    /// Bytes delivered to the seeder since armed.
    pub(crate) up_bytes: AtomicU64,
    /// Cut once: refuses connections until armed again.
    gone: AtomicBool,
    /// Bumped by `arm`: relays of an older generation stop.
    generation: AtomicU64,
}

impl Link {
    pub(crate) fn new(spec: LinkSpec, seeder: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            spec,
            seeder,
            epoch: Mutex::new(Instant::now()),
            down_bytes: AtomicU64::new(0),
            up_bytes: AtomicU64::new(0),
            gone: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        })
    }

    /// A new run starts now: counters to zero, stalls counted from now,
    /// the seeder back, connections of the previous run dropped.
    pub(crate) fn arm(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.down_bytes.store(0, Ordering::SeqCst);
        self.up_bytes.store(0, Ordering::SeqCst);
        self.gone.store(false, Ordering::SeqCst);
    }

    /// Whether the link cut a connection since it was armed.
    pub(crate) fn is_gone(&self) -> bool {
        self.gone.load(Ordering::SeqCst)
    }

    /// Accepts downloaders on `listener` and relays each to the seeder,
    /// until the task is dropped.
    pub(crate) async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            let link = self.clone();
            tokio::spawn(async move {
                if link.is_gone() {
                    return;
                }
                let _ = client.set_nodelay(true);
                let Ok(seeder) = TcpStream::connect(link.seeder).await else {
                    return;
                };
                let _ = seeder.set_nodelay(true);
                let _ = relay(client, seeder, &link).await;
            });
        }
    }
}

/// Relays one downloader connection (`client`) to the seeder (`seeder`)
/// through `link` until both sides close, the byte budget runs out (the
/// link is then gone), or the link is armed again.
pub(crate) async fn relay<C, S>(client: C, seeder: S, link: &Link) -> io::Result<Ended>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let generation = link.generation.load(Ordering::SeqCst);
    let epoch = *link.epoch.lock().unwrap_or_else(|e| e.into_inner());
    let spec = &link.spec;
    let (client_r, client_w) = tokio::io::split(client);
    let (seeder_r, seeder_w) = tokio::io::split(seeder);
    let down = pipe(
        seeder_r,
        client_w,
        Pipe {
            pacer: Pacer::new(spec.down_rate, spec.delay, &spec.stalls, epoch),
            delivered: &link.down_bytes,
            budget: spec.disconnect_after,
        },
    );
    let up = pipe(
        client_r,
        seeder_w,
        Pipe {
            pacer: Pacer::new(spec.up_rate, spec.delay, &spec.stalls, epoch),
            delivered: &link.up_bytes,
            budget: None,
        },
    );
    let rearmed = async {
        while link.generation.load(Ordering::SeqCst) == generation {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::pin!(down, up, rearmed);
    let (mut down_done, mut up_done) = (false, false);
    loop {
        tokio::select! {
            r = &mut down, if !down_done => match r? {
                Ended::Cut => {
                    link.gone.store(true, Ordering::SeqCst);
                    return Ok(Ended::Cut);
                }
                Ended::Closed => down_done = true,
            },
            r = &mut up, if !up_done => {
                r?;
                up_done = true;
            }
            () = &mut rearmed => return Ok(Ended::Closed),
        }
        if down_done && up_done {
            return Ok(Ended::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pacer_spaces_chunks_by_the_rate_and_adds_the_delay() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10_000, ms(50), &[], t0);
        // Ten 1000-byte chunks read at once: 100 ms each on the wire.
        let got: Vec<Duration> = (0..10).map(|_| p.schedule(t0, 1000) - t0).collect();
        let want: Vec<Duration> = (1..=10).map(|i| ms(100 * i + 50)).collect();
        assert_eq!(got, want);
        // A chunk read after the wire went idle starts when it is read.
        let later = t0 + ms(5000);
        assert_eq!(p.schedule(later, 500) - t0, ms(5000 + 50 + 50));
    }

    #[test]
    fn pacer_without_a_cap_only_delays() {
        let t0 = Instant::now();
        let mut p = Pacer::new(0, ms(30), &[], t0);
        assert_eq!(p.schedule(t0, 1 << 30) - t0, ms(30));
        assert_eq!(p.schedule(t0 + ms(1), 1 << 30) - t0, ms(31));
        assert_eq!(p.queue_limit(), 1 << 20);
    }

    #[test]
    fn nothing_starts_inside_a_stall() {
        let t0 = Instant::now();
        let stall = Stall {
            at: ms(200),
            len: ms(1000),
        };
        let mut p = Pacer::new(10_000, ms(10), &[stall], t0);
        // 100 ms each: the third chunk would start at 200 ms, in the stall.
        let got: Vec<Duration> = (0..4).map(|_| p.schedule(t0, 1000) - t0).collect();
        assert_eq!(got, [ms(110), ms(210), ms(1310), ms(1410)]);
    }

    #[test]
    fn queue_limit_and_chunks_follow_the_rate() {
        let t0 = Instant::now();
        // 1 MB/s, 100 ms one way: 150 ms of data may wait.
        let p = Pacer::new(1_000_000, ms(100), &[], t0);
        assert_eq!(p.queue_limit(), 150_000);
        assert_eq!(p.chunk(), 5000);
        let slow = Pacer::new(50_000, ms(5), &[], t0);
        assert_eq!(slow.chunk(), 1024);
        assert_eq!(slow.queue_limit(), 4096, "at least four chunks");
        assert_eq!(Pacer::new(1 << 30, ms(5), &[], t0).chunk(), 64 * 1024);
    }

    /// Sends `data` from the seeder end, reads everything at the client end;
    /// returns what arrived and when the last byte did.
    async fn transfer(link: &Link, data: Vec<u8>) -> (Vec<u8>, Duration) {
        let (client, client_far) = duplex(1 << 16);
        let (seeder, seeder_far) = duplex(1 << 16);
        let t0 = Instant::now();
        let relay = relay(client_far, seeder_far, link);
        let send = async move {
            let mut seeder = seeder;
            seeder.write_all(&data).await.unwrap();
            seeder.shutdown().await.unwrap();
            // Keep the seeder's end open until the client is done.
            let mut sink = Vec::new();
            let _ = seeder.read_to_end(&mut sink).await;
        };
        let recv = async move {
            let mut client = client;
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            let took = t0.elapsed();
            client.shutdown().await.unwrap();
            (got, took)
        };
        let all = async { tokio::join!(relay, send, recv) };
        let (_, _, got) = tokio::time::timeout(Duration::from_secs(600), all)
            .await
            .expect("the transfer ended");
        got
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9))
    }

    #[tokio::test(start_paused = true)]
    async fn relay_delivers_every_byte_at_the_rate_after_the_delay() {
        let link = Link::new(LinkSpec::new(ms(100), 100_000), addr());
        let data = pattern(100_000);
        let (got, took) = transfer(&link, data.clone()).await;
        assert!(got == data, "bytes differ");
        // 100 kB at 100 kB/s, then 50 ms one way.
        assert!(took >= ms(1050) && took <= ms(1080), "took {took:?}");
        assert_eq!(link.down_bytes.load(Ordering::SeqCst), 100_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_holds_delivery_back() {
        let mut spec = LinkSpec::new(ms(20), 100_000);
        spec.stalls = vec![Stall {
            at: ms(200),
            len: ms(2000),
        }];
        let link = Link::new(spec, addr());
        let (got, took) = transfer(&link, pattern(50_000)).await;
        assert_eq!(got.len(), 50_000);
        // 0.5 s of transfer plus the 2 s stall.
        assert!(took >= ms(2500) && took <= ms(2560), "took {took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_cuts_after_its_budget_and_stays_gone() {
        let mut spec = LinkSpec::new(ms(10), 1_000_000);
        spec.disconnect_after = Some(12_345);
        let link = Link::new(spec, addr());
        let (client, client_far) = duplex(1 << 16);
        let (mut seeder, seeder_far) = duplex(1 << 16);
        let send = async {
            // The seeder would send more, and keeps its end open.
            let _ = seeder.write_all(&pattern(100_000)).await;
            std::future::pending::<()>().await;
        };
        let recv = async move {
            let mut client = client;
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            got
        };
        let ended = tokio::select! {
            r = relay(client_far, seeder_far, &link) => r.unwrap(),
            () = send => unreachable!("the seeder never finishes"),
            () = tokio::time::sleep(Duration::from_secs(600)) => panic!("never cut"),
        };
        assert_eq!(ended, Ended::Cut);
        let got = recv.await;
        assert_eq!(got, pattern(100_000)[..12_345]);
        assert!(link.is_gone());
        link.arm();
        assert!(!link.is_gone(), "armed again, the seeder is back");
        assert_eq!(link.down_bytes.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_stops_the_sender() {
        // 100 kB/s, 100 ms one way: about 15 kB may wait in the link.
        let link = Link::new(LinkSpec::new(ms(200), 100_000), addr());
        let (_client, client_far) = duplex(4096);
        let (mut seeder, seeder_far) = duplex(4096);
        let sent = AtomicU64::new(0);
        let send = async {
            let block = [0u8; 1024];
            loop {
                seeder.write_all(&block).await.unwrap();
                sent.fetch_add(1024, Ordering::SeqCst);
            }
        };
        tokio::select! {
            _ = relay(client_far, seeder_far, &link) => unreachable!("nobody closes"),
            () = send => unreachable!("the sender blocks"),
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
        let sent = sent.load(Ordering::SeqCst);
        // Link queue + both pipes' buffers + a chunk, not ten seconds' worth.
        assert!(sent <= 15_000 + 2 * 4096 + 2048, "sent {sent}");
        assert!(sent >= 4096, "sent {sent}");
    }

    #[tokio::test]
    async fn over_tcp_a_round_trip_takes_the_rtt() {
        // An echo seeder on a real socket behind a 60 ms round trip.
        let seeder = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let seeder_addr = seeder.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = seeder.accept().await.unwrap();
            let mut buf = [0u8; 64];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let link = Link::new(LinkSpec::new(ms(60), 0), seeder_addr);
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        let server = tokio::spawn(link.clone().serve(front));
        let work = async {
            let mut c = TcpStream::connect(front_addr).await.unwrap();
            let t0 = Instant::now();
            c.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            c.read_exact(&mut buf).await.unwrap();
            (buf, t0.elapsed())
        };
        let (buf, took) = tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .expect("the echo came back");
        server.abort();
        assert_eq!(&buf, b"ping");
        assert!(took >= ms(60), "took {took:?}");
        assert!(took < ms(2000), "took {took:?}");
        assert_eq!(link.up_bytes.load(Ordering::SeqCst), 4);
        assert_eq!(link.down_bytes.load(Ordering::SeqCst), 4);
    }
}
