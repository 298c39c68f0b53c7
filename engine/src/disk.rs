//! The Disk Manager's threads: hashing, writing and reading run here, never
//! on the async workers.
//!
//! A small fixed pool (one thread by default) takes jobs in order. One writer
//! per session keeps concurrent `pwritev`s from contending for the same
//! file's lock in the kernel, which cost more CPU than the writes themselves
//! when every piece had its own blocking task; a fixed pool also bounds the
//! threads (and malloc arenas) the process uses.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed pool of disk threads fed through a channel.
pub(crate) struct DiskPool {
    tx: Mutex<mpsc::Sender<Job>>,
}

impl DiskPool {
    /// Starts `threads` (at least one) disk threads; they exit once the pool
    /// is dropped and their queue is drained.
    pub(crate) fn new(threads: usize) -> std::io::Result<Arc<Self>> {
        let (tx, rx) = mpsc::channel::<Job>();
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
