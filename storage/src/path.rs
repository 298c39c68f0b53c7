//! The containment checks on a file's path components that keep a hostile
//! torrent inside the download root.

use std::path::{Component, Path, PathBuf};

use crate::{FileTable, StorageError};

/// Whether `c` is a single, plain path component: not empty, not `.` or
/// `..`, no separator (`/` or `\`), no NUL, no drive prefix or root.
pub(crate) fn is_safe_component(c: &str) -> bool {
    if c.is_empty() || c == "." || c == ".." || c.contains(['/', '\\', '\0']) {
        return false;
    }
    let mut comps = Path::new(c).components();
    matches!(
        (comps.next(), comps.next()),
        (Some(Component::Normal(_)), None)
    )
}

/// Checks that every file kept on disk has a path of safe components
/// only (see [`is_safe_component`]), so that joined under any root it stays
/// beneath it; else [`StorageError::PathEscapesRoot`] with the first such
/// path. O(files + folders): each folder is checked once.
pub(crate) fn check_paths(files: &FileTable) -> Result<(), StorageError> {
    let mut safe_dirs = Vec::with_capacity(files.folder_count());
    for d in 0..files.folder_count() {
        let (parent, name) = files.folder(d);
        // Parents come first.
        let parent_safe = parent.is_none_or(|p| safe_dirs[p]);
        safe_dirs.push(parent_safe && is_safe_component(name));
    }
    let bad = files.iter().find(|f| {
        f.on_disk() && !(is_safe_component(f.name()) && f.folder().is_none_or(|d| safe_dirs[d]))
    });
    match bad {
        Some(f) => Err(StorageError::PathEscapesRoot(PathBuf::from(
            f.path().to_string(),
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{FileAttrs, FileTableBuilder};

    /// Checks a table of a plain file, `parts`, and a padding file.
    fn join(parts: &[&str]) -> Result<(), StorageError> {
        let mut b = FileTableBuilder::new();
        b.push(&["ok", "a"], 1, FileAttrs::default()).unwrap();
        b.push(parts, 1, FileAttrs::default()).unwrap();
        let pad = FileAttrs {
            padding: true,
            ..FileAttrs::default()
        };
        b.push(&["..", ""], 1, pad).unwrap();
        check_paths(&b.build())
    }

    #[test]
    fn plain_paths_join() {
        join(&["a", "b.txt"]).unwrap();
        join(&["ok", "b.txt"]).unwrap();
        join(&["..a", "b..", "..."]).unwrap();
    }

    #[test]
    fn hostile_components_are_rejected() {
        for bad in [
            &[][..],
            &[""],
            &["."],
            &[".."],
            &["a", "..", "b"],
            &["/etc"],
            &["a/b"],
            &["a\\b"],
            &["a\0b"],
            &["ok", ""],
            &["ok", "..", "x"],
        ] {
            assert!(
                matches!(join(bad), Err(StorageError::PathEscapesRoot(_))),
                "{bad:?} accepted"
            );
        }
    }
}
