/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One round of the Hetzner sync: resolve the Network (by name, once),
 * read every page of the servers that match LabelSelector, the Network
 * and the vSwitch, make sure of the default route (ManageRoute), compute
 * the desired state and post it.
 *
 * Any request or parse that fails fails the round, before anything is
 * posted: a half-read project (page 2 of 3, no Network) would otherwise
 * look like servers removed, and remove their peers.
 *
 * Called from the Hetzner loop thread only.
 */
#include "hetzner_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	PATH_LEN = 2048,
	/* Pages of servers a round may read: HZ_MAX_SERVERS at 50 a page,
	 * and one more to see that it ends. */
	MAX_PAGES = HZ_MAX_SERVERS / HZ_PER_PAGE + 1,
};

/* RFC 3986 unreserved characters stay, everything else is %XX. */
static int url_encode(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (n + 4 > len)
			return -ENAMETOOLONG;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.~", c)) {
			out[n++] = (char)c;
		} else {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		}
	}
	out[n] = '\0';
	return 0;
}

/* The Network by name: GET /networks?name=X, once; the id is kept until
 * the Network is gone (404), then looked up again. */
static int resolve_network(struct hetzner *h, char *err, size_t errlen)
{
	char enc[PATH_LEN / 4], path[PATH_LEN], why[HZ_ERR_LEN];
	struct hz_http_response resp;
	uint64_t id = 0;
	int ret;

	if (h->network_id)
		return 0;
	if (url_encode(enc, sizeof(enc), h->conf.network) != 0)
		return hz_fail(err, errlen, -EINVAL, "Network name too long");
	snprintf(path, sizeof(path), "/networks?name=%s", enc);
	ret = hz_api_call(h, "GET", false, path, NULL, &resp, err, errlen);
	if (ret != 0)
		return ret;
	ret = hz_parse_network_id_by_name(resp.body, resp.len, h->conf.network,
					  &id, why, sizeof(why));
	hz_http_response_free(&resp);
	if (ret != 0)
		return hz_fail(err, errlen, ret, "GET %s: %s", path, why);
	if (id == 0)
		return hz_fail(err, errlen, -ENOENT, "no network named '%s' in the project",
			       h->conf.network);
	h->network_id = id;
	return 0;
}

static int fetch_servers(struct hetzner *h, struct hz_servers *servers,
			 char *err, size_t errlen)
{
	char enc[PATH_LEN / 4], path[PATH_LEN], why[HZ_ERR_LEN];
	struct hz_http_response resp;
	uint32_t page = 1, next = 0;
	int ret;

	if (url_encode(enc, sizeof(enc), h->conf.label_selector) != 0)
		return hz_fail(err, errlen, -EINVAL, "LabelSelector too long");
	for (unsigned pages = 0; pages < MAX_PAGES; pages++) {
		snprintf(path, sizeof(path), "/servers?label_selector=%s&per_page=%d&page=%u",
			 enc, HZ_PER_PAGE, page);
		ret = hz_api_call(h, "GET", false, path, NULL, &resp, err, errlen);
		if (ret != 0)
			return ret;
		ret = hz_parse_servers_page(resp.body, resp.len, servers, &next,
					    why, sizeof(why));
		hz_http_response_free(&resp);
		if (ret != 0)
			return hz_fail(err, errlen, ret, "GET %s: %s", path, why);
		if (next == 0)
			return 0;
		/* A next_page that does not move forward would loop for ever. */
		if (next <= page)
			return hz_fail(err, errlen, -EPROTO,
				       "GET %s: meta.pagination.next_page %u does not follow page %u",
				       path, next, page);
		page = next;
	}
	return hz_fail(err, errlen, -E2BIG, "GET /servers: more than %d pages",
		       MAX_PAGES);
}

static int fetch_network(struct hetzner *h, struct hz_network *net, char *err,
			 size_t errlen)
{
	char path[64], why[HZ_ERR_LEN];
	struct hz_http_response resp;
	int ret;

	snprintf(path, sizeof(path), "/networks/%llu",
		 (unsigned long long)h->network_id);
	ret = hz_api_call(h, "GET", false, path, NULL, &resp, err, errlen);
	if (ret == -ENOENT && h->network_by_name)
		h->network_id = 0;              /* renamed or re-created? */
	if (ret != 0)
		return ret;
	ret = hz_parse_network(resp.body, resp.len, net, why, sizeof(why));
	hz_http_response_free(&resp);
	if (ret != 0)
		hz_fail(err, errlen, ret, "GET %s: %s", path, why);
	return ret;
}

static int fetch_vswitch(struct hetzner *h, struct hz_vswitch *vsw, char *err,
			 size_t errlen)
{
	char path[64], why[HZ_ERR_LEN];
	struct hz_http_response resp;
	int ret;

	snprintf(path, sizeof(path), "/vswitch/%llu",
		 (unsigned long long)h->conf.vswitch);
	ret = hz_api_call(h, "GET", true, path, NULL, &resp, err, errlen);
	if (ret != 0)
		return ret;
	ret = hz_parse_vswitch(resp.body, resp.len, vsw, why, sizeof(why));
	hz_http_response_free(&resp);
	if (ret != 0)
		hz_fail(err, errlen, ret, "Robot GET %s: %s", path, why);
	return ret;
}

int hz_round_run(struct hetzner *h, char *err, size_t errlen)
{
	struct hz_servers servers = { 0 };
	struct hz_network net = { 0 };
	struct hz_vswitch vsw = { 0 };
	struct hz_desired *d = NULL;
	struct hz_options opt = { .selector_key = h->selector_key };
	bool has_vsw = h->conf.vswitch != 0;
	int ret;

	ret = resolve_network(h, err, errlen);
	if (ret == 0)
		ret = fetch_servers(h, &servers, err, errlen);
	if (ret == 0)
		ret = fetch_network(h, &net, err, errlen);
	if (ret == 0 && has_vsw)
		ret = fetch_vswitch(h, &vsw, err, errlen);
	if (ret != 0)
		goto out;
	opt.network_id = h->network_id;
	/* Before computing: a default route that pointed at a peer would
	 * give it 0.0.0.0/0 for one round. */
	hz_route_manage(h, &net);
	d = calloc(1, sizeof(*d));
	ret = d ? hz_desired_compute(&servers, &net, has_vsw ? &vsw : NULL,
				     &opt, d) : -ENOMEM;
	if (ret == 0)
		ret = hz_deliver(h, d);
	if (ret == 0)
		d = NULL;                       /* posted */
	else
		snprintf(err, errlen, "out of memory");
out:
	hz_desired_destroy(d);
	hz_servers_free(&servers);
	hz_network_free(&net);
	if (has_vsw)
		hz_vswitch_free(&vsw);
	return ret;
}
