#!/usr/bin/python3
"""Downloads one torrent with libtorrent-rasterbar and exits once every piece
has passed its hash check: the bench's libtorrent reference client, and the
libtorrent leecher of the e2e upload column.

  lt_download.py (--torrent F | --magnet URI) --save-path DIR --port P
                 [--max-seconds N] [--for-seconds N] [--peer IP:PORT]

Run with Debian's /usr/bin/python3 (python3-libtorrent). 127.0.0.1 only; no
DHT, LSD, UPnP, NAT-PMP or uTP. Exits 1 if the download is not finished
within --max-seconds. With --for-seconds N it instead downloads for N
seconds from the first payload byte, prints `downloaded BYTES SECONDS` and
exits 0 (to measure a seeder's rate limit). --peer connects to that peer
(again every 2 s while it has none), for a torrent without trackers.
"""

import argparse
import sys
import time

import libtorrent as lt


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--torrent")
    p.add_argument("--magnet")
    p.add_argument("--save-path", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument("--for-seconds", type=float, default=0.0)
    p.add_argument("--peer")
    args = p.parse_args()
    peer = None
    if args.peer:
        host, port = args.peer.rsplit(":", 1)
        peer = (host, int(port))

    ses = lt.session(
        {
            "listen_interfaces": "127.0.0.1:%d" % args.port,
            "outgoing_interfaces": "127.0.0.1",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True,
            "alert_mask": lt.alert.category_t.error_notification,
        }
    )
    if args.magnet:
        atp = lt.parse_magnet_uri(args.magnet)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_path
    handle = ses.add_torrent(atp)
    deadline = time.monotonic() + args.max_seconds
    first = None
    next_connect = 0.0
    while time.monotonic() < deadline:
        st = handle.status()
        if peer and st.num_peers == 0 and time.monotonic() >= next_connect:
            handle.connect_peer(peer)
            next_connect = time.monotonic() + 2.0
        if args.for_seconds > 0:
            got = st.total_payload_download
            now = time.monotonic()
            if got > 0 and first is None:
                first = (now, got)
            if first is not None and now - first[0] >= args.for_seconds:
                print("downloaded %d %.3f" % (got - first[1], now - first[0]))
                return
            time.sleep(0.05)
            continue
        if st.is_seeding:
            handle.flush_cache()
            handle.pause()
            return
        ses.wait_for_alert(100)
        for alert in ses.pop_alerts():
            print("alert %s" % alert.message(), file=sys.stderr)
    print("error: not finished after %.0f s" % args.max_seconds, file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
