/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's side of the Hetzner sync: start and stop the loop
 * thread, take each good desired state it leaves and apply it through
 * gateway_apply() (the path of `wg syncconf`), keep the last applied one
 * for reloads and plans.  The loop never touches the gateway itself.
 */
#include "gateway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_api.h"
#include "config_edit.h"
#include "hetzner.h"

static void log_notice(const char *msg, void *ctx)
{
	(void)ctx;
	printf("portcullisd: hetzner: %s\n", msg);
}

/* The bastion's address in the Network: the first IPv4 address of the
 * private port (ManageRoute points the default route at it). */
static struct ip_addr private_ip(const struct config *cfg)
{
	const struct config_port *p = &cfg->ports[PORT_PRIVATE];
	struct ip_addr none = { .family = IP_NONE };

	for (size_t i = 0; i < p->n_addresses; i++)
		if (p->addresses[i].addr.family == IP_V4)
			return p->addresses[i].addr;
	return none;
}

int gateway_hetzner_start(struct gateway *gw, char *err, size_t errlen)
{
	struct ip_addr ip = private_ip(gw->cfg);

	if (!gw->cfg->hetzner.enabled)
		return 0;
	return hetzner_start(&gw->hz, &gw->cfg->hetzner, &ip, err, errlen);
}

/* The sync's state now in force: the old one freed. */
static void applied_set(struct gateway *gw, struct hz_desired *d)
{
	if (gw->hz_applied) {
		hz_desired_free(gw->hz_applied);
		free(gw->hz_applied);
	}
	gw->hz_applied = d;
}

void gateway_hetzner_stop(struct gateway *gw)
{
	hetzner_stop(gw->hz);
	gw->hz = NULL;
	applied_set(gw, NULL);
}

/* Warnings are logged when they change, not every round. */
static bool same_warnings(const struct hz_desired *a, const struct hz_desired *b)
{
	if (a == NULL || a->n_warnings != b->n_warnings)
		return false;
	for (size_t i = 0; i < a->n_warnings; i++)
		if (strcmp(a->warnings[i], b->warnings[i]) != 0)
			return false;
	return true;
}

/* Apply d (taken from the loop); on success gw keeps it as the applied
 * state, else it is freed and the last good state stays. */
static void apply_desired(struct gateway *gw, struct hz_desired *d)
{
	struct gateway_change chg;
	struct config *next = config_clone(gw->cfg);
	char err[CONFIG_ERR_LEN];
	int ret = next ? config_merge_api(next, d, log_notice, NULL) : -ENOMEM;

	if (!same_warnings(gw->hz_applied, d))
		for (size_t i = 0; i < d->n_warnings; i++)
			log_notice(d->warnings[i], NULL);
	if (ret == 0)
		ret = gateway_apply(gw, next, &chg, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "out of memory");
	if (ret < 0) {
		config_free(next);
		printf("portcullisd: hetzner: could not apply the API's state, the last "
		       "one stays: %s\n", err);
		hz_desired_free(d);
		free(d);
		return;
	}
	if (chg.peers_added || chg.peers_removed || chg.peers_updated)
		printf("portcullisd: hetzner: applied: %u peer(s) added, %u removed, "
		       "%u updated, %u unchanged\n", chg.peers_added, chg.peers_removed,
		       chg.peers_updated, chg.peers_unchanged);
	applied_set(gw, d);
}

void gateway_hetzner_tick(struct gateway *gw)
{
	struct hz_desired *d;

	if (gw->hz == NULL || gw->cfg->hetzner.dry_run)
		return;
	d = hetzner_take(gw->hz);
	if (d)
		apply_desired(gw, d);
}

int gateway_hetzner_merge(struct gateway *gw, struct config *next)
{
	if (gw->hz_applied == NULL || !next->hetzner.enabled)
		return 0;
	return config_merge_api(next, gw->hz_applied, log_notice, NULL);
}

static bool str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool hetzner_conf_same(const struct config_hetzner *a, const struct config_hetzner *b)
{
	return a->enabled == b->enabled && str_same(a->token_file, b->token_file) &&
	       str_same(a->network, b->network) &&
	       str_same(a->label_selector, b->label_selector) &&
	       a->poll_interval == b->poll_interval && a->manage_route == b->manage_route &&
	       a->dry_run == b->dry_run && str_same(a->api_endpoint, b->api_endpoint) &&
	       str_same(a->robot_credentials_file, b->robot_credentials_file) &&
	       a->vswitch == b->vswitch && str_same(a->robot_endpoint, b->robot_endpoint);
}

bool gateway_hetzner_changed(const struct config *cur, const struct config *next)
{
	return !hetzner_conf_same(&cur->hetzner, &next->hetzner);
}

void gateway_hetzner_restart(struct gateway *gw)
{
	char err[CONFIG_ERR_LEN];

	printf("portcullisd: hetzner: [Hetzner] changed: %s the sync\n",
	       gw->cfg->hetzner.enabled ? "restarting" : "stopping");
	hetzner_stop(gw->hz);
	gw->hz = NULL;
	if (!gw->cfg->hetzner.enabled)
		applied_set(gw, NULL);          /* its peers went with the reload */
	if (gateway_hetzner_start(gw, err, sizeof(err)) < 0)
		printf("portcullisd: hetzner: cannot start the sync, the peers it made "
		       "stay as they are: %s\n", err);
}
