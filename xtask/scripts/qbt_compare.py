"""Compares what qbt_check.py saw from monsoon with what it saw from
qbittorrent-nox, field by field, for every field monsoon sends.

Each field is `same` (equal values), `same type` (values that depend on
the run: times, rates, paths, hashes of the session), or a failure:
`missing in qBittorrent` (monsoon made up a name), `other type`, or
`differs` for a field whose value must agree (name, sizes, progress,
category, tags, priorities, file names, state). Writes a Markdown table,
prints one `ok ...` line, or fails listing the failures.

Usage: qbt_compare.py MONSOON_REPORT QBITTORRENT_REPORT TABLE_OUT
"""
import json
import sys

# Values that must agree between the two runs.
MUST_AGREE = {
    "info_downloading": {"name", "category", "tags", "total_size", "state", "auto_tmm",
                         "force_start", "seq_dl", "super_seeding", "f_l_piece_prio",
                         "infohash_v1", "hash", "trackers_count", "download_path",
                         "infohash_v2", "ratio_limit", "seeding_time_limit",
                         "completion_on", "dl_limit", "up_limit"},
    "info_done": {"name", "category", "tags", "total_size", "progress", "amount_left",
                  "auto_tmm", "hash", "infohash_v1", "trackers_count",
                  "ratio_limit", "seeding_time_limit"},
    "files": {"index", "name", "size", "priority", "piece_range"},
    "properties": {"piece_size", "pieces_num", "hash", "name", "total_size",
                   "infohash_v1", "comment", "is_private"},
    "transfer": {"dl_rate_limit", "up_rate_limit"},
    "trackers": {"url", "tier"},
}


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def main():
    ours, theirs = (json.load(open(p)) for p in sys.argv[1:3])
    rows, failures = [], []

    def compare(section, a, b):
        for key in sorted(a):
            va = a[key]
            if key not in b:
                verdict = "missing in qBittorrent"
                failures.append(f"{section}.{key}: {verdict}")
                rows.append((section, key, va, "-", verdict))
                continue
            vb = b[key]
            if va == vb:
                verdict = "same"
            elif kind(va) != kind(vb):
                verdict = "other type"
                failures.append(f"{section}.{key}: {verdict} ({va!r} vs {vb!r})")
            elif key in MUST_AGREE.get(section, ()):
                verdict = "differs"
                failures.append(f"{section}.{key}: {va!r} vs {vb!r}")
            else:
                verdict = "same type"
            rows.append((section, key, va, vb, verdict))

    for section in ["info_downloading", "info_done", "properties", "transfer"]:
        compare(section, ours[section], theirs[section])
    for i, (fa, fb) in enumerate(zip(ours["files"], theirs["files"])):
        compare("files", fa, fb)
    if len(ours["files"]) != len(theirs["files"]):
        failures.append(f"files: {len(ours['files'])} vs {len(theirs['files'])}")
    tracker = lambda rows: [t for t in rows if t["url"].endswith("/announce")]  # noqa: E731
    for ta, tb in zip(tracker(ours["trackers"]), tracker(theirs["trackers"])):
        compare("trackers", ta, tb)
    for section in ["maindata_keys", "server_state_keys"]:
        missing = sorted(set(ours[section]) - set(theirs[section]))
        if missing:
            failures.append(f"{section}: monsoon sends {missing}, qBittorrent does not")
    missing = sorted(set(ours["preferences_keys"]) - set(theirs["preferences_keys"]))
    if missing:
        failures.append(f"preferences: monsoon sends {missing}, qBittorrent does not")
    # The states a client saw, in order (monsoon may skip a short one).
    seen = [s for s in theirs["states"] if s in ours["states"]]
    if seen != [s for s in ours["states"] if s in theirs["states"]]:
        failures.append(f"states: {ours['states']} vs {theirs['states']}")

    def cell(v):
        s = json.dumps(v)
        return (s if len(s) <= 40 else s[:37] + "...").replace("|", "\\|")
    with open(sys.argv[3], "w") as f:
        f.write("| section | field | monsoon | qbittorrent-nox | |\n|---|---|---|---|---|\n")
        for section, key, va, vb, verdict in rows:
            f.write(f"| {section} | `{key}` | {cell(va)} | {cell(vb)} | {verdict} |\n")
        f.write(f"\nstates: monsoon {' -> '.join(ours['states'])}; "
                f"qbittorrent-nox {' -> '.join(theirs['states'])}\n")
    if failures:
        sys.exit("qbt_compare: " + "; ".join(failures))
    same = sum(1 for r in rows if r[4] == "same")
    print(f"ok {len(rows)} fields compared: {same} same, {len(rows) - same} same type; "
          f"table in {sys.argv[3]}")


if __name__ == "__main__":
    main()
