//! Joining a file's path components under the download root, with the
//! containment checks that keep a hostile torrent inside it.

use std::path::{Component, Path, PathBuf};

use crate::StorageError;

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

/// Joins `components` under `root`, rejecting anything that could resolve
/// outside it with [`StorageError::PathEscapesRoot`].
pub(crate) fn join_under(root: &Path, components: &[String]) -> Result<PathBuf, StorageError> {
    let display = || PathBuf::from(components.join("/"));
    if components.is_empty() || !components.iter().all(|c| is_safe_component(c)) {
        return Err(StorageError::PathEscapesRoot(display()));
    }
    let mut path = root.to_path_buf();
    for c in components {
        path.push(c);
    }
    // Second check on the result: it must be the root plus exactly the
    // components given, all of them plain names.
    let rest = path
        .strip_prefix(root)
        .map_err(|_| StorageError::PathEscapesRoot(display()))?;
    let plain = rest.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain || rest.components().count() != components.len() {
        return Err(StorageError::PathEscapesRoot(display()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(parts: &[&str]) -> Result<PathBuf, StorageError> {
        let parts: Vec<String> = parts.iter().map(|s| (*s).to_owned()).collect();
        join_under(Path::new("/dl"), &parts)
    }

    #[test]
    fn plain_paths_join() {
        assert_eq!(join(&["a", "b.txt"]).unwrap(), PathBuf::from("/dl/a/b.txt"));
        assert_eq!(
            join(&["..a", "b..", "..."]).unwrap(),
            PathBuf::from("/dl/..a/b../...")
        );
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
        ] {
            assert!(
                matches!(join(bad), Err(StorageError::PathEscapesRoot(_))),
                "{bad:?} accepted"
            );
        }
    }
}
