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

use std::sync::{Arc, Mutex, mpsc as std_mpsc};

use monsoon_storage::Storage;
use tokio::sync::mpsc;

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

/// One torrent's disk: its storage, its piece hashes, where results go.
#[derive(Clone)]
pub(crate) struct TorrentDisk {
    pub(crate) pool: Arc<DiskPool>,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) hashes: Arc<Vec<[u8; 20]>>,
    pub(crate) results: mpsc::Sender<DiskResult>,
}

impl TorrentDisk {
    /// Starts `job`; its result arrives on `results`.
    pub(crate) fn run(&self, job: DiskJob) {
        let check = matches!(job, DiskJob::Check);
        let storage = self.storage.clone();
        let hashes = self.hashes.clone();
        let results = self.results.clone();
        let work = move || {
            let _ = results.blocking_send(job.run(storage.as_ref(), &hashes));
        };
        if check {
            tokio::task::spawn_blocking(work);
        } else {
            self.pool.submit(work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DiskPool;

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
