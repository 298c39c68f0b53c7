//! BEP 47 symbolic links: each target must name a file or folder of the
//! torrent (libtorrent's `file_storage::sanitize_symlinks`); any other link
//! is made to point to itself, so no link can ever lead outside the torrent.

use std::collections::{HashMap, HashSet};

use monsoon_storage::{FileRef, FileTable};

/// At most this many links are followed while resolving one target (a
/// chain of links pointing through each other); a longer chain makes the
/// link invalid. libtorrent has no such bound; Linux stops at 40 too.
const MAX_LINK_HOPS: usize = 40;

/// Resolves the targets of the symbolic links of a multi-file torrent.
///
/// On entry a link's target ([`FileRef::symlink`]) is relative to the
/// torrent's folder (sanitised components); on return it is the full path
/// from the download folder (like [`FileRef::path`]) of a file or folder of
/// the torrent — the target itself, the target taken relative to the link's
/// own folder, or, when neither names anything in the torrent (even through
/// other links), the link itself.
///
/// [`FileRef::symlink`]: monsoon_storage::FileRef::symlink
/// [`FileRef::path`]: monsoon_storage::FileRef::path
pub(crate) fn resolve_symlinks(files: &mut FileTable) {
    if files.iter().all(|f| !f.is_symlink()) {
        return;
    }
    for (i, target) in resolved_targets(files) {
        // Targets are paths of the torrent: the pool stays far below its
        // 4 GiB limit for any torrent within the input limits.
        files
            .set_symlink(i, Some(&target))
            .expect("a link target fits in the string pool");
    }
}

/// Each link's index and resolved full target.
fn resolved_targets(files: &FileTable) -> Vec<(usize, Vec<String>)> {
    let rel = |f: &FileRef<'_>| f.path().components().skip(1).collect::<Vec<_>>().join("/");
    let all: HashMap<String, usize> = files.iter().map(|f| (rel(&f), f.index())).collect();
    let mut dirs: HashSet<String> = HashSet::new();
    for f in files {
        let path: Vec<&str> = f.path().components().collect();
        let inner = &path[1..];
        for end in 1..inner.len() {
            dirs.insert(inner[..end].join("/"));
        }
    }
    let is_link = |p: &str| all.get(p).is_some_and(|&i| files.file(i).is_symlink());

    // First pass: targets that name a file or folder, from the torrent's
    // folder or from the link's own folder.
    let mut resolved: Vec<(usize, String)> = Vec::new();
    let mut dir_links: HashMap<String, String> = HashMap::new();
    let mut second_pass = Vec::new();
    for f in files {
        let Some(target) = f.symlink() else { continue };
        let i = f.index();
        let me = rel(&f);
        let from_root = target.to_string();
        let path: Vec<&str> = f.path().components().collect();
        let parent = path[1..path.len() - 1].join("/");
        let from_link = if parent.is_empty() {
            from_root.clone()
        } else {
            format!("{parent}/{from_root}")
        };
        let found = [from_root.clone(), from_link]
            .into_iter()
            .find(|t| all.contains_key(t) || dirs.contains(t));
        match found {
            Some(t) => {
                if dirs.contains(&t) || is_link(&t) {
                    dir_links.insert(me, t.clone());
                }
                resolved.push((i, t));
            }
            None => {
                dir_links.insert(me, from_root.clone());
                second_pass.push((i, from_root));
            }
        }
    }
    // Second pass: targets that go through folders that are links.
    for (i, target) in second_pass {
        let me = rel(&files.file(i));
        let ok = resolves(&target, &all, &dirs, &dir_links);
        resolved.push((i, if ok { target } else { me }));
    }
    resolved
        .into_iter()
        .map(|(i, target)| {
            let name = files.file(i).path().components().next().unwrap_or_default();
            let mut full = vec![name.to_owned()];
            full.extend(target.split('/').map(str::to_owned));
            (i, full)
        })
        .collect()
}

/// Whether `target` names a file or folder once each leading folder that is
/// a link is replaced by that link's target.
fn resolves(
    target: &str,
    files: &HashMap<String, usize>,
    dirs: &HashSet<String>,
    dir_links: &HashMap<String, String>,
) -> bool {
    let mut target = target.to_owned();
    let mut hops = 0;
    'restart: loop {
        let mut end = 0;
        while let Some(sep) = target[end..].find('/') {
            let branch = &target[..end + sep];
            if !dirs.contains(branch) {
                let Some(link) = dir_links.get(branch) else {
                    return false;
                };
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return false;
                }
                target = format!("{link}{}", &target[end + sep..]);
                continue 'restart;
            }
            end += sep + 1;
        }
        return files.contains_key(&target) || dirs.contains(&target);
    }
}
