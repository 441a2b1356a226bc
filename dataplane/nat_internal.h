/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside the NAT: the flow-level interface between the session table
 * (nat.c, nat_index.c, nat_table.c: mappings, sessions, ports,
 * filtering, TCP state, timers) and the packet layer (nat_packet.c: parsing, rewriting,
 * checksums, ICMP errors).  Nothing outside dataplane/nat*.c and their
 * tests includes this.
 */
#ifndef PORTCULLIS_NAT_INTERNAL_H
#define PORTCULLIS_NAT_INTERNAL_H

#include "nat.h"

/*
 * A packet's flow as the table sees it.  Addresses and ports are in
 * network byte order, copied from the wire, so the packet layer never
 * swaps bytes.  For ICMP queries the echo identifier is the port of the
 * *inside* endpoint and the remote's port is 0: on the way out
 * sport = identifier, dport = 0; on the way in sport = 0,
 * dport = identifier.
 */
struct nat_tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;                      /* IPPROTO_TCP_, _UDP_, _ICMP_ */
};

/* The other side of a translation: the new source (out) or the new
 * destination (in).  Network byte order. */
struct nat_rewrite {
	uint32_t addr;
	uint16_t port;
};

enum nat_dir { NAT_DIR_OUT, NAT_DIR_IN };

/*
 * A packet of flow t going dir: find its session or create it, refresh
 * its timer (REQ-6) and feed tcp_flags (0 for UDP/ICMP) to the TCP state
 * machine.  rw gets the other side of the translation.
 *
 * NAT_DIR_OUT (inside -> remote): a new session gets a mapping, per EIM;
 * a port forward's internal endpoint uses the forward's external port.
 * Results: NAT_OK (rw = new source), NAT_NOT_MASQUERADED,
 * NAT_PORTS_EXHAUSTED, NAT_TABLE_FULL, NAT_NO_SESSION (TCP RST for no
 * session: nothing to create).
 *
 * NAT_DIR_IN (remote -> external endpoint): the session is found by its
 * inbound key, or created for a port forward, or (endpoint-independent
 * filtering only) for an existing mapping.  Results: NAT_OK (rw = new
 * destination), NAT_NO_SESSION, NAT_TABLE_FULL.
 */
enum nat_result nat_flow(struct nat *nat, struct nat_lcore *lc,
			 const struct nat_config *conf, enum nat_dir dir,
			 const struct nat_tuple *t, uint8_t tcp_flags,
			 uint64_t now, struct nat_rewrite *rw);

static inline enum nat_result nat_flow_out(struct nat *nat,
					   struct nat_lcore *lc,
					   const struct nat_config *conf,
					   const struct nat_tuple *t,
					   uint8_t tcp_flags, uint64_t now,
					   struct nat_rewrite *rw)
{
	return nat_flow(nat, lc, conf, NAT_DIR_OUT, t, tcp_flags, now, rw);
}

static inline enum nat_result nat_flow_in(struct nat *nat,
					  struct nat_lcore *lc,
					  const struct nat_config *conf,
					  const struct nat_tuple *t,
					  uint8_t tcp_flags, uint64_t now,
					  struct nat_rewrite *rw)
{
	return nat_flow(nat, lc, conf, NAT_DIR_IN, t, tcp_flags, now, rw);
}

/*
 * Look only: no creation, no refresh, no TCP state change (ICMP errors,
 * hairpin checks).  NAT_DIR_OUT: t is inside -> remote, rw gets the
 * external endpoint of its live session.  NAT_DIR_IN: t is remote ->
 * external, rw gets the internal endpoint of its live session; with
 * admit_new also when nat_flow_in would create one (forward, or mapping
 * under endpoint-independent filtering).  NAT_OK or NAT_NO_SESSION.
 */
enum nat_result nat_flow_find(struct nat *nat, const struct nat_config *conf,
			      enum nat_dir dir, const struct nat_tuple *t,
			      bool admit_new, uint64_t now,
			      struct nat_rewrite *rw);

/* The live mapping (or port forward) of an internal endpoint, if any:
 * ext gets its external endpoint.  Look only. */
bool nat_mapping_find(struct nat *nat, const struct nat_config *conf,
		      uint8_t proto, uint32_t int_addr, uint16_t int_port,
		      uint64_t now, struct nat_rewrite *ext);

/*
 * The IPv4 header of a packet of len bytes, as both the NAT (nat_packet.c)
 * and tracking (nat_track.c) read it: NAT_OK with *ihl the header's
 * length, NAT_FRAGMENT for a later fragment (an offset, so no transport
 * header: RFC 791), else NAT_MALFORMED.  The total length field is the
 * caller's to have checked against the frame.
 */
enum nat_result nat_pkt_parse4(const uint8_t *ip, uint32_t len, uint32_t *ihl);

/* A whole TCP header at tcp, l4_len bytes from it to the packet's end,
 * with a data offset that fits (RFC 9293 3.1). */
bool nat_pkt_tcp_whole(const uint8_t *tcp, uint32_t l4_len);

/* Map an IP protocol number to the per-protocol counter index. */
static inline enum nat_proto_index nat_proto_index(uint8_t proto)
{
	return proto == 6 ? NAT_PROTO_TCP : proto == 17 ? NAT_PROTO_UDP
							 : NAT_PROTO_ICMP;
}

#endif
