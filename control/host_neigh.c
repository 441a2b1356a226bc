/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel's neighbour table over rtnetlink (see host_neigh.h).
 *
 * A request is two steps.  host_neigh_request asks RTM_GETNEIGH for the
 * one entry; host_neigh_poll, on the reply, sends RTM_NEWNEIGH with
 * NTF_USE unless the entry is already good.  NTF_USE is not sent at once
 * because since Linux 5.16 (7482e3841d52) it clears NUD_PERMANENT:
 * neigh_add() passes NEIGH_UPDATE_F_USE to __neigh_update(), which turns
 * a permanent entry into one that must be resolved (and may fail), so an
 * entry the administrator pinned would be lost to our asking.
 *
 * The parser trusts nothing the socket hands it: every header and
 * attribute length is checked against what is left of the datagram
 * before it is read, and a message that does not add up is skipped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "host_neigh.h"
#include "portcullis/types.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

enum {
	/* A neighbour message is ~100 bytes; a datagram of the kernel's
	 * (NLMSG_GOODSIZE) is at most 8 KiB.  Larger: MSG_TRUNC, skipped. */
	RECV_BUF = 16384,
	HOST_NEIGH_POLL_MAX = 64,           /* datagrams read per call */
	USABLE_STATES = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
			NUD_PERMANENT | NUD_NOARP,
	/* Good as they are: the kernel is not asked to probe them (STALE
	 * is usable but is asked, so that the kernel confirms it). */
	SETTLED_STATES = NUD_REACHABLE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
			 NUD_NOARP,
};

/* Marks the sequence numbers of our RTM_GETNEIGH, so that its reply
 * (and its ENOENT) is told from a notification, whose seq is 0. */
#define SEQ_GET 0x80000000u

struct host_neigh {
	int fd;
	uint32_t portid;
	uint32_t seq;
	/* aligned for the nlmsghdr/ndmsg/rtattr reads */
	_Alignas(struct nlmsghdr) uint8_t buf[RECV_BUF];
};

/* The attributes follow the ndmsg with no padding between (12 bytes). */
_Static_assert(NLMSG_ALIGN(sizeof(struct ndmsg)) == sizeof(struct ndmsg),
	       "ndmsg padded");

/* One request: header, ndmsg, one NDA_DST of up to 16 bytes. */
struct neigh_req {
	struct nlmsghdr nh;
	struct ndmsg ndm;
	struct rtattr dst;
	uint8_t addr[16];
};

/* One neighbour, as parsed from a message (mac NULL: none given). */
struct entry {
	int ifindex;
	uint16_t state;
	struct ip_addr ip;
	const uint8_t *mac;
};

struct host_neigh *host_neigh_open(int *err)
{
	int group = RTNLGRP_NEIGH;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	struct host_neigh *hn = calloc(1, sizeof(*hn));

	if (hn == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	/* The port id the kernel gives us tells its replies to us from
	 * notifications that others' changes cause. */
	hn->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (hn->fd < 0 || bind(hn->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(hn->fd, (struct sockaddr *)&sa, &salen) < 0 ||
	    setsockopt(hn->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
		       sizeof(group)) < 0) {
		*err = -errno;
		host_neigh_close(hn);
		return NULL;
	}
	hn->portid = sa.nl_pid;
	return hn;
}

void host_neigh_close(struct host_neigh *hn)
{
	if (hn == NULL)
		return;
	if (hn->fd >= 0)
		close(hn->fd);
	free(hn);
}

static int send_req(struct host_neigh *hn, uint16_t type, uint16_t flags,
		    uint8_t ndm_flags, int ifindex, const struct ip_addr *ip)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	unsigned alen = ip_addr_len(ip);
	struct neigh_req req;
	size_t len = NLMSG_LENGTH(sizeof(req.ndm)) + RTA_LENGTH(alen);

	/* Zeroed whole: the kernel refuses a get with stray pad/state bits. */
	memset(&req, 0, sizeof(req));
	hn->seq = (hn->seq + 1) & ~SEQ_GET;
	req.nh.nlmsg_len = (uint32_t)len;
	req.nh.nlmsg_type = type;
	req.nh.nlmsg_flags = flags;
	req.nh.nlmsg_seq = type == RTM_GETNEIGH ? hn->seq | SEQ_GET : hn->seq;
	req.ndm.ndm_family = ip->family == IP_V4 ? AF_INET : AF_INET6;
	req.ndm.ndm_ifindex = ifindex;
	req.ndm.ndm_flags = ndm_flags;
	req.ndm.ndm_state = NUD_NONE;
	req.dst.rta_type = NDA_DST;
	req.dst.rta_len = (unsigned short)RTA_LENGTH(alen);
	memcpy(req.addr, ip->bytes, alen);
	if (sendto(hn->fd, &req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

int host_neigh_request(struct host_neigh *hn, int ifindex, const struct ip_addr *ip)
{
	if (hn == NULL || ip == NULL || ifindex <= 0 || ip_addr_len(ip) == 0)
		return -EINVAL;
	/* No NLM_F_DUMP: the one entry, or ENOENT.  Either way poll goes
	 * on to resolve_entry. */
	return send_req(hn, RTM_GETNEIGH, NLM_F_REQUEST, 0, ifindex, ip);
}

/* Step two, from poll.  NTF_USE: neigh_add() calls neigh_event_send(),
 * i.e. the kernel probes as if it had a packet for the entry (a STALE
 * one goes to DELAY, a FAILED or new one to INCOMPLETE).  No NLM_F_ACK:
 * success is silent, and an error reply is skipped.  A send that fails
 * is dropped: the caller's retry asks again. */
static void resolve_entry(struct host_neigh *hn, const struct entry *e)
{
	(void)send_req(hn, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE, NTF_USE,
		       e->ifindex, &e->ip);
}

/* The NDA_DST and NDA_LLADDR of one neighbour message; false if the
 * attributes do not add up, NDA_DST is missing, or either is repeated
 * or of the wrong size. */
static bool parse_attrs(const uint8_t *p, size_t left, struct entry *e)
{
	unsigned alen = ip_addr_len(&e->ip);
	bool have_dst = false;

	e->mac = NULL;
	while (left >= sizeof(struct rtattr)) {
		const struct rtattr *rta = (const struct rtattr *)p;
		size_t rlen = rta->rta_len, step = RTA_ALIGN(rlen);

		if (rlen < sizeof(*rta) || rlen > left)
			return false;
		if (rta->rta_type == NDA_DST) {
			if (have_dst || rlen - RTA_LENGTH(0) != alen)
				return false;
			memcpy(e->ip.bytes, p + RTA_LENGTH(0), alen);
			have_dst = true;
		} else if (rta->rta_type == NDA_LLADDR) {
			if (e->mac != NULL || rlen - RTA_LENGTH(0) != 6)
				return false;
			e->mac = p + RTA_LENGTH(0);
		}
		/* The last attribute may lack its padding. */
		if (step >= left)
			break;
		p += step;
		left -= step;
	}
	return have_dst;
}

/* An ndmsg and its attributes, len bytes at p. */
static bool parse_neigh(const uint8_t *p, size_t len, struct entry *e)
{
	const struct ndmsg *ndm = (const struct ndmsg *)p;

	if (len < sizeof(*ndm))
		return false;
	memset(e, 0, sizeof(*e));
	if (ndm->ndm_family == AF_INET)
		e->ip.family = IP_V4;
	else if (ndm->ndm_family == AF_INET6)
		e->ip.family = IP_V6;
	if (e->ip.family == IP_NONE || ndm->ndm_ifindex <= 0)
		return false;
	e->ifindex = ndm->ndm_ifindex;
	e->state = ndm->ndm_state;
	return parse_attrs(p + sizeof(*ndm), len - sizeof(*ndm), e);
}

/* The kernel did not know the entry asked for (ENOENT on our get): the
 * error echoes our request, whose ndmsg and NDA_DST say which it was. */
static bool parse_get_enoent(const struct nlmsghdr *nh, size_t len, struct entry *e)
{
	const size_t hdr = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	const struct nlmsgerr *err = (const void *)((const uint8_t *)nh + NLMSG_HDRLEN);
	size_t echoed;

	if (len < hdr || err->error != -ENOENT || err->msg.nlmsg_type != RTM_GETNEIGH)
		return false;
	echoed = err->msg.nlmsg_len;
	if (echoed < NLMSG_HDRLEN || echoed - NLMSG_HDRLEN > len - hdr)
		return false;              /* capped, or does not fit */
	return parse_neigh((const uint8_t *)nh + hdr, echoed - NLMSG_HDRLEN, e);
}

/* One netlink message of len bytes (already checked against the
 * datagram); 1 if it was a usable entry and fn was called, else 0. */
static int parse_msg(struct host_neigh *hn, const struct nlmsghdr *nh, size_t len,
		     host_neigh_fn fn, void *ctx)
{
	bool our_get = nh->nlmsg_pid == hn->portid && (nh->nlmsg_seq & SEQ_GET);
	struct entry e;

	if (nh->nlmsg_type == NLMSG_ERROR) {
		if (our_get && parse_get_enoent(nh, len, &e))
			resolve_entry(hn, &e);
		return 0;
	}
	if (nh->nlmsg_type != RTM_NEWNEIGH ||
	    !parse_neigh((const uint8_t *)nh + NLMSG_HDRLEN, len - NLMSG_HDRLEN, &e))
		return 0;
	if (our_get && !(e.state & SETTLED_STATES))
		resolve_entry(hn, &e);
	if (!(e.state & USABLE_STATES) || e.mac == NULL)
		return 0;
	fn(ctx, e.ifindex, &e.ip, e.mac);
	return 1;
}

/* Every message of one datagram; the number of entries reported. */
static int parse_datagram(struct host_neigh *hn, const uint8_t *p, size_t len,
			  host_neigh_fn fn, void *ctx)
{
	int n = 0;

	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)p;
		size_t mlen = nh->nlmsg_len, step = NLMSG_ALIGN(mlen);

		if (mlen < sizeof(*nh) || mlen > len)
			return n;              /* the rest cannot be framed */
		n += parse_msg(hn, nh, mlen, fn, ctx);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return n;
}

int host_neigh_poll(struct host_neigh *hn, host_neigh_fn fn, void *ctx)
{
	int n = 0;

	/* Bounded: a flood of neighbour changes (spoofed ARP to the shared
	 * address makes the kernel create entries, each one a notification)
	 * must not hold the control thread; the rest waits for the next call. */
	for (unsigned datagrams = 0; datagrams < HOST_NEIGH_POLL_MAX; datagrams++) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = hn->buf, .iov_len = sizeof(hn->buf) };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t got = recvmsg(hn->fd, &msg, MSG_DONTWAIT);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return n;
			return -errno;
		}
		/* Only the kernel speaks for the kernel's table; a datagram
		 * cut short is not parsed at all. */
		if (msg.msg_namelen != sizeof(from) || from.nl_family != AF_NETLINK ||
		    from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
			continue;
		n += parse_datagram(hn, hn->buf, (size_t)got, fn, ctx);
	}
	return n;
}
