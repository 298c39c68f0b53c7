"""Drives `monsoon daemon` with PyPI's transmission-rpc package (a client
monsoon did not write): add a multi-file .torrent, read its fields, skip a
file, wait for the rest to download from a local seeder, stop, remove with
its data. Prints one `ok ...` line, or fails with a message.

Usage: trpc_check.py --port P --password PW --torrent T --source DIR --skip NAME
"""
import argparse
import os
import sys
import time

from transmission_rpc import Client


def wait(what, predicate, limit=120.0):
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            sys.exit(f"trpc_check: {what}: not after {limit} s")
        time.sleep(0.2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--torrent", required=True)
    p.add_argument("--source", required=True, help="folder holding the torrent's top folder")
    p.add_argument("--skip", required=True, help="path of a file to skip, inside the torrent")
    a = p.parse_args()

    c = Client(host="127.0.0.1", port=a.port, username="monsoon", password=a.password)
    session = c.get_session()
    assert session.rpc_version >= 14, session.rpc_version
    assert session.version.startswith("monsoon"), session.version
    download_dir = session.download_dir

    with open(a.torrent, "rb") as f:
        added = c.add_torrent(f, paused=True, labels=["e2e"])
    t = c.get_torrent(added.id)
    assert t.hashString == added.hashString, (t.hashString, added.hashString)
    assert t.status == "stopped", t.status
    assert t.labels == ["e2e"], t.labels
    assert t.download_dir == download_dir, (t.download_dir, download_dir)
    files = t.get_files()
    names = [f.name for f in files]
    assert len(files) >= 2, names
    top = names[0].split("/")[0]
    want = f"{top}/{a.skip}"
    assert want in names, (want, names)
    skip = names.index(want)
    assert all(f.selected for f in files)
    assert t.total_size == sum(f.size for f in files), (t.total_size, [f.size for f in files])

    c.change_torrent(t.id, files_unwanted=[skip])
    t = c.get_torrent(t.id)
    assert not t.get_files()[skip].selected
    assert t.size_when_done < t.total_size, (t.size_when_done, t.total_size)

    c.start_torrent(t.id)
    t = wait("download of the wanted files", lambda: (lambda t: t if t.percent_done == 1.0 else None)(c.get_torrent(t.id)))
    assert t.status == "seeding", t.status
    assert t.left_until_done == 0
    done = t.get_files()
    for i, f in enumerate(done):
        if i == skip or f.size == 0:
            continue
        assert f.completed == f.size, (f.name, f.completed, f.size)
        with open(os.path.join(t.download_dir, f.name), "rb") as got, open(os.path.join(a.source, f.name), "rb") as exp:
            assert got.read() == exp.read(), f"{f.name} differs"

    c.stop_torrent(t.id)
    wait("stopped", lambda: c.get_torrent(t.id).status == "stopped")
    stats = c.session_stats()
    assert stats.torrent_count == 1, stats.torrent_count

    c.remove_torrent(t.id, delete_data=True)
    assert c.get_torrents() == [], c.get_torrents()
    gone = not os.path.exists(os.path.join(download_dir, top))
    assert gone, f"{top} still in {download_dir}"
    print(f"ok: {len(files)} files, skipped {want}, downloaded {t.size_when_done} bytes, removed with data")


if __name__ == "__main__":
    main()
