//! The v1 file list: `files` (multi-file) or `length` (single file), with
//! BEP 47 attributes, as libtorrent reads them (`extract_single_file`).

use std::borrow::Cow;

use monsoon_bencode::{Dict, Value};
use monsoon_storage::{FileAttrs, FileTable, FileTableBuilder, StorageError};

use crate::error::MetainfoError;
use crate::parse::{MAX_FILE_LENGTH, MAX_PATH_DEPTH};
use crate::paths::sanitize_component;

/// BEP 47 `attr` flags.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Attr {
    pub(crate) padding: bool,
    pub(crate) executable: bool,
    pub(crate) hidden: bool,
    pub(crate) symlink: bool,
}

impl Attr {
    /// The flags of a file dictionary's `attr` string (unknown letters, and
    /// an `attr` that is not a string, are ignored).
    pub(crate) fn of(d: &Dict<'_>) -> Attr {
        let mut a = Attr::default();
        for c in d.get_bytes(b"attr").unwrap_or_default() {
            match c {
                b'p' => a.padding = true,
                b'x' => a.executable = true,
                b'h' => a.hidden = true,
                b'l' => a.symlink = true,
                _ => {}
            }
        }
        a
    }
}

/// The files of a v1 (or the v1 half of a hybrid) torrent, each with its
/// full sanitised path, and whether the torrent is multi-file. Symlink
/// targets are relative to the torrent's folder.
pub(crate) fn files(
    info: &Dict<'_>,
    list: Option<&[Value<'_>]>,
    name_raw: &[u8],
    dir_name: &str,
) -> Result<(FileTable, bool), MetainfoError> {
    let Some(list) = list else {
        if info.get(b"length").is_none() && !Attr::of(info).symlink {
            return Err(MetainfoError::MissingLength);
        }
        if name_raw.is_empty() {
            return Err(MetainfoError::UnusableName);
        }
        let name = sanitize_component(name_raw).ok_or(MetainfoError::UnusableName)?;
        let mut table = FileTableBuilder::with_capacity(1);
        entry(&mut table, info, 0, &[name])?;
        return Ok((table.build(), false));
    };
    if list.is_empty() {
        return Err(MetainfoError::EmptyFileList);
    }
    let mut table = FileTableBuilder::with_capacity(list.len());
    // One buffer for every path: most components are borrowed from the
    // input, so a file costs no allocation here.
    let mut path: Vec<Cow<'_, str>> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let d = e
            .as_dict()
            .ok_or(MetainfoError::InvalidFileEntry { file: i })?;
        fill_path(&mut path, d, i, dir_name)?;
        entry(&mut table, d, i, &path)?;
    }
    Ok((table.build(), true))
}

/// Adds one file from its dictionary and its already sanitised path.
fn entry(
    table: &mut FileTableBuilder,
    d: &Dict<'_>,
    i: usize,
    path: &[Cow<'_, str>],
) -> Result<(), MetainfoError> {
    let mut attr = Attr::of(d);
    // A symbolic link has no data, whatever `length` says.
    let length = if attr.symlink { 0 } else { length(d, i)? };
    let mut symlink = None;
    if attr.symlink {
        match d.get_list(b"symlink path") {
            Some(target) => symlink = Some(symlink_target(target, i)?),
            // Invalid without a target: libtorrent keeps an empty file.
            None => attr.symlink = false,
        }
    }
    // BitComet's padding files carry no `attr`, only this name.
    let bitcomet = path
        .iter()
        .skip(1)
        .any(|c| c.contains("_____padding_file_"));
    let attrs = FileAttrs {
        padding: attr.padding || bitcomet,
        executable: attr.executable,
        hidden: attr.hidden,
    };
    let index = table.push(path, length, attrs).map_err(too_large)?;
    if let Some(target) = symlink.filter(|t| !t.is_empty()) {
        table.set_symlink(index, &target).map_err(too_large)?;
    }
    Ok(())
}

/// The file table's only error on a torrent within the input limits: the
/// total length overflows.
pub(crate) fn too_large(_: StorageError) -> MetainfoError {
    MetainfoError::LengthOverflow
}

/// A file's `length`: present, not negative, at most [`MAX_FILE_LENGTH`].
pub(crate) fn length(d: &Dict<'_>, file: usize) -> Result<u64, MetainfoError> {
    let length = d
        .get_int(b"length")
        .and_then(|l| u64::try_from(l).ok())
        .ok_or(MetainfoError::InvalidLength { file })?;
    if length > MAX_FILE_LENGTH {
        return Err(MetainfoError::FileTooLarge { file, length });
    }
    Ok(length)
}

/// A symbolic link's target, relative to the torrent's folder, sanitised.
pub(crate) fn symlink_target<'a>(
    target: &[Value<'a>],
    file: usize,
) -> Result<Vec<Cow<'a, str>>, MetainfoError> {
    if target.len() > MAX_PATH_DEPTH {
        return Err(MetainfoError::PathTooDeep {
            file,
            depth: target.len(),
        });
    }
    let mut out = Vec::with_capacity(target.len());
    for c in target {
        let raw = c
            .as_bytes()
            .ok_or(MetainfoError::InvalidSymlinkPath { file })?;
        out.extend(sanitize_component(raw));
    }
    Ok(out)
}

/// A multi-file entry's full path, into `path`: `path.utf-8` when it is a
/// list, else `path`; a padding file may have none (it goes under `.pad`).
fn fill_path<'a>(
    path: &mut Vec<Cow<'a, str>>,
    d: &Dict<'a>,
    file: usize,
    dir_name: &'a str,
) -> Result<(), MetainfoError> {
    let raw = d.get_list(b"path.utf-8").or_else(|| d.get_list(b"path"));
    path.clear();
    path.push(Cow::Borrowed(dir_name));
    match raw {
        Some(raw) if !raw.is_empty() => {
            if raw.len() > MAX_PATH_DEPTH {
                return Err(MetainfoError::PathTooDeep {
                    file,
                    depth: raw.len(),
                });
            }
            for c in raw {
                let c = c.as_bytes().ok_or(MetainfoError::InvalidPath { file })?;
                path.extend(sanitize_component(c));
            }
            // Every component was dropped: the file still needs a name.
            if path.len() == 1 {
                path.push(Cow::Borrowed("_"));
            }
        }
        _ if Attr::of(d).padding => {
            let length = d.get_int(b"length").unwrap_or(0);
            path.extend([Cow::Borrowed(".pad"), Cow::Owned(length.to_string())]);
        }
        _ => return Err(MetainfoError::InvalidPath { file }),
    }
    Ok(())
}
