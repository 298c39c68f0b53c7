//! Changes a client asks for on one torrent or the session: pause,
//! resume, recheck, file priorities, limits, labels, categories, the
//! default folder. Each goes to the engine, then to the record on disk.

use std::path::{Path, PathBuf};

use monsoon_engine::TorrentHandle;

use super::{Event, TorrentRef, Torrents, clean_labels, seed_limits};
use crate::error::DaemonError;
use crate::state::{Category, Settings, TorrentRecord};

impl Torrents {
    pub(crate) async fn pause(&self, r: &TorrentRef) -> Result<(), DaemonError> {
        let (id, h) = self.handle(r)?;
        h.pause().await?;
        self.update(id, |rec| rec.paused = true).map(drop)
    }

    pub(crate) async fn resume(&self, r: &TorrentRef) -> Result<(), DaemonError> {
        let (id, h) = self.handle(r)?;
        h.resume().await?;
        self.update(id, |rec| rec.paused = false).map(drop)
    }

    pub(crate) async fn recheck(&self, r: &TorrentRef) -> Result<(), DaemonError> {
        let (id, h) = self.handle(r)?;
        h.recheck().await?;
        self.update(id, |_| {}).map(drop)
    }

    /// Sets one priority per file (0: skip).
    pub(crate) async fn set_file_priorities(
        &self,
        r: &TorrentRef,
        prios: Vec<u8>,
    ) -> Result<(), DaemonError> {
        let (id, h) = self.handle(r)?;
        h.set_file_priorities(prios.clone()).await?;
        self.update(id, |rec| rec.file_priorities = prios).map(drop)
    }

    /// Changes a torrent's file priorities with `f` (given the current ones).
    pub(crate) async fn edit_file_priorities(
        &self,
        r: &TorrentRef,
        f: impl FnOnce(&mut Vec<u8>) -> Result<(), DaemonError>,
    ) -> Result<(), DaemonError> {
        let mut prios = self.get(r)?.record.file_priorities;
        f(&mut prios)?;
        self.set_file_priorities(r, prios).await
    }

    /// Sets a torrent's rate limits, bytes per second (0: none).
    pub(crate) async fn set_rate_limits(
        &self,
        r: &TorrentRef,
        upload: u64,
        download: u64,
    ) -> Result<(), DaemonError> {
        let (id, h) = self.handle(r)?;
        h.set_rate_limits(upload, download).await?;
        self.update(id, |rec| {
            rec.upload_limit = upload;
            rec.download_limit = download;
        })
        .map(drop)
    }

    /// Sets a torrent's own seeding limits (`None`: the session's).
    pub(crate) async fn set_seed_limits(
        &self,
        r: &TorrentRef,
        ratio: Option<f64>,
        time_secs: Option<u64>,
    ) -> Result<(), DaemonError> {
        let (id, h) = self.handle(r)?;
        let rec = self.update(id, |rec| {
            rec.seed_ratio = ratio;
            rec.seed_time_secs = time_secs;
        })?;
        h.set_seed_limits(seed_limits(&rec, &self.settings()))
            .await?;
        Ok(())
    }

    pub(crate) fn set_labels(
        &self,
        r: &TorrentRef,
        labels: Vec<String>,
    ) -> Result<(), DaemonError> {
        let (id, _) = self.handle(r)?;
        let labels = clean_labels(labels)?;
        self.update(id, |rec| rec.labels = labels).map(drop)
    }

    /// Sets the session's rate limits, bytes per second (0: none).
    pub(crate) async fn set_session_limits(&self, upload: u64, download: u64) {
        if let Some(s) = self.session.read().await.as_ref() {
            s.set_rate_limits(upload, download);
        }
        self.edit_settings(|s| {
            s.upload_limit = upload;
            s.download_limit = download;
        });
    }

    /// Sets the default seeding limits; torrents without their own follow.
    pub(crate) async fn set_session_seed_limits(&self, ratio: Option<f64>, time_secs: Option<u64>) {
        let settings = self.edit_settings(|s| {
            s.seed_ratio = ratio;
            s.seed_time_secs = time_secs;
        });
        let all: Vec<(TorrentHandle, TorrentRecord)> = self
            .lock()
            .torrents
            .values()
            .map(|e| (e.handle.clone(), e.record.clone()))
            .collect();
        for (h, rec) in all {
            let _ = h.set_seed_limits(seed_limits(&rec, &settings)).await;
        }
    }

    /// Sets the default download folder (inside the allowed ones).
    pub(crate) fn set_download_dir(&self, dir: &Path) -> Result<PathBuf, DaemonError> {
        let dir = self.resolve(dir)?;
        std::fs::create_dir_all(&dir).map_err(|source| DaemonError::State {
            path: dir.clone(),
            source,
        })?;
        let d = dir.clone();
        self.edit_settings(move |s| s.download_dir = Some(d));
        Ok(dir)
    }

    fn edit_settings(&self, f: impl FnOnce(&mut Settings)) -> Settings {
        let mut inner = self.lock();
        f(&mut inner.settings);
        let s = inner.settings.clone();
        drop(inner);
        self.persist_settings();
        let _ = self.events.send(Event::Session);
        s
    }

    /// The category `name` for a torrent: empty is none; one not known yet
    /// is created (as qBittorrent does on add).
    pub(crate) fn check_category(&self, name: &str) -> Result<String, DaemonError> {
        let name = name.trim();
        if name.is_empty() {
            return Ok(String::new());
        }
        let name = clean_category(name)?;
        if !self.lock().settings.categories.contains_key(&name) {
            self.create_category(&name, None)?;
        }
        Ok(name)
    }

    /// Creates (or, with `edit`, changes) a category and its save path.
    pub(crate) fn create_category(
        &self,
        name: &str,
        save_path: Option<&Path>,
    ) -> Result<(), DaemonError> {
        let name = clean_category(name)?;
        let path = match save_path.filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => Some(self.resolve(p)?),
            None => None,
        };
        self.edit_settings(|s| {
            s.categories.insert(name, Category { save_path: path });
        });
        Ok(())
    }
    /// Whether category `name` exists.
    pub(crate) fn has_category(&self, name: &str) -> bool {
        self.lock().settings.categories.contains_key(name)
    }

    /// Removes categories; torrents in them have none after.
    pub(crate) fn remove_categories(&self, names: &[String]) -> Result<(), DaemonError> {
        let ids: Vec<u32> = {
            let inner = self.lock();
            inner
                .torrents
                .iter()
                .filter(|(_, e)| names.contains(&e.record.category))
                .map(|(id, _)| *id)
                .collect()
        };
        for id in ids {
            self.update(id, |r| r.category.clear())?;
        }
        self.edit_settings(|s| {
            for n in names {
                s.categories.remove(n);
            }
        });
        Ok(())
    }

    /// Puts a torrent in a known category (empty: none).
    pub(crate) fn set_category(&self, r: &TorrentRef, name: &str) -> Result<(), DaemonError> {
        let (id, _) = self.handle(r)?;
        let name = name.trim().to_owned();
        if !name.is_empty() && !self.has_category(&name) {
            return Err(DaemonError::Conflict(format!(
                "no category {name:?} (create it first)"
            )));
        }
        self.update(id, |rec| rec.category = name).map(drop)
    }

    /// Where category `name` saves (`None`: no such category, or the
    /// default folder).
    pub(crate) fn category_path(&self, name: &str) -> Option<PathBuf> {
        self.lock()
            .settings
            .categories
            .get(name)
            .and_then(|c| c.save_path.clone())
    }
}

/// A category name: 1 to 128 characters, no control characters, no empty
/// path components (qBittorrent's subcategories are `a/b`).
fn clean_category(name: &str) -> Result<String, DaemonError> {
    let name = name.trim();
    let bad = name.is_empty()
        || name.chars().count() > 128
        || name.chars().any(char::is_control)
        || name.split('/').any(|c| c.trim().is_empty());
    if bad {
        return Err(DaemonError::BadRequest(format!(
            "bad category name {name:?} (1 to 128 characters, no control characters, \
             no empty parts between slashes)"
        )));
    }
    Ok(name.to_owned())
}
