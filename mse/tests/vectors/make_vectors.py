#!/usr/bin/env python3
"""Known-answer vectors for monsoon-mse, from an independent implementation.

Python's own big integers (pow), hashlib's SHA-1 and a ten-line RC4 written
here from the algorithm, not from the crate. Writes `vectors.txt` beside this
script: `name hex` lines, one transcript per `case`. Re-run after changing the
cases: `python3 mse/tests/vectors/make_vectors.py`.
"""

import hashlib
import os

P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B"
    "139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485"
    "B576625E7EC6F44C42E9A63A36210000000000090563",
    16,
)
G = 2


def sha1(*parts):
    h = hashlib.sha1()
    for p in parts:
        h.update(p)
    return h.digest()


class RC4:
    def __init__(self, key, discard=1024):
        s = list(range(256))
        j = 0
        for i in range(256):
            j = (j + s[i] + key[i % len(key)]) % 256
            s[i], s[j] = s[j], s[i]
        self.s, self.i, self.j = s, 0, 0
        self.crypt(bytes(discard))

    def crypt(self, data):
        out = bytearray()
        s = self.s
        for b in data:
            self.i = (self.i + 1) % 256
            self.j = (self.j + s[self.i]) % 256
            s[self.i], s[self.j] = s[self.j], s[self.i]
            out.append(b ^ s[(s[self.i] + s[self.j]) % 256])
        return bytes(out)


def be(n, size):
    return n.to_bytes(size, "big")


def case(out, name, xa, xb, pad_a, pad_b, skey, provide, select, ia, pad_c=b"", pad_d=b""):
    ya = be(pow(G, int.from_bytes(xa, "big"), P), 96)
    yb = be(pow(G, int.from_bytes(xb, "big"), P), 96)
    s = be(pow(int.from_bytes(yb, "big"), int.from_bytes(xa, "big"), P), 96)
    assert s == be(pow(int.from_bytes(ya, "big"), int.from_bytes(xb, "big"), P), 96)
    key_a = sha1(b"keyA", s, skey)
    key_b = sha1(b"keyB", s, skey)
    enc_a, enc_b = RC4(key_a), RC4(key_b)
    req1 = sha1(b"req1", s)
    req2 = sha1(b"req2", skey)
    req3 = sha1(b"req3", s)
    step1 = ya + pad_a
    step2 = yb + pad_b
    step3 = (
        req1
        + bytes(x ^ y for x, y in zip(req2, req3))
        + enc_a.crypt(bytes(8) + be(provide, 4) + be(len(pad_c), 2) + pad_c + be(len(ia), 2))
        + enc_a.crypt(ia)
    )
    step4 = enc_b.crypt(bytes(8) + be(select, 4) + be(len(pad_d), 2) + pad_d)
    # The payload after the handshake, each way (RC4 only when selected).
    a_msg, b_msg = b"from A after the handshake", b"from B after the handshake"
    if select == 2:
        a_wire, b_wire = enc_a.crypt(a_msg), enc_b.crypt(b_msg)
    else:
        a_wire, b_wire = a_msg, b_msg
    rows = [
        ("case", name.encode().hex()),
        ("xa", xa.hex()),
        ("xb", xb.hex()),
        ("ya", ya.hex()),
        ("yb", yb.hex()),
        ("s", s.hex()),
        ("skey", skey.hex()),
        ("req1", req1.hex()),
        ("req2", req2.hex()),
        ("req3", req3.hex()),
        ("key_a", key_a.hex()),
        ("key_b", key_b.hex()),
        ("stream_a", RC4(key_a).crypt(bytes(64)).hex()),
        ("stream_b", RC4(key_b).crypt(bytes(64)).hex()),
        ("pad_a", pad_a.hex()),
        ("pad_b", pad_b.hex()),
        ("provide", "%08x" % provide),
        ("select", "%08x" % select),
        ("ia", ia.hex()),
        ("step1", step1.hex()),
        ("step2", step2.hex()),
        ("step3", step3.hex()),
        ("step4", step4.hex()),
        ("a_payload", a_msg.hex()),
        ("a_wire", a_wire.hex()),
        ("b_payload", b_msg.hex()),
        ("b_wire", b_wire.hex()),
    ]
    for k, v in rows:
        out.append("%s %s" % (k, v))


def main():
    out = ["# made by make_vectors.py (independent of the crate); name hex"]
    handshake = b"\x13BitTorrent protocol" + bytes(8) + bytes(range(20)) + b"-XX0000-abcdefghijkl"
    case(
        out,
        "rc4 both offered",
        xa=bytes(range(1, 21)),
        xb=bytes(range(101, 121)),
        pad_a=bytes((7 * i) % 256 for i in range(37)),
        pad_b=bytes((13 * i + 5) % 256 for i in range(200)),
        skey=sha1(b"an info dict"),
        provide=3,
        select=2,
        ia=handshake,
    )
    case(
        out,
        "plaintext, no padding",
        xa=bytes([0xFF] * 20),
        xb=bytes([0x01] * 20),
        pad_a=b"",
        pad_b=b"",
        skey=sha1(b"another info dict"),
        provide=1,
        select=1,
        ia=handshake,
    )
    case(
        out,
        "rc4 max padding",
        xa=bytes([0x80] + [0] * 19),
        xb=bytes([0x42] * 20),
        pad_a=bytes([0xAA] * 512),
        pad_b=bytes([0x55] * 512),
        skey=bytes(20),
        provide=2,
        select=2,
        ia=b"",
    )
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "vectors.txt"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
