#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The NAT tests' traffic helper (test_nat.sh, test_nat_policy.sh,
test_nat_fragments.sh), standard library only, run in a namespace by the
wrappers of nat_lib.sh.  Addresses are IPv4 or, where a command says so,
IPv6 in brackets ([fd00::2]:7000).

usage: nat_tool.py COMMAND ARGS...
  serve TIMEOUT SPEC...     SPEC = tcp:ADDR:PORT | udp:ADDR:PORT (IPv4 or
                            IPv6); echo everything, print "listening", then
                            log "PROTO LOCAL <- PEER" for every connection,
                            "udp LOCAL <- PEER DATA" for every datagram
  client PROTO ADDR:PORT [KIB]  (IPv4 or IPv6) TCP: KIB KiB echoed and
                            compared; UDP: one datagram echoed, from
                            ADDR:PORT exactly
  probe TIMEOUT SPEC...     (IPv4 or IPv6) "SPEC open|refused|timeout"
                            (tcp), "SPEC reply|none|refused" (udp),
                            concurrently
  eim SRCPORT LISTEN DST... one UDP socket on SRCPORT: an echo from every
                            DST, "mapped", then log "got PEER DATA" until
                            LISTEN s pass or "stop" arrives
  collide DST:PORT SRC...   one UDP socket per SRC, all on port 40999,
                            each must get its own datagram echoed
  send SRC:PORT DST:PORT DATA  one UDP datagram from a fixed source
  icmp-udp DST:PORT TTL TIMEOUT  UDP with IP_TTL and IP_RECVERR: print the
                            ICMP error the kernel matched to the socket
  size-serve ADDR PORT TIMEOUT  UDP echo, print "listening", then log
                            "got SIZE from PEER"
  size-client DST:PORT SIZE...  one datagram of random bytes per size, each
                            echoed back byte for byte, from DST exactly
  raw SRC DST:PORT SIZE ORDER [FRAGSIZE]  a UDP datagram from
                            SRC:<ephemeral> cut by hand into FRAGSIZE-byte
                            pieces (default 1480) and sent on a raw socket
                            in ORDER: reverse | shuffle-dup (shuffled, one
                            piece twice) | later-only (never the first);
                            then wait for the echo ("none" is the expected
                            answer to later-only)
"""
import errno
import os
import random
import select
import socket
import struct
import sys
import threading
import time


def ap(s):
    h, p = s.rsplit(":", 1)
    return h.strip("[]"), int(p)


def fam(a):
    return socket.AF_INET6 if ":" in a[0] else socket.AF_INET


def fmt(a):
    return "%s:%d" % (a[0], a[1])


def out(*a):
    print(*a, flush=True)


def reuse(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def oserror(e):
    return "error-" + (errno.errorcode.get(e.errno) or str(e.errno))


# --- Echo services, clients and probes (IPv4 and IPv6) ------------------------

def echo_tcp(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    c.close()


def serve(tmo, specs):
    socks = []
    for sp in specs:
        proto, rest = sp.split(":", 1)
        a = ap(rest)
        s = socket.socket(fam(a), socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        reuse(s)
        s.bind(a)
        if proto == "tcp":
            s.listen(16)
        socks.append((proto, a, s))
    out("listening")
    end = time.monotonic() + tmo
    while time.monotonic() < end:
        r, _, _ = select.select([x[2] for x in socks], [], [], 0.5)
        for proto, a, s in socks:
            if s not in r:
                continue
            if proto == "tcp":
                c, peer = s.accept()
                out("tcp", fmt(a), "<-", fmt(peer))
                threading.Thread(target=echo_tcp, args=(c,), daemon=True).start()
            else:
                d, peer = s.recvfrom(65535)
                out("udp", fmt(a), "<-", fmt(peer), d.decode(errors="replace"))
                s.sendto(d, peer)


def client(proto, dst, kib):
    if proto == "tcp":
        data = os.urandom(kib * 1024)
        c = socket.create_connection(dst, timeout=5)
        c.settimeout(10)

        def tx():
            c.sendall(data)
            c.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=tx)
        t.start()
        got = bytearray()
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += d
        t.join()
        if bytes(got) != data:
            out("fail: echoed %d bytes, sent %d" % (len(got), len(data)))
            sys.exit(1)
        out("ok tcp", fmt(c.getsockname()), "->", fmt(dst), len(data))
        return
    s = socket.socket(fam(dst), socket.SOCK_DGRAM)
    s.settimeout(1)
    msg = b"hello-%d" % os.getpid()
    for _ in range(5):
        s.sendto(msg, dst)
        try:
            while True:
                d, peer = s.recvfrom(65535)
                if d == msg:
                    break
        except socket.timeout:
            continue
        if peer[:2] != dst:         # an IPv6 peer has flow info and scope
            out("fail: udp reply from", fmt(peer), "not", fmt(dst))
            sys.exit(1)
        out("ok udp", fmt(s.getsockname()), "->", fmt(dst))
        return
    out("fail: no udp reply from", fmt(dst))
    sys.exit(1)


def probe(tmo, specs):
    res = {}

    def one(sp):
        proto, rest = sp.split(":", 1)
        a = ap(rest)
        if proto == "tcp":
            try:
                socket.create_connection(a, timeout=tmo).close()
                res[sp] = "open"
            except socket.timeout:
                res[sp] = "timeout"
            except ConnectionRefusedError:
                res[sp] = "refused"
            except OSError as e:
                res[sp] = oserror(e)
        else:
            s = socket.socket(fam(a), socket.SOCK_DGRAM)
            s.connect(a)
            s.settimeout(tmo)
            try:
                s.send(b"probe")
                s.recv(65535)
                res[sp] = "reply"
            except socket.timeout:
                res[sp] = "none"
            except ConnectionRefusedError:
                res[sp] = "refused"
            except OSError as e:
                res[sp] = oserror(e)
    ts = [threading.Thread(target=one, args=(sp,)) for sp in specs]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for sp in specs:
        out(sp, res[sp])


# --- Mappings, filtering and ICMP errors (IPv4) -------------------------------

def eim(port, listen, dsts):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(0.5)
    for dst in dsts:
        for _ in range(10):
            s.sendto(b"map", dst)
            try:
                d, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            if peer == dst:
                break
        else:
            out("fail: no reply from", fmt(dst))
            sys.exit(1)
        out("reply", fmt(dst))
    out("mapped")
    end = time.monotonic() + listen
    while time.monotonic() < end:
        try:
            d, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        out("got", fmt(peer), d.decode(errors="replace"))
        if d == b"stop":
            end = min(end, time.monotonic() + 0.3)


def collide(dst, srcs):
    socks = []
    for src in srcs:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 40999))
        s.settimeout(0.5)
        socks.append((src, s))
    for src, s in socks:
        msg = ("collide-" + src).encode()
        for _ in range(6):
            s.sendto(msg, dst)
            try:
                d, peer = s.recvfrom(65535)
            except socket.timeout:
                continue
            if d != msg:
                out("fail:", src, "got", d.decode(errors="replace"))
                sys.exit(1)
            out("ok", src)
            break
        else:
            out("fail: no reply for", src)
            sys.exit(1)


def send(src, dst, data):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reuse(s)
    s.bind(src)
    s.sendto(data.encode(), dst)


def icmp_udp(dst, ttl, tmo):
    IP_RECVERR = 11
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    s.bind(("0.0.0.0", 0))
    end = time.monotonic() + tmo
    while time.monotonic() < end:
        s.sendto(b"ttl", dst)
        p = select.poll()
        p.register(s, select.POLLERR)
        if not p.poll(1000):
            continue
        d, anc, fl, addr = s.recvmsg(512, 512, socket.MSG_ERRQUEUE)
        for lvl, typ, cd in anc:
            if lvl == socket.IPPROTO_IP and typ == IP_RECVERR:
                eno, origin, itype, icode, _, info, _ = struct.unpack_from("=IBBBBII", cd)
                off = socket.inet_ntoa(cd[20:24]) if len(cd) >= 24 else "?"
                out("icmp type %d code %d from %s src %s dst %s" %
                    (itype, icode, off, fmt(s.getsockname()), fmt(addr)))
                return
    out("no icmp error")
    sys.exit(1)


# --- Large UDP datagrams and hand-made fragments (IPv4) -----------------------

def size_serve(addr, port, tmo):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(0.5)
    out("listening")
    end = time.monotonic() + tmo
    while time.monotonic() < end:
        try:
            d, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        out("got", len(d), "from %s:%d" % peer)
        s.sendto(d, peer)


def echo(s, msg, dst, tries, send):
    for _ in range(tries):
        send()
        end = time.monotonic() + 2
        while time.monotonic() < end:
            try:
                d, peer = s.recvfrom(65535)
            except socket.timeout:
                break
            if d == msg and peer == dst:
                return "ok"
            if peer == dst:
                return "mismatch: %d bytes back for %d" % (len(d), len(msg))
    return "none"


def size_client(dst, sizes):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for size in sizes:
        msg = os.urandom(size)
        res = echo(s, msg, dst, 3, lambda: s.sendto(msg, dst))
        out(res, size, "from %s:%d" % dst)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


def pieces(src, sport, dst, dport, msg, fragsize):
    """RFC 791 3.2: the UDP datagram (checksum over all of it) in pieces."""
    ulen = 8 + len(msg)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    u = struct.pack("!HHHH", sport, dport, ulen, 0) + msg
    c = csum(ph + u) or 0xffff
    u = u[:6] + struct.pack("!H", c) + u[8:]
    ipid, res = random.randrange(1, 65536), []
    for off in range(0, len(u), fragsize):
        chunk = u[off:off + fragsize]
        more = 0x2000 if off + fragsize < len(u) else 0
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ipid,
                        more | off // 8, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        res.append(h + chunk)
    return res


def raw(src, dst, size, order, fragsize):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(2)
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    msg = os.urandom(size)
    frags = pieces(src, s.getsockname()[1], dst[0], dst[1], msg, fragsize)
    if order == "reverse":
        seq = frags[::-1]
    elif order == "shuffle-dup":
        seq = frags[1:] + [frags[-1]]
        random.shuffle(seq)
        seq.insert(random.randrange(1, len(seq)), frags[0])
    else:
        seq = frags[1:]

    def send():
        for f in seq:
            r.sendto(f, (dst[0], 0))
    res = echo(s, msg, dst, 1 if order == "later-only" else 3, send)
    out(res, size, order, "%d pieces" % len(frags), "from %s:%d" % dst)


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(float(a[0]), a[1:])
    elif cmd == "client":
        client(a[0], ap(a[1]), int(a[2]) if len(a) > 2 else 64)
    elif cmd == "probe":
        probe(float(a[0]), a[1:])
    elif cmd == "eim":
        eim(int(a[0]), float(a[1]), [ap(x) for x in a[2:]])
    elif cmd == "collide":
        collide(ap(a[0]), a[1:])
    elif cmd == "send":
        send(ap(a[0]), ap(a[1]), a[2])
    elif cmd == "icmp-udp":
        icmp_udp(ap(a[0]), int(a[1]), float(a[2]))
    elif cmd == "size-serve":
        size_serve(a[0], int(a[1]), float(a[2]))
    elif cmd == "size-client":
        size_client(ap(a[0]), [int(x) for x in a[1:]])
    elif cmd == "raw":
        raw(a[0], ap(a[1]), int(a[2]), a[3], int(a[4]) if len(a) > 4 else 1480)
    else:
        sys.exit("nat_tool.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
