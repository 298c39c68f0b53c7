#!/usr/bin/python3
"""Seeds one torrent with libtorrent-rasterbar on 127.0.0.1 for monsoon's e2e and bench.

Run with Debian's /usr/bin/python3 (python3-libtorrent). It prints one line
`ready port=P` once the torrent is seeding, then answers each `status` line
on stdin with `status state=S uploaded=BYTES downloaded=BYTES peers=N
seeds=N`. It exits when stdin closes or after --max-seconds, whichever comes
first.

  lt_seed.py --torrent F --save-path DIR --port P [--seed-mode] [--trust]
             [--upload-limit BYTES_PER_S] [--max-seconds N]
             [--dht [--dht-node HOST:PORT]...] [--peer IP:PORT]...
             [--partial [--download-limit BYTES_PER_S]] [--no-pex] [--lsd]
             [--forced-encryption]

--dht runs libtorrent's DHT node on the same port (127.0.0.1 only, the
routing and search restrictions for local addresses off), joined through
the --dht-node nodes; the torrent is announced there every 5 s. --peer
connects to those peers as well (for a swarm without a tracker).
--partial: the data may be incomplete; `ready` comes once it is checked,
and the missing pieces are downloaded (at most --download-limit).
--no-pex turns PEX off for the torrent (it neither tells nor listens).
--lsd turns local service discovery on (BEP 14, on the 127.0.0.1 interface).

--seed-mode trusts that the data is complete (no initial check); libtorrent
then hashes each piece the first time a peer asks for it. --trust goes
further: every piece counts as already verified and hash checks are off, so
a copy with damaged bytes is served as it is (the corrupt-seeder scenario).
--forced-encryption sets out_enc_policy and in_enc_policy to pe_forced and
allowed_enc_level to pe_rc4: only RC4-encrypted (MSE/PE) peers, both ways.
"""

import argparse
import faulthandler
import sys
import threading
import time

import libtorrent as lt

# A crash inside libtorrent (once: SIGSEGV in a CI run, log empty) leaves
# the Python stack in the log.
faulthandler.enable()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--torrent", required=True)
    p.add_argument("--save-path", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seed-mode", action="store_true")
    p.add_argument("--trust", action="store_true")
    p.add_argument("--upload-limit", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=600.0)
    p.add_argument("--dht", action="store_true")
    p.add_argument("--dht-node", action="append", default=[])
    p.add_argument("--peer", action="append", default=[])
    p.add_argument("--partial", action="store_true")
    p.add_argument("--no-pex", action="store_true")
    p.add_argument("--lsd", action="store_true")
    p.add_argument("--download-limit", type=int, default=0)
    p.add_argument("--forced-encryption", action="store_true")
    return p.parse_args()


def forced_encryption():
    """Settings that accept and make RC4-encrypted connections only."""
    return {
        "out_enc_policy": int(lt.enc_policy.pe_forced),
        "in_enc_policy": int(lt.enc_policy.pe_forced),
        "allowed_enc_level": int(lt.enc_level.pe_rc4),
        "prefer_rc4": True,
    }


def make_session(port, trust, dht=False, forced=False, lsd=False):
    settings = lt.high_performance_seed()
    settings.update(
        {
            "listen_interfaces": "127.0.0.1:%d" % port,
            "outgoing_interfaces": "127.0.0.1",
            "enable_dht": dht,
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_announce_interval": 5,
            "dht_bootstrap_nodes": "",
            "enable_lsd": lsd,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True,
            "announce_to_all_trackers": True,
            "announce_to_all_tiers": True,
            "disable_hash_checks": trust,
            **(forced_encryption() if forced else {}),
            "alert_mask": lt.alert.category_t.error_notification
            | lt.alert.category_t.status_notification,
        }
    )
    return lt.session(settings)


def status_line(handle):
    st = handle.status()
    return "status state=%s uploaded=%d downloaded=%d peers=%d seeds=%d" % (
        str(st.state).split(".")[-1],
        st.total_payload_upload,
        st.total_payload_download,
        st.num_peers,
        st.num_seeds,
    )


def main():
    args = parse_args()
    ses = make_session(
        args.port, args.trust, args.dht, args.forced_encryption, args.lsd
    )
    for node in args.dht_node:
        host, port = node.rsplit(":", 1)
        ses.add_dht_node((host, int(port)))
    # Up to monsoon's 64 MiB metainfo limit (libtorrent's default is 10 MB):
    # `bench --memory` seeds a 40 MiB .torrent (2 Mi pieces).
    ti = lt.torrent_info(args.torrent, {"max_buffer_size": 64 << 20})
    atp = lt.add_torrent_params()
    atp.ti = ti
    atp.save_path = args.save_path
    atp.flags &= ~lt.torrent_flags.auto_managed
    atp.flags &= ~lt.torrent_flags.paused
    if args.no_pex:
        atp.flags |= lt.torrent_flags.disable_pex
    if args.seed_mode or args.trust:
        atp.flags |= lt.torrent_flags.seed_mode
    if args.trust:
        atp.verified_pieces = [True] * ti.num_pieces()
    if args.upload_limit > 0:
        atp.upload_limit = args.upload_limit
    if args.download_limit > 0:
        atp.download_limit = args.download_limit
    handle = ses.add_torrent(atp)
    for peer in args.peer:
        host, port = peer.rsplit(":", 1)
        handle.connect_peer((host, int(port)))

    lines = []
    closed = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            lines.append(line.strip())
        closed.set()

    threading.Thread(target=read_stdin, daemon=True).start()

    deadline = time.monotonic() + args.max_seconds
    ready = False
    while time.monotonic() < deadline and not closed.is_set():
        for alert in ses.pop_alerts():
            if alert.category() & lt.alert.category_t.error_notification:
                print("alert %s" % alert.message(), file=sys.stderr, flush=True)
        st = handle.status()
        checked = st.state in (
            lt.torrent_status.states.downloading,
            lt.torrent_status.states.seeding,
            lt.torrent_status.states.finished,
        )
        if not ready and (st.is_seeding or (args.partial and checked)):
            ready = True
            print("ready port=%d" % ses.listen_port(), flush=True)
        while lines:
            cmd = lines.pop(0)
            if cmd == "status":
                print(status_line(handle), flush=True)
        time.sleep(0.05)
    if not ready:
        print("error: torrent never reached the seeding state", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
