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

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};

use monsoon_storage::FileTable;

/// What holds a name in a folder: a folder, or the file with this index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    Dir,
    File(usize),
}

/// A name, compared and hashed ignoring ASCII case. Names are borrowed
/// from the table, new ones owned.
#[derive(Clone)]
struct Caseless<'n>(Cow<'n, str>);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Caseless<'_> {}

impl Hash for Caseless<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The lower-cased name in one write for a usual name (a hasher's
        // cost is mostly per call), in chunks for a longer one; never an
        // allocation.
        let mut buf = [0u8; 256];
        for chunk in self.0.as_bytes().chunks(buf.len()) {
            let lower = &mut buf[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
        // The end, so that no name is a prefix of another.
        state.write_u8(0xff);
    }
}

/// Renames files so that no two share a path and no file sits where a
/// folder is. `dir_name` is the torrent's folder for a multi-file torrent
/// (reserved as a folder too).
pub(crate) fn resolve_conflicts(files: &mut FileTable, dir_name: Option<&str>) {
    for (i, name) in renames(files, dir_name) {
        // A new name is a few bytes longer than the old one: the pool
        // stays far below its 4 GiB limit for any torrent within the input
        // limits.
        files
            .rename(i, &name)
            .expect("a rename fits in the string pool");
    }
}

/// The renames [`resolve_conflicts`] makes: file index and new name.
///
/// A name can only clash with names in the same folder (folders whose
/// paths differ in ASCII case being one), so the files are taken a folder
/// at a time, in torrent order within it, each folder with a small map of
/// its names: the same result as one map of every path, in far less
/// memory traffic.
fn renames(files: &FileTable, dir_name: Option<&str>) -> Vec<(usize, String)> {
    let groups = Groups::new(files);
    let mut taken: HashMap<Caseless<'_>, Holder> = HashMap::new();
    // The next number to try for a (lower-cased) stem and extension: the
    // numbers below it are known to be taken, and `taken` only grows.
    let mut next: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::new();
    for g in 0..groups.count() {
        let in_group = groups.files(g);
        if in_group.is_empty() {
            continue;
        }
        taken.clear();
        next.clear();
        for &name in groups.folders(g) {
            taken.insert(Caseless(Cow::Borrowed(name)), Holder::Dir);
        }
        if let Some(d) = dir_name.filter(|_| g == TOP) {
            taken
                .entry(Caseless(Cow::Borrowed(d)))
                .or_insert(Holder::Dir);
        }
        for &i in in_group {
            let f = files.file(i as usize);
            let holder = match taken.entry(Caseless(Cow::Borrowed(f.name()))) {
                Entry::Vacant(e) => {
                    e.insert(Holder::File(f.index()));
                    continue;
                }
                Entry::Occupied(e) => *e.get(),
            };
            if let Holder::File(j) = holder {
                let other = files.file(j);
                if f.is_padding() && other.is_padding() && f.length() == other.length() {
                    continue;
                }
            }
            let (stem, ext) = split_extension(f.name());
            let counter = next
                .entry(format!("{stem}\0{ext}").to_ascii_lowercase())
                .or_insert(1);
            loop {
                let candidate = format!("{stem}.{counter}{ext}");
                *counter += 1;
                if let Entry::Vacant(e) = taken.entry(Caseless(Cow::Owned(candidate.clone()))) {
                    e.insert(Holder::File(f.index()));
                    out.push((f.index(), candidate));
                    break;
                }
            }
        }
    }
    out
}

/// The group of the files and folders at the top of the download folder.
const TOP: usize = 0;

/// The files and the folders of a table grouped by the folder they are in:
/// group [`TOP`] for the top, else one group per folder, folders whose
/// paths differ only in ASCII case sharing one.
struct Groups<'n> {
    /// The files of each group, in torrent order: `file_order[file_start[g]..file_start[g + 1]]`.
    file_start: Vec<usize>,
    file_order: Vec<u32>,
    /// The names of the folders in each group, likewise.
    folder_start: Vec<usize>,
    folder_names: Vec<&'n str>,
}

impl<'n> Groups<'n> {
    fn new(files: &'n FileTable) -> Self {
        let folders = files.folder_count();
        // Folders left without files (a removed padding file's) are not
        // reserved.
        let mut used = vec![false; folders];
        for f in files {
            let mut d = f.folder();
            while let Some(dir) = d.filter(|&dir| !used[dir]) {
                used[dir] = true;
                d = files.folder(dir).0;
            }
        }
        // Each folder's group, the group of the first folder with its path
        // (ignoring case); a group is 1 + that folder's index. Parents come
        // before children, so a parent's group is known.
        let mut group = vec![TOP; folders];
        let mut first: HashMap<(usize, Caseless<'_>), usize> = HashMap::new();
        // Groups' folder names, as (group, name), in folder order.
        let mut names: Vec<(usize, &str)> = Vec::new();
        for d in (0..folders).filter(|&d| used[d]) {
            let (parent, name) = files.folder(d);
            let parent = parent.map_or(TOP, |p| group[p]);
            group[d] = match first.entry((parent, Caseless(Cow::Borrowed(name)))) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    names.push((parent, name));
                    *e.insert(1 + d)
                }
            };
        }
        let count = 1 + folders;
        let of_file = |f: monsoon_storage::FileRef<'_>| f.folder().map_or(TOP, |d| group[d]);
        let (file_start, file_order) =
            bucket(count, files.iter().map(|f| (of_file(f), f.index() as u32)));
        let (folder_start, folder_names) = bucket(count, names.into_iter());
        Groups {
            file_start,
            file_order,
            folder_start,
            folder_names,
        }
    }

    fn count(&self) -> usize {
        self.file_start.len() - 1
    }

    fn files(&self, g: usize) -> &[u32] {
        &self.file_order[self.file_start[g]..self.file_start[g + 1]]
    }

    fn folders(&self, g: usize) -> &[&'n str] {
        &self.folder_names[self.folder_start[g]..self.folder_start[g + 1]]
    }
}

/// Sorts `items` (group, value) into `count` groups, keeping their order
/// within a group: the start of each group (and the end), and the values.
fn bucket<T: Copy + Default>(
    count: usize,
    items: impl Iterator<Item = (usize, T)> + Clone,
) -> (Vec<usize>, Vec<T>) {
    let mut start = vec![0usize; count + 1];
    for (g, _) in items.clone() {
        start[g + 1] += 1;
    }
    for g in 0..count {
        start[g + 1] += start[g];
    }
    let mut at = start.clone();
    let mut out = vec![T::default(); start[count]];
    for (g, v) in items {
        out[at[g]] = v;
        at[g] += 1;
    }
    (start, out)
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
    use monsoon_storage::{FileAttrs, FileTableBuilder};

    use super::*;

    fn files(paths: &[&str]) -> FileTable {
        let mut b = FileTableBuilder::new();
        for p in paths {
            let parts: Vec<&str> = p.split('/').collect();
            b.push(&parts, 1, FileAttrs::default()).unwrap();
        }
        b.build()
    }

    fn resolved(paths: &[&str]) -> Vec<String> {
        let mut f = files(paths);
        resolve_conflicts(&mut f, Some("t"));
        f.iter().map(|f| f.path().to_string()).collect()
    }

    #[test]
    fn a_file_where_a_folder_is_gets_renamed() {
        assert_eq!(resolved(&["t/a", "t/a/b"]), ["t/a.1", "t/a/b"]);
        assert_eq!(resolved(&["t/a/b", "t/a"]), ["t/a/b", "t/a.1"]);
        // Folders differing in case are one folder.
        assert_eq!(
            resolved(&["t/A/x", "t/a", "t/a/y"]),
            ["t/A/x", "t/a.1", "t/a/y"]
        );
        assert_eq!(resolved(&["t/A/B/x", "t/a/b"]), ["t/A/B/x", "t/a/b.1"]);
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
        // Same name in different folders: no conflict.
        assert_eq!(resolved(&["t/a/x", "t/b/x"]), ["t/a/x", "t/b/x"]);
    }

    #[test]
    fn the_torrent_folder_is_reserved() {
        let mut f = files(&["t", "t/b"]);
        resolve_conflicts(&mut f, Some("t"));
        assert_eq!(f.file(0).path(), ["t.1"]);
        let mut f = files(&["t"]);
        resolve_conflicts(&mut f, Some("t"));
        assert_eq!(f.file(0).path(), ["t.1"]);
    }

    #[test]
    fn a_folder_left_without_files_is_not_reserved() {
        let mut b = FileTableBuilder::new();
        b.push(&["t", "a"], 1, FileAttrs::default()).unwrap();
        b.push(&["t", "x", "pad"], 1, FileAttrs::default()).unwrap();
        b.push(&["t", "x"], 1, FileAttrs::default()).unwrap();
        let mut f = b.build();
        f.remove(1);
        resolve_conflicts(&mut f, Some("t"));
        assert_eq!(f.file(1).path(), ["t", "x"]);
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
