//! The state directory: every torrent the daemon runs (its .torrent and a
//! record of how it runs) and the session's settings, written atomically;
//! files that cannot be read are quarantined and reported, never fatal.
//!
//! ```text
//! STATE/session.json            settings, the next torrent id, cumulative totals
//! STATE/torrents/HASH.torrent   the metainfo, as added (or as fetched for a magnet link)
//! STATE/torrents/HASH.magnet    a magnet link whose metadata has not arrived yet
//! STATE/torrents/HASH.json      save path, file priorities, limits, paused, added, labels
//! STATE/resume/HASH.resume      the engine's fast-resume file
//! ```

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use monsoon_engine::{Magnet, Metainfo};
use serde::{Deserialize, Serialize};

/// Largest .torrent the daemon takes (an upload, a path, a state file).
pub const MAX_TORRENT_BYTES: usize = 20 << 20;
/// Largest magnet link kept.
pub(crate) const MAX_MAGNET_BYTES: usize = 64 << 10;
/// Largest record or settings file read (a record holds one byte per file
/// and the labels; 8 MiB is far beyond any real torrent's).
const MAX_RECORD_BYTES: u64 = 8 << 20;
/// Version of the record and settings formats.
const VERSION: u32 = 1;

/// How one torrent runs, kept in `torrents/HASH.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TorrentRecord {
    pub(crate) version: u32,
    /// The daemon's number for it (stable across restarts).
    pub(crate) id: u32,
    /// Lowercase hex info-hash.
    pub(crate) info_hash: String,
    /// The folder its file or top folder lives in.
    pub(crate) save_path: PathBuf,
    /// One per file (0: skip).
    pub(crate) file_priorities: Vec<u8>,
    /// Bytes per second, 0: none.
    pub(crate) upload_limit: u64,
    pub(crate) download_limit: u64,
    /// Its own seeding limits (`None`: the session's).
    pub(crate) seed_ratio: Option<f64>,
    pub(crate) seed_time_secs: Option<u64>,
    /// Paused by the user (or by its seeding limit).
    pub(crate) paused: bool,
    /// Unix seconds when it was added, and when it completed.
    pub(crate) added: i64,
    pub(crate) done: Option<i64>,
    pub(crate) labels: Vec<String>,
    /// qBittorrent's category (one per torrent; empty: none).
    #[serde(default)]
    pub(crate) category: String,
}

impl TorrentRecord {
    /// A record with every file wanted, no limits, not paused.
    pub(crate) fn new(id: u32, meta: &Metainfo, save_path: PathBuf) -> Self {
        let mut r = Self::for_hash(id, meta.info_hash_hex(), save_path);
        r.file_priorities = vec![1; meta.files.len()];
        r
    }

    /// A record of a torrent whose files are not known yet (a magnet link).
    pub(crate) fn for_hash(id: u32, info_hash: String, save_path: PathBuf) -> Self {
        Self {
            version: VERSION,
            id,
            info_hash,
            save_path,
            file_priorities: Vec::new(),
            upload_limit: 0,
            download_limit: 0,
            seed_ratio: None,
            seed_time_secs: None,
            paused: false,
            added: unix_now(),
            done: None,
            labels: Vec::new(),
            category: String::new(),
        }
    }
}

/// Totals over every run of the daemon (Transmission's cumulative stats).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cumulative {
    pub(crate) uploaded: u64,
    pub(crate) downloaded: u64,
    pub(crate) files_added: u64,
    pub(crate) session_count: u64,
    pub(crate) seconds_active: u64,
}

/// The session's settings, kept in `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Settings {
    pub(crate) version: u32,
    /// The id the next added torrent gets.
    pub(crate) next_id: u32,
    /// Session-wide limits, bytes per second (0: none).
    pub(crate) upload_limit: u64,
    pub(crate) download_limit: u64,
    /// Default seeding limits.
    pub(crate) seed_ratio: Option<f64>,
    pub(crate) seed_time_secs: Option<u64>,
    /// Where torrents go by default (`None`: `--download-dir`).
    pub(crate) download_dir: Option<PathBuf>,
    pub(crate) cumulative: Cumulative,
    /// qBittorrent's categories, by name.
    #[serde(default)]
    pub(crate) categories: std::collections::BTreeMap<String, Category>,
}

/// A category (qBittorrent's): a name and where its torrents are saved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Category {
    /// `None`: the default download folder.
    pub(crate) save_path: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: VERSION,
            next_id: 1,
            upload_limit: 0,
            download_limit: 0,
            seed_ratio: None,
            seed_time_secs: None,
            download_dir: None,
            cumulative: Cumulative::default(),
            categories: Default::default(),
        }
    }
}

/// Something in the state directory that could not be used, and what was
/// done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {reason}; {action}", file.display())]
pub struct StateProblem {
    /// The file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub reason: String,
    /// What the daemon did (moved it aside, rechecks the torrent, ...).
    pub action: String,
}

/// What a stored torrent is made from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Its metainfo.
    Torrent(Metainfo),
    /// A magnet link (its text, parsed) whose metadata has not arrived.
    Magnet(Magnet),
}

impl Source {
    pub(crate) fn info_hash_hex(&self) -> String {
        match self {
            Source::Torrent(m) => m.info_hash_hex(),
            Source::Magnet(m) => hex(&m.info_hash),
        }
    }

    /// How many files it has (`None`: not known yet).
    pub(crate) fn file_count(&self) -> Option<usize> {
        match self {
            Source::Torrent(m) => Some(m.files.len()),
            Source::Magnet(..) => None,
        }
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A torrent found in the state directory.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) source: Source,
    /// `None`: its record was missing or unusable (moved aside); it gets a
    /// fresh one and a full recheck.
    pub(crate) record: Option<TorrentRecord>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub(crate) struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Opens (creating) the folder and its `torrents/` and `resume/`.
    pub(crate) fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join("torrents"))?;
        fs::create_dir_all(root.join("resume"))?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    fn torrent_file(&self, hash: &str) -> PathBuf {
        self.root.join("torrents").join(format!("{hash}.torrent"))
    }

    fn magnet_file(&self, hash: &str) -> PathBuf {
        self.root.join("torrents").join(format!("{hash}.magnet"))
    }

    fn record_file(&self, hash: &str) -> PathBuf {
        self.root.join("torrents").join(format!("{hash}.json"))
    }

    /// Where the engine keeps the torrent's fast-resume data.
    pub(crate) fn resume_file(&self, hash: &str) -> PathBuf {
        self.root.join("resume").join(format!("{hash}.resume"))
    }

    fn settings_file(&self) -> PathBuf {
        self.root.join("session.json")
    }

    /// Saves a newly added torrent: its .torrent, then its record.
    pub(crate) fn add(&self, record: &TorrentRecord, torrent: &[u8]) -> io::Result<()> {
        write_atomic(&self.torrent_file(&record.info_hash), torrent)?;
        self.save_record(record)
    }

    /// Saves a newly added magnet link, then its record.
    pub(crate) fn add_magnet(&self, record: &TorrentRecord, link: &str) -> io::Result<()> {
        write_atomic(&self.magnet_file(&record.info_hash), link.as_bytes())?;
        self.save_record(record)
    }

    /// A magnet link's metadata arrived: its .torrent replaces the link.
    pub(crate) fn metadata_arrived(&self, hash: &str, torrent: &[u8]) -> io::Result<()> {
        write_atomic(&self.torrent_file(hash), torrent)?;
        match fs::remove_file(self.magnet_file(hash)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&self.root.join("torrents"))
    }

    pub(crate) fn save_record(&self, record: &TorrentRecord) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        write_atomic(&self.record_file(&record.info_hash), &json)
    }

    /// Forgets a torrent: its record and .torrent, and its resume file.
    pub(crate) fn remove(&self, hash: &str) -> io::Result<()> {
        for f in [
            self.record_file(hash),
            self.torrent_file(hash),
            self.magnet_file(hash),
            self.resume_file(hash),
        ] {
            match fs::remove_file(&f) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        sync_dir(&self.root.join("torrents"))
    }

    pub(crate) fn save_settings(&self, settings: &Settings) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(settings).map_err(io::Error::other)?;
        write_atomic(&self.settings_file(), &json)
    }

    /// The settings; defaults when there are none, or when the file is
    /// unusable (then moved aside and reported).
    pub(crate) fn load_settings(&self) -> (Settings, Option<StateProblem>) {
        let path = self.settings_file();
        match read_bounded(&path, MAX_RECORD_BYTES) {
            Ok(None) => (Settings::default(), None),
            Ok(Some(bytes)) => match serde_json::from_slice::<Settings>(&bytes) {
                Ok(s) if s.version == VERSION && s.next_id > 0 => (s, None),
                Ok(_) => (
                    Settings::default(),
                    Some(quarantine(
                        &path,
                        "unknown version",
                        "using default settings",
                    )),
                ),
                Err(e) => (
                    Settings::default(),
                    Some(quarantine(&path, &e.to_string(), "using default settings")),
                ),
            },
            Err(e) => (
                Settings::default(),
                Some(quarantine(&path, &e.to_string(), "using default settings")),
            ),
        }
    }

    /// Every torrent of the folder, and what could not be read. A .torrent
    /// that cannot be parsed is moved aside with its record (the torrent is
    /// lost, and said so); a record that cannot be used is moved aside with
    /// the resume file, and the torrent comes back with defaults and a full
    /// recheck.
    pub(crate) fn load_all(&self) -> (Vec<Stored>, Vec<StateProblem>) {
        let mut stored = Vec::new();
        let mut problems = Vec::new();
        let dir = self.root.join("torrents");
        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(e) => {
                problems.push(StateProblem {
                    file: dir,
                    reason: e.to_string(),
                    action: "no torrent restored".into(),
                });
                return (stored, problems);
            }
        };
        names.sort();
        let has = |n: String| names.contains(&n);
        for name in &names {
            if let Some(hash) = name.strip_suffix(".json") {
                if !has(format!("{hash}.torrent")) && !has(format!("{hash}.magnet")) {
                    problems.push(quarantine(
                        &dir.join(name),
                        "a record without its .torrent",
                        "moved aside",
                    ));
                }
            }
        }
        for name in &names {
            if let Some(hash) = name.strip_suffix(".torrent") {
                if let Some(s) = self.load_one(hash, &mut problems) {
                    stored.push(s);
                }
            } else if let Some(hash) = name.strip_suffix(".magnet") {
                if has(format!("{hash}.torrent")) {
                    // The metadata arrived; the link was not deleted yet.
                    let _ = fs::remove_file(dir.join(name));
                } else if let Some(s) = self.load_magnet(hash, &mut problems) {
                    stored.push(s);
                }
            }
        }
        (stored, problems)
    }

    fn load_magnet(&self, hash: &str, problems: &mut Vec<StateProblem>) -> Option<Stored> {
        let mpath = self.magnet_file(hash);
        let rpath = self.record_file(hash);
        let link = read_bounded(&mpath, MAX_MAGNET_BYTES as u64)
            .map_err(|e| e.to_string())
            .and_then(|b| b.ok_or_else(|| "vanished".to_owned()))
            .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8".to_owned()))
            .and_then(|text| {
                let m = Magnet::parse(text.trim()).map_err(|e| e.to_string())?;
                if hex(&m.info_hash) != hash {
                    return Err("its info-hash is not its name".to_owned());
                }
                Ok(Source::Magnet(m))
            });
        let source = match link {
            Ok(s) => s,
            Err(reason) => {
                problems.push(quarantine(
                    &mpath,
                    &reason,
                    "moved aside; this torrent is not restored (add it again)",
                ));
                if rpath.exists() {
                    problems.push(quarantine(
                        &rpath,
                        "its magnet link is unusable",
                        "moved aside",
                    ));
                }
                return None;
            }
        };
        let record = self.load_record(hash, &source, problems);
        Some(Stored { source, record })
    }

    fn load_one(&self, hash: &str, problems: &mut Vec<StateProblem>) -> Option<Stored> {
        let tpath = self.torrent_file(hash);
        let rpath = self.record_file(hash);
        let meta = read_bounded(&tpath, MAX_TORRENT_BYTES as u64 + 1)
            .map_err(|e| e.to_string())
            .and_then(|b| b.ok_or_else(|| "vanished".to_owned()))
            .and_then(|b| {
                if b.len() > MAX_TORRENT_BYTES {
                    return Err("larger than 20 MiB".to_owned());
                }
                let m = Metainfo::from_bytes(&b).map_err(|e| e.to_string())?;
                if m.info_hash_hex() != hash {
                    return Err("its info-hash is not its name".to_owned());
                }
                Ok(m)
            });
        let meta = match meta {
            Ok(m) => m,
            Err(reason) => {
                problems.push(quarantine(
                    &tpath,
                    &reason,
                    "moved aside; this torrent is not restored (add it again)",
                ));
                if rpath.exists() {
                    problems.push(quarantine(
                        &rpath,
                        "its .torrent is unusable",
                        "moved aside",
                    ));
                }
                return None;
            }
        };
        let source = Source::Torrent(meta);
        let record = self.load_record(hash, &source, problems);
        Some(Stored { source, record })
    }

    /// The record of `hash`; `None` (moved aside and reported, with its
    /// resume file) when it is missing or unusable.
    fn load_record(
        &self,
        hash: &str,
        source: &Source,
        problems: &mut Vec<StateProblem>,
    ) -> Option<TorrentRecord> {
        let rpath = self.record_file(hash);
        let record = match read_bounded(&rpath, MAX_RECORD_BYTES) {
            Ok(Some(b)) => match serde_json::from_slice::<TorrentRecord>(&b) {
                Ok(r) => check_record(r, source),
                Err(e) => Err(e.to_string()),
            },
            Ok(None) => Err("missing".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        match record {
            Ok(r) => Some(r),
            Err(reason) => {
                let action = "restored with default settings and checked in full";
                if rpath.exists() {
                    problems.push(quarantine(&rpath, &reason, action));
                } else {
                    problems.push(StateProblem {
                        file: rpath,
                        reason,
                        action: action.into(),
                    });
                }
                // Its resume file may describe another save path: not trusted.
                let resume = self.resume_file(hash);
                if resume.exists() {
                    let _ = fs::rename(&resume, resume.with_extension("resume.corrupt"));
                }
                None
            }
        }
    }
}

/// A record that fits its torrent.
fn check_record(r: TorrentRecord, source: &Source) -> Result<TorrentRecord, String> {
    if r.version != VERSION {
        return Err(format!("unknown version {}", r.version));
    }
    if r.info_hash != source.info_hash_hex() {
        return Err("for another torrent".into());
    }
    if source
        .file_count()
        .is_some_and(|n| n != r.file_priorities.len())
    {
        return Err("wrong number of file priorities".into());
    }
    if r.id == 0 || !r.save_path.is_absolute() {
        return Err("bad id or save path".into());
    }
    Ok(r)
}

/// Moves `path` aside (`PATH.corrupt`, or `.corrupt.N` if taken) and says so.
fn quarantine(path: &Path, reason: &str, action: &str) -> StateProblem {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut target = path.with_file_name(format!("{}.corrupt", name.as_deref().unwrap_or("x")));
    let mut n = 1;
    while target.exists() && n < 1000 {
        target = path.with_file_name(format!("{}.corrupt.{n}", name.as_deref().unwrap_or("x")));
        n += 1;
    }
    let moved = fs::rename(path, &target);
    StateProblem {
        file: path.to_owned(),
        reason: reason.to_owned(),
        action: match moved {
            Ok(()) => format!("{action} (kept as {})", target.display()),
            Err(e) => format!("{action} (could not move it aside: {e})"),
        },
    }
}

/// The bytes of `path` (`None` if it does not exist), failing past `limit`.
fn read_bounded(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::other("too large"));
    }
    Ok(Some(bytes))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync,
/// rename over `path`, fsync of the folder. A crash leaves the old file or
/// the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
