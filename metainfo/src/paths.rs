//! Path sanitising: turning untrusted path components from a .torrent into
//! names that always stay inside the download folder.
//!
//! The rules follow libtorrent (`sanitize_append_path_element`):
//! - a component that is empty, `.` or `..` is **dropped** (it would mean
//!   "this directory" or "the parent", neither of which is a name);
//! - `/` and `\` inside a component become `_` (a component is one name,
//!   never a path of its own), so absolute paths cannot be formed: every
//!   component is joined under the root and none of them can be a root;
//! - control characters (including NUL) become `_`;
//! - bytes that are not UTF-8 become U+FFFD (lossy decoding) unless the
//!   torrent provides a `.utf-8` variant;
//! - a component longer than [`MAX_COMPONENT_LEN`] bytes is truncated on a
//!   character boundary, keeping a short extension.

use std::path::{Component, Path, PathBuf};

/// Longest file name (in bytes) kept; longer names are truncated (most file
/// systems limit a name to 255 bytes).
pub(crate) const MAX_COMPONENT_LEN: usize = 240;

/// Sanitises one path component. Returns `None` when the component must be
/// dropped (empty, `.`, `..`).
pub(crate) fn sanitize_component(raw: &str) -> Option<String> {
    if raw.is_empty() || raw == "." || raw == ".." {
        return None;
    }
    let mut out: String = raw
        .chars()
        .map(|c| match c {
            '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    if out.len() > MAX_COMPONENT_LEN {
        out = truncate_keeping_extension(&out);
    }
    Some(out)
}

fn truncate_keeping_extension(name: &str) -> String {
    let ext = match name.rfind('.') {
        Some(i) if name.len() - i <= 10 && i > 0 => &name[i..],
        _ => "",
    };
    let mut cut = MAX_COMPONENT_LEN - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &name[..cut])
}

/// Decodes raw bytes to a string, replacing invalid UTF-8 with U+FFFD.
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Joins sanitised components into a relative path. Every component has
/// been through [`sanitize_component`], so the result is relative and has
/// only `Normal` components.
pub(crate) fn join(components: &[String]) -> PathBuf {
    components.iter().collect()
}

/// Whether `path` is relative and made only of plain names (no root, no
/// prefix, no `.` or `..`): joined under any folder, it stays inside it.
pub fn is_contained(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
        && path.components().next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_dot_components() {
        assert_eq!(sanitize_component(""), None);
        assert_eq!(sanitize_component("."), None);
        assert_eq!(sanitize_component(".."), None);
        assert_eq!(sanitize_component("...").as_deref(), Some("..."));
    }

    #[test]
    fn replaces_separators_and_controls() {
        assert_eq!(sanitize_component("a/b\\c").as_deref(), Some("a_b_c"));
        assert_eq!(sanitize_component("/").as_deref(), Some("_"));
        assert_eq!(sanitize_component("\0").as_deref(), Some("_"));
        assert_eq!(sanitize_component("x\ny").as_deref(), Some("x_y"));
    }

    #[test]
    fn truncates_long_names_keeping_extension() {
        let long = format!("{}.mkv", "é".repeat(200));
        let s = sanitize_component(&long).unwrap();
        assert!(s.len() <= MAX_COMPONENT_LEN);
        assert!(s.ends_with(".mkv"));
    }

    #[test]
    fn containment() {
        assert!(is_contained(Path::new("a/b")));
        assert!(!is_contained(Path::new("/a")));
        assert!(!is_contained(Path::new("a/../b")));
        assert!(!is_contained(Path::new("")));
    }
}
