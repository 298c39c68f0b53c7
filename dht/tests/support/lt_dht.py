#!/usr/bin/python3
"""libtorrent DHT sessions on 127.0.0.1 for monsoon-dht's interop test.

Run with Debian's /usr/bin/python3 (python3-libtorrent). Starts one session
per port in --ports with the DHT on and no public bootstrap nodes, the
loopback restrictions off (every node of the test is on 127.0.0.1), and
makes the sessions know each other with add_dht_node. Prints
`ready ports=P1,P2` once every session has a node in its routing table,
then reads commands on stdin:

  add_node I PORT   session I pings 127.0.0.1:PORT (add_dht_node)
  nodes I           prints `nodes I N`, the nodes in its routing table
  seed I            session I seeds a small new torrent (made in
                    --work), so it announces itself to the DHT; prints
                    `seeding I HEX PORT`
  get_peers I HEX   session I looks HEX up (dht_get_peers); prints
                    `peers I HEX ADDR...` when its lookup ends

and prints `incoming I HEX IP PORT` for every announce a session receives.
It exits when stdin closes or after --max-seconds.

(dht_announce itself cannot be called from Python 2.0's binding: its flags
type is not exported, hence the seeded torrent.)
"""

import argparse
import os
import sys
import threading
import time

import libtorrent as lt


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--ports", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--max-seconds", type=float, default=120.0)
    return p.parse_args()


def make_session(port):
    return lt.session(
        {
            "listen_interfaces": "127.0.0.1:%d" % port,
            "outgoing_interfaces": "127.0.0.1",
            "enable_dht": True,
            "dht_bootstrap_nodes": "",
            "dht_restrict_routing_ips": False,
            "dht_restrict_search_ips": False,
            "dht_ignore_dark_internet": False,
            "dht_enforce_node_id": False,
            # All queries come from 127.0.0.1: do not block it.
            "dht_block_ratelimit": 10000,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "alert_mask": lt.alert.category_t.dht_notification
            | lt.alert.category_t.dht_operation_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.stats_notification,
        }
    )


def say(line):
    print(line, flush=True)


def make_torrent(work):
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "dht-interop.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(64 * 1024))
    fs = lt.file_storage()
    lt.add_files(fs, path)
    ct = lt.create_torrent(fs, 16384)
    lt.set_piece_hashes(ct, work)
    return lt.torrent_info(lt.bencode(ct.generate()))


class Sessions:
    def __init__(self, ports, work):
        self.work = work
        self.list = [make_session(p) for p in ports]
        self.stats = {}

    def pump(self):
        for i, ses in enumerate(self.list):
            for a in ses.pop_alerts():
                if isinstance(a, lt.dht_announce_alert):
                    say("incoming %d %s %s %d" % (i, a.info_hash, a.ip, a.port))
                elif isinstance(a, lt.dht_get_peers_reply_alert):
                    addrs = " ".join("%s:%d" % p for p in a.peers())
                    say("peers %d %s %s" % (i, a.info_hash, addrs))
                elif isinstance(a, lt.dht_stats_alert):
                    self.stats[i] = sum(b["num_nodes"] for b in a.routing_table)
                elif a.category() & lt.alert.category_t.error_notification:
                    print("alert %d %s" % (i, a.message()), file=sys.stderr, flush=True)

    def nodes(self, i, timeout=5.0):
        self.stats.pop(i, None)
        self.list[i].post_dht_stats()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and i not in self.stats:
            self.pump()
            time.sleep(0.02)
        return self.stats.get(i, -1)

    def command(self, cmd):
        i = int(cmd[1])
        ses = self.list[i]
        if cmd[0] == "add_node":
            ses.add_dht_node(("127.0.0.1", int(cmd[2])))
        elif cmd[0] == "nodes":
            say("nodes %d %d" % (i, self.nodes(i)))
        elif cmd[0] == "seed":
            ti = make_torrent(os.path.join(self.work, "seed%d" % i))
            atp = lt.add_torrent_params()
            atp.ti = ti
            atp.save_path = os.path.join(self.work, "seed%d" % i)
            atp.flags |= lt.torrent_flags.seed_mode
            atp.flags &= ~lt.torrent_flags.auto_managed
            atp.flags &= ~lt.torrent_flags.paused
            ses.add_torrent(atp)
            say("seeding %d %s %d" % (i, ti.info_hash(), ses.listen_port()))
        elif cmd[0] == "get_peers":
            ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(cmd[2])))
        else:
            print("unknown command %r" % cmd, file=sys.stderr, flush=True)


def main():
    args = parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    sessions = Sessions(ports, args.work)
    deadline = time.monotonic() + args.max_seconds
    # Each session learns the others once all are listening (a node
    # given before the DHT runs would become a router node, which
    # libtorrent never puts in its routing table).
    time.sleep(0.3)
    for ses in sessions.list:
        for p in ports:
            if p != ses.listen_port():
                ses.add_dht_node(("127.0.0.1", p))
    while time.monotonic() < deadline:
        if all(sessions.nodes(i) > 0 for i in range(len(ports))):
            break
        time.sleep(0.1)
    else:
        print("error: the sessions never found each other", file=sys.stderr)
        sys.exit(1)
    say("ready ports=%s" % ",".join(str(s.listen_port()) for s in sessions.list))

    lines = []
    closed = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            if line.split():
                lines.append(line.split())
        closed.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    while time.monotonic() < deadline and not (closed.is_set() and not lines):
        sessions.pump()
        while lines:
            sessions.command(lines.pop(0))
        time.sleep(0.02)


if __name__ == "__main__":
    main()
