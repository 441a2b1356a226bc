/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NAT44 with connection tracking: source NAT (masquerade) of inside hosts
 * behind one external address, port forwards (static NAT), and the
 * stateful filter that keeps unsolicited traffic out.  Pure C, no EAL:
 * time comes in as `now` (monotonic ns), randomness through random.h.
 *
 * Model (RFC 4787 terms):
 *  - A *mapping* binds an internal endpoint (proto, address, port) to an
 *    external one.  It is endpoint-independent (REQ-1): every session of
 *    that internal endpoint uses the same external port, whatever the
 *    remote.  A mapping lives while it has sessions.
 *  - A *session* is one (internal endpoint, remote endpoint) pair on a
 *    mapping.  It carries the timer and the TCP state, and is what
 *    address-and-port-dependent filtering (REQ-8) admits inbound traffic
 *    by.  Port forwards are mappings that come from the config; their
 *    sessions are created by inbound traffic.
 *  - ICMP query sessions use the echo identifier as the port (RFC 5508
 *    REQ-2); their remote port is 0.
 *
 * Multi-core (DESIGN.md "NAT sessions must be found by whichever worker
 * receives the reply"): one table shared by all lcores.  Lookups are
 * lock-free; a writer (any worker creating, the control thread expiring)
 * takes a spinlock on the hash bucket(s) it changes, so a reply arriving
 * on another lcore or queue than its request finds the session with one
 * hash lookup, and two lcores can never claim the same external port.  We
 * chose this over steering replies by external port because neither
 * af_packet nor af_xdp can steer by our port choice, and over per-lcore
 * port ranges because those break port preservation (REQ-3).  Expired
 * sessions are unlinked by the control thread and reused only after an
 * RCU grace period (nat_reclaim), so a reader never sees one reused.
 */
#ifndef PORTCULLIS_NAT_H
#define PORTCULLIS_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/nat_config.h"

struct nat;

/* What a NAT call decided.  Everything but NAT_OK and NAT_LOCAL is a drop
 * the caller counts under the matching drop reason. */
enum nat_result {
	NAT_OK = 0,              /* translated in place: forward it */
	NAT_LOCAL,               /* for the gateway itself (inbound echo
				  * request): answer it, do not translate */
	NAT_NOT_MASQUERADED,     /* outbound, source not in Masquerade and
				  * no session: not ours to translate */
	NAT_MALFORMED,           /* truncated transport header */
	NAT_FRAGMENT,            /* later IPv4 fragment (offset > 0), or an
				  * ICMP error quoting one: no transport
				  * header (nat_frag.h handles them) */
	NAT_UNSUPPORTED,         /* not TCP, UDP, ICMP echo or ICMP error */
	NAT_NO_SESSION,          /* inbound with no session it may use:
				  * unsolicited or filtered (REQ-8) */
	NAT_ICMP_NO_SESSION,     /* ICMP error quoting no known session */
	NAT_PORTS_EXHAUSTED,     /* no free external port: send ICMP 3/13 */
	NAT_TABLE_FULL,          /* MaxSessions reached: send ICMP 3/13 */
	NAT_RESULT_COUNT
};

enum nat_proto_index { NAT_PROTO_TCP, NAT_PROTO_UDP, NAT_PROTO_ICMP,
		       NAT_PROTO_COUNT };

/* Per-thread counters; only their thread writes them, readers sum. */
struct nat_stats {
	uint64_t created[NAT_PROTO_COUNT];  /* sessions, tracked ones too */
	uint64_t expired[NAT_PROTO_COUNT];  /* flushed ones too */
	uint64_t mappings_created, mappings_expired;
	uint64_t port_alloc_failures;
	uint64_t results[NAT_RESULT_COUNT]; /* every call's outcome */
	uint64_t icmp_errors_translated;
	uint64_t mss_clamped;
	uint64_t fragments_translated;      /* later fragments rewritten by
					     * the fragment tracker */
	uint64_t fragments_held;            /* later fragments that came before
					     * their first and had to wait */
	uint64_t tracked_created[NAT_PROTO_COUNT]; /* of created[]: tracked
						    * (nat_track_open) */
	uint64_t tracked_expired[NAT_PROTO_COUNT];
};

enum { NAT_LCORE_CACHE = 64 };

/*
 * One per thread that calls into the NAT (each worker, the control
 * thread, each test thread); zero it, then nat_lcore_init.  It holds the
 * counters and a small cache of free session, mapping and tracked-session
 * slots, so creating a session takes the shared free-list lock only once
 * per NAT_LCORE_CACHE / 2 sessions.
 */
struct nat_lcore {
	struct nat_stats stats;
	uint32_t free_sessions[NAT_LCORE_CACHE];
	unsigned n_free_sessions;
	uint32_t free_mappings[NAT_LCORE_CACHE];
	unsigned n_free_mappings;
	uint32_t free_tracks[NAT_LCORE_CACHE];
	unsigned n_free_tracks;
	uint64_t rng;                       /* xorshift state for port picks */
} __attribute__((aligned(64)));

/* Table of max_sessions sessions (and as many mappings), NAT and tracked
 * together.  The memory is reserved up front but touched only as sessions
 * are created; what is reserved per session is nat_bytes_per_session().
 * NULL on failure. */
struct nat *nat_create(uint32_t max_sessions);
void nat_destroy(struct nat *nat);
size_t nat_bytes_per_session(void);
uint32_t nat_capacity(const struct nat *nat);

void nat_lcore_init(struct nat_lcore *lc);
/* Give cached free slots back (a thread that stops). */
void nat_lcore_release(struct nat *nat, struct nat_lcore *lc);

/*
 * Packet calls.  ip points at an IPv4 header whose total length len was
 * already checked against the buffer; the packet is rewritten in place
 * (addresses, ports or echo identifier, and every checksum, incrementally
 * per RFC 1624).  conf is the published [NAT] config with `external`
 * filled in.  Safe to call from any number of threads at once.
 */

/* Inside -> outside, for a packet routed out of the public port.  Finds
 * the session (or creates it, and its mapping, if the source is in
 * Masquerade) and rewrites the source.  ICMP errors from inside about a
 * translated inbound packet are translated too (RFC 5508 REQ-3). */
enum nat_result nat_out(struct nat *nat, struct nat_lcore *lc,
			const struct nat_config *conf, uint8_t *ip,
			uint32_t len, uint64_t now);

/* Outside -> inside, for a packet that arrived on the public port for an
 * external address (conf->external or a forward's).  Finds the session
 * (or, for a port forward or under endpoint-independent filtering, creates
 * it) and rewrites the destination.  ICMP errors quoting a translated
 * packet are translated back, embedded header and all (RFC 5508 REQ-3/4);
 * they never end a session (RFC 4787 REQ-12). */
enum nat_result nat_in(struct nat *nat, struct nat_lcore *lc,
		       const struct nat_config *conf, uint8_t *ip,
		       uint32_t len, uint64_t now);

/* Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): would a packet from
 * inside to an external address be admitted by nat_in after nat_out
 * translated its source?  Looks only; creates and refreshes nothing.  When
 * true the caller runs nat_out then nat_in on the packet and forwards it
 * inside; when false the packet is for the gateway itself. */
bool nat_hairpin_target(struct nat *nat, const struct nat_config *conf,
			const uint8_t *ip, uint32_t len, uint64_t now);

/* Fill conf's derived lookup fields (external address list, forward
 * port bitmaps) once `external` and the forwards are final; 0 or -ENOMEM.
 * nat_config_index_free releases them. */
int nat_config_index(struct nat_config *conf);
void nat_config_index_free(struct nat_config *conf);

/* Is there a forward of proto on external address addr, port (network
 * order)?  The port bitmap answers most "no"s without a scan. */
bool nat_forward_at(const struct nat_config *conf, uint8_t proto, const uint8_t addr[4],
		    uint16_t port);

/* A public address shared with the host (HostInterface, or AF_XDP
 * steering): is this IPv4 packet to an external address (ip, its checked
 * total length len) the NAT's?  TCP/UDP to PortRange or a forward's port,
 * echo replies with an identifier in PortRange, ICMP errors quoting such
 * a packet, non-first fragments, and anything too short to tell; the rest
 * is the host's.  dataplane/xdp/steer.bpf.c makes the same decision. */
bool nat_inbound_owned(const struct nat_config *conf, const uint8_t *ip, uint32_t len);

/* Is addr one of the external addresses (ExternalAddress or a forward's)? */
bool nat_is_external(const struct nat_config *conf, const uint8_t addr[4]);

/*
 * Connection tracking without translation (nat_track.c), for [NAT]
 * AllowTunnelToPrivate / AllowPrivateToTunnel = no: the denied direction
 * may not start flows, but replies to flows the allowed side started get
 * through, and ICMP errors about them (iptables' ESTABLISHED,RELATED).
 * Tracked sessions live in this table beside the NAT's, under keys of
 * their own: the same MaxSessions, timeouts, TCP state machine, expiry and
 * lock-free lookups.  IPv4 and IPv6 alike (keys hold whole addresses).  ip
 * points at an IPv4 or IPv6 header whose total length len was checked
 * against the buffer; the packet is not modified.  Flows are TCP, UDP and
 * ICMP / ICMPv6 echo (the identifier as the opener's port).
 */

/* A packet from the allowed side: find its flow's session or create it,
 * refresh it and feed the TCP state machine.  What no session can be
 * made of passes untracked (other protocols, later fragments, ICMP other
 * than echo requests, a TCP RST of no known flow).  NAT_OK,
 * NAT_MALFORMED, NAT_TABLE_FULL. */
enum nat_result nat_track_open(struct nat *nat, struct nat_lcore *lc,
			       const struct nat_config *conf,
			       const uint8_t *ip, uint32_t len, uint64_t now);

/* A packet from the denied side: NAT_OK if it goes the reverse way of a
 * live tracked session (which it refreshes; a TCP segment that would
 * start a new connection on it is refused), or is an ICMP error about a
 * packet of one, sent to that packet's source (look only), or is a later
 * fragment (nat_track.c says why).  Else NAT_NO_SESSION, or NAT_MALFORMED
 * for a truncated header. */
enum nat_result nat_track_reply(struct nat *nat, struct nat_lcore *lc,
				const struct nat_config *conf,
				const uint8_t *ip, uint32_t len, uint64_t now);

/*
 * Control thread.  nat_expire looks at up to `budget` session slots,
 * continuing where the last call stopped, unlinks those whose timer ran
 * out (and mappings left with no session) and counts them in lc; there
 * is no stop-the-world scan: call it every tick with a budget that covers
 * the table in a few seconds.  Unlinked slots are reused only after
 * nat_reclaim, which the caller runs after an RCU grace period (every
 * reader that could have seen them has left its read-side section).
 * Returns the number of sessions expired.
 */
unsigned nat_expire(struct nat *nat, struct nat_lcore *lc,
		    const struct nat_config *conf, uint64_t now, unsigned budget);
void nat_reclaim(struct nat *nat);
/* Sessions linked now (created minus expired, over all threads). */
uint32_t nat_active_sessions(const struct nat *nat);

/*
 * Control thread: the NAT sessions for the CLI (nat_walk.c).  Tracked
 * sessions (nat_track_open) are not listed or flushed: they translate
 * nothing and time out on their own.
 */
enum nat_session_state {
	NAT_STATE_OPEN,                     /* UDP, ICMP echo */
	NAT_STATE_SYN_SENT,                 /* one side's SYN (or traffic of
					     * a picked-up connection) only */
	NAT_STATE_SYN_RECEIVED,             /* both SYNs, not acknowledged */
	NAT_STATE_ESTABLISHED,              /* nat_tcp_established */
	NAT_STATE_FIN_WAIT,                 /* one side's FIN */
	NAT_STATE_CLOSING,                  /* both FINs */
	NAT_STATE_CLOSED,                   /* RST */
	NAT_STATE_COUNT
};

/* "open", "syn_sent", ... as the CLI prints them. */
const char *nat_session_state_name(enum nat_session_state s);

/* One session, in plain terms.  Addresses are network-order bytes, ports
 * host order; for ICMP echo the inside and external ports are the
 * identifier and the remote port is 0. */
struct nat_session_info {
	uint8_t proto;                      /* IPPROTO_TCP_, _UDP_, _ICMP_ */
	uint8_t inside[4], external[4], remote[4];
	uint16_t inside_port, external_port, remote_port;
	enum nat_session_state state;
	uint32_t expires_in;                /* seconds from now; 0: timed out,
					     * waiting for the expiry walk */
	bool forward;                       /* created through a port forward */
};

/* Calls fn for every usable session (in slot order) until it returns
 * non-zero, which is returned.  conf gives the timeouts; now as for the
 * packet calls.  Workers may create and refresh sessions meanwhile: a
 * session created during the walk may or may not be seen. */
typedef int (*nat_session_fn)(const struct nat_session_info *s, void *ctx);
int nat_session_walk(const struct nat *nat, const struct nat_config *conf,
		     uint64_t now, nat_session_fn fn, void *ctx);

/* Remove every linked session match() says yes to (NULL: all of them),
 * exactly as expiry would, counted as expired in lc.  The removed slots
 * are reused after nat_reclaim, which the caller runs after an RCU grace
 * period, as for nat_expire.  Returns the number removed. */
typedef bool (*nat_session_match_fn)(const struct nat_session_info *s,
				     void *ctx);
unsigned nat_session_flush(struct nat *nat, struct nat_lcore *lc,
			   const struct nat_config *conf, uint64_t now,
			   nat_session_match_fn match, void *ctx);

#endif
