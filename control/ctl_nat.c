/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI socket's NAT commands (ctl_proto.h): listing, counting and
 * flushing NAT sessions, and the port forwards, listed and changed at
 * runtime.  The command table and the contract every handler keeps are
 * in ctl.c.
 *
 * Sessions are read with nat_session_walk on the control thread, which
 * owns the published tables.  A forward is changed the way every live
 * change is made: edit a clone of the running config, then gateway_apply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_edit.h"
#include "ctl_internal.h"
#include "ctl_proto.h"
#include "gateway.h"
#include "jsonw.h"
#include "nat.h"

enum { NAT_SESSIONS_DEFAULT_LIMIT = 1000 };

/* --- NAT sessions ------------------------------------------------------- */

/* [proto=] [inside=ADDR[:PORT]] [external=...] [remote=...] */
struct endpoint_filter {
	bool set, has_port;
	uint8_t addr[4];
	uint16_t port;
};

struct session_filter {
	uint8_t proto;                      /* 0: any */
	struct endpoint_filter inside, external, remote;
};

static int parse_endpoint_filter(const char *key, const char *v,
				 struct endpoint_filter *out, char *err,
				 size_t errlen)
{
	const char *want = "want an IPv4 ADDR or ADDR:PORT";
	char text[64], *colon;
	struct ip_addr a;
	unsigned long port;

	if (strlen(v) >= sizeof(text))
		return ctl_bad_arg(err, errlen, key, v, want);
	strcpy(text, v);
	colon = strchr(text, ':');
	if (colon) {
		char *end;

		*colon = '\0';
		if (colon[1] < '0' || colon[1] > '9' || strlen(colon + 1) > 5)
			return ctl_bad_arg(err, errlen, key, v, want);
		port = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || port > 65535)
			return ctl_bad_arg(err, errlen, key, v, want);
		out->has_port = true;
		out->port = (uint16_t)port;
	}
	if (config_addr_parse(text, &a) != 0 || a.family != IP_V4)
		return ctl_bad_arg(err, errlen, key, v, want);
	memcpy(out->addr, a.bytes, 4);
	out->set = true;
	return 0;
}

static int parse_session_filter(const struct ctl_request *r,
				struct session_filter *f, char *err,
				size_t errlen)
{
	static const char *const keys[] = { "inside", "external", "remote" };
	struct endpoint_filter *eps[] = { &f->inside, &f->external, &f->remote };
	const char *proto = ctl_request_get(r, "proto");

	memset(f, 0, sizeof(*f));
	if (proto) {
		if (strcmp(proto, "tcp") == 0)
			f->proto = IPPROTO_TCP_;
		else if (strcmp(proto, "udp") == 0)
			f->proto = IPPROTO_UDP_;
		else if (strcmp(proto, "icmp") == 0)
			f->proto = IPPROTO_ICMP_;
		else
			return ctl_bad_arg(err, errlen, "proto", proto,
					   "want tcp, udp or icmp");
	}
	for (unsigned i = 0; i < 3; i++) {
		const char *v = ctl_request_get(r, keys[i]);
		int ret = v ? parse_endpoint_filter(keys[i], v, eps[i], err,
						    errlen)
			    : 0;

		if (ret)
			return ret;
	}
	return 0;
}

static bool endpoint_matches(const struct endpoint_filter *f,
			     const uint8_t addr[4], uint16_t port)
{
	return !f->set || (memcmp(f->addr, addr, 4) == 0 &&
			   (!f->has_port || f->port == port));
}

static bool session_matches(const struct nat_session_info *s, void *ctx)
{
	const struct session_filter *f = ctx;

	return (!f->proto || f->proto == s->proto) &&
	       endpoint_matches(&f->inside, s->inside, s->inside_port) &&
	       endpoint_matches(&f->external, s->external, s->external_port) &&
	       endpoint_matches(&f->remote, s->remote, s->remote_port);
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP_ ? "tcp" : proto == IPPROTO_UDP_ ? "udp"
								  : "icmp";
}

static void write_endpoint(struct jsonw *w, const char *key,
			   const uint8_t addr[4], uint16_t port)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%u.%u.%u.%u:%u", addr[0], addr[1], addr[2],
		 addr[3], port);
	jsonw_kv_string(w, key, buf);
}

struct session_list {
	struct jsonw *w;
	struct session_filter filter;
	uint64_t matched, limit;            /* limit 0: all */
};

static int write_session(const struct nat_session_info *s, void *ctx)
{
	struct session_list *l = ctx;
	struct jsonw *w = l->w;

	if (!session_matches(s, &l->filter))
		return 0;
	if (l->limit && l->matched >= l->limit) {
		l->matched++;               /* counted, not shown */
		return 0;
	}
	l->matched++;
	jsonw_object_begin(w);
	jsonw_kv_string(w, "proto", proto_name(s->proto));
	write_endpoint(w, "inside", s->inside, s->inside_port);
	write_endpoint(w, "external", s->external, s->external_port);
	write_endpoint(w, "remote", s->remote, s->remote_port);
	jsonw_kv_string(w, "state", nat_session_state_name(s->state));
	jsonw_kv_u64(w, "expires_in_s", s->expires_in);
	jsonw_kv_bool(w, "forward", s->forward);
	jsonw_object_end(w);
	return 0;
}

int ctl_nat_sessions(struct gateway *gw, const struct ctl_request *r,
		     struct jsonw *w, char *err, size_t errlen)
{
	struct session_list l = { .w = w, .limit = NAT_SESSIONS_DEFAULT_LIMIT };
	const char *limit = ctl_request_get(r, "limit");
	int ret = parse_session_filter(r, &l.filter, err, errlen);

	if (ret)
		return ret;
	if (limit) {
		char *end;

		if (limit[0] < '0' || limit[0] > '9' || strlen(limit) > 9)
			return ctl_bad_arg(err, errlen, "limit", limit,
					   "want a number, 0 for all");
		l.limit = strtoul(limit, &end, 10);
		if (*end != '\0')
			return ctl_bad_arg(err, errlen, "limit", limit,
					   "want a number, 0 for all");
	}
	jsonw_key(w, "sessions");
	jsonw_array_begin(w);
	if (gw->dp.nat)
		nat_session_walk(gw->dp.nat, &gw->dp.tables->nat, gw->ctx.now,
				 write_session, &l);
	jsonw_array_end(w);
	jsonw_kv_u64(w, "matched", l.matched);
	jsonw_kv_bool(w, "truncated", l.limit && l.matched > l.limit);
	return 0;
}

int ctl_nat_count(struct gateway *gw, const struct ctl_request *r,
		  struct jsonw *w, char *err, size_t errlen)
{
	struct nat *nat = gw->dp.nat;

	(void)r, (void)err, (void)errlen;
	jsonw_kv_bool(w, "enabled", nat != NULL);
	jsonw_kv_u64(w, "sessions", nat ? nat_active_sessions(nat) : 0);
	jsonw_kv_u64(w, "max_sessions", nat ? nat_capacity(nat) : 0);
	return 0;
}

static void nat_reclaim_deferred(void *nat)
{
	nat_reclaim(nat);
}

/* Sessions are removed as expiry removes them; their slots are reused
 * after the next grace period (gateway_reclaim, every tick). */
static unsigned flush_sessions(struct gateway *gw, nat_session_match_fn match,
			       void *ctx)
{
	unsigned n;

	if (!gw->dp.nat)
		return 0;
	n = nat_session_flush(gw->dp.nat, gw->ctx.nat_lc, &gw->dp.tables->nat,
			      gw->ctx.now, match, ctx);
	if (n)
		gateway_defer_free(gw, gw->dp.nat, nat_reclaim_deferred);
	return n;
}

int ctl_nat_flush(struct gateway *gw, const struct ctl_request *r,
		  struct jsonw *w, char *err, size_t errlen)
{
	struct session_filter f;
	int ret = parse_session_filter(r, &f, err, errlen);
	unsigned n;

	if (ret)
		return ret;
	n = flush_sessions(gw, session_matches, &f);
	printf("portcullisd: ctl: flushed %u NAT session(s)\n", n);
	jsonw_kv_u64(w, "flushed", n);
	return 0;
}

/* --- forwards ----------------------------------------------------------- */

/* The address a forward listens on: its own or the NAT's. */
static const struct ip_addr *forward_external(const struct gateway *gw,
					      const struct nat_forward *f)
{
	return f->external.family != IP_NONE ? &f->external
					     : &gw->dp.tables->nat.external;
}

int ctl_forwards(struct gateway *gw, const struct ctl_request *r,
		 struct jsonw *w, char *err, size_t errlen)
{
	const struct nat_config *nc = &gw->cfg->nat;
	char addr[64], buf[80];

	(void)r, (void)err, (void)errlen;
	jsonw_key(w, "forwards");
	jsonw_array_begin(w);
	for (unsigned i = 0; nc->enabled && i < nc->n_forwards; i++) {
		const struct nat_forward *f = &nc->forwards[i];

		jsonw_object_begin(w);
		jsonw_kv_string(w, "proto", proto_name(f->proto));
		config_addr_format(addr, sizeof(addr), forward_external(gw, f));
		snprintf(buf, sizeof(buf), "%s:%u", addr, f->external_port);
		jsonw_kv_string(w, "external", buf);
		config_addr_format(addr, sizeof(addr), &f->internal);
		snprintf(buf, sizeof(buf), "%s:%u", addr, f->internal_port);
		jsonw_kv_string(w, "to", buf);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	return 0;
}

/* A forward's sessions with no forward left behind them: a forward
 * removed at runtime takes its connections with it, so that its port is
 * cleanly free for whatever claims it next. */
static bool forward_gone(const struct nat_session_info *s, void *ctx)
{
	const struct gateway *gw = ctx;
	const struct nat_config *nc = &gw->dp.tables->nat;

	if (!s->forward)
		return false;
	for (unsigned i = 0; i < nc->n_forwards; i++) {
		const struct nat_forward *f = &nc->forwards[i];

		if (f->proto == s->proto && f->external_port == s->external_port &&
		    memcmp(forward_external(gw, f)->bytes, s->external, 4) == 0)
			return false;
	}
	return true;
}

/* Clone the running config, edit the clone, apply it: the one path of
 * every live change (config_edit.h).  The reply of both forward-add and
 * forward-remove is {"ok":true}. */
static int apply_forward_edit(struct gateway *gw, const struct ctl_request *r,
			      struct jsonw *w, bool add, char *err,
			      size_t errlen)
{
	const char *proto = ctl_request_get(r, "proto");
	const char *external = ctl_request_get(r, "external");
	const char *to = ctl_request_get(r, "to");
	struct gateway_change chg;
	struct config *next;
	int ret;

	if (!proto || !external || (add && !to)) {
		snprintf(err, errlen, "%s needs proto=, external=%s",
			 add ? "forward-add" : "forward-remove",
			 add ? " and to=" : "");
		return -EINVAL;
	}
	next = config_clone(gw->cfg);
	if (!next) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = add ? config_forward_add(next, proto, external, to, err, errlen)
		  : config_forward_remove(next, proto, external, err, errlen);
	if (ret == 0)
		ret = gateway_apply(gw, next, &chg, err, errlen);
	if (ret != 0) {
		config_free(next);
		return ret;
	}
	printf("portcullisd: ctl: forward %s %s %s%s%s\n",
	       add ? "added:" : "removed:", proto, external, add ? " -> " : "",
	       add ? to : "");
	if (!add)
		flush_sessions(gw, forward_gone, gw);
	jsonw_kv_bool(w, "ok", true);
	return 0;
}

int ctl_forward_add(struct gateway *gw, const struct ctl_request *r,
		    struct jsonw *w, char *err, size_t errlen)
{
	return apply_forward_edit(gw, r, w, true, err, errlen);
}

int ctl_forward_remove(struct gateway *gw, const struct ctl_request *r,
		       struct jsonw *w, char *err, size_t errlen)
{
	return apply_forward_edit(gw, r, w, false, err, errlen);
}

