#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A private host on an 802.1Q VLAN, in user space (the test machines have no
8021q module): answers tagged ARP and ICMP echo for its address, and checks
that the gateway ignores frames of another VLAN or untagged ones.

usage: vlan_host.py IFACE MY_IP GW_IP VLAN SECONDS [--tagged-only] [--ping ADDR]
Prints "served N echo" at the end, and "wrong-vlan replies N" for the probe.
--tagged-only: probe another VLAN only, not untagged frames (on a NIC that
the private VLAN shares with the public side, untagged frames are public).
--ping ADDR: before "ready", ping ADDR through the gateway (the NAT, for an
address outside) and print "remote echo N/3".
"""
import sys
import time

from scapy.all import (ARP, ICMP, IP, Dot1Q, Ether, conf, get_if_hwaddr,
                       sendp, sniff, srp1)

iface, my_ip, gw_ip, vlan, seconds = sys.argv[1:6]
options = sys.argv[6:]
tagged_only = "--tagged-only" in options
ping_dst = options[options.index("--ping") + 1] if "--ping" in options else None
vlan, seconds = int(vlan), float(seconds)
my_mac = get_if_hwaddr(iface)
conf.verb = 0
served = 0


def answer(pkt):
    """Reply to what a host on our VLAN must answer."""
    global served
    if Dot1Q not in pkt or pkt[Dot1Q].vlan != vlan:
        return
    if ARP in pkt and pkt[ARP].op == 1 and pkt[ARP].pdst == my_ip:
        sendp(Ether(dst=pkt[Ether].src, src=my_mac) / Dot1Q(vlan=vlan) /
              ARP(op=2, hwsrc=my_mac, psrc=my_ip, hwdst=pkt[ARP].hwsrc,
                  pdst=pkt[ARP].psrc), iface=iface)
    elif ICMP in pkt and pkt[IP].dst == my_ip and pkt[ICMP].type == 8:
        ip = pkt[IP]
        sendp(Ether(dst=pkt[Ether].src, src=my_mac) / Dot1Q(vlan=vlan) /
              IP(src=my_ip, dst=ip.src) /
              ICMP(type=0, id=ip[ICMP].id, seq=ip[ICMP].seq) /
              bytes(ip[ICMP].payload), iface=iface)
        served += 1


def gateway_mac():
    reply = srp1(Ether(dst="ff:ff:ff:ff:ff:ff", src=my_mac) / Dot1Q(vlan=vlan) /
                 ARP(op=1, hwsrc=my_mac, psrc=my_ip, pdst=gw_ip),
                 iface=iface, timeout=3)
    if reply is None or Dot1Q not in reply:
        sys.exit("no tagged ARP reply from the gateway")
    return reply[ARP].hwsrc


def wrong_vlan_probe(gw_mac):
    """Echo requests untagged and on another VLAN must get no answer."""
    replies = 0
    for layer in (Dot1Q(vlan=vlan + 1),) + (() if tagged_only else (None,)):
        frame = Ether(dst=gw_mac, src=my_mac)
        if layer is not None:
            frame = frame / layer
        frame = frame / IP(src=my_ip, dst=gw_ip) / ICMP(id=7, seq=1)
        if srp1(frame, iface=iface, timeout=1) is not None:
            replies += 1
    print(f"wrong-vlan replies {replies}", flush=True)


gw_mac = gateway_mac()
ok = srp1(Ether(dst=gw_mac, src=my_mac) / Dot1Q(vlan=vlan) /
          IP(src=my_ip, dst=gw_ip) / ICMP(id=7, seq=0), iface=iface, timeout=3)
print("gateway echo " + ("ok" if ok is not None and Dot1Q in ok else "missing"),
      flush=True)
wrong_vlan_probe(gw_mac)
if ping_dst is not None:
    got = 0
    for seq in range(3):
        reply = srp1(Ether(dst=gw_mac, src=my_mac) / Dot1Q(vlan=vlan) /
                     IP(src=my_ip, dst=ping_dst) / ICMP(id=9, seq=seq),
                     iface=iface, timeout=2)
        if reply is not None and Dot1Q in reply and ICMP in reply and \
                reply[IP].src == ping_dst and reply[ICMP].type == 0:
            got += 1
    print(f"remote echo {got}/3", flush=True)
print("ready", flush=True)
sniff(iface=iface, prn=answer, store=False, timeout=seconds)
print(f"served {served} echo", flush=True)
