#!/usr/bin/python3
"""Downloads one torrent with libtorrent-rasterbar and exits once every piece
has passed its hash check: the bench's libtorrent reference client, and the
libtorrent leecher of the e2e upload column.

  lt_download.py (--torrent F | --magnet URI) --save-path DIR --port P
                 [--max-seconds N] [--for-seconds N] [--peer HOST:PORT]
                 [--forced-encryption] [--lsd]
                 [--dht-node HOST:PORT]... [--dht-lookup-only]

Run with Debian's /usr/bin/python3 (python3-libtorrent). 127.0.0.1 only; no
UPnP, NAT-PMP or uTP, no LSD unless --lsd, and no DHT unless --dht-node
(then libtorrent's DHT node joins through those nodes only, and looks the
torrent up every 5 s); with --dht-lookup-only the torrent is never
announced on the DHT: its peers are looked up (`dht_get_peers`, every 2 s)
and connected to, so nobody can find this client through the DHT and the
peer it downloads from must have announced itself. Prints `metadata after S s` (magnets) and `finished after S s`, counted
from adding the torrent. Exits 1 if the download
is not finished within --max-seconds. With --for-seconds N it instead downloads for N
seconds from the first payload byte, prints `downloaded BYTES SECONDS` and
exits 0 (to measure a seeder's rate limit). --peer connects to that peer
besides the trackers' (repeat it for more; asked again every 2 s while there
are no peers, for a torrent without trackers); --forced-encryption makes and
accepts RC4-encrypted (MSE/PE) connections only (pe_forced both ways,
allowed_enc_level pe_rc4).
"""

import argparse
import faulthandler
import sys
import time

import libtorrent as lt

# A crash inside libtorrent (once: SIGSEGV in a CI run, log empty) leaves
# the Python stack in the log.
faulthandler.enable()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--torrent")
    p.add_argument("--magnet")
    p.add_argument("--save-path", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument("--for-seconds", type=float, default=0.0)
    p.add_argument("--peer", action="append", default=[])
    p.add_argument("--forced-encryption", action="store_true")
    p.add_argument("--lsd", action="store_true")
    p.add_argument("--dht-node", action="append", default=[])
    p.add_argument("--dht-lookup-only", action="store_true")
    args = p.parse_args()

    forced = {}
    if args.forced_encryption:
        forced = {
            "out_enc_policy": int(lt.enc_policy.pe_forced),
            "in_enc_policy": int(lt.enc_policy.pe_forced),
            "allowed_enc_level": int(lt.enc_level.pe_rc4),
            "prefer_rc4": True,
        }
    ses = lt.session(
        {
            **forced,
            "listen_interfaces": "127.0.0.1:%d" % args.port,
            "outgoing_interfaces": "127.0.0.1",
            "enable_dht": bool(args.dht_node),
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_announce_interval": 5,
            "dht_bootstrap_nodes": "",
            "enable_lsd": args.lsd,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True,
            "alert_mask": lt.alert.category_t.error_notification
            | lt.alert.category_t.status_notification
            | lt.alert.category_t.dht_operation_notification,
        }
    )
    if args.magnet:
        atp = lt.parse_magnet_uri(args.magnet)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_path
    if args.dht_lookup_only:
        atp.flags |= lt.torrent_flags.disable_dht
    for node in args.dht_node:
        host, port = node.rsplit(":", 1)
        ses.add_dht_node((host, int(port)))
    added = time.monotonic()
    handle = ses.add_torrent(atp)
    peers = []
    for peer in args.peer:
        host, port = peer.rsplit(":", 1)
        peers.append((host, int(port)))
    for peer in peers:
        handle.connect_peer(peer)
    deadline = time.monotonic() + args.max_seconds
    next_connect = time.monotonic() + 2.0
    next_lookup = time.monotonic()
    first = None
    while time.monotonic() < deadline:
        st = handle.status()
        if peers and st.num_peers == 0 and time.monotonic() >= next_connect:
            # The peer may not have been listening yet: ask again.
            for peer in peers:
                handle.connect_peer(peer)
            next_connect = time.monotonic() + 2.0
        if args.dht_lookup_only and time.monotonic() >= next_lookup:
            ses.dht_get_peers(atp.info_hashes.v1)
            next_lookup = time.monotonic() + 2.0
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
            print("finished after %.2f s" % (time.monotonic() - added), flush=True)
            return
        ses.wait_for_alert(100)
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.metadata_received_alert):
                print("metadata after %.2f s" % (time.monotonic() - added), flush=True)
            if isinstance(alert, lt.dht_get_peers_reply_alert):
                for peer in alert.peers():
                    handle.connect_peer(peer)
                continue
            if alert.category() & lt.alert.category_t.dht_operation_notification:
                continue
            print("alert %s" % alert.message(), file=sys.stderr)
    print("error: not finished after %.0f s" % args.max_seconds, file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
