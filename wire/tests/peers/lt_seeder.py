"""A libtorrent seeder on 127.0.0.1 for monsoon-wire's real-peer test.

Creates random data and a torrent for it in a temporary directory, seeds it
from a libtorrent session listening on 127.0.0.1 (TCP only, no DHT/LSD/UPnP),
and prints one line of JSON on stdout:

    {"port": N, "info_hash": hex, "piece_length": N, "piece0_len": N,
     "piece0_sha1": hex}

then runs until stdin closes or the timeout (argv[1], seconds, default 60)
passes, and removes the directory.
"""

import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

import libtorrent as lt

PIECE_LENGTH = 64 * 1024
SIZE = 3 * PIECE_LENGTH + 1234


def hexdigest(h):
    """Hex of a piece hash, whichever type this binding version returns."""
    return h.hex() if isinstance(h, bytes) else str(h)


def answers_handshake(port, info_hash):
    """True when the session answers a BitTorrent handshake for the torrent.

    `is_seeding` can be true a moment before libtorrent attaches incoming
    peers to the torrent; a peer that connects then is dropped right after
    the handshake, with no alert saying why. So readiness is proven the way
    a peer sees it.
    """
    ours = (b"\x13BitTorrent protocol" + bytes(8) + info_hash
            + b"-PROBE0-" + os.urandom(12))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(ours)
            got = b""
            while len(got) < 68:
                chunk = s.recv(68 - len(got))
                if not chunk:
                    return False
                got += chunk
            return got[:20] == ours[:20] and got[28:48] == info_hash
    except OSError:
        return False


def main():
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    tmp = tempfile.mkdtemp(prefix="monsoon-wire-lt-")
    try:
        name = "data.bin"
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(os.urandom(SIZE))

        fs = lt.file_storage()
        lt.add_files(fs, os.path.join(tmp, name))
        # A v1 torrent: monsoon speaks BitTorrent v1, and libtorrent 2.0's
        # default (hybrid) would make info_hash() the truncated v2 hash.
        ct = lt.create_torrent(fs, PIECE_LENGTH, lt.create_torrent.v1_only)
        lt.set_piece_hashes(ct, tmp)
        ti = lt.torrent_info(lt.bencode(ct.generate()))

        ses = lt.session({
            "listen_interfaces": "127.0.0.1:0",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True,
            # Why a peer was dropped, on stderr (the test shows it when the
            # seeder hangs up on it).
            "alert_mask": lt.alert.category_t.error_notification
            | lt.alert.category_t.peer_notification
            | lt.alert.category_t.connect_notification,
        })
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = tmp
        atp.flags |= lt.torrent_flags.seed_mode
        atp.flags &= ~lt.torrent_flags.auto_managed
        atp.flags &= ~lt.torrent_flags.paused
        handle = ses.add_torrent(atp)

        deadline = time.monotonic() + min(timeout, 20.0)
        while ses.listen_port() == 0 or not handle.status().is_seeding:
            if time.monotonic() > deadline:
                sys.exit("libtorrent seeder did not start seeding")
            time.sleep(0.05)
        v1 = bytes.fromhex(str(ti.info_hashes().v1))
        while not answers_handshake(ses.listen_port(), v1):
            if time.monotonic() > deadline:
                sys.exit("libtorrent seeder never answered a handshake")
            time.sleep(0.05)

        print(json.dumps({
            "port": ses.listen_port(),
            "info_hash": str(ti.info_hashes().v1),
            "piece_length": ti.piece_length(),
            "piece0_len": ti.piece_size(0),
            "piece0_sha1": hexdigest(ti.hash_for_piece(0)),
        }), flush=True)

        done = threading.Event()

        def wait_stdin():
            sys.stdin.read()
            done.set()

        threading.Thread(target=wait_stdin, daemon=True).start()
        stop_at = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < stop_at:
            ses.wait_for_alert(100)
            for a in ses.pop_alerts():
                if isinstance(
                    a,
                    (
                        lt.incoming_connection_alert,
                        lt.peer_disconnected_alert,
                        lt.peer_error_alert,
                    ),
                ):
                    print("lt_seeder: %s" % a.message(), file=sys.stderr, flush=True)
        del ses
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
