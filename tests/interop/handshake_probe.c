/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handshake_probe: our protocol core (noise, cookie, transport) speaking to
 * a real WireGuard peer over UDP on 127.0.0.1, with no DPDK.  Driven by
 * tests/interop/test_handshake_wggo.sh against wireguard-go.
 *
 *   initiate  send an initiation (MAC1 via cookie_add_macs), consume the
 *             response, send an ICMP echo request 10.99.0.2 -> 10.99.0.1
 *             through the tunnel and wait for the decrypted echo reply.
 *   respond   wait for the peer's initiation (optionally answering the first
 *             one with a cookie reply and then requiring a valid MAC2),
 *             respond, confirm the key on the first data packet and answer
 *             --count echo requests for 10.99.0.2.
 *
 * Exit 0 with "OK: ..." on stdout, 1 with "FAIL: reason" on stderr.
 * The private key is read from a file (wg genkey format), never argv.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"
#include "portcullis/wire.h"
#include "random.h"
#include "replay.h"
#include "transport.h"

enum { POOL = 4, MTU = 1420, ECHO_PAYLOAD = 56, ECHO_ID = 0x5043 };
static const uint8_t probe_ip[4] = { 10, 99, 0, 2 };
static const uint8_t peer_ip[4] = { 10, 99, 0, 1 };

struct probe {
	int fd;
	struct sockaddr_in peer;        /* where to send; learned in respond */
	bool initiator, want_cookie, sent_cookie;
	unsigned count, answered;
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct cookie_checker checker;  /* MAC1/MAC2 of messages to us */
	struct cookie_maker maker;      /* MACs of messages we send */
	struct noise_keypairs kps;
	struct noise_keypair pool[POOL];
	bool used[POOL];
};

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t now(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void decode_key(uint8_t out[32], const char *b64, const char *what)
{
	size_t len = 0;

	if (sodium_base642bin(out, 32, b64, strlen(b64), " \t\r\n", &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || len != 32)
		die("%s is not a base64 WireGuard key", what);
}

static void read_private_key(uint8_t out[32], const char *path)
{
	char text[128] = { 0 };
	FILE *f = fopen(path, "r");

	if (!f)
		die("cannot open key file %s: %s", path, strerror(errno));
	if (!fgets(text, sizeof(text), f))
		die("key file %s is empty", path);
	fclose(f);
	decode_key(out, text, "private key file");
	sodium_memzero(text, sizeof(text));
}

/* --- Keypair memory: a tiny pool, as the dataplane has a mempool ---------- */

static void retire(struct noise_keypair *kp, void *ctx)
{
	struct probe *p = ctx;

	/* Single-threaded: no readers to wait for. */
	p->used[kp - p->pool] = false;
	crypto_wipe(kp, sizeof(*kp));
}

static struct noise_keypair *keypair_alloc(struct probe *p)
{
	for (int i = 0; i < POOL; i++) {
		if (!p->used[i]) {
			p->used[i] = true;
			return &p->pool[i];
		}
	}
	die("keypair pool exhausted");
	return NULL;
}

/* --- UDP ------------------------------------------------------------------ */

static void send_to_peer(struct probe *p, const void *msg, size_t len)
{
	if (sendto(p->fd, msg, len, 0, (const struct sockaddr *)&p->peer,
		   sizeof(p->peer)) != (ssize_t)len)
		die("sendto: %s", strerror(errno));
}

/* One datagram or 0 after timeout_ms. */
static size_t receive(struct probe *p, uint8_t *buf, size_t cap, int timeout_ms,
		      struct sockaddr_in *from)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	socklen_t from_len = sizeof(*from);
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	n = recvfrom(p->fd, buf, cap, 0, (struct sockaddr *)from, &from_len);
	if (n < 0)
		die("recvfrom: %s", strerror(errno));
	return (size_t)n;
}

static struct ip_endpoint endpoint_of(const struct sockaddr_in *sin)
{
	struct ip_endpoint ep = { .addr = { .family = IP_V4 } };

	memcpy(ep.addr.bytes, &sin->sin_addr, 4);
	ep.port = ntohs(sin->sin_port);
	return ep;
}

/* --- IPv4 / ICMP by hand -------------------------------------------------- */

static uint16_t inet_checksum(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* An echo (request or reply) src -> dst into pkt; returns its length. */
static size_t build_echo(uint8_t *pkt, uint8_t type, const uint8_t src[4],
			 const uint8_t dst[4], uint32_t id_seq,
			 const uint8_t *data, size_t data_len)
{
	struct ipv4_hdr *ip = (struct ipv4_hdr *)pkt;
	struct icmp_hdr *icmp = (struct icmp_hdr *)(pkt + sizeof(*ip));
	size_t icmp_len = sizeof(*icmp) + data_len;

	memset(pkt, 0, sizeof(*ip) + sizeof(*icmp));
	ip->version_ihl = 0x45;
	ip->total_length = htons((uint16_t)(sizeof(*ip) + icmp_len));
	ip->id = htons(0x7071);
	ip->ttl = 64;
	ip->protocol = IPPROTO_ICMP_;
	memcpy(ip->src, src, 4);
	memcpy(ip->dst, dst, 4);
	ip->checksum = inet_checksum(ip, sizeof(*ip));
	icmp->type = type;
	icmp->rest = id_seq;
	memmove(pkt + sizeof(*ip) + sizeof(*icmp), data, data_len);
	icmp->checksum = inet_checksum(icmp, icmp_len);
	return sizeof(*ip) + icmp_len;
}

/* Validate an IPv4 ICMP packet of at most len bytes; returns the ICMP
 * header (the payload follows it) or NULL, with *icmp_len. */
static const struct icmp_hdr *parse_icmp(const uint8_t *pkt, size_t len,
					 size_t *icmp_len)
{
	const struct ipv4_hdr *ip = (const struct ipv4_hdr *)pkt;
	size_t total;

	if (len < sizeof(*ip) + sizeof(struct icmp_hdr) || ip->version_ihl != 0x45)
		return NULL;
	total = ntohs(ip->total_length);
	if (total > len || total < sizeof(*ip) + sizeof(struct icmp_hdr) ||
	    inet_checksum(ip, sizeof(*ip)) != 0 || ip->protocol != IPPROTO_ICMP_)
		return NULL;
	*icmp_len = total - sizeof(*ip);
	if (inet_checksum(pkt + sizeof(*ip), *icmp_len) != 0)
		return NULL;
	return (const struct icmp_hdr *)(pkt + sizeof(*ip));
}

/* --- Sending through the tunnel ------------------------------------------- */

static void send_data(struct probe *p, const uint8_t *inner, size_t len)
{
	uint8_t msg[sizeof(struct message_data) + MTU + NOISE_AUTHTAG_LEN];
	struct noise_keypair *kp = atomic_load(&p->kps.current);
	uint64_t counter;
	size_t padded;

	if (!kp)
		die("no current keypair to send with");
	if (len > MTU)
		die("inner packet larger than the tunnel MTU");
	counter = atomic_fetch_add(&kp->send_counter, 1);
	memcpy(msg + sizeof(struct message_data), inner, len);
	padded = transport_pad(msg, len, MTU);
	transport_seal(kp, counter, msg, padded);
	send_to_peer(p, msg, message_data_len(padded));
}

static void send_echo_request(struct probe *p)
{
	uint8_t pkt[64 + ECHO_PAYLOAD], data[ECHO_PAYLOAD];
	size_t len;

	for (int i = 0; i < ECHO_PAYLOAD; i++)
		data[i] = (uint8_t)(0x20 + i);
	len = build_echo(pkt, ICMP_ECHO_REQUEST, probe_ip, peer_ip,
			 htonl((uint32_t)ECHO_ID << 16 | 1), data, sizeof(data));
	send_data(p, pkt, len);
	printf("sent encrypted ICMP echo request 10.99.0.2 -> 10.99.0.1\n");
}

/* --- Handshake messages --------------------------------------------------- */

static void send_initiation(struct probe *p)
{
	struct message_handshake_initiation init;

	if (!noise_handshake_create_initiation(&init, &p->hs, random_u32(),
					       clock_ns(CLOCK_REALTIME)))
		die("noise_handshake_create_initiation failed");
	cookie_add_macs(&p->maker, &init, sizeof(init), now());
	send_to_peer(p, &init, sizeof(init));
	printf("sent handshake initiation (sender index %08x)\n",
	       p->hs.local_index);
}

static void begin_session(struct probe *p)
{
	struct noise_keypair *kp = keypair_alloc(p);

	if (!noise_handshake_begin_session(&p->hs, kp, now()))
		die("noise_handshake_begin_session failed");
	noise_keypairs_install(&p->kps, kp);
}

static void on_response(struct probe *p, const uint8_t *msg, size_t len,
			const struct sockaddr_in *from)
{
	struct ip_endpoint src = endpoint_of(from);

	if (!p->initiator || len != sizeof(struct message_handshake_response))
		die("unexpected handshake response (%zu bytes)", len);
	if (cookie_validate_packet(&p->checker, msg, len, &src, false, now()) ==
	    INVALID_MAC)
		die("handshake response has an invalid MAC1");
	if (!noise_handshake_consume_response(
		    (const struct message_handshake_response *)msg, &p->hs))
		die("noise_handshake_consume_response rejected the response");
	begin_session(p);
	printf("consumed handshake response, session begun (initiator)\n");
	send_echo_request(p);
}

static struct noise_handshake *lookup(void *ctx, const uint8_t *remote_static)
{
	struct probe *p = ctx;

	return crypto_equal(p->hs.remote_static, remote_static, 32) ? &p->hs
								    : NULL;
}

/* With --cookie the first initiation gets a cookie reply, as under load;
 * the peer must then come back with a MAC2 bound to our address. */
static bool cookie_gate(struct probe *p, const uint8_t *msg, size_t len,
			const struct ip_endpoint *src)
{
	const struct message_handshake_initiation *init = (const void *)msg;
	struct message_handshake_cookie reply;
	enum cookie_mac_state st;

	st = cookie_validate_packet(&p->checker, msg, len, src, p->want_cookie,
				    now());
	if (st == INVALID_MAC)
		die("initiation has an invalid MAC1");
	if (!p->want_cookie || st == VALID_MAC_WITH_COOKIE) {
		if (p->want_cookie)
			printf("initiation carries a valid MAC2 (cookie)\n");
		return true;
	}
	if (p->sent_cookie)
		die("initiation after our cookie reply has no valid MAC2");
	cookie_message_create(&reply, msg, len, le32toh(init->sender_index),
			      &p->checker, src, now());
	send_to_peer(p, &reply, sizeof(reply));
	p->sent_cookie = true;
	printf("answered the initiation with a cookie reply\n");
	return false;
}

static void on_initiation(struct probe *p, const uint8_t *msg, size_t len,
			  const struct sockaddr_in *from)
{
	struct message_handshake_response resp;
	struct ip_endpoint src = endpoint_of(from);

	if (p->initiator || len != sizeof(struct message_handshake_initiation))
		die("unexpected handshake initiation (%zu bytes)", len);
	p->peer = *from;
	if (!cookie_gate(p, msg, len, &src))
		return;
	if (!noise_handshake_consume_initiation(
		    (const struct message_handshake_initiation *)msg, &p->id,
		    lookup, p, now()))
		die("noise_handshake_consume_initiation rejected the initiation");
	if (!noise_handshake_create_response(&resp, &p->hs, random_u32()))
		die("noise_handshake_create_response failed");
	cookie_add_macs(&p->maker, &resp, sizeof(resp), now());
	send_to_peer(p, &resp, sizeof(resp));
	begin_session(p);
	printf("consumed initiation, sent response, keypair waits in next\n");
}

static void on_cookie(struct probe *p, const uint8_t *msg, size_t len)
{
	if (len != sizeof(struct message_handshake_cookie) ||
	    cookie_message_consume((const struct message_handshake_cookie *)msg,
				   &p->maker, now()) != 0)
		die("cookie reply did not decrypt");
	printf("consumed cookie reply; resending initiation with MAC2\n");
	send_initiation(p);
}

/* --- Data messages -------------------------------------------------------- */

static struct noise_keypair *keypair_by_index(struct probe *p, uint32_t idx)
{
	for (int i = 0; i < POOL; i++)
		if (p->used[i] && p->pool[i].local_index == idx)
			return &p->pool[i];
	return NULL;
}

/* Returns true when the probe's job is done. */
static bool on_inner(struct probe *p, uint8_t *pkt, size_t len)
{
	const struct icmp_hdr *icmp;
	uint8_t requester[4];
	size_t icmp_len;

	icmp = parse_icmp(pkt, len, &icmp_len);
	if (!icmp)
		die("decrypted packet is not a well-formed IPv4 ICMP packet");
	if (p->initiator) {
		if (icmp->type != ICMP_ECHO_REPLY ||
		    icmp->rest != htonl((uint32_t)ECHO_ID << 16 | 1) ||
		    memcmp(pkt + 12, peer_ip, 4) || memcmp(pkt + 16, probe_ip, 4))
			die("decrypted packet is not our echo reply");
		printf("OK: echo reply from 10.99.0.1 decrypted (%zu ICMP bytes)\n",
		       icmp_len);
		return true;
	}
	if (icmp->type != ICMP_ECHO_REQUEST || memcmp(pkt + 16, probe_ip, 4))
		die("decrypted packet is not an echo request for 10.99.0.2");
	/* build_echo rewrites the headers in place: save the sender first. */
	memcpy(requester, pkt + 12, 4);
	len = build_echo(pkt, ICMP_ECHO_REPLY, probe_ip, requester, icmp->rest,
			 pkt + 20 + sizeof(*icmp), icmp_len - sizeof(*icmp));
	send_data(p, pkt, len);
	printf("answered echo request %u of %u\n", p->answered + 1, p->count);
	return ++p->answered == p->count;
}

static bool on_data(struct probe *p, uint8_t *msg, size_t len)
{
	struct noise_keypair *kp;
	uint64_t counter;
	size_t plain_len;

	if (len < MESSAGE_MINIMUM_LENGTH)
		die("short data message");
	kp = keypair_by_index(p, transport_receiver_index(msg));
	if (!kp)
		die("data message for an unknown receiver index");
	if (!replay_window_check(&kp->replay, transport_counter(msg)))
		die("data message counter replayed");
	if (transport_open(kp, msg, len, &counter, &plain_len) != 0)
		die("data message failed authentication");
	if (!replay_window_update(&kp->replay, counter))
		die("data message counter replayed");
	if (noise_keypairs_received_with(&p->kps, kp))
		printf("key confirmed: first data under the new keypair\n");
	if (plain_len == 0) {
		printf("received keepalive\n");
		return false;
	}
	return on_inner(p, msg + sizeof(struct message_data), plain_len);
}

/* --- Main loop ------------------------------------------------------------ */

static bool dispatch(struct probe *p, uint8_t *msg, size_t len,
		     const struct sockaddr_in *from)
{
	uint32_t type;

	if (len < 4)
		die("runt datagram");
	memcpy(&type, msg, 4);
	switch (le32toh(type)) {
	case MESSAGE_HANDSHAKE_INITIATION:
		on_initiation(p, msg, len, from);
		return false;
	case MESSAGE_HANDSHAKE_RESPONSE:
		on_response(p, msg, len, from);
		return false;
	case MESSAGE_HANDSHAKE_COOKIE:
		on_cookie(p, msg, len);
		return false;
	case MESSAGE_DATA:
		return on_data(p, msg, len);
	default:
		die("unknown message type %u", le32toh(type));
		return true;
	}
}

/* The initiator retransmits every RETRY_MS until a session exists, as
 * REKEY_TIMEOUT does in a real peer (the peer may still be starting). */
enum { RETRY_MS = 2000 };

static void run(struct probe *p, int timeout_s)
{
	uint8_t buf[2048];
	uint64_t deadline = now() + (uint64_t)timeout_s * NSEC_PER_SEC;

	if (p->initiator)
		send_initiation(p);
	for (;;) {
		struct sockaddr_in from;
		uint64_t t = now();
		int wait_ms;
		size_t n;

		if (t >= deadline)
			die("timed out after %d s", timeout_s);
		wait_ms = (int)((deadline - t) / NSEC_PER_MSEC) + 1;
		if (wait_ms > RETRY_MS)
			wait_ms = RETRY_MS;
		n = receive(p, buf, sizeof(buf), wait_ms, &from);
		if (n && dispatch(p, buf, n, &from))
			return;
		if (!n && p->initiator && !atomic_load(&p->kps.current)) {
			printf("no response yet, retransmitting\n");
			send_initiation(p);
		}
	}
}

static void setup(struct probe *p, const char *key_file, const char *peer_b64,
		  int listen_port)
{
	uint8_t priv[32], peer_pub[32];
	struct sockaddr_in local = { .sin_family = AF_INET,
				     .sin_port = htons((uint16_t)listen_port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	read_private_key(priv, key_file);
	decode_key(peer_pub, peer_b64, "--peer");
	if (noise_static_identity_set(&p->id, priv) != 0)
		die("private key is all zeros");
	sodium_memzero(priv, sizeof(priv));
	if (noise_handshake_init(&p->hs, &p->id, peer_pub, NULL, p) != 0)
		die("peer public key is unusable");
	cookie_checker_init(&p->checker, p->id.static_public);
	cookie_maker_init(&p->maker, peer_pub);
	noise_keypairs_init(&p->kps, retire, p);

	p->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&local, sizeof(local)))
		die("cannot bind 127.0.0.1:%d: %s", listen_port, strerror(errno));
}

static int bound_port(const struct probe *p)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(p->fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	return ntohs(sin.sin_port);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: handshake_probe initiate|respond --key FILE --peer PUBKEY\n"
		"         [--port N] [--listen N] [--count N] [--cookie] [--timeout S]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "peer", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "listen", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "cookie", no_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	static struct probe p = { .count = 1 };
	const char *key = NULL, *peer = NULL;
	int port = 0, listen_port = 0, timeout_s = 20, c;

	if (argc < 2 || (strcmp(argv[1], "initiate") && strcmp(argv[1], "respond")))
		usage();
	p.initiator = strcmp(argv[1], "initiate") == 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'p': peer = optarg; break;
		case 'P': port = atoi(optarg); break;
		case 'l': listen_port = atoi(optarg); break;
		case 'c': p.count = (unsigned)atoi(optarg); break;
		case 'C': p.want_cookie = true; break;
		case 't': timeout_s = atoi(optarg); break;
		default: usage();
		}
	}
	if (!key || !peer || (p.initiator ? port <= 0 : listen_port <= 0) ||
	    p.count == 0)
		usage();
	if (crypto_init() != 0)
		die("libsodium initialisation failed");
	setbuf(stdout, NULL);

	setup(&p, key, peer, listen_port);
	p.peer = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_port = htons((uint16_t)port),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	printf("probe %s: bound to 127.0.0.1:%d\n", argv[1], bound_port(&p));
	run(&p, timeout_s);
	noise_keypairs_clear(&p.kps);
	noise_handshake_destroy(&p.hs);
	noise_static_identity_clear(&p.id);
	close(p.fd);
	return 0;
}
