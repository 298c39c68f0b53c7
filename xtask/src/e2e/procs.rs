//! Child processes that cannot outlive the run: guards that kill on drop,
//! waits with timeouts, free loopback ports.
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How often a wait looks at a child or a port again.
const POLL: Duration = Duration::from_millis(20);

/// A running child process; dropping it kills the process and reaps it.
pub(crate) struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Option<Receiver<String>>,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdin closed and stdout + stderr appended to `log`.
    pub(crate) fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Proc> {
        let out = File::create(log).with_context(|| format!("create {}", log.display()))?;
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}: {cmd:?}"))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
            stdin: None,
            lines: None,
            log: log.to_owned(),
        })
    }

    /// Starts `cmd` with the terminal: stdin closed, stdout and stderr
    /// inherited (`log` only names it in messages).
    pub(crate) fn spawn_inherit(name: &str, cmd: &mut Command, log: &Path) -> Result<Proc> {
        cmd.stdin(Stdio::null());
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}: {cmd:?}"))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
            stdin: None,
            lines: None,
            log: log.to_owned(),
        })
    }

    /// Starts `cmd` with a stdin pipe, its stdout lines readable through
    /// [`Proc::line`] (and copied to `log`), its stderr appended to `log`.
    pub(crate) fn spawn_talking(name: &str, cmd: &mut Command, log: &Path) -> Result<Proc> {
        let mut out = File::create(log).with_context(|| format!("create {}", log.display()))?;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(out.try_clone()?);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {name}: {cmd:?}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(out, "{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines: Some(rx),
            log: log.to_owned(),
        })
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where its output goes.
    pub(crate) fn log(&self) -> &Path {
        &self.log
    }

    /// Writes one line to its stdin.
    pub(crate) fn send(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin is not piped")?;
        writeln!(stdin, "{line}").with_context(|| format!("{} stdin", self.name))?;
        stdin.flush()?;
        Ok(())
    }

    /// The next stdout line that starts with `prefix`, waiting at most `limit`.
    pub(crate) fn line(&mut self, prefix: &str, limit: Duration) -> Result<String> {
        let rx = self.lines.as_ref().context("stdout is not piped")?;
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => bail!(
                    "{}: no `{prefix}` line within {limit:?} (log: {})",
                    self.name,
                    self.log.display()
                ),
                Err(RecvTimeoutError::Disconnected) => bail!(
                    "{} exited before printing `{prefix}`: {}",
                    self.name,
                    tail(&self.log)
                ),
            }
        }
    }

    /// Waits for the exit, killing the process when `limit` passes first.
    pub(crate) fn wait(&mut self, limit: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                self.kill();
                bail!("{} still running after {limit:?}; killed it", self.name);
            }
            thread::sleep(POLL);
        }
    }

    /// Its exit status if it has exited (without waiting).
    pub(crate) fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Whether it has exited (without waiting).
    pub(crate) fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM (a polite stop: the program may clean up and choose its exit
    /// status), then waits at most `limit` for the exit, killing it after.
    pub(crate) fn terminate(&mut self, limit: Duration) -> Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(status);
        }
        // std has no SIGTERM, and the xtask takes no libc for one call.
        check_output(
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]),
            Duration::from_secs(10),
        )
        .with_context(|| format!("SIGTERM to {}", self.name))?;
        self.wait(limit)
    }

    /// SIGKILL and reap.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes stdin (a polite stop for the Python seeder), then waits a little
    /// and kills whatever is still running.
    pub(crate) fn stop(&mut self) {
        self.stdin = None;
        if self.lines.is_some() {
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && !self.exited() {
                thread::sleep(POLL);
            }
        }
        self.kill();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `cmd` to completion (output captured), killing it after `limit`.
pub(crate) fn output(cmd: &mut Command, limit: Duration) -> Result<(ExitStatus, String)> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|r| {
        thread::spawn(move || {
            let mut buf = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut buf);
            }
            buf
        })
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} still running after {limit:?}; killed it");
        }
        thread::sleep(POLL);
    };
    let text: String = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect();
    Ok((status, text))
}

/// Like [`output`], but an unsuccessful exit is an error carrying the output.
pub(crate) fn check_output(cmd: &mut Command, limit: Duration) -> Result<String> {
    let (status, text) = output(cmd, limit)?;
    if !status.success() {
        bail!("{cmd:?} failed ({status}):\n{}", last_lines(&text, 15));
    }
    Ok(text)
}

/// A port free for both TCP and UDP on 127.0.0.1, never handed out twice in
/// one run.
pub(crate) fn free_port() -> Result<u16> {
    static GIVEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    for _ in 0..200 {
        let tcp = TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        if given.lock().expect("port set").insert(port) {
            return Ok(port);
        }
    }
    bail!("no free port on 127.0.0.1")
}

/// How many sockets listen on TCP `127.0.0.1:port` (from /proc/net/tcp).
pub(crate) fn tcp_listeners(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.get(1) == Some(&local.as_str()) && cols.get(3) == Some(&"0A")
        })
        .count()
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
pub(crate) fn wait_listening(what: &str, port: u16, limit: Duration) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        thread::sleep(POLL * 5);
    }
    bail!("{what} does not listen on {addr} after {limit:?}")
}

/// Polls `ready` until it says yes, at most `limit`.
pub(crate) fn wait_until(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    let mut last_err = None;
    while Instant::now() < deadline {
        match ready() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_err = Some(e),
        }
        thread::sleep(POLL * 5);
    }
    match last_err {
        Some(e) => Err(e.context(format!("{what}: not ready after {limit:?}"))),
        None => bail!("{what}: not ready after {limit:?}"),
    }
}

/// The last lines of a log file, for error messages.
pub(crate) fn tail(log: &Path) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    format!(
        "{}\n(log: {})",
        last_lines(&String::from_utf8_lossy(&text), 10),
        log.display()
    )
}

/// The last `n` lines of `text`.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xtask-procs-{name}-{}.log", std::process::id()))
    }

    #[test]
    fn a_wait_that_times_out_kills_the_child() {
        let mut p =
            Proc::spawn("sleeper", Command::new("sleep").arg("600"), &log("sleep")).unwrap();
        let err = p.wait(Duration::from_millis(50)).unwrap_err().to_string();
        assert!(err.contains("sleeper still running"), "{err}");
        assert!(p.exited());
        std::fs::remove_file(log("sleep")).unwrap();
    }

    #[test]
    fn output_collects_both_streams_and_reports_failure() {
        let mut ok = Command::new("sh");
        ok.args(["-c", "echo out; echo err >&2"]);
        let text = check_output(&mut ok, Duration::from_secs(30)).unwrap();
        assert!(text.contains("out") && text.contains("err"), "{text:?}");
        let mut bad = Command::new("sh");
        bad.args(["-c", "echo why; exit 3"]);
        let err = check_output(&mut bad, Duration::from_secs(30))
            .unwrap_err()
            .to_string();
        assert!(err.contains("why"), "{err}");
    }

    #[test]
    fn terminate_lets_the_child_choose_its_exit() {
        // The shell exits 7 on SIGTERM; a SIGKILL would leave no exit code.
        let mut p = Proc::spawn(
            "trapper",
            Command::new("sh").args([
                "-c",
                "trap 'exit 7' TERM; echo up; while :; do sleep 0.05; done",
            ]),
            &log("trap"),
        )
        .unwrap();
        wait_until("the trap is set", Duration::from_secs(30), || {
            Ok(std::fs::read_to_string(log("trap"))?.contains("up"))
        })
        .unwrap();
        let status = p.terminate(Duration::from_secs(30)).unwrap();
        assert_eq!(status.code(), Some(7));
        std::fs::remove_file(log("trap")).unwrap();
    }

    #[test]
    fn talking_child_lines_and_stop() {
        let mut p = Proc::spawn_talking(
            "cat",
            Command::new("sh").args(["-c", "echo ready; cat"]),
            &log("cat"),
        )
        .unwrap();
        assert_eq!(p.line("ready", Duration::from_secs(30)).unwrap(), "ready");
        p.send("status 1").unwrap();
        assert_eq!(
            p.line("status", Duration::from_secs(30)).unwrap(),
            "status 1"
        );
        p.stop();
        assert!(p.exited());
        std::fs::remove_file(log("cat")).unwrap();
    }

    #[test]
    fn ports_are_not_handed_out_twice() {
        let ports: HashSet<u16> = (0..20).map(|_| free_port().unwrap()).collect();
        assert_eq!(ports.len(), 20);
    }
}
