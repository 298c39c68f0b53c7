"""Drives a qBittorrent WebUI API server (monsoon daemon, or qbittorrent-nox
for comparison) with PyPI's qbittorrent-api package (a client monsoon did
not write): log in, slow the session down, add a multi-file .torrent in a
category, watch it download from a local seeder (state `downloading`),
give it the seeder's address (addPeers), move it to another category, skip a file, lift the limit, wait until the
rest is there, stop and start it, read properties, trackers and a
`sync/maindata` delta, delete it with its files.

Writes what it saw at each step (`--report FILE`, JSON: the fields of
`torrents/info`, `torrents/files`, `torrents/properties`,
`transfer/info`, the states in order) so the same run against
qbittorrent-nox can be compared field by field. Prints one `ok ...` line,
or fails with a message.

Usage: qbt_check.py --url URL --username U --password PW --torrent T
       --name NAME --skip PATH --content DIR --limit BYTES --peer IP:PORT --report FILE
"""
import argparse
import json
import os
import sys
import time

import qbittorrentapi


def fail(msg):
    sys.exit(f"qbt_check: {msg}")


def wait(what, predicate, limit=120.0):
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            fail(f"{what() if callable(what) else what}: not after {limit} s")
        time.sleep(0.2)


def check(cond, what):
    if not cond:
        fail(what)


def main():
    p = argparse.ArgumentParser()
    for arg in ["url", "username", "password", "torrent", "name", "skip", "content",
                "report"]:
        p.add_argument(f"--{arg}", required=True)
    p.add_argument("--limit", type=int, required=True, help="bytes/s while watching it download")
    p.add_argument("--peer", required=True, help="the seeder, ip:port (the tracker gives it too)")
    a = p.parse_args()
    report = {"states": []}

    c = qbittorrentapi.Client(host=a.url, username=a.username, password=a.password,
                              REQUESTS_ARGS={"timeout": 30})
    c.auth_log_in()
    report["webapi_version"] = c.app.web_api_version
    prefs = c.app_preferences()
    report["preferences_keys"] = sorted(prefs.keys())

    c.app_set_preferences({"dl_limit": a.limit})
    check(c.transfer_info()["dl_rate_limit"] == a.limit, "the limit did not take")
    c.torrents_create_category(name="tv")
    added = c.torrents_add(torrent_files=a.torrent, category="tv", tags="e2e")
    check(added == "Ok.", f"add answered {added!r}")

    def the_torrent():
        found = [t for t in c.torrents_info(category="tv") if t.name == a.name]
        return found[0] if found else None
    t = wait("the torrent listed", the_torrent, 30)
    h = t.hash
    c.torrents_add_peers(peers=[a.peer], torrent_hashes=h)

    def state():
        t = c.torrents_info(torrent_hashes=h)[0]
        if not report["states"] or report["states"][-1] != t.state:
            report["states"].append(t.state)
        return t
    t = wait(lambda: f"state `downloading` between 0 and 100 % (seen: {report['states']})",
             lambda: (lambda t: t if t.state == "downloading" and 0 < t.progress < 1 else None)(state()),
             90)
    report["info_downloading"] = dict(t)
    check(t.category == "tv" and t.tags == "e2e", f"category/tags: {t.category!r} {t.tags!r}")

    c.torrents_create_category(name="films")
    c.torrents_set_category(category="films", torrent_hashes=h)
    check(c.torrents_info(torrent_hashes=h)[0].category == "films", "set category")
    check(set(c.torrents_categories().keys()) >= {"tv", "films"}, "categories")

    files = c.torrents_files(torrent_hash=h)
    names = [f.name for f in files]
    want = f"{a.name}/{a.skip}"
    check(want in names, f"{want} not in {names}")
    skip = names.index(want)
    c.torrents_file_priority(torrent_hash=h, file_ids=skip, priority=0)
    files = c.torrents_files(torrent_hash=h)
    check(files[skip].priority == 0, f"priority {files[skip].priority}")
    report["files"] = [dict(f) for f in files]

    c.app_set_preferences({"dl_limit": 0})
    t = wait("the wanted files downloaded",
             lambda: (lambda t: t if t.progress >= 1 and t.state in ("uploading", "stalledUP") else None)(state()),
             120)
    report["info_done"] = dict(t)
    for f in files:
        if f.index == skip or f.size == 0:
            continue
        path = os.path.join(t.save_path, f.name)
        with open(path, "rb") as got, open(os.path.join(a.content, f.name[len(a.name) + 1:]), "rb") as src:
            check(got.read() == src.read(), f"{f.name} differs from the source")

    c.torrents_stop(torrent_hashes=h)
    wait("stopped", lambda: state().state in ("pausedUP", "stoppedUP"), 30)
    c.torrents_start(torrent_hashes=h)
    wait("started", lambda: state().state in ("uploading", "stalledUP"), 30)

    report["properties"] = dict(c.torrents_properties(torrent_hash=h))
    report["trackers"] = [dict(x) for x in c.torrents_trackers(torrent_hash=h)]
    check(any(x["url"].endswith("/announce") for x in report["trackers"]), "no tracker listed")
    report["transfer"] = dict(c.transfer_info())
    md = c.sync_maindata(rid=0)
    check(md.get("full_update") is True and h in md["torrents"], "sync/maindata rid=0")
    report["maindata_keys"] = sorted(md.keys())
    report["server_state_keys"] = sorted(md["server_state"].keys())
    c.torrents_add_tags(tags="later", torrent_hashes=h)
    delta = c.sync_maindata(rid=md["rid"])
    check(not delta.get("full_update"), f"a delta was a full update: {sorted(delta.keys())}")
    check("later" in delta.get("torrents", {}).get(h, {}).get("tags", ""),
          f"the tag change is not in the delta: {delta.get('torrents')}")

    c.torrents_delete(delete_files=True, torrent_hashes=h)
    wait("deleted", lambda: not c.torrents_info(torrent_hashes=h), 30)
    content = os.path.join(t.save_path, a.name)
    wait("its files deleted", lambda: not os.path.exists(content), 30)
    c.torrents_remove_categories(categories=["tv", "films"])
    c.auth_log_out()

    with open(a.report, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True, default=str)
    print(f"ok states {' -> '.join(report['states'])}; WebAPI {report['webapi_version']}")


if __name__ == "__main__":
    main()
