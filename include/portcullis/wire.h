/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * On-wire formats and protocol constants shared by the dataplane, the control
 * plane, the tests and the benchmarks.
 *
 * WireGuard message layouts and constants follow the WireGuard paper
 * (Donenfeld, NDSS 2017, sections 5.4 and 6) and the Linux implementation's
 * names.  All multi-byte WireGuard fields are little-endian on the wire;
 * IP/UDP/Ethernet fields are big-endian as usual.
 */
#ifndef PORTCULLIS_WIRE_H
#define PORTCULLIS_WIRE_H

#include <stdint.h>

/* --- WireGuard: protocol constants (paper section 6.1) ----------------- */

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,      /* TAI64N */
	NOISE_AUTHTAG_LEN = 16,
	NOISE_HASH_LEN = 32,
};

enum cookie_values {
	COOKIE_SECRET_MAX_AGE_S = 2 * 60,
	COOKIE_SECRET_LATENCY_S = 5,
	COOKIE_NONCE_LEN = 24,         /* XChaCha20-Poly1305 */
	COOKIE_LEN = 16,
};

#define REKEY_AFTER_MESSAGES   (1ULL << 60)
#define REJECT_AFTER_MESSAGES  (UINT64_MAX - (1ULL << 13) - 1) /* 2^64 - 2^13 - 1 */

enum wg_limits {
	REKEY_TIMEOUT_S = 5,
	REKEY_TIMEOUT_JITTER_MAX_MS = 334,
	KEEPALIVE_TIMEOUT_S = 10,
	REKEY_AFTER_TIME_S = 120,
	REJECT_AFTER_TIME_S = 180,
	REKEY_ATTEMPT_TIME_S = 90,
	MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME_S / REKEY_TIMEOUT_S,
	INITIATIONS_PER_SECOND = 50,
	MAX_PEERS_PER_DEVICE = 1 << 20,
	MAX_QUEUED_PACKETS = 128,      /* staged while a handshake runs */
};

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

enum message_alignments {
	MESSAGE_PADDING_MULTIPLE = 16,
	MESSAGE_MINIMUM_LENGTH = 32,   /* header + tag: a keepalive */
};

/* The first four bytes of every message: type, then three reserved zeros. */
struct message_header {
	uint32_t type;                 /* little-endian */
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[COOKIE_LEN + NOISE_AUTHTAG_LEN];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;              /* the receiver's index */
	uint64_t counter;              /* nonce, little-endian */
	uint8_t encrypted_data[];
} __attribute__((packed));

_Static_assert(sizeof(struct message_header) == 4, "message_header");
_Static_assert(sizeof(struct message_macs) == 32, "message_macs");
_Static_assert(sizeof(struct message_handshake_initiation) == 148, "initiation");
_Static_assert(sizeof(struct message_handshake_response) == 92, "response");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "cookie");
_Static_assert(sizeof(struct message_data) == 16, "data header");

#define message_data_len(plain_len) \
	(sizeof(struct message_data) + (plain_len) + NOISE_AUTHTAG_LEN)

/* --- Link, network and transport headers --------------------------------- */

enum ether_types {
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_ARP = 0x0806,
	ETHERTYPE_VLAN = 0x8100,
	ETHERTYPE_IPV6 = 0x86dd,
};

struct eth_hdr {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;
} __attribute__((packed));

struct vlan_hdr {
	uint16_t tci;
	uint16_t type;
} __attribute__((packed));

/* RFC 826, for Ethernet/IPv4 only. */
struct arp_hdr {
	uint16_t htype;
	uint16_t ptype;
	uint8_t hlen;
	uint8_t plen;
	uint16_t oper;
	uint8_t sha[6];
	uint8_t spa[4];
	uint8_t tha[6];
	uint8_t tpa[4];
} __attribute__((packed));

enum arp_ops { ARP_OP_REQUEST = 1, ARP_OP_REPLY = 2 };

struct ipv4_hdr {
	uint8_t version_ihl;
	uint8_t tos;
	uint16_t total_length;
	uint16_t id;
	uint16_t frag_off;
	uint8_t ttl;
	uint8_t protocol;
	uint16_t checksum;
	uint8_t src[4];
	uint8_t dst[4];
} __attribute__((packed));

enum ipv4_flags { IPV4_DF = 0x4000, IPV4_MF = 0x2000, IPV4_OFFSET_MASK = 0x1fff };

struct ipv6_hdr {
	uint32_t vtc_flow;
	uint16_t payload_len;
	uint8_t next_header;
	uint8_t hop_limit;
	uint8_t src[16];
	uint8_t dst[16];
} __attribute__((packed));

/* RFC 8200 section 4: the extension headers a router may find between
 * the IPv6 header and the upper-layer one. */
enum ipv6_ext_headers {
	IPV6_EXT_HOP_BY_HOP = 0,
	IPV6_EXT_ROUTING = 43,
	IPV6_EXT_FRAGMENT = 44,
	IPV6_EXT_DEST_OPTS = 60,
};

/* RFC 8200 section 4.5. */
struct ipv6_frag_hdr {
	uint8_t next_header;
	uint8_t reserved;
	uint16_t frag_off;             /* offset << 3 | M */
	uint32_t id;
} __attribute__((packed));

enum ipv6_frag_bits { IPV6_FRAG_OFFSET_MASK = 0xfff8, IPV6_FRAG_MF = 0x0001 };

struct udp_hdr {
	uint16_t src_port;
	uint16_t dst_port;
	uint16_t length;
	uint16_t checksum;
} __attribute__((packed));

struct icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t checksum;
	uint32_t rest;                 /* id/seq, unused, or next-hop MTU */
} __attribute__((packed));

/* RFC 9293 section 3.1. */
struct tcp_hdr {
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t seq;
	uint32_t ack;
	uint8_t data_off;              /* high 4 bits: header length / 4 */
	uint8_t flags;                 /* enum tcp_flags */
	uint16_t window;
	uint16_t checksum;
	uint16_t urgent;
} __attribute__((packed));

enum tcp_flags {
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08,
	TCP_ACK = 0x10, TCP_URG = 0x20, TCP_ECE = 0x40, TCP_CWR = 0x80,
};

/* RFC 9293 section 3.2: option kinds. */
enum tcp_options { TCP_OPT_EOL = 0, TCP_OPT_NOP = 1, TCP_OPT_MSS = 2,
		   TCP_OPT_MSS_LEN = 4 };

enum ip_protocols {
	IPPROTO_ICMP_ = 1,
	IPPROTO_TCP_ = 6,
	IPPROTO_UDP_ = 17,
	IPPROTO_ICMPV6_ = 58,
};

enum icmp_types {
	ICMP_ECHO_REPLY = 0,
	ICMP_DEST_UNREACH = 3,
	ICMP_ECHO_REQUEST = 8,
	ICMP_TIME_EXCEEDED = 11,
	ICMP_PARAMETER_PROBLEM = 12,
	ICMP_FRAG_NEEDED_CODE = 4,     /* with ICMP_DEST_UNREACH */
	ICMP_HOST_UNREACH_CODE = 1,
	ICMP_NET_UNREACH_CODE = 0,
	ICMP_PROTO_UNREACH_CODE = 2,
	ICMP_PORT_UNREACH_CODE = 3,
	ICMP_ADMIN_PROHIBITED_CODE = 13, /* RFC 1812 5.2.7.1 */

	ICMP6_DEST_UNREACH = 1,
	ICMP6_NO_ROUTE_CODE = 0,       /* with ICMP6_DEST_UNREACH */
	ICMP6_ADDR_UNREACH_CODE = 3,
	ICMP6_ADMIN_PROHIBITED_CODE = 1, /* with ICMP6_DEST_UNREACH */
	ICMP6_PACKET_TOO_BIG = 2,
	ICMP6_TIME_EXCEEDED = 3,
	ICMP6_PARAMETER_PROBLEM = 4,
	ICMP6_ECHO_REQUEST = 128,
	ICMP6_ECHO_REPLY = 129,
	ICMP6_ROUTER_SOLICIT = 133,
	ICMP6_ROUTER_ADVERT = 134,
	ICMP6_NEIGHBOR_SOLICIT = 135,
	ICMP6_NEIGHBOR_ADVERT = 136,
};

/* RFC 4861 section 4.3/4.4 (the body after struct icmp_hdr's first 4 bytes). */
struct nd_msg {
	uint8_t type;
	uint8_t code;
	uint16_t checksum;
	uint32_t flags;                /* NA: R, S, O bits; NS: reserved */
	uint8_t target[16];
	uint8_t options[];             /* TLV, 8-byte units */
} __attribute__((packed));

enum nd_options { ND_OPT_SOURCE_LLADDR = 1, ND_OPT_TARGET_LLADDR = 2 };
#define ND_NA_FLAG_ROUTER    0x80000000u
#define ND_NA_FLAG_SOLICITED 0x40000000u
#define ND_NA_FLAG_OVERRIDE  0x20000000u

_Static_assert(sizeof(struct eth_hdr) == 14, "eth");
_Static_assert(sizeof(struct vlan_hdr) == 4, "vlan");
_Static_assert(sizeof(struct arp_hdr) == 28, "arp");
_Static_assert(sizeof(struct ipv4_hdr) == 20, "ipv4");
_Static_assert(sizeof(struct ipv6_hdr) == 40, "ipv6");
_Static_assert(sizeof(struct ipv6_frag_hdr) == 8, "ipv6 fragment");
_Static_assert(sizeof(struct udp_hdr) == 8, "udp");
_Static_assert(sizeof(struct icmp_hdr) == 8, "icmp");
_Static_assert(sizeof(struct tcp_hdr) == 20, "tcp");
_Static_assert(sizeof(struct nd_msg) == 24, "nd");

/* Outer overhead of a WireGuard data packet, excluding Ethernet. */
enum wg_overheads {
	WG_OVERHEAD_IPV4 = 20 + 8 + 16 + 16,   /* 60 */
	WG_OVERHEAD_IPV6 = 40 + 8 + 16 + 16,   /* 80 */
	WG_DEFAULT_MTU = 1420,                  /* 1500 - 80 */
};

#endif
