//! Magnet links in the daemon: added with a stand-in metainfo (name,
//! trackers, no files), saved as `HASH.magnet`, and given their real
//! metainfo and a `.torrent` in the state directory once peers sent it.

use std::sync::Arc;

use monsoon_engine::{Magnet, Metainfo};
use tracing::{info, warn};

use super::{AddRequest, Added, PRIO_NORMAL, TorrentRef, Torrents, clean_labels};
use crate::error::DaemonError;
use crate::state::{MAX_MAGNET_BYTES, Source, TorrentRecord, hex};

impl Torrents {
    /// Adds a magnet link: its files go to the save path asked for (inside
    /// an allowed folder) or [`Torrents::magnet_dir`], and its .torrent is
    /// saved once the metadata arrives.
    pub(super) async fn add_magnet(
        &self,
        req: AddRequest,
        link: String,
    ) -> Result<Added, DaemonError> {
        let link = link.trim().to_owned();
        if link.len() > MAX_MAGNET_BYTES {
            return Err(DaemonError::TooLarge);
        }
        let magnet = Magnet::parse(&link)
            .map_err(|e| DaemonError::BadRequest(format!("not a usable magnet link: {e}")))?;
        let hash = hex(&magnet.info_hash);
        let _guard = self.add_lock.lock().await;
        if let Ok(s) = self.get(&TorrentRef::Hash(hash.clone())) {
            return Ok(Added::Duplicate(s.record.id));
        }
        let dir = match &req.save_path {
            Some(p) => self.resolve(p)?,
            None => self.magnet_dir(),
        };
        if req.file_priorities.is_some() {
            return Err(DaemonError::BadRequest(
                "a magnet link's files are not known yet: set priorities once it has its metadata"
                    .into(),
            ));
        }
        let id = self.next_id();
        let mut record = TorrentRecord::for_hash(id, hash.clone(), dir);
        record.paused = req.paused;
        record.labels = clean_labels(req.labels)?;
        record.category = self.check_category(&req.category)?;
        let saved = {
            let _w = self.write_lock();
            self.state.add_magnet(&record, &link)
        };
        saved.map_err(|source| self.state_err(source))?;
        if let Err(e) = self.start(record, Source::Magnet(magnet)).await {
            let _w = self.write_lock();
            let _ = self.state.remove(&hash);
            return Err(e);
        }
        self.lock().settings.cumulative.files_added += 1;
        self.persist_settings();
        info!(id, %hash, "magnet link added");
        Ok(Added::New(id))
    }

    /// A magnet link's metadata arrived (seen by its watcher): the entry
    /// gets the real metainfo and every file wanted (or those the link
    /// selects), and the state directory its .torrent.
    pub(super) fn on_metadata(&self, id: u32, meta: Arc<Metainfo>) {
        let mut inner = self.lock();
        let Some(e) = inner.torrents.get_mut(&id) else {
            return;
        };
        if e.has_meta {
            return;
        }
        e.meta = meta.clone();
        e.has_meta = true;
        e.record.file_priorities = vec![PRIO_NORMAL; meta.files.len()];
        let hash = e.record.info_hash.clone();
        drop(inner);
        let torrent = torrent_file(&meta);
        let saved = {
            let _w = self.write_lock();
            self.state.metadata_arrived(&hash, &torrent)
        };
        if let Err(err) = saved.map_err(|source| self.state_err(source)) {
            warn!(error = %err, "cannot save a magnet link's metadata");
        }
        if let Err(err) = self.persist_record(id) {
            warn!(error = %err, "cannot save a torrent's record");
        }
        info!(id, %hash, name = %meta.name, "metadata received");
    }
}

/// What the daemon shows of a magnet link before its metadata: its name
/// (or info-hash) and trackers, no files, no pieces.
pub(super) fn stand_in(m: &Magnet) -> Metainfo {
    Metainfo {
        info_hash: m.info_hash,
        info_hash_v2: m.info_hash_v2,
        version: monsoon_engine::MetaVersion::V1,
        name: m.display_name.clone().unwrap_or_else(|| hex(&m.info_hash)),
        piece_length: 0,
        pieces: Vec::new(),
        files: monsoon_storage::FileTable::default(),
        total_length: 0,
        multi_file: false,
        trackers: if m.trackers.is_empty() {
            Vec::new()
        } else {
            vec![m.trackers.clone()]
        },
        url_list: Vec::new(),
        private: false,
        creation_date: None,
        comment: None,
        created_by: None,
        info_bytes: Vec::new(),
        piece_layers: Default::default(),
    }
}

/// A .torrent for metadata fetched from peers: its trackers and the info
/// dictionary exactly as received (so the info-hash is the same).
fn torrent_file(meta: &Metainfo) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(format!("{}:", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
    let mut out = b"d".to_vec();
    if let Some(first) = meta.trackers.iter().flatten().next() {
        string(&mut out, b"announce");
        string(&mut out, first.as_bytes());
        string(&mut out, b"announce-list");
        out.push(b'l');
        for tier in &meta.trackers {
            out.push(b'l');
            for url in tier {
                string(&mut out, url.as_bytes());
            }
            out.push(b'e');
        }
        out.push(b'e');
    }
    string(&mut out, b"info");
    out.extend_from_slice(&meta.info_bytes);
    out.push(b'e');
    out
}
