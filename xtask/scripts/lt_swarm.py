#!/usr/bin/python3
"""Seeds one torrent from many libtorrent sessions in one process, for the
swarm bench (`cargo xtask bench --swarm`): each session is a seeder of its
own (own peer id, own listen port on 127.0.0.1).

  lt_swarm.py --torrent F --save-path DIR --count N [--max-seconds N]

Run with Debian's /usr/bin/python3 (python3-libtorrent). Every session
trusts the data (seed mode, every piece verified, no hash checks), has
PEX, DHT, LSD, UPnP, NAT-PMP and uTP off, and few disk threads. It prints
`ready ports=P1,P2,...` once all are seeding, then answers each `status`
line on stdin with `status uploaded=BYTES peers=N` (totals over the
sessions). It exits when stdin closes or after --max-seconds.
"""

import argparse
import sys
import threading
import time

sys.dont_write_bytecode = True

import libtorrent as lt  # noqa: E402


def make_session():
    settings = lt.high_performance_seed()
    settings.update(
        {
            "listen_interfaces": "127.0.0.1:0",
            "outgoing_interfaces": "127.0.0.1",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "allow_multiple_connections_per_ip": True,
            "disable_hash_checks": True,
            "aio_threads": 2,
            "hashing_threads": 1,
            "alert_mask": lt.alert.category_t.error_notification,
        }
    )
    return lt.session(settings)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--torrent", required=True)
    p.add_argument("--save-path", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    args = p.parse_args()

    ti = lt.torrent_info(args.torrent)
    seeders = []
    for _ in range(args.count):
        ses = make_session()
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = args.save_path
        atp.flags &= ~lt.torrent_flags.auto_managed
        atp.flags &= ~lt.torrent_flags.paused
        atp.flags |= lt.torrent_flags.seed_mode | lt.torrent_flags.disable_pex
        atp.verified_pieces = [True] * ti.num_pieces()
        seeders.append((ses, ses.add_torrent(atp)))

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
        for ses, _ in seeders:
            for alert in ses.pop_alerts():
                print("alert %s" % alert.message(), file=sys.stderr, flush=True)
        if not ready and all(h.status().is_seeding for _, h in seeders):
            ready = True
            ports = ",".join(str(ses.listen_port()) for ses, _ in seeders)
            print("ready ports=%s" % ports, flush=True)
        while lines:
            if lines.pop(0) == "status":
                sts = [h.status() for _, h in seeders]
                print(
                    "status uploaded=%d peers=%d"
                    % (
                        sum(s.total_payload_upload for s in sts),
                        sum(s.num_peers for s in sts),
                    ),
                    flush=True,
                )
        time.sleep(0.1)
    if not ready:
        print("error: the seeders never all reached the seeding state", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
