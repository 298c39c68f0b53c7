//! Conflicting paths, decided at load time as libtorrent does
//! (`torrent_info::resolve_duplicate_filenames_slow`).
//!
//! Two files may end up with the same path (sanitising maps different names
//! to one, or the torrent simply lists a name twice), or a file may have the
//! path of a folder another file lives in (`a` and `a/b`). Paths are compared
//! ignoring ASCII case, since the download folder may be on a file system
//! that does. Every folder is reserved first, then the files are taken in
//! order: a file whose path is taken is renamed by inserting `.1`, `.2`, …
//! before its extension (`dir/a.txt` → `dir/a.1.txt`, `a` → `a.1`), the
//! first number that is free. Padding files may share a path with another
//! padding file of the same length (they are never written).

use std::collections::HashMap;

use crate::parse::FileInfo;

/// What holds a (lower-cased) path: a folder, or the file with this index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    Dir,
    File(usize),
}

/// Renames files so that no two share a path and no file sits where a
/// folder is. `dir_name` is the torrent's folder for a multi-file torrent
/// (reserved as a folder too).
pub(crate) fn resolve_conflicts(files: &mut [FileInfo], dir_name: Option<&str>) {
    let mut taken: HashMap<String, Holder> = HashMap::with_capacity(files.len() * 2);
    if let Some(d) = dir_name {
        taken.insert(d.to_ascii_lowercase(), Holder::Dir);
    }
    for f in files.iter() {
        let mut dir = String::new();
        for c in &f.path[..f.path.len() - 1] {
            if !dir.is_empty() {
                dir.push('/');
            }
            dir.push_str(&c.to_ascii_lowercase());
            taken.entry(dir.clone()).or_insert(Holder::Dir);
        }
    }
    // The next number to try for a (lower-cased) stem and extension: the
    // numbers below it are known to be taken, and `taken` only grows.
    let mut next: HashMap<String, u64> = HashMap::new();
    for i in 0..files.len() {
        let key = files[i].path.join("/").to_ascii_lowercase();
        match taken.get(&key) {
            None => {
                taken.insert(key, Holder::File(i));
                continue;
            }
            Some(&Holder::File(j))
                if files[i].padding && files[j].padding && files[i].length == files[j].length =>
            {
                continue;
            }
            Some(_) => {}
        }
        let last = files[i].path.last_mut().expect("paths are never empty");
        let (stem, ext) = split_extension(last);
        let (stem, ext) = (stem.to_owned(), ext.to_owned());
        let prefix = key[..key.len() - last.len()].to_owned();
        let counter = next
            .entry(format!("{prefix}{stem}\0{ext}").to_ascii_lowercase())
            .or_insert(1);
        loop {
            let candidate = format!("{stem}.{counter}{ext}");
            *counter += 1;
            let key = format!("{prefix}{}", candidate.to_ascii_lowercase());
            if let std::collections::hash_map::Entry::Vacant(e) = taken.entry(key) {
                e.insert(Holder::File(i));
                *last = candidate;
                break;
            }
        }
    }
}

/// A file name's stem and extension (from its last dot, kept with the
/// extension; a leading dot starts an extension too, as in libtorrent:
/// `.bashrc` becomes `.1.bashrc`).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) => name.split_at(i),
        None => (name, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(paths: &[&str]) -> Vec<FileInfo> {
        paths
            .iter()
            .map(|p| FileInfo::plain(p.split('/').map(str::to_owned).collect(), 1))
            .collect()
    }

    fn resolved(paths: &[&str]) -> Vec<String> {
        let mut f = files(paths);
        resolve_conflicts(&mut f, Some("t"));
        f.iter().map(|f| f.path.join("/")).collect()
    }

    #[test]
    fn a_file_where_a_folder_is_gets_renamed() {
        assert_eq!(resolved(&["t/a", "t/a/b"]), ["t/a.1", "t/a/b"]);
        assert_eq!(resolved(&["t/a/b", "t/a"]), ["t/a/b", "t/a.1"]);
    }

    #[test]
    fn duplicates_ignore_ascii_case_and_keep_the_extension() {
        assert_eq!(
            resolved(&["t/x.txt", "t/X.TXT", "t/x.txt", "t/x.1.txt"]),
            ["t/x.txt", "t/X.1.TXT", "t/x.2.txt", "t/x.1.1.txt"]
        );
        assert_eq!(resolved(&["t/.rc", "t/.rc"]), ["t/.rc", "t/.1.rc"]);
        // Not ASCII: different names.
        assert_eq!(resolved(&["t/é", "t/É"]), ["t/é", "t/É"]);
    }

    #[test]
    fn the_torrent_folder_is_reserved() {
        let mut f = files(&["t", "t/b"]);
        resolve_conflicts(&mut f, Some("t"));
        assert_eq!(f[0].path, ["t.1"]);
    }

    #[test]
    fn many_duplicates_take_linear_time() {
        let paths = vec!["t/same"; 50_000];
        let out = resolved(&paths);
        assert_eq!(out[0], "t/same");
        assert_eq!(out[49_999], "t/same.49999");
        let unique: std::collections::HashSet<_> = out.iter().collect();
        assert_eq!(unique.len(), out.len());
    }
}
