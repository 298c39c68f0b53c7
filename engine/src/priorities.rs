//! File priorities (what a user chooses) to piece priorities (what the
//! picker uses).

use monsoon_storage::{Layout, StorageError};

use crate::error::EngineError;

/// The storage layout of a torrent's files: over the metainfo's own file
/// table (shared, not copied). Symbolic links (BEP 47) have no data and
/// are not created yet: storage skips them as it skips padding.
pub(crate) fn layout_of(meta: &crate::Metainfo) -> Result<Layout, StorageError> {
    Layout::from_table(meta.files.clone(), meta.piece_length)
}

/// Piece priorities from file priorities: a piece gets the highest priority
/// of the (non-padding) files it overlaps. `None`: every piece at 1.
///
/// # Errors
/// [`EngineError::PriorityCount`] if there is not one priority per file.
pub(crate) fn piece_priorities(
    layout: &Layout,
    files: Option<&[u8]>,
) -> Result<Vec<u8>, EngineError> {
    let n = layout.piece_count() as usize;
    let Some(files) = files else {
        return Ok(vec![1; n]);
    };
    if files.len() != layout.files().len() {
        return Err(EngineError::PriorityCount {
            given: files.len(),
            files: layout.files().len(),
        });
    }
    let mut prio = vec![0u8; n];
    for (i, f) in layout.files().iter().enumerate() {
        if f.is_padding() || f.length() == 0 {
            continue;
        }
        for p in layout.file_pieces(i) {
            prio[p as usize] = prio[p as usize].max(files[i]);
        }
    }
    Ok(prio)
}
