//! Symlinks planted under the download root: never written or read through.

use std::fs;
use std::os::unix::fs::symlink;

use bytes::Bytes;
use monsoon_storage::{FileEntry, FileStorage, Layout, Storage, StorageError, recheck};

use crate::util::TempDir;

/// `dir/root` (the download root) and `dir/outside/victim.txt` holding
/// `precious`.
fn setup(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let root = dir.path().join("root");
    let outside = dir.path().join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("victim.txt"), b"precious").unwrap();
    (root, outside)
}

fn one_file(path: &[&str], len: u64) -> Layout {
    Layout::new(vec![FileEntry::new(path.iter().copied(), len)], 8).unwrap()
}

#[test]
fn a_planted_file_symlink_is_refused() {
    let dir = TempDir::new();
    let (root, outside) = setup(&dir);
    // Relative and absolute links to the same outside file.
    symlink("../outside/victim.txt", root.join("rel.bin")).unwrap();
    symlink(outside.join("victim.txt"), root.join("abs.bin")).unwrap();
    for (name, target) in [
        ("rel.bin", "../outside/victim.txt".into()),
        ("abs.bin", outside.join("victim.txt")),
    ] {
        let storage = FileStorage::new(&root, one_file(&[name], 8)).unwrap();
        let written = storage.write_piece(0, &[Bytes::from_static(b"OVERWRIT")]);
        assert_symlink(written, &root.join(name), &target);
        assert_symlink(storage.read(0, 0, 8), &root.join(name), &target);
        // The recheck does not read through it either: the piece is missing.
        assert!(!storage.file_exists(0));
        assert_eq!(recheck(&storage, &[[0; 20]], 1).unwrap(), [false]);
    }
    assert_eq!(fs::read(outside.join("victim.txt")).unwrap(), b"precious");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
}

#[test]
fn a_planted_folder_symlink_is_refused() {
    let dir = TempDir::new();
    let (root, outside) = setup(&dir);
    fs::create_dir_all(root.join("a")).unwrap();
    // `sub` at the top, and `a/b` one level down, both to the outside folder.
    symlink("../outside", root.join("sub")).unwrap();
    symlink("../../outside", root.join("a/b")).unwrap();
    for (path, link, target) in [
        (&["sub", "victim.txt"][..], "sub", "../outside"),
        (&["a", "b", "victim.txt"], "a/b", "../../outside"),
        (&["sub", "new", "new.bin"], "sub", "../outside"),
    ] {
        let storage = FileStorage::new(&root, one_file(path, 8)).unwrap();
        let written = storage.write_piece(0, &[Bytes::from_static(b"OVERWRIT")]);
        let (link, target) = (root.join(link), std::path::PathBuf::from(target));
        assert_symlink(written, &link, &target);
        assert_symlink(storage.read(0, 0, 8), &link, &target);
        assert!(!storage.file_exists(0));
    }
    // A zero-length file behind a folder link is not created either.
    let storage = FileStorage::new(&root, one_file(&["sub", "empty"], 0)).unwrap();
    assert_symlink(
        storage.create_empty_files(),
        &root.join("sub"),
        "../outside".as_ref(),
    );
    assert_eq!(fs::read(outside.join("victim.txt")).unwrap(), b"precious");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
}

/// A symlink inside the root that points inside the root is refused too
/// (the documented choice), and the message names the link.
#[test]
fn a_symlink_pointing_inside_the_root_is_refused_too() {
    let dir = TempDir::new();
    let (root, _) = setup(&dir);
    fs::create_dir_all(root.join("real")).unwrap();
    symlink("real", root.join("alias")).unwrap();
    let storage = FileStorage::new(&root, one_file(&["alias", "f"], 8)).unwrap();
    let err = storage
        .write_piece(0, &[Bytes::from_static(b"12345678")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is a symlink (to real): files are never written or read through symlinks in \
             the download folder",
            root.join("alias").display()
        )
    );
    assert!(!root.join("real/f").exists());
}

/// A FIFO where a file should be neither blocks nor is written to.
#[test]
fn a_planted_fifo_is_not_a_file() {
    let dir = TempDir::new();
    let (root, _) = setup(&dir);
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("pipe"))
        .status()
        .expect("run mkfifo");
    assert!(status.success());
    let storage = FileStorage::new(&root, one_file(&["pipe"], 8)).unwrap();
    for result in [
        storage.read(0, 0, 8).map(drop),
        storage.write_piece(0, &[Bytes::from_static(b"12345678")]),
    ] {
        assert!(
            matches!(result, Err(StorageError::NotAFile { ref path }) if *path == root.join("pipe")),
            "{result:?}"
        );
    }
    assert!(!storage.file_exists(0));
}

/// `result` is [`StorageError::Symlink`] for `link` pointing at `target`.
fn assert_symlink<T: std::fmt::Debug>(
    result: Result<T, StorageError>,
    link: &std::path::Path,
    target: &std::path::Path,
) {
    match result {
        Err(StorageError::Symlink { path, target: t }) => {
            assert_eq!((path.as_path(), t.as_path()), (link, target));
        }
        other => panic!("expected a symlink error for {}: {other:?}", link.display()),
    }
}

/// Every regular file under `dir` (not following symlinks) with its bytes,
/// every folder and every symlink with its target.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let key = path.strip_prefix(dir).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(key, target.display().to_string().into_bytes());
            } else if meta.is_dir() {
                out.insert(format!("{key}/"), Vec::new());
                stack.push(path);
            } else {
                out.insert(key, fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A file's path: up to two folders from a small alphabet, then `f<i>`.
fn file_path(dirs: &[u8], i: usize) -> Vec<String> {
    let mut p: Vec<String> = dirs
        .iter()
        .map(|d| ["a", "b", "c"][*d as usize % 3].to_owned())
        .collect();
    p.push(format!("f{i}"));
    p
}

proptest::proptest! {
    /// Random torrents (folders, pad files, empty files) over a root with
    /// symlinks planted as folders and as files, pointing out of the root
    /// (relative and absolute), inside it, or nowhere: no write ever lands
    /// outside the root, and a write fails exactly when one of its files
    /// lies behind a planted link.
    #[test]
    fn no_write_lands_outside_the_root(
        files in proptest::collection::vec(
            (proptest::collection::vec(0u8..3, 0..3), 0u64..150, proptest::bool::weighted(0.2)),
            1..10,
        ),
        piece_len in 1u32..64,
        links in proptest::collection::vec(
            (proptest::collection::vec(0u8..3, 0..2), proptest::option::of(0usize..10), 0u8..4),
            0..5,
        ),
    ) {
        let dir = TempDir::new();
        let (root, outside) = setup(&dir);
        // Bait outside: files with the torrent's names at every level.
        for sub in ["", "a", "b", "c", "a/a", "a/b", "b/c"] {
            fs::create_dir_all(outside.join(sub)).unwrap();
            for i in 0..10 {
                fs::write(outside.join(sub).join(format!("f{i}")), b"outside").unwrap();
            }
        }
        fs::create_dir_all(root.join("real")).unwrap();
        // Plant the links; skip one whose place is taken or lies behind another.
        let mut planted: Vec<Vec<String>> = Vec::new();
        for (dirs, file, kind) in links {
            let mut path: Vec<String> = file_path(&dirs, 0);
            path.pop();
            match file {
                Some(i) => path.push(format!("f{i}")),
                None if path.is_empty() => path.push("a".to_owned()),
                None => {}
            }
            let behind = planted.iter().any(|l| path.starts_with(l) || l.starts_with(&path));
            let at = path.iter().fold(root.clone(), |p, c| p.join(c));
            if behind || fs::symlink_metadata(&at).is_ok() {
                continue;
            }
            fs::create_dir_all(at.parent().unwrap()).unwrap();
            let up = "../".repeat(path.len());
            let target = match kind {
                0 => format!("{up}outside"),
                1 => outside.display().to_string(),
                2 => format!("{up}real"),
                _ => format!("{up}nowhere"),
            };
            symlink(target, &at).unwrap();
            planted.push(path);
        }
        let entries: Vec<FileEntry> = files
            .iter()
            .enumerate()
            .map(|(i, (dirs, len, pad))| {
                if *pad { FileEntry::padding(*len) } else { FileEntry::new(file_path(dirs, i), *len) }
            })
            .collect();
        let layout = Layout::new(entries, piece_len).unwrap();
        let before = snapshot(&outside);
        let behind = |f: usize| {
            let e = &layout.files().file(f);
            !e.is_padding() && planted.iter().any(|l| e.path().starts_with(l))
        };
        let storage = FileStorage::new(&root, layout.clone()).unwrap().with_max_open_files(2);
        let data = crate::util::content(&layout, 9);
        for p in 0..layout.piece_count() {
            let blocks = crate::util::blocks(&layout, &data, p, 7);
            let result = storage.write_piece(p, &blocks);
            let spans = layout.spans(p, 0, layout.piece_size(p));
            let blocked = spans.iter().any(|s| behind(s.file));
            match result {
                Ok(()) => {
                    proptest::prop_assert!(!blocked, "piece {} written behind a link", p);
                    let got = storage.read(p, 0, layout.piece_size(p)).unwrap();
                    proptest::prop_assert_eq!(&got[..], crate::util::piece_of(&layout, &data, p));
                }
                Err(StorageError::Symlink { path, .. }) => {
                    proptest::prop_assert!(blocked, "piece {} refused: {}", p, path.display());
                    let is_planted = planted
                        .iter()
                        .any(|l| path == l.iter().fold(root.clone(), |p, c| p.join(c)));
                    proptest::prop_assert!(is_planted, "{} is not a planted link", path.display());
                }
                Err(e) => proptest::prop_assert!(false, "piece {}: {}", p, e),
            }
        }
        let empty_blocked = (0..layout.files().len())
            .any(|f| layout.files().file(f).length() == 0 && behind(f));
        proptest::prop_assert_eq!(storage.create_empty_files().is_err(), empty_blocked);
        for f in 0..layout.files().len() {
            if behind(f) {
                proptest::prop_assert!(!storage.file_exists(f));
            }
        }
        drop(storage);
        proptest::prop_assert_eq!(snapshot(&outside), before);
    }
}

#[test]
fn delete_removes_the_files_and_empty_folders_but_never_through_a_symlink() {
    let dir = TempDir::new();
    let (root, outside) = setup(&dir);
    let layout = Layout::new(
        vec![
            FileEntry::new(["t", "a", "one.bin"], 8),
            FileEntry::new(["t", "two.bin"], 8),
        ],
        8,
    )
    .unwrap();
    let storage = FileStorage::new(&root, layout.clone()).unwrap();
    storage
        .write_piece(0, &[Bytes::from_static(b"11111111")])
        .unwrap();
    storage
        .write_piece(1, &[Bytes::from_static(b"22222222")])
        .unwrap();
    fs::write(root.join("t/keep.txt"), b"not the torrent's").unwrap();
    storage.delete_files().unwrap();
    assert!(!root.join("t/a").exists(), "emptied folder removed");
    assert!(!root.join("t/two.bin").exists());
    assert!(
        root.join("t/keep.txt").exists(),
        "a folder still holding other files stays"
    );
    // A folder of the torrent replaced by a symlink out of the root.
    fs::remove_file(root.join("t/keep.txt")).unwrap();
    fs::remove_dir(root.join("t")).unwrap();
    symlink("../outside", root.join("t")).unwrap();
    fs::write(outside.join("two.bin"), b"precious").unwrap();
    let storage = FileStorage::new(&root, layout).unwrap();
    assert!(matches!(
        storage.delete_files(),
        Err(StorageError::Symlink { .. })
    ));
    assert_eq!(fs::read(outside.join("two.bin")).unwrap(), b"precious");
}
