//! [`EncryptedStream`]: a peer connection after an MSE handshake. Bytes
//! that arrived with the handshake are read first; after them, RC4 is
//! applied in place on the caller's read buffer (the codec's own buffer:
//! no copy), and writes are encrypted into a small buffer of our own (the
//! caller's bytes are borrowed immutably, so one copy) before they go out.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use monsoon_mse::Cipher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::transport::BoxTransport;

/// Most encrypted bytes waiting to be written; a write beyond it waits.
const WRITE_BUFFER: usize = 64 * 1024;

/// A connection whose handshake was MSE: RC4 both ways (`read` and `write`
/// ciphers), or plaintext with the payload that arrived with the handshake
/// (no ciphers).
pub(crate) struct EncryptedStream {
    inner: BoxTransport,
    read: Option<Cipher>,
    write: Option<Cipher>,
    /// Payload received with the handshake, already decrypted; read first.
    prefix: Vec<u8>,
    prefix_at: usize,
    /// Encrypted bytes not yet taken by `inner`, from `out_at` on.
    out: Vec<u8>,
    out_at: usize,
}

impl EncryptedStream {
    pub(crate) fn new(
        inner: BoxTransport,
        ciphers: Option<(Cipher, Cipher)>,
        prefix: Vec<u8>,
    ) -> Self {
        let (read, write) = match ciphers {
            Some((r, w)) => (Some(r), Some(w)),
            None => (None, None),
        };
        Self {
            inner,
            read,
            write,
            prefix,
            prefix_at: 0,
            out: Vec::new(),
            out_at: 0,
        }
    }

    /// Writes out what is buffered; `Ready(Ok)` once it is all taken.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_at < self.out.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out[self.out_at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_at += n;
        }
        self.out.clear();
        self.out_at = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for EncryptedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix_at < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.prefix_at);
            buf.put_slice(&this.prefix[this.prefix_at..this.prefix_at + n]);
            this.prefix_at += n;
            if this.prefix_at == this.prefix.len() {
                this.prefix = Vec::new();
                this.prefix_at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Some(cipher) = &mut this.read {
            cipher.apply(&mut buf.filled_mut()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for EncryptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.write.is_none() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        // Make room: write out what is buffered, as far as the socket takes it.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        if this.out_at > 0 {
            this.out.drain(..this.out_at);
            this.out_at = 0;
        }
        let room = WRITE_BUFFER.saturating_sub(this.out.len());
        if room == 0 {
            // `poll_drain` saw the socket full and registered the waker.
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        let start = this.out.len();
        this.out.extend_from_slice(&buf[..n]);
        if let Some(cipher) = &mut this.write {
            cipher.apply(&mut this.out[start..]);
        }
        // Start sending now; what the socket does not take waits for the
        // next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use monsoon_mse::Cipher;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    fn ciphers(k: u8) -> (Cipher, Cipher) {
        (Cipher::from_key(&[k; 20]), Cipher::from_key(&[k + 1; 20]))
    }

    /// Both ends over a duplex pipe of `pipe` bytes: A writes with key 1
    /// (B reads with it), B writes with key 2.
    fn pair(pipe: usize, prefix_b: Vec<u8>) -> (EncryptedStream, EncryptedStream) {
        let (a, b) = duplex(pipe);
        let (a_read, a_write) = (Cipher::from_key(&[2; 20]), Cipher::from_key(&[1; 20]));
        let (b_read, b_write) = ciphers(1);
        (
            EncryptedStream::new(Box::new(a), Some((a_read, a_write)), Vec::new()),
            EncryptedStream::new(Box::new(b), Some((b_read, b_write)), prefix_b),
        )
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[tokio::test]
    async fn both_ways_through_a_small_pipe_with_the_prefix_first() {
        // A pipe far smaller than the writes: the write buffer fills and waits.
        let (mut a, mut b) = pair(1000, b"came with the handshake".to_vec());
        let sent = data(300_000);
        let writer = {
            let sent = sent.clone();
            tokio::spawn(async move {
                for chunk in sent.chunks(70_001) {
                    a.write_all(chunk).await.unwrap();
                }
                a.flush().await.unwrap();
                a
            })
        };
        let mut got = vec![0u8; 23 + sent.len()];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..23], b"came with the handshake");
        assert!(got[23..] == sent[..], "decrypted stream differs");
        let mut a = writer.await.unwrap();
        b.write_all(b"reply").await.unwrap();
        b.flush().await.unwrap();
        let mut reply = [0u8; 5];
        a.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
    }

    #[tokio::test]
    async fn the_wire_carries_rc4_of_the_payload() {
        let (raw, far) = duplex(1 << 16);
        let mut a = EncryptedStream::new(Box::new(raw), Some(ciphers(5)), Vec::new());
        let sent = data(5000);
        a.write_all(&sent).await.unwrap();
        a.flush().await.unwrap();
        let mut far = far;
        let mut wire = vec![0u8; sent.len()];
        far.read_exact(&mut wire).await.unwrap();
        let mut expect = sent.clone();
        Cipher::from_key(&[6; 20]).apply(&mut expect);
        assert_eq!(wire, expect);
        assert_ne!(wire, sent);
    }

    #[tokio::test]
    async fn plaintext_after_the_handshake_passes_through_after_the_prefix() {
        let (raw, mut far) = duplex(1 << 16);
        let mut a = EncryptedStream::new(Box::new(raw), None, b"early".to_vec());
        far.write_all(b" late").await.unwrap();
        a.write_all(b"clear").await.unwrap();
        a.flush().await.unwrap();
        let mut got = [0u8; 10];
        a.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"early late");
        let mut wire = [0u8; 5];
        far.read_exact(&mut wire).await.unwrap();
        assert_eq!(&wire, b"clear");
    }
}
