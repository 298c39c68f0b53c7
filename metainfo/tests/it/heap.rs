//! Memory per file (issue 19): a torrent of a million files, loaded as the
//! engine loads it (the metainfo, and the storage layout over its file
//! table), must hold at most [`MAX_BYTES_PER_FILE`] bytes of heap a file
//! besides the torrent's own bytes (`info_bytes`, kept to serve metadata).
//! Measured with a counting global allocator, per thread, so that the
//! tests running beside this one do not count.

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;

use monsoon_metainfo::Metainfo;
use monsoon_storage::Layout;

use crate::many_files;

/// The target of issue 19.
const MAX_BYTES_PER_FILE: usize = 120;

/// The most heap a file may take while the torrent is being loaded
/// (besides the torrent's own bytes): a bound against regressions, not a
/// target.
const MAX_PEAK_BYTES_PER_FILE: usize = 300;

/// The allocator of this test binary: the system's, counting the bytes
/// each thread holds.
struct Counting;

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most `LIVE` has been since [`reset_peak`].
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: a thread being torn down has no counter any more.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

fn reset_peak() {
    PEAK.with(|peak| peak.set(live()));
}

fn peak() -> isize {
    PEAK.with(Cell::get)
}

// SAFETY: every call goes to `System` unchanged; the counter is a
// thread-local `Cell` with a const initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        count(-(layout.size() as isize));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_million_files_take_at_most_120_bytes_each() {
    const FILES: usize = 1_000_000;
    let bytes = many_files::torrent(FILES);

    let before = live();
    reset_peak();
    let meta = Metainfo::from_bytes(&bytes).unwrap();
    let layout = Layout::from_table(meta.files.clone(), meta.piece_length).unwrap();
    let loaded = (live() - before) as usize;
    let loading = (peak() - before) as usize;
    assert_eq!(meta.files.len(), FILES);
    assert_eq!(layout.files().len(), FILES);

    // What the file table reports is what it holds: once the metainfo and
    // the layout are gone, a clone of the table alone is left.
    let table = meta.files.clone();
    let own = meta.info_bytes.len();
    drop((meta, layout));
    assert_eq!((live() - before) as usize, table.heap_size());

    let per_file = (loaded - own) as f64 / FILES as f64;
    let peak_per_file = (loading - own) as f64 / FILES as f64;
    eprintln!(
        "{FILES} files: {loaded} bytes loaded, {own} of them the info dictionary; \
         {per_file:.1} bytes a file besides; the file table {} bytes; \
         at most {loading} bytes while loading ({peak_per_file:.1} a file besides \
         the info dictionary, mostly the decoded bencode)",
        table.heap_size()
    );
    assert!(
        per_file <= MAX_BYTES_PER_FILE as f64,
        "{per_file:.1} bytes a file, more than {MAX_BYTES_PER_FILE}"
    );
    // While loading, the decoded bencode tree (about 200 bytes a file of
    // this torrent) comes on top; it is freed before the info dictionary
    // is copied.
    assert!(
        peak_per_file <= MAX_PEAK_BYTES_PER_FILE as f64,
        "{peak_per_file:.1} bytes a file while loading, more than {MAX_PEAK_BYTES_PER_FILE}"
    );
}
