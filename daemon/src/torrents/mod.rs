//! The daemon's torrents: the engine session, each torrent's handle and
//! record, kept in step with the state directory. Every change a client
//! asks for goes to the engine, then to the record on disk.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use monsoon_engine::{
    AddTorrentOptions, Metainfo, SeedLimits, Session, Stats, TorrentHandle, TorrentState,
};
use tokio::sync::{RwLock, broadcast};
use tracing::{info, warn};

use crate::config::DaemonConfig;
use crate::error::DaemonError;
use crate::paths::resolve_inside;
use crate::state::{
    MAX_TORRENT_BYTES, Settings, Source, StateDir, StateProblem, TorrentRecord, unix_now,
};
use crate::storage::CountingStorage;

mod edit;
mod magnet;

use magnet::stand_in;

/// File priority levels (the engine's numbers: 0 skips, higher goes first).
pub(crate) const PRIO_LOW: u8 = 1;
pub(crate) const PRIO_NORMAL: u8 = 4;
pub(crate) const PRIO_HIGH: u8 = 7;
/// How long a torrent counts as recently active after it moved data or
/// changed state (Transmission's `recently-active`).
const RECENT: Duration = Duration::from_secs(60);
/// Most files of one torrent kept open at once.
const MAX_OPEN_PER_TORRENT: usize = 32;

/// What happened, for the event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Added(u32),
    Updated(u32),
    Removed { id: u32, hash: String },
    Session,
}

/// One torrent of the daemon.
struct Entry {
    handle: TorrentHandle,
    record: TorrentRecord,
    /// Its metainfo; for a magnet link whose metadata has not arrived, a
    /// stand-in with its name and trackers and no files (`has_meta` false).
    meta: Arc<Metainfo>,
    has_meta: bool,
    read: Arc<AtomicU64>,
    active: Instant,
    watcher: tokio::task::JoinHandle<()>,
}

/// A torrent as a client sees it, at one moment.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) record: TorrentRecord,
    /// No files and no pieces while a magnet link's metadata is fetched.
    pub(crate) meta: Arc<Metainfo>,
    pub(crate) has_meta: bool,
    pub(crate) stats: Stats,
    /// Bytes read from its files since the daemon started it.
    pub(crate) bytes_read: u64,
    pub(crate) recently_active: bool,
}

/// A torrent named by a client: its id or its info-hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TorrentRef {
    Id(u32),
    Hash(String),
}

impl TorrentRef {
    /// `42` or a 40-digit hex info-hash.
    pub(crate) fn parse(s: &str) -> Result<Self, DaemonError> {
        if let Ok(id) = s.parse::<u32>() {
            return Ok(TorrentRef::Id(id));
        }
        if s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(TorrentRef::Hash(s.to_ascii_lowercase()));
        }
        Err(DaemonError::NotFound(format!(
            "{s:?} (give a torrent id or a 40-digit info-hash)"
        )))
    }
}

/// What a client asks to add.
#[derive(Debug, Default)]
pub(crate) struct AddRequest {
    pub(crate) torrent: Vec<u8>,
    /// A magnet link instead of `torrent`.
    pub(crate) magnet: Option<String>,
    pub(crate) category: String,
    pub(crate) save_path: Option<PathBuf>,
    pub(crate) paused: bool,
    pub(crate) labels: Vec<String>,
    pub(crate) file_priorities: Option<Vec<u8>>,
}

/// The outcome of an add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Added {
    New(u32),
    Duplicate(u32),
}

pub(crate) struct Inner {
    torrents: BTreeMap<u32, Entry>,
    settings: Settings,
    /// Recently removed ids, for `recently-active`.
    removed: VecDeque<(u32, Instant)>,
    /// Payload moved this run by torrents removed since (up, down).
    removed_bytes: (u64, u64),
}

/// The daemon's torrents and session settings.
pub(crate) struct Torrents {
    session: RwLock<Option<Session>>,
    state: StateDir,
    cfg: DaemonConfig,
    inner: Mutex<Inner>,
    /// Serialises adds: two adds of one torrent cannot both write its files.
    add_lock: tokio::sync::Mutex<()>,
    /// Serialises writes to the state directory. Each write copies the
    /// newest record or settings *under* it, so an older copy never lands
    /// after a newer one, and a removed torrent's record is not written
    /// back after its files were deleted.
    writes: Mutex<()>,
    events: broadcast::Sender<Event>,
    problems: Mutex<Vec<StateProblem>>,
    started: Instant,
    me: Weak<Torrents>,
}

impl Torrents {
    /// Opens the state directory, starts the session and restores every
    /// torrent in it (fast resume from each one's resume file).
    pub(crate) async fn open(cfg: DaemonConfig) -> Result<Arc<Self>, DaemonError> {
        let state = StateDir::open(&cfg.state_dir).map_err(|source| DaemonError::State {
            path: cfg.state_dir.clone(),
            source,
        })?;
        std::fs::create_dir_all(&cfg.download_dir).map_err(|source| DaemonError::State {
            path: cfg.download_dir.clone(),
            source,
        })?;
        let (mut settings, problem) = state.load_settings();
        let mut problems: Vec<StateProblem> = problem.into_iter().collect();
        settings.cumulative.session_count += 1;
        let mut session_cfg = cfg.session.clone();
        session_cfg.max_upload_rate = settings.upload_limit;
        session_cfg.max_download_rate = settings.download_limit;
        let listen = session_cfg.listen_addr;
        let session = Session::new(session_cfg).await.map_err(|e| match e {
            monsoon_engine::EngineError::Io(source) => DaemonError::Bind {
                addr: listen,
                source,
            },
            e => DaemonError::Engine(e),
        })?;
        let (stored, found) = state.load_all();
        problems.extend(found);
        let (events, _) = broadcast::channel(1024);
        let this = Arc::new_cyclic(|me| Torrents {
            session: RwLock::new(Some(session)),
            state,
            cfg,
            inner: Mutex::new(Inner {
                torrents: BTreeMap::new(),
                settings,
                removed: VecDeque::new(),
                removed_bytes: (0, 0),
            }),
            add_lock: tokio::sync::Mutex::new(()),
            writes: Mutex::new(()),
            events,
            problems: Mutex::new(Vec::new()),
            started: Instant::now(),
            me: me.clone(),
        });
        for s in stored {
            let hash = s.source.info_hash_hex();
            if let Err(e) = this.restore(s).await {
                problems.push(StateProblem {
                    file: this
                        .state
                        .root()
                        .join("torrents")
                        .join(format!("{hash}.json")),
                    reason: e.to_string(),
                    action: "not started this run (its files are kept)".into(),
                });
            }
        }
        for p in &problems {
            warn!(problem = %p, "state directory");
        }
        this.persist_settings();
        *this.problems.lock().unwrap_or_else(|e| e.into_inner()) = problems;
        info!(
            torrents = this.lock().torrents.len(),
            state_dir = %this.state.root().display(),
            "session restored"
        );
        Ok(this)
    }

    async fn restore(&self, s: crate::state::Stored) -> Result<(), DaemonError> {
        let record = match s.record {
            Some(r) => r,
            None => {
                let id = self.next_id();
                let r = match &s.source {
                    Source::Torrent(m) => TorrentRecord::new(id, m, self.default_dir()),
                    Source::Magnet(..) => {
                        TorrentRecord::for_hash(id, s.source.info_hash_hex(), self.magnet_dir())
                    }
                };
                let _w = self.write_lock();
                self.state
                    .save_record(&r)
                    .map_err(|source| self.state_err(source))?;
                r
            }
        };
        let id = record.id;
        {
            let mut inner = self.lock();
            if inner.torrents.contains_key(&id) {
                return Err(DaemonError::BadRequest(format!("id {id} is used twice")));
            }
            if inner.settings.next_id <= id {
                inner.settings.next_id = id + 1;
            }
        }
        self.start(record, s.source).await
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state_err(&self, source: std::io::Error) -> DaemonError {
        DaemonError::State {
            path: self.state.root().to_owned(),
            source,
        }
    }

    fn next_id(&self) -> u32 {
        let mut inner = self.lock();
        let id = inner.settings.next_id;
        inner.settings.next_id += 1;
        drop(inner);
        self.persist_settings();
        id
    }

    fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the current settings.
    fn persist_settings(&self) {
        let _w = self.write_lock();
        let s = self.lock().settings.clone();
        if let Err(e) = self.state.save_settings(&s) {
            warn!(error = %e, "cannot save the session settings");
        }
    }

    /// Writes torrent `id`'s current record (nothing once it is removed).
    fn persist_record(&self, id: u32) -> Result<(), DaemonError> {
        let _w = self.write_lock();
        let Some(r) = self.lock().torrents.get(&id).map(|e| e.record.clone()) else {
            return Ok(());
        };
        self.state
            .save_record(&r)
            .map_err(|source| self.state_err(source))
    }

    /// The folder torrents go to unless told otherwise.
    pub(crate) fn default_dir(&self) -> PathBuf {
        let inner = self.lock();
        let dir = inner.settings.download_dir.clone();
        drop(inner);
        let dir = dir.unwrap_or_else(|| self.cfg.download_dir.clone());
        std::fs::canonicalize(&dir).unwrap_or(dir)
    }

    /// Where a magnet link's files go: the session's download root (the
    /// engine sets up their storage there once the metadata arrives).
    pub(crate) fn magnet_dir(&self) -> PathBuf {
        let dir = self.cfg.session.download_root.clone();
        std::fs::canonicalize(&dir).unwrap_or(dir)
    }

    /// Whether the session looks for peers on the local network (BEP 14).
    pub(crate) fn lsd_enabled(&self) -> bool {
        self.cfg.session.lsd.is_some()
    }

    /// The session's peer limits: (all torrents, one torrent).
    pub(crate) fn peer_limits(&self) -> (usize, usize) {
        let s = &self.cfg.session;
        (s.max_peers, s.max_peers_per_torrent)
    }

    /// Whether the session runs a DHT node.
    pub(crate) fn dht_enabled(&self) -> bool {
        self.cfg.session.dht.is_some()
    }

    /// The folders clients may name.
    pub(crate) fn allowed(&self) -> Vec<PathBuf> {
        self.cfg.allowed()
    }

    /// Resolves a client's folder, which must be inside an allowed one.
    pub(crate) fn resolve(&self, requested: &Path) -> Result<PathBuf, DaemonError> {
        Ok(resolve_inside(
            requested,
            &self.default_dir(),
            &self.allowed(),
        )?)
    }

    /// What the state directory held that could not be used.
    pub(crate) fn problems(&self) -> Vec<StateProblem> {
        self.problems
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn settings(&self) -> Settings {
        self.lock().settings.clone()
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    pub(crate) fn state_dir(&self) -> &Path {
        self.state.root()
    }

    pub(crate) async fn listen_port(&self) -> Option<u16> {
        self.session
            .read()
            .await
            .as_ref()
            .map(|s| s.listen_addr().port())
    }

    /// Starts `record`'s torrent in the engine and keeps it.
    async fn start(&self, record: TorrentRecord, source: Source) -> Result<(), DaemonError> {
        let read = Arc::new(AtomicU64::new(0));
        std::fs::create_dir_all(&record.save_path).map_err(|source| DaemonError::State {
            path: record.save_path.clone(),
            source,
        })?;
        let settings = self.settings();
        let mut opts = AddTorrentOptions::default();
        if let Source::Torrent(meta) = &source {
            let storage = CountingStorage::open(
                &record.save_path,
                meta,
                self.cfg
                    .session
                    .max_open_files
                    .clamp(1, MAX_OPEN_PER_TORRENT),
                read.clone(),
            )?;
            opts.storage = Some(Arc::new(storage));
            opts.file_priorities = Some(record.file_priorities.clone());
        } else {
            // A magnet link: the engine opens the files once it knows them.
            opts.download_root = Some(record.save_path.clone());
        }
        opts.paused = record.paused;
        opts.max_upload_rate = record.upload_limit;
        opts.max_download_rate = record.download_limit;
        opts.seed_limits = seed_limits(&record, &settings);
        opts.resume_file = Some(self.state.resume_file(&record.info_hash));
        let stand_in = match &source {
            Source::Magnet(m) => Some(Arc::new(stand_in(m))),
            Source::Torrent(_) => None,
        };
        let handle = {
            let session = self.session.read().await;
            let session = session.as_ref().ok_or(DaemonError::ShuttingDown)?;
            match source {
                Source::Torrent(meta) => session.add_torrent(meta, opts).await?,
                Source::Magnet(m) => session.add_magnet(m, opts).await?,
            }
        };
        let (meta, has_meta) = match handle.metainfo() {
            Some(m) => (m, true),
            None => (
                stand_in
                    .ok_or_else(|| DaemonError::BadRequest("the torrent has no metainfo".into()))?,
                false,
            ),
        };
        let id = record.id;
        let watcher = tokio::spawn(watch(self.me.clone(), id, handle.subscribe()));
        self.lock().torrents.insert(
            id,
            Entry {
                handle,
                record,
                meta,
                has_meta,
                read,
                active: Instant::now(),
                watcher,
            },
        );
        let _ = self.events.send(Event::Added(id));
        Ok(())
    }

    /// Adds a torrent (its .torrent bytes), saving it to the state
    /// directory first.
    pub(crate) async fn add(&self, req: AddRequest) -> Result<Added, DaemonError> {
        if let Some(link) = req.magnet.clone() {
            return self.add_magnet(req, link).await;
        }
        if req.torrent.len() > MAX_TORRENT_BYTES {
            return Err(DaemonError::TooLarge);
        }
        let meta = Metainfo::from_bytes(&req.torrent)?;
        let hash = meta.info_hash_hex();
        let _guard = self.add_lock.lock().await;
        if let Ok(s) = self.get(&TorrentRef::Hash(hash.clone())) {
            return Ok(Added::Duplicate(s.record.id));
        }
        let save_path = match &req.save_path {
            Some(p) => self.resolve(p)?,
            None => self.default_dir(),
        };
        if let Some(p) = &req.file_priorities {
            if p.len() != meta.files.len() {
                return Err(DaemonError::BadRequest(format!(
                    "{} file priorities given for a torrent with {} files",
                    p.len(),
                    meta.files.len()
                )));
            }
        }
        let id = self.next_id();
        let mut record = TorrentRecord::new(id, &meta, save_path);
        record.file_priorities = req
            .file_priorities
            .unwrap_or_else(|| vec![PRIO_NORMAL; meta.files.len()]);
        record.paused = req.paused;
        record.labels = clean_labels(req.labels)?;
        record.category = self.check_category(&req.category)?;
        let saved = {
            let _w = self.write_lock();
            self.state.add(&record, &req.torrent)
        };
        saved.map_err(|source| self.state_err(source))?;
        if let Err(e) = self.start(record, Source::Torrent(meta)).await {
            let _w = self.write_lock();
            let _ = self.state.remove(&hash);
            return Err(e);
        }
        self.lock().settings.cumulative.files_added += 1;
        self.persist_settings();
        info!(id, %hash, "torrent added");
        Ok(Added::New(id))
    }

    fn find(inner: &Inner, r: &TorrentRef) -> Option<u32> {
        match r {
            TorrentRef::Id(id) => inner.torrents.contains_key(id).then_some(*id),
            TorrentRef::Hash(h) => inner
                .torrents
                .iter()
                .find(|(_, e)| &e.record.info_hash == h)
                .map(|(id, _)| *id),
        }
    }

    fn snapshot(e: &Entry) -> Snapshot {
        Snapshot {
            record: e.record.clone(),
            meta: e.meta.clone(),
            has_meta: e.has_meta,
            stats: e.handle.stats(),
            bytes_read: e.read.load(Ordering::Relaxed),
            recently_active: e.active.elapsed() < RECENT,
        }
    }

    /// Every torrent, by id.
    pub(crate) fn list(&self) -> Vec<Snapshot> {
        self.lock().torrents.values().map(Self::snapshot).collect()
    }

    /// One torrent.
    pub(crate) fn get(&self, r: &TorrentRef) -> Result<Snapshot, DaemonError> {
        let inner = self.lock();
        Self::find(&inner, r)
            .and_then(|id| inner.torrents.get(&id))
            .map(Self::snapshot)
            .ok_or_else(|| not_found(r))
    }

    /// Its engine handle.
    pub(crate) fn handle(&self, r: &TorrentRef) -> Result<(u32, TorrentHandle), DaemonError> {
        let inner = self.lock();
        Self::find(&inner, r)
            .and_then(|id| inner.torrents.get(&id).map(|e| (id, e.handle.clone())))
            .ok_or_else(|| not_found(r))
    }

    /// Ids removed in the last minute.
    pub(crate) fn recently_removed(&self) -> Vec<u32> {
        let mut inner = self.lock();
        while inner
            .removed
            .front()
            .is_some_and(|(_, t)| t.elapsed() > RECENT)
        {
            inner.removed.pop_front();
        }
        inner.removed.iter().map(|(id, _)| *id).collect()
    }

    /// Changes a torrent's record (and saves it).
    fn update(
        &self,
        id: u32,
        f: impl FnOnce(&mut TorrentRecord),
    ) -> Result<TorrentRecord, DaemonError> {
        let mut inner = self.lock();
        let e = inner
            .torrents
            .get_mut(&id)
            .ok_or_else(|| not_found(&TorrentRef::Id(id)))?;
        f(&mut e.record);
        e.active = Instant::now();
        let r = e.record.clone();
        drop(inner);
        self.persist_record(id)?;
        let _ = self.events.send(Event::Updated(id));
        Ok(r)
    }

    /// Removes a torrent (and its data when `delete`); returns when the
    /// engine has stopped it (and deleted the files).
    pub(crate) async fn remove(&self, r: &TorrentRef, delete: bool) -> Result<(), DaemonError> {
        let entry = {
            let mut inner = self.lock();
            let id = Self::find(&inner, r).ok_or_else(|| not_found(r))?;
            let e = inner.torrents.remove(&id).ok_or_else(|| not_found(r))?;
            let s = e.handle.stats();
            inner.removed_bytes.0 += s.uploaded;
            inner.removed_bytes.1 += s.downloaded;
            inner.removed.push_back((id, Instant::now()));
            e
        };
        entry.watcher.abort();
        let hash = entry.record.info_hash.clone();
        let _ = self.events.send(Event::Removed {
            id: entry.record.id,
            hash: hash.clone(),
        });
        let stopped = if delete {
            entry.handle.remove_and_delete().await
        } else {
            entry.handle.remove().await
        };
        let removed = {
            let _w = self.write_lock();
            self.state.remove(&hash)
        };
        removed.map_err(|source| self.state_err(source))?;
        info!(id = entry.record.id, %hash, delete, "torrent removed");
        match stopped {
            Ok(()) | Err(monsoon_engine::EngineError::Stopped) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Payload moved this run, all torrents (removed ones too): (up, down).
    pub(crate) fn session_bytes(&self) -> (u64, u64) {
        let inner = self.lock();
        let (mut up, mut down) = inner.removed_bytes;
        for e in inner.torrents.values() {
            let s = e.handle.stats();
            up += s.uploaded;
            down += s.downloaded;
        }
        (up, down)
    }

    /// Stops every torrent at once (each announces `stopped` and saves its
    /// resume data), then the session, within the configured grace.
    pub(crate) async fn shutdown(&self) {
        let (up, down) = self.session_bytes();
        let entries: Vec<Entry> = {
            let mut inner = self.lock();
            let c = &mut inner.settings.cumulative;
            c.uploaded += up;
            c.downloaded += down;
            c.seconds_active += self.started.elapsed().as_secs();
            std::mem::take(&mut inner.torrents).into_values().collect()
        };
        self.persist_settings();
        let deadline = tokio::time::Instant::now() + self.cfg.shutdown_grace;
        for e in &entries {
            e.watcher.abort();
        }
        let stops = entries.iter().map(|e| e.handle.remove());
        if tokio::time::timeout_at(deadline, futures_util::future::join_all(stops))
            .await
            .is_err()
        {
            warn!("torrents still stopping at the deadline; exiting anyway");
        }
        let session = self.session.write().await.take();
        if let Some(s) = session {
            let _ =
                tokio::time::timeout_at(deadline + Duration::from_millis(500), s.shutdown()).await;
        }
    }

    /// Called by a torrent's watcher on each new snapshot.
    fn on_stats(&self, id: u32, s: &Stats) {
        let arrived = {
            let inner = self.lock();
            let Some(e) = inner.torrents.get(&id) else {
                return;
            };
            if e.has_meta {
                None
            } else {
                e.handle.metainfo()
            }
        };
        if let Some(meta) = arrived {
            self.on_metadata(id, meta);
        }
        let mut inner = self.lock();
        let Some(e) = inner.torrents.get_mut(&id) else {
            return;
        };
        let mut save = false;
        if s.download_rate >= 1.0 || s.upload_rate >= 1.0 || s.state == TorrentState::Checking {
            e.active = Instant::now();
        }
        if s.state == TorrentState::Seeding && e.record.done.is_none() {
            e.record.done = Some(unix_now());
            save = true;
        }
        if s.state == TorrentState::Paused && s.seed_limit_reached && !e.record.paused {
            e.record.paused = true;
            save = true;
        }
        drop(inner);
        if save {
            if let Err(err) = self.persist_record(id) {
                warn!(error = %err, "cannot save a torrent's record");
            }
        }
        let _ = self.events.send(Event::Updated(id));
    }
}

/// Follows one torrent's snapshots until it goes.
async fn watch(me: Weak<Torrents>, id: u32, mut rx: tokio::sync::watch::Receiver<Stats>) {
    let mut last_state = None;
    while rx.changed().await.is_ok() {
        let s = rx.borrow_and_update().clone();
        let Some(t) = me.upgrade() else { return };
        if last_state != Some(s.state) {
            last_state = Some(s.state);
            if let Some(e) = t.lock().torrents.get_mut(&id) {
                e.active = Instant::now();
            }
        }
        t.on_stats(id, &s);
    }
}

/// The torrent's seeding limits: its own, else the session's.
fn seed_limits(r: &TorrentRecord, s: &Settings) -> SeedLimits {
    let ratio = r.seed_ratio.or(s.seed_ratio);
    let time = r
        .seed_time_secs
        .or(s.seed_time_secs)
        .map(Duration::from_secs);
    SeedLimits::new(ratio, time)
}

/// Labels: at most 64, each 1..=128 characters without control characters.
fn clean_labels(labels: Vec<String>) -> Result<Vec<String>, DaemonError> {
    if labels.len() > 64 {
        return Err(DaemonError::BadRequest("at most 64 labels".into()));
    }
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let l = l.trim().to_owned();
        if l.is_empty() || l.chars().count() > 128 || l.chars().any(char::is_control) {
            return Err(DaemonError::BadRequest(format!(
                "bad label {l:?} (1 to 128 characters, no control characters)"
            )));
        }
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

fn not_found(r: &TorrentRef) -> DaemonError {
    DaemonError::NotFound(match r {
        TorrentRef::Id(id) => id.to_string(),
        TorrentRef::Hash(h) => h.clone(),
    })
}
