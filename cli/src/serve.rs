//! Running one torrent until it is done: the wait shared by `download`
//! and `seed`, ended by completion, a seeding limit, an error, or Ctrl-C /
//! SIGTERM.

use anyhow::{Result, anyhow};
use monsoon_engine::{Stats, TorrentHandle, TorrentState};
use tokio::signal::unix::{SignalKind, signal};

use crate::progress::Progress;

/// Why the wait ended.
pub(crate) enum End {
    /// Every wanted piece is verified (and the caller does not seed on).
    Complete(Stats),
    /// A seeding limit (ratio or time) was reached.
    LimitReached(Stats),
    /// Ctrl-C or SIGTERM.
    Interrupted(Stats),
}

/// Watches `handle` until it completes (unless `keep_seeding`), reaches a
/// seeding limit, fails, or the user interrupts.
pub(crate) async fn wait(
    handle: &TorrentHandle,
    progress: &mut Progress,
    keep_seeding: bool,
) -> Result<End> {
    let mut stats = handle.subscribe();
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            changed = stats.changed() => {
                if changed.is_err() {
                    return Err(anyhow!("the torrent stopped"));
                }
                let s = stats.borrow_and_update().clone();
                progress.update(&s);
                match s.state {
                    TorrentState::Seeding if !keep_seeding => return Ok(End::Complete(s)),
                    TorrentState::Paused if s.seed_limit_reached => return Ok(End::LimitReached(s)),
                    TorrentState::Error => {
                        return Err(match s.error {
                            Some(e) => anyhow::Error::new(e),
                            None => anyhow!("the torrent failed"),
                        });
                    }
                    _ => {}
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(End::Interrupted(handle.stats())),
            _ = term.recv() => return Ok(End::Interrupted(handle.stats())),
        }
    }
}
