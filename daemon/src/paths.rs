//! Paths a client names on the daemon's host (a save path, a .torrent to
//! add) must lie inside an allowed download folder, symlinks resolved.

use std::path::{Component, Path, PathBuf};

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// It has a `..` component.
    #[error("{0}: `..` is not allowed in a path")]
    ParentComponent(PathBuf),
    /// Resolved (symlinks followed), it is outside every allowed folder.
    #[error("{0} is outside the allowed download folders")]
    Outside(PathBuf),
    /// Its folder cannot be resolved.
    #[error("{path}: {reason}")]
    Unresolvable {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
}

/// Resolves `requested` (relative: under `base`) to an absolute path with
/// every symlink of its existing part followed, and checks that it lies in
/// one of `allowed` (themselves resolved). The part that does not exist
/// yet has no `..` and no symlinks, so the result stays inside.
pub(crate) fn resolve_inside(
    requested: &Path,
    base: &Path,
    allowed: &[PathBuf],
) -> Result<PathBuf, PathError> {
    if requested
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(PathError::ParentComponent(requested.to_owned()));
    }
    let full = if requested.is_absolute() {
        requested.to_owned()
    } else {
        base.join(requested)
    };
    let resolved = resolve_existing_prefix(&full)?;
    let inside = allowed.iter().any(|dir| {
        std::fs::canonicalize(dir)
            .map(|d| resolved.starts_with(d))
            .unwrap_or(false)
    });
    if inside {
        Ok(resolved)
    } else {
        Err(PathError::Outside(requested.to_owned()))
    }
}

/// `path` with its longest existing ancestor canonicalised and the rest
/// appended (those components do not exist, so they are no symlinks).
fn resolve_existing_prefix(path: &Path) -> Result<PathBuf, PathError> {
    let mut existing = path.to_owned();
    let mut rest = Vec::new();
    loop {
        match std::fs::canonicalize(&existing) {
            Ok(real) => {
                let mut out = real;
                for c in rest.iter().rev() {
                    out.push(c);
                }
                return Ok(out);
            }
            Err(e) => {
                let Some(name) = existing.file_name().map(ToOwned::to_owned) else {
                    return Err(PathError::Unresolvable {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    });
                };
                rest.push(name);
                if !existing.pop() {
                    return Err(PathError::Unresolvable {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("monsoon-paths-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::canonicalize(d).unwrap()
    }

    #[test]
    fn inside_outside_dotdot_and_symlinks() {
        let root = scratch("a");
        let allowed = root.join("dl");
        std::fs::create_dir_all(allowed.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("secret")).unwrap();
        let ok = [allowed.clone()];
        assert_eq!(
            resolve_inside(Path::new("sub/new/deeper"), &allowed, &ok).unwrap(),
            allowed.join("sub/new/deeper")
        );
        assert_eq!(
            resolve_inside(&allowed.join("sub"), &allowed, &ok).unwrap(),
            allowed.join("sub")
        );
        assert!(matches!(
            resolve_inside(Path::new("sub/../../secret"), &allowed, &ok),
            Err(PathError::ParentComponent(_))
        ));
        assert!(matches!(
            resolve_inside(&root.join("secret"), &allowed, &ok),
            Err(PathError::Outside(_))
        ));
        // A symlink inside that points out is followed, and refused.
        std::os::unix::fs::symlink(root.join("secret"), allowed.join("escape")).unwrap();
        assert!(matches!(
            resolve_inside(Path::new("escape/x"), &allowed, &ok),
            Err(PathError::Outside(_))
        ));
        // A prefix of the name is not a parent: /x/dl2 is not inside /x/dl.
        std::fs::create_dir_all(root.join("dl2")).unwrap();
        assert!(matches!(
            resolve_inside(&root.join("dl2"), &allowed, &ok),
            Err(PathError::Outside(_))
        ));
        std::fs::remove_dir_all(root).unwrap();
    }
}
