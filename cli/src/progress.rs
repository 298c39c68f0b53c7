//! What `download` and `seed` show while they run: a bar on a terminal, a
//! status line every few seconds otherwise; and the engine's logs.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use monsoon_engine::{Stats, TorrentState};

/// Engine logs on stderr, filtered by `MONSOON_LOG` (e.g. `MONSOON_LOG=debug`); off by default.
pub(crate) fn init_logging() {
    if let Ok(filter) = std::env::var("MONSOON_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Progress display: a bar on a terminal, a status line every few seconds otherwise.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    last_line: Option<std::time::Instant>,
    started: std::time::Instant,
}

impl Progress {
    pub(crate) fn new(quiet: bool, name: &str) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} ETA {eta} {prefix}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            plain: !quiet && !terminal,
            last_line: None,
            started: std::time::Instant::now(),
        }
    }

    pub(crate) fn update(&mut self, s: &Stats) {
        if let Some(bar) = &self.bar {
            bar.set_length(s.wanted_bytes);
            bar.set_position(s.done_bytes);
            bar.set_prefix(rates_text(s));
        } else if self.plain
            && self
                .last_line
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(2))
        {
            self.last_line = Some(std::time::Instant::now());
            eprintln!(
                "{:?} {:5.1}% {}/{} {}",
                s.state,
                s.progress() * 100.0,
                HumanBytes(s.done_bytes),
                HumanBytes(s.wanted_bytes),
                rates_text(s)
            );
        }
    }

    /// Ends the display; `done` is what to sum up.
    pub(crate) fn finish(&self, done: Option<&Stats>) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
        if let (Some(s), true) = (done, self.bar.is_some() || self.plain) {
            eprintln!(
                "done: {} verified, {} downloaded, {} wasted, {} uploaded (ratio {:.2}) in {:.2} s",
                HumanBytes(s.done_bytes),
                HumanBytes(s.downloaded),
                HumanBytes(s.wasted),
                HumanBytes(s.uploaded),
                s.ratio(),
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// "↓ 1.2 MiB/s ↑ 300 KiB/s ratio 0.53 3 peers" (with why there is no peer).
fn rates_text(s: &Stats) -> String {
    let down = if s.state == TorrentState::Seeding {
        String::new()
    } else {
        format!("down {}/s ", HumanBytes(s.download_rate as u64))
    };
    format!(
        "{down}up {}/s ratio {:.2} {}",
        HumanBytes(s.upload_rate as u64),
        s.ratio(),
        peers_text(s)
    )
}

/// "3 peers" ("3 peers (2 encrypted)" when some are RC4-encrypted), or
/// with no peer, why not: the attempts made and the last error.
pub(crate) fn peers_text(s: &Stats) -> String {
    match (&s.last_connect_error, s.peers) {
        (Some((addr, err)), 0) => format!(
            "0 peers ({} attempts, {} waiting; last: {addr}: {err})",
            s.connect_attempts, s.known_peers
        ),
        (None, 0) if s.known_peers == 0 => "0 peers (no peer address yet)".to_string(),
        (_, n) if s.encrypted_peers > 0 => format!("{n} peers ({} encrypted)", s.encrypted_peers),
        (_, n) => format!("{n} peers"),
    }
}
