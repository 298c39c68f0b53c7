//! Test data: deterministic pseudo-random files, odd-sized folders, damaged
//! copies, and byte-for-byte comparison of what was downloaded.
use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};

/// One MiB.
pub(crate) const MIB: u64 = 1 << 20;

/// xorshift64*: fast, deterministic, good enough to make every piece differ.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Writes `len` pseudo-random bytes derived from `seed` to `path` (parent
/// folders are created).
pub(crate) fn write_file(path: &Path, len: u64, seed: u64) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut out = BufWriter::with_capacity(
        MIB as usize,
        File::create(path).with_context(|| format!("create {}", path.display()))?,
    );
    let mut rng = Rng(seed | 1);
    let mut buf = vec![0u8; MIB as usize];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        let n = left.min(MIB);
        out.write_all(&buf[..n as usize])?;
        left -= n;
    }
    out.flush()?;
    Ok(())
}

/// Makes the folder torrent's content under `root/name`: an empty file, one
/// smaller than a block, one that is not a multiple of `piece_length`, nested
/// folders. Returns the folder.
pub(crate) fn make_folder(root: &Path, name: &str, piece_length: u64) -> Result<PathBuf> {
    let dir = root.join(name);
    let files: [(&str, u64); 6] = [
        ("empty.txt", 0),
        ("tiny.txt", 100),
        ("a/odd.bin", 3 * piece_length + 12_345),
        ("a/b/c/deep.bin", MIB + 7),
        ("a/b/exact_block.bin", 16 * 1024),
        ("z_last.bin", piece_length / 2 + 1),
    ];
    for (i, (file, len)) in files.iter().enumerate() {
        write_file(&dir.join(file), *len, 1000 + i as u64)?;
    }
    Ok(dir)
}

/// Makes `count` small files (0 to 199 bytes, a few empty) under
/// `root/name`, 100 to a folder. Returns the folder.
pub(crate) fn make_many_files(root: &Path, name: &str, count: usize) -> Result<PathBuf> {
    let dir = root.join(name);
    let mut rng = Rng(0x5eed);
    for i in 0..count {
        let folder = dir.join(format!("d{:03}", i / 100));
        if i % 100 == 0 {
            fs::create_dir_all(&folder)?;
        }
        let len = if i % 997 == 0 { 0 } else { rng.next() % 200 };
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let path = folder.join(format!("f{i:05}.bin"));
        fs::write(&path, bytes).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(dir)
}

/// Copies a file or a folder tree.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::copy(from, to).with_context(|| format!("copy {}", from.display()))?;
    }
    Ok(())
}

/// Flips a few bytes in the middle of each listed piece of a single file.
pub(crate) fn damage(file: &Path, piece_length: u64, pieces: &[u64]) -> Result<()> {
    let mut f = fs::OpenOptions::new().read(true).write(true).open(file)?;
    let len = f.metadata()?.len();
    for &piece in pieces {
        let at = piece * piece_length + piece_length / 2;
        ensure!(
            at + 16 <= len,
            "piece {piece} is outside {}",
            file.display()
        );
        let mut bytes = [0u8; 16];
        f.seek(SeekFrom::Start(at))?;
        f.read_exact(&mut bytes)?;
        for b in &mut bytes {
            *b ^= 0xa5;
        }
        f.seek(SeekFrom::Start(at))?;
        f.write_all(&bytes)?;
    }
    f.sync_all()?;
    Ok(())
}

/// Checks that every file under `expected` exists under `actual` with the
/// same bytes (a single file compares as itself).
pub(crate) fn compare(expected: &Path, actual: &Path) -> Result<()> {
    compare_with(expected, actual, false)
}

/// [`compare`], but with `empty_may_be_missing` an empty file that is
/// absent from `actual` passes (Transmission 3 never creates empty files:
/// transmission/transmission#417, fixed in 4.0).
pub(crate) fn compare_with(
    expected: &Path,
    actual: &Path,
    empty_may_be_missing: bool,
) -> Result<()> {
    if expected.is_dir() {
        ensure!(actual.is_dir(), "{} is not a folder", actual.display());
        for entry in fs::read_dir(expected)? {
            let entry = entry?;
            compare_with(
                &entry.path(),
                &actual.join(entry.file_name()),
                empty_may_be_missing,
            )?;
        }
        return Ok(());
    }
    if empty_may_be_missing && fs::metadata(expected)?.len() == 0 && !actual.exists() {
        return Ok(());
    }
    let mut a = File::open(expected)?;
    let mut b = File::open(actual).with_context(|| format!("missing {}", actual.display()))?;
    let (la, lb) = (a.metadata()?.len(), b.metadata()?.len());
    ensure!(
        la == lb,
        "{} has {lb} bytes, expected {la}",
        actual.display()
    );
    let mut ba = vec![0u8; MIB as usize];
    let mut bb = vec![0u8; MIB as usize];
    let mut offset = 0u64;
    while offset < la {
        let n = (la - offset).min(MIB) as usize;
        a.read_exact(&mut ba[..n])?;
        b.read_exact(&mut bb[..n])?;
        if let Some(i) = ba[..n].iter().zip(&bb[..n]).position(|(x, y)| x != y) {
            bail!("{} differs at byte {}", actual.display(), offset + i as u64);
        }
        offset += n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-data-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn same_seed_same_bytes_and_damage_is_found() {
        let dir = scratch("damage");
        let (a, b) = (dir.join("a"), dir.join("b"));
        write_file(&a, 3 * MIB + 5, 7).unwrap();
        write_file(&b, 3 * MIB + 5, 7).unwrap();
        compare(&a, &b).unwrap();
        damage(&b, MIB, &[2]).unwrap();
        let err = compare(&a, &b).unwrap_err().to_string();
        assert!(
            err.contains(&format!("byte {}", 2 * MIB + MIB / 2)),
            "{err}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn folder_copy_compares_equal_and_a_missing_file_does_not() {
        let dir = scratch("folder");
        let src = make_folder(&dir, "odd", 64 * 1024).unwrap();
        assert_eq!(fs::metadata(src.join("empty.txt")).unwrap().len(), 0);
        let copy = dir.join("copy");
        copy_tree(&src, &copy).unwrap();
        compare(&src, &copy).unwrap();
        fs::remove_file(copy.join("empty.txt")).unwrap();
        assert!(compare(&src, &copy).is_err());
        compare_with(&src, &copy, true).unwrap();
        fs::remove_file(copy.join("a/b/c/deep.bin")).unwrap();
        assert!(compare(&src, &copy).is_err());
        assert!(compare_with(&src, &copy, true).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
