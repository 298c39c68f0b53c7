//! FileTable: paths, lengths and offsets as given, folders stored once,
//! link targets and roots, the changes the metainfo makes (rename,
//! symlink, remove) with copy-on-write clones, and the heap it reports.

use monsoon_storage::{FileAttrs, FileEntry, FileTable, FileTableBuilder, Layout, Span};
use proptest::prelude::*;

fn plain() -> FileAttrs {
    FileAttrs::default()
}

#[test]
fn folders_are_stored_once_whatever_the_order() {
    let mut b = FileTableBuilder::new();
    // Interleaved: no file shares its folder with the one before.
    for i in 0..10_000 {
        let dir = format!("d{}", i % 10);
        let name = format!("f{i}");
        b.push(&["t", dir.as_str(), "sub", name.as_str()], 1, plain())
            .unwrap();
    }
    let t = b.build();
    // "t", ten "dN" and ten "dN/sub".
    assert_eq!(t.folder_count(), 21);
    for (i, f) in t.iter().enumerate() {
        let dir = format!("d{}", i % 10);
        let name = format!("f{i}");
        assert_eq!(f.path(), ["t", dir.as_str(), "sub", name.as_str()]);
        assert_eq!((f.offset(), f.length()), (i as u64, 1));
        let (parent, sub) = t.folder(f.folder().unwrap());
        assert_eq!(sub, "sub");
        assert_eq!(t.folder(parent.unwrap()).1, dir);
    }
}

#[test]
fn attributes_link_targets_and_roots() {
    let mut b = FileTable::builder();
    let exe = FileAttrs {
        executable: true,
        hidden: true,
        ..plain()
    };
    b.push(&["t", "run.sh"], 7, exe).unwrap();
    let link = b.push(&["t", "link"], 0, plain()).unwrap();
    b.set_symlink(link, &["t", "run.sh"]).unwrap();
    let data = b.push(&["t", "data"], 9, plain()).unwrap();
    b.set_pieces_root(data, [7; 32]);
    let t = b.build();
    let (run, link, data) = (t.file(0), t.file(1), t.file(2));
    assert!(run.is_executable() && run.is_hidden() && !run.is_symlink());
    assert!(run.on_disk() && !link.on_disk());
    assert_eq!(link.symlink().unwrap(), ["t", "run.sh"]);
    assert_eq!(link.symlink().unwrap().to_string(), "t/run.sh");
    assert_eq!(run.symlink(), None);
    assert_eq!(data.pieces_root(), Some(&[7; 32]));
    assert_eq!(run.pieces_root(), None);
    assert_eq!((data.offset(), t.total_length()), (7, 16));
}

#[test]
fn changes_copy_a_shared_table_and_keep_indices_right() {
    let mut b = FileTable::builder();
    for (i, name) in ["a.txt", "b", "c", "d"].iter().enumerate() {
        let f = b.push(&["t", name], 10 * (i as u64 + 1), plain()).unwrap();
        b.set_pieces_root(f, [i as u8 + 1; 32]);
    }
    b.set_symlink(3, &["t", "a.txt"]).unwrap();
    let original = b.build();
    let mut t = original.clone();
    t.rename(0, "a.1.txt").unwrap();
    t.set_symlink(2, Some(&["t", "b"])).unwrap();
    t.set_symlink::<&str>(3, None).unwrap();
    t.remove(1);
    // The clone taken before is untouched.
    assert_eq!(original.file(0).name(), "a.txt");
    assert_eq!(original.len(), 4);
    assert!(original.file(3).is_symlink());
    assert_ne!(original, t);

    assert_eq!(t.len(), 3);
    assert_eq!(t.file(0).path(), ["t", "a.1.txt"]);
    // "c" and "d" moved down one index and back by b's 20 bytes.
    let (c, d) = (t.file(1), t.file(2));
    assert_eq!((c.name(), c.offset(), c.length()), ("c", 10, 30));
    assert_eq!((d.name(), d.offset(), d.length()), ("d", 40, 40));
    assert_eq!(t.total_length(), 80);
    assert_eq!(c.symlink().unwrap(), ["t", "b"]);
    assert!(!d.is_symlink() && d.symlink().is_none());
    assert_eq!(c.pieces_root(), Some(&[3; 32]));
    assert_eq!(d.pieces_root(), Some(&[4; 32]));

    // Equality is by content, not by how the table was built.
    let mut b = FileTable::builder();
    for (name, len) in [("a.1.txt", 10), ("c", 30), ("d", 40)] {
        b.push(&["t", name], len, plain()).unwrap();
    }
    b.set_symlink(1, &["t", "b"]).unwrap();
    b.set_pieces_root(0, [1; 32]);
    b.set_pieces_root(1, [3; 32]);
    b.set_pieces_root(2, [4; 32]);
    assert_eq!(b.build(), t);
}

#[test]
fn a_file_costs_its_row_and_its_name() {
    const FILES: usize = 10_000;
    let mut b = FileTableBuilder::with_capacity(FILES);
    for i in 0..FILES {
        let name = format!("file-{i:05}");
        b.push(&["torrent", name.as_str()], 1, plain()).unwrap();
    }
    let t = b.build();
    let names = FILES * "file-00000".len();
    let heap = t.heap_size();
    assert!(heap >= FILES * 24 + names, "{heap}");
    assert!(heap <= FILES * 24 + names + 256, "{heap}");
}

#[test]
fn spans_cross_many_empty_files_in_one_step() {
    let mut files = vec![FileEntry::new(["a"], 5)];
    files.extend((0..10_000).map(|i| FileEntry::new([format!("e{i}")], 0)));
    files.push(FileEntry::new(["b"], 5));
    let layout = Layout::new(files, 4).unwrap();
    assert_eq!(layout.files().file_at(5), Some(10_001));
    assert_eq!(
        layout.spans(1, 0, 4),
        [
            Span {
                file: 0,
                file_offset: 4,
                len: 1,
                piece_offset: 0,
                padding: false
            },
            Span {
                file: 10_001,
                file_offset: 0,
                len: 3,
                piece_offset: 1,
                padding: false
            }
        ]
    );
}

/// A component: plain names, and what storage would refuse (kept as given).
fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-cA-C]{1,3}",
        1 => Just(String::new()),
        1 => Just("..".to_owned()),
        1 => Just("x/y".to_owned()),
    ]
}

proptest! {
    #[test]
    fn paths_lengths_and_offsets_round_trip(
        files in prop::collection::vec(
            (prop::collection::vec(component(), 0..4), 0u64..5, any::<bool>()),
            0..40,
        ),
    ) {
        let entries: Vec<FileEntry> = files
            .iter()
            .map(|(path, len, pad)| FileEntry { path: path.clone(), length: *len, padding: *pad })
            .collect();
        let t = FileTable::from_entries(entries).unwrap();
        prop_assert_eq!(t.len(), files.len());
        let mut offset = 0;
        let mut owner = Vec::new();
        for (f, (path, len, pad)) in t.iter().zip(&files) {
            if path.is_empty() {
                // Kept as one empty name.
                prop_assert_eq!(f.path(), [""]);
            } else {
                prop_assert_eq!(f.path(), path.clone());
                prop_assert_eq!(f.path().len(), path.len());
                prop_assert_eq!(f.name(), path.last().unwrap().as_str());
            }
            prop_assert_eq!((f.offset(), f.length(), f.is_padding()), (offset, *len, *pad));
            owner.extend(std::iter::repeat_n(f.index(), *len as usize));
            offset += len;
        }
        prop_assert_eq!(t.total_length(), offset);
        for (pos, &file) in owner.iter().enumerate() {
            prop_assert_eq!(t.file_at(pos as u64), Some(file));
        }
        prop_assert_eq!(t.file_at(offset), None);
        prop_assert_eq!(&t, &t.clone());
    }
}
