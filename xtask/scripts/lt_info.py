#!/usr/bin/python3
"""Prints what libtorrent-rasterbar reads in a .torrent, as one line:

  INFO_HASH_HEX PIECE_LENGTH PIECE_COUNT TOTAL_LENGTH NAME

Run with Debian's /usr/bin/python3 (python3-libtorrent). monsoon's e2e uses it
for the tracker whitelist and to cross-check `monsoon info --json`.
"""

import sys

import libtorrent as lt

for path in sys.argv[1:]:
    ti = lt.torrent_info(path)
    print(
        "%s %d %d %d %s"
        % (ti.info_hash(), ti.piece_length(), ti.num_pieces(), ti.total_size(), ti.name())
    )
