#!/usr/bin/python3
"""BitTorrent v2 and hybrid torrents (BEP 52) made and read by libtorrent-rasterbar,
for monsoon's e2e.

  lt_v2.py create (--v2 | --hybrid) CONTENT OUT --piece-length N --tracker URL
  lt_v2.py info TORRENT
  lt_v2.py retrack TORRENT OUT URL

`create` makes a torrent of CONTENT (a file or a folder) the way
libtorrent's create_torrent does by default (`--hybrid`) or with its
`v2_only` flag (`--v2`), announcing to URL. `info` prints one line:

  V1_HEX|- V2_HEX PIECE_LENGTH PIECE_COUNT TOTAL_LENGTH NAME

(`-` for a v2-only torrent's v1 info-hash), then one `pad SIZE PATH` line
per pad file of the v1 view (a v1-only client sees them as files of
zeros). `retrack` writes a copy of TORRENT announcing to URL alone (the
info dictionary, hence the info-hashes, unchanged). Run with Debian's
/usr/bin/python3 (python3-libtorrent).
"""

import os
import sys

import libtorrent as lt


def create(args):
    version, content, out = args[0], args[1], args[2]
    opts = dict(zip(args[3::2], args[4::2]))
    flags = lt.create_torrent.v2_only if version == "--v2" else 0
    fs = lt.file_storage()
    lt.add_files(fs, content)
    ct = lt.create_torrent(fs, int(opts["--piece-length"]), flags=flags)
    ct.add_tracker(opts["--tracker"])
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(content)))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))


def info(path):
    ti = lt.torrent_info(path)
    ih = ti.info_hashes()
    v1 = str(ih.v1) if ih.has_v1() else "-"
    print(
        "%s %s %d %d %d %s"
        % (v1, ih.v2, ti.piece_length(), ti.num_pieces(), ti.total_size(), ti.name())
    )
    fs = ti.files()
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            print("pad %d %s" % (fs.file_size(i), fs.file_path(i)))


def retrack(path, out, url):
    d = lt.bdecode(open(path, "rb").read())
    d[b"announce"] = url.encode()
    d.pop(b"announce-list", None)
    with open(out, "wb") as f:
        f.write(lt.bencode(d))


def main():
    if sys.argv[1] == "create":
        create(sys.argv[2:])
    elif sys.argv[1] == "info":
        info(sys.argv[2])
    elif sys.argv[1] == "retrack":
        retrack(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: lt_v2.py create|info|retrack ...")


if __name__ == "__main__":
    main()
