//! Path sanitising: turning untrusted path components from a .torrent into
//! names that always stay inside the download folder.
//!
//! The rules are libtorrent's (`sanitize_append_path_element` in
//! `torrent_info.cpp`, as on Unix), so a torrent lands at the same paths in
//! monsoon and in libtorrent-based clients:
//! - a component that is `.` or `..`, or that is left with nothing but at
//!   most two dots once filtered, is **dropped** (it would mean "this
//!   folder" or "the parent", neither of which is a name);
//! - an empty component becomes `_`;
//! - `/`, `\` and NUL inside a component are removed (a component is one
//!   name, never a path of its own), so absolute paths cannot be formed:
//!   every component is joined under the root and none of them can be a
//!   root; so are the Unicode direction overrides (U+202A–U+202E, U+200E,
//!   U+200F) that can disguise a file's extension;
//! - other control characters below U+0020 become `_`, and so does each
//!   invalid UTF-8 sequence;
//! - a component longer than [`MAX_COMPONENT_LEN`] bytes is cut there,
//!   keeping an extension found in its last 9 bytes.

use std::borrow::Cow;
use std::path::{Component, Path};

/// Bytes of a component kept before it is cut (libtorrent's limit; most
/// file systems allow 255). An extension is appended after the cut.
pub(crate) const MAX_COMPONENT_LEN: usize = 240;

/// Sanitises one raw path component. Returns `None` when the component must
/// be dropped. A component that needs no change (the usual case) is
/// borrowed, not copied.
pub(crate) fn sanitize_component(raw: &[u8]) -> Option<Cow<'_, str>> {
    if let Ok(s) = std::str::from_utf8(raw) {
        let plain = !s.is_empty()
            && s != "."
            && s != ".."
            // Shorter than the cut, so never cut.
            && s.len() < MAX_COMPONENT_LEN
            && !s.chars().any(|c| (c as u32) < 0x20 || is_filtered(c));
        if plain {
            return Some(Cow::Borrowed(s));
        }
    }
    sanitize_slow(raw).map(Cow::Owned)
}

/// [`sanitize_component`] for a component that may change.
fn sanitize_slow(raw: &[u8]) -> Option<String> {
    if raw == b"." {
        return None;
    }
    if raw.is_empty() {
        return Some("_".to_owned());
    }
    let mut out = String::with_capacity(raw.len().min(MAX_COMPONENT_LEN + 16));
    let mut added = 0usize;
    let mut dots = 0usize;
    let mut found_extension = false;
    let mut i = 0usize;
    while i < raw.len() {
        let (c, len) = next_char(&raw[i..]);
        match c {
            Some(c) if is_filtered(c) => {}
            Some(c) if (c as u32) >= 0x20 => {
                out.push(c);
                added += len;
                if c == '.' {
                    dots += 1;
                }
                if added >= MAX_COMPONENT_LEN && !found_extension {
                    // Keep an extension: a dot in the last 9 bytes, after here.
                    let lower = raw.len().saturating_sub(10).max(i);
                    match (lower + 1..raw.len()).rev().find(|&j| raw[j] == b'.') {
                        Some(dot) => {
                            found_extension = true;
                            i = dot;
                            continue;
                        }
                        None => break,
                    }
                }
            }
            _ => {
                out.push('_');
                added += 1;
            }
        }
        i += len;
    }
    if added == dots && added <= 2 {
        return None;
    }
    Some(out)
}

/// The first character of `bytes` and the number of bytes it takes, or
/// `None` and the bytes to skip for an invalid sequence (libtorrent's
/// `parse_utf8_codepoint`: the lead byte says how many bytes to skip).
fn next_char(bytes: &[u8]) -> (Option<char>, usize) {
    let b = bytes[0];
    let len = match b {
        0x00..=0x7f => return (Some(char::from(b)), 1),
        _ if b >> 5 == 0b110 => 2,
        _ if b >> 4 == 0b1110 => 3,
        _ if b >> 3 == 0b11110 => 4,
        _ if b >> 2 == 0b11_1110 => return (None, 5),
        _ => return (None, 1),
    };
    if len > bytes.len() {
        return (None, bytes.len());
    }
    let c = std::str::from_utf8(&bytes[..len])
        .ok()
        .and_then(|s| s.chars().next());
    (c, len)
}

/// Characters removed from names: path separators, NUL, and the Unicode
/// direction controls.
fn is_filtered(c: char) -> bool {
    matches!(
        c,
        '\0' | '/' | '\\' | '\u{202a}'..='\u{202e}' | '\u{200e}' | '\u{200f}'
    )
}

/// Decodes raw bytes as libtorrent does for text (comments): each invalid
/// UTF-8 sequence becomes `_`.
pub(crate) fn decode_utf8(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (c, len) = next_char(&bytes[i..]);
        out.push(c.unwrap_or('_'));
        i += len;
    }
    out
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

    fn s(raw: &[u8]) -> Option<String> {
        let fast = sanitize_component(raw).map(Cow::into_owned);
        // The borrowed shortcut agrees with the full rules.
        assert_eq!(fast, sanitize_slow(raw), "{raw:?}");
        fast
    }

    #[test]
    fn drops_dot_components() {
        assert_eq!(s(b"."), None);
        assert_eq!(s(b".."), None);
        assert_eq!(s(b"/"), None);
        assert_eq!(s(b"./"), None);
        assert_eq!(s("..\u{202e}".as_bytes()), None);
        assert_eq!(s(b"...").as_deref(), Some("..."));
        assert_eq!(s(b"").as_deref(), Some("_"));
    }

    #[test]
    fn removes_separators_and_replaces_controls() {
        assert_eq!(s(b"a/b\\c").as_deref(), Some("abc"));
        assert_eq!(s(b"\0"), None);
        assert_eq!(s(b"n\0x").as_deref(), Some("nx"));
        assert_eq!(s(b"x\ny\x7f").as_deref(), Some("x_y\x7f"));
        assert_eq!(
            s("evil\u{202e}gpj.exe".as_bytes()).as_deref(),
            Some("evilgpj.exe")
        );
    }

    #[test]
    fn invalid_utf8_sequences_become_underscores() {
        // A lone continuation byte, a truncated 3-byte sequence, an overlong
        // encoding, a surrogate, and a 5-byte lead.
        assert_eq!(s(b"a\x80b").as_deref(), Some("a_b"));
        assert_eq!(s(b"a\xe2\x82").as_deref(), Some("a_"));
        assert_eq!(s(b"\xc0\xafx").as_deref(), Some("_x"));
        assert_eq!(s(b"\xed\xa0\x80z").as_deref(), Some("_z"));
        assert_eq!(s(b"\xf8abcdef").as_deref(), Some("_ef"));
        assert_eq!(decode_utf8(b"caf\xe9"), "caf_");
        assert_eq!(decode_utf8("café".as_bytes()), "café");
    }

    #[test]
    fn truncates_long_names_keeping_extension() {
        let long = format!("{}.mkv", "é".repeat(200));
        let out = s(long.as_bytes()).unwrap();
        assert_eq!(out, format!("{}.mkv", "é".repeat(120)));
        let out = s("x".repeat(300).as_bytes()).unwrap();
        assert_eq!(out.len(), MAX_COMPONENT_LEN);
    }

    #[test]
    fn containment() {
        assert!(is_contained(Path::new("a/b")));
        assert!(!is_contained(Path::new("/a")));
        assert!(!is_contained(Path::new("a/../b")));
        assert!(!is_contained(Path::new("")));
    }

    proptest::proptest! {
        #[test]
        fn the_shortcut_follows_the_rules(
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            text in "[a-z.\\\\/ \\x00-\\x1f\u{202a}-\u{202e}é]{0,260}",
            plain in "[a-z.é]{200,260}",
        ) {
            s(&raw);
            s(text.as_bytes());
            s(plain.as_bytes());
        }
    }
}
