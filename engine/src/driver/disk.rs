//! The Disk Manager: carries out the core's [`DiskJob`]s on a small pool of
//! threads — hashing, writing and reading never run on the async workers —
//! and sends each [`DiskResult`] back to the torrent task.
//!
//! A small fixed pool (one thread by default) takes jobs in order. One writer
//! per session keeps concurrent `pwritev`s from contending for the same
//! file's lock in the kernel, which cost more CPU than the writes themselves
//! when every piece had its own blocking task; a fixed pool also bounds the
//! threads (and malloc arenas) the process uses. The check of existing data
//! is the exception: it hashes on every core, on tokio's blocking pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc as std_mpsc};

use std::path::PathBuf;

use bytes::Bytes;
use monsoon_piece::Bitfield;
use monsoon_storage::StorageError;
use monsoon_wire::BlockRef;

use monsoon_storage::Storage;
use tokio::sync::mpsc;

use crate::resume::{ResumeData, ResumeError};
use crate::torrent::{DiskJob, DiskResult};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of disk threads fed through a channel.
pub(crate) struct DiskPool {
    tx: Mutex<std_mpsc::Sender<Job>>,
}

impl DiskPool {
    /// Starts `threads` (at least one) disk threads; they exit once the pool
    /// is dropped and their queue is drained.
    pub(crate) fn new(threads: usize) -> std::io::Result<Arc<Self>> {
        let (tx, rx) = std_mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("monsoon-disk-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Arc::new(Self { tx: Mutex::new(tx) }))
    }

    /// Queues a job; jobs run in the order they were queued (per thread).
    pub(crate) fn submit(&self, job: impl FnOnce() + Send + 'static) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(Box::new(job));
        }
    }
}

/// One torrent's disk: its storage, the session's read cache, where
/// results go.
#[derive(Clone)]
pub(crate) struct TorrentDisk {
    pub(crate) pool: Arc<DiskPool>,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) cache: Arc<ReadCache>,
    /// The torrent's info-hash (its name in the cache).
    pub(crate) id: [u8; 20],
    pub(crate) results: mpsc::Sender<DiskResult>,
    /// A resume file read at start, for the first check (taken by it).
    pub(crate) resume: Arc<Mutex<Option<ResumeData>>>,
}

impl TorrentDisk {
    /// Saves the resume data of a torrent whose verified pieces are `have`:
    /// its files are flushed first (so the file claims nothing a crash
    /// could lose), then their sizes and times are taken. Runs on the disk
    /// threads, after the writes queued before it.
    pub(crate) fn save_resume(
        &self,
        path: PathBuf,
        root: PathBuf,
        have: Bitfield,
        totals: (u64, u64),
    ) {
        let storage = self.storage.clone();
        let id = self.id;
        self.pool.submit(move || {
            if let Err(e) = save_resume_now(storage.as_ref(), (&path, &root), id, have, totals) {
                tracing::warn!(error = %e, "cannot save resume data");
            }
        });
    }

    /// Starts `job`; its result arrives on `results`.
    pub(crate) fn run(&self, job: DiskJob) {
        let check = matches!(job, DiskJob::Check { .. });
        let storage = self.storage.clone();
        let results = self.results.clone();
        let (cache, id) = (self.cache.clone(), self.id);
        let resume = match job {
            DiskJob::Check { full: false, .. } => {
                self.resume.lock().ok().and_then(|mut r| r.take())
            }
            _ => None,
        };
        let work = move || {
            let result = match (job, resume) {
                (DiskJob::Read { peer, block }, _) => DiskResult::Read {
                    peer,
                    block,
                    result: cache.read(id, storage.as_ref(), block),
                },
                (DiskJob::Check { verifier, .. }, Some(resume)) => DiskResult::Checked(
                    crate::resume::check_with_resume(storage.as_ref(), &verifier, &resume),
                ),
                (job, _) => job.run(storage.as_ref()),
            };
            let _ = results.blocking_send(result);
        };
        if check {
            tokio::task::spawn_blocking(work);
        } else {
            self.pool.submit(work);
        }
    }
}

/// Pieces read for uploads, kept so that the next blocks asked of a piece
/// need no read: bounded in bytes for the whole session, least recently
/// used out first. Peers ask for a piece's blocks one after another, so a
/// piece read once serves all of them.
pub(crate) struct ReadCache {
    budget: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    pieces: HashMap<([u8; 20], u32), (Bytes, u64)>,
    bytes: usize,
    clock: u64,
    hits: u64,
    misses: u64,
}

/// Pieces larger than this are not cached (a block is read alone).
const MAX_CACHED_PIECE: u32 = 4 << 20;

impl ReadCache {
    pub(crate) fn new(budget: usize) -> Self {
        Self {
            budget,
            inner: Mutex::new(CacheInner::default()),
        }
    }

    /// Reads `block` of torrent `id`, from the cache when its piece is in it.
    pub(crate) fn read(
        &self,
        id: [u8; 20],
        storage: &dyn Storage,
        block: BlockRef,
    ) -> Result<Bytes, StorageError> {
        if block.index >= storage.layout().piece_count() {
            return storage.read(block.index, block.begin, block.length);
        }
        let size = storage.layout().piece_size(block.index);
        let start = block.begin as usize;
        let end = start + block.length as usize;
        let cacheable =
            size <= MAX_CACHED_PIECE && (size as usize) <= self.budget && end <= size as usize;
        if !cacheable {
            return storage.read(block.index, block.begin, block.length);
        }
        if let Ok(mut c) = self.inner.lock() {
            c.clock += 1;
            let clock = c.clock;
            if let Some((piece, used)) = c.pieces.get_mut(&(id, block.index)) {
                *used = clock;
                let data = piece.slice(start..end);
                c.hits += 1;
                return Ok(data);
            }
            c.misses += 1;
        }
        let piece = storage.read(block.index, 0, size)?;
        let data = piece.slice(start..end);
        if let Ok(mut c) = self.inner.lock() {
            while c.bytes + piece.len() > self.budget {
                let Some(oldest) = c
                    .pieces
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| *k)
                else {
                    break;
                };
                if let Some((gone, _)) = c.pieces.remove(&oldest) {
                    c.bytes -= gone.len();
                }
            }
            let clock = c.clock;
            c.bytes += piece.len();
            if let Some((old, _)) = c.pieces.insert((id, block.index), (piece, clock)) {
                c.bytes -= old.len();
            }
        }
        Ok(data)
    }
}

/// Flushes, stamps and writes the resume file `path` of the torrent whose
/// files are under `root`, on the calling thread.
pub(crate) fn save_resume_now(
    storage: &dyn Storage,
    (path, root): (&std::path::Path, &std::path::Path),
    info_hash: [u8; 20],
    have: Bitfield,
    (uploaded, downloaded): (u64, u64),
) -> Result<(), ResumeError> {
    storage.flush().map_err(|e| ResumeError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let files = (0..storage.layout().files().len())
        .map(|i| storage.file_stamp(i))
        .collect();
    ResumeData {
        info_hash,
        have,
        files,
        uploaded,
        downloaded,
        root: crate::resume::folder_key(root),
    }
    .save(path)
}

impl ReadCache {
    /// (hits, misses, bytes held).
    #[cfg(test)]
    fn counters(&self) -> (u64, u64, usize) {
        self.inner
            .lock()
            .map_or((0, 0, 0), |c| (c.hits, c.misses, c.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::{BlockRef, DiskPool, ReadCache};
    use bytes::Bytes;
    use monsoon_storage::{FileEntry, Layout, MemoryStorage, Storage};

    #[test]
    fn a_piece_read_once_serves_its_blocks_and_the_cache_stays_in_budget() {
        let piece = 64 * 1024u32;
        let layout =
            Layout::new(vec![FileEntry::new(["f"], 10 * u64::from(piece))], piece).unwrap();
        let data: Vec<u8> = (0..10 * piece).map(|i| (i % 251) as u8).collect();
        let storage = MemoryStorage::from_bytes(layout, &data).unwrap();
        let cache = ReadCache::new(3 * piece as usize);
        for p in 0..10u32 {
            for b in 0..4u32 {
                let r = BlockRef {
                    index: p,
                    begin: b * 16384,
                    length: 16384,
                };
                let got = cache.read([1; 20], &storage, r).unwrap();
                let at = (p * piece + b * 16384) as usize;
                assert_eq!(got, Bytes::copy_from_slice(&data[at..at + 16384]));
            }
        }
        let (hits, misses, bytes) = cache.counters();
        assert_eq!((hits, misses), (30, 10), "one read per piece");
        assert!(bytes <= 3 * piece as usize);
        // Another torrent's piece 0 is another entry.
        let r = BlockRef {
            index: 0,
            begin: 0,
            length: 16384,
        };
        cache.read([2; 20], &storage, r).unwrap();
        assert_eq!(cache.counters().1, 11);
        // A range past the piece goes to the storage and its typed error.
        let bad = BlockRef {
            index: 9,
            begin: piece - 10,
            length: 16384,
        };
        assert!(cache.read([1; 20], &storage, bad).is_err());
        let _ = storage.layout();
    }

    #[test]
    fn jobs_run_in_order_on_one_thread() {
        let pool = DiskPool::new(1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..100 {
            let tx = tx.clone();
            pool.submit(move || {
                tx.send((i, std::thread::current().name().map(str::to_owned)))
                    .unwrap()
            });
        }
        let got: Vec<_> = (0..100).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(
            got.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>()
        );
        assert!(
            got.iter()
                .all(|(_, name)| name.as_deref() == Some("monsoon-disk-0"))
        );
    }
}
