/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Hetzner sync loop: one thread that polls the Hetzner Cloud API (and
 * the Robot webservice for a vSwitch) every PollInterval, turns what it
 * reads into a desired state (hetzner_model.c) and leaves each good one in
 * a one-slot mailbox for the control thread (gateway_hetzner.c).
 *
 * A round is all or nothing: every page of servers, the Network and the
 * vSwitch must be read and parsed, or the round fails and nothing is
 * posted, so the gateway keeps the last good state however the API
 * misbehaves (down, slow, garbage, half a pagination).  Inside a round
 * each request is retried (hz_api_call); 401/403 end the loop for good,
 * since a refused token will not heal by itself (a reload with a new one
 * starts a new loop).
 *
 * DryRun: rounds run and hetzner_last holds their result (for `plan`),
 * but nothing goes to the mailbox and ManageRoute only says what it would
 * do.
 *
 * Threads: hetzner_start/stop/take/last/kick/status_get are called from
 * the control thread; everything else runs on the loop thread.  The
 * shared part of struct hetzner is under h->lock (hetzner_loop.h).
 */
#include "hetzner_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

enum {
	SECRET_FILE_MAX = 4096,             /* a token is 64 characters */
	BACKOFF_CAP_S = 60,
};

int hz_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* --- time ----------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * HZ_NS + (uint64_t)ts.tv_nsec;
}

uint64_t hz_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t hz_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t hz_backoff_ns(unsigned n, double rnd)
{
	uint64_t cap = BACKOFF_CAP_S;

	/* 1, 2, 4, ... 32, then 60 s: "full jitter" picks uniformly below
	 * the cap, so that many gateways behind one rate limit spread out. */
	if (n == 0)
		n = 1;
	if (n - 1 < 6)
		cap = 1ULL << (n - 1);
	if (!(rnd >= 0.0))                      /* NaN too */
		rnd = 0.0;
	if (rnd >= 1.0)
		rnd = 0.999999;
	return (uint64_t)(rnd * (double)(cap * HZ_NS));
}

bool hz_wait_until(struct hetzner *h, uint64_t deadline, bool kick_ends)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline / HZ_NS),
		.tv_nsec = (long)(deadline % HZ_NS),
	};
	bool go_on;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping && !(kick_ends && h->kicked) && hz_mono_ns() < deadline)
		pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	if (kick_ends)
		h->kicked = false;
	go_on = !h->stopping;
	pthread_mutex_unlock(&h->lock);
	return go_on;
}

/* --- secrets ----------------------------------------------------------------- */

static void secret_free(char **s)
{
	if (*s) {
		sodium_memzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* Printable, no blanks: it goes into an HTTP header, where a CR or LF
 * would start a header of its own. */
static bool secret_valid(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

static int read_fd(int fd, char *buf, size_t size, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < size) {
		n = read(fd, buf + *len, size - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

/* One line from a file that only its owner may read (as the config's
 * PrivateKeyFile, and as ssh does for identity files).  what names the
 * key in messages ("TokenFile"). */
static int read_secret_file(const char *path, const char *what, char **out,
			    char *err, size_t errlen)
{
	char buf[SECRET_FILE_MAX + 1];
	struct stat st;
	size_t len = 0;
	char *line, *end;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(-ret));
		return ret;
	}
	ret = fstat(fd, &st) == 0 ? 0 : -errno;
	if (ret == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s '%s' is not a regular file", what, path);
		ret = -EINVAL;
	} else if (ret == 0 && (st.st_mode & 077)) {
		snprintf(err, errlen, "%s '%s': permissions %04o are too open: the file holds a secret; chmod 600 it",
			 what, path, (unsigned)st.st_mode & 07777);
		ret = -EACCES;
	} else if (ret == 0 && st.st_size > SECRET_FILE_MAX) {
		snprintf(err, errlen, "%s '%s' is too large for one line", what, path);
		ret = -EFBIG;
	} else if (ret == 0 && (ret = read_fd(fd, buf, SECRET_FILE_MAX, &len)) != 0) {
		snprintf(err, errlen, "%s '%s': %s", what, path, strerror(-ret));
	}
	close(fd);
	buf[len] = '\0';
	if (ret == 0 && memchr(buf, '\0', len)) {
		snprintf(err, errlen, "%s '%s' must hold one line of text", what, path);
		ret = -EINVAL;
	}
	if (ret == 0) {
		/* One line: surrounding blanks and the final newline go. */
		for (line = buf; *line == ' ' || *line == '\t'; line++)
			;
		end = line + strlen(line);
		while (end > line && (end[-1] == '\n' || end[-1] == '\r' ||
				      end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!secret_valid(line)) {
			snprintf(err, errlen, "%s '%s' must hold one line without blanks",
				 what, path);
			ret = -EINVAL;
		} else if (!(*out = strdup(line))) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
		}
	}
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

static int load_secrets(struct hetzner *h, const struct config_hetzner *conf,
			char *err, size_t errlen)
{
	const char *env;
	int ret;

	if (conf->token_file) {
		ret = read_secret_file(conf->token_file, "TokenFile", &h->token,
				       err, errlen);
		if (ret != 0)
			return ret;
	} else {
		env = getenv("HCLOUD_TOKEN");
		if (!env || !*env) {
			snprintf(err, errlen, "no API token: set TokenFile in [Hetzner] or the HCLOUD_TOKEN environment variable");
			return -ENOENT;
		}
		if (!secret_valid(env)) {
			snprintf(err, errlen, "HCLOUD_TOKEN must be one word without blanks");
			return -EINVAL;
		}
		h->token = strdup(env);
		if (!h->token)
			return -ENOMEM;
	}
	if (!conf->robot_credentials_file)
		return 0;
	ret = read_secret_file(conf->robot_credentials_file, "RobotCredentialsFile",
			       &h->robot_credentials, err, errlen);
	if (ret == 0 && !strchr(h->robot_credentials, ':')) {
		snprintf(err, errlen, "RobotCredentialsFile '%s' must hold user:password",
			 conf->robot_credentials_file);
		ret = -EINVAL;
	}
	return ret;
}

/* --- the desired state: copies and the mailbox --------------------------------- */

static void *dup_mem(const void *src, size_t n, size_t size, bool *ok)
{
	void *out;

	if (n == 0 || !src)
		return NULL;
	out = malloc(n * size);
	if (!out)
		*ok = false;
	else
		memcpy(out, src, n * size);
	return out;
}

static char *dup_str(const char *s, bool *ok)
{
	char *out = s ? strdup(s) : NULL;

	if (s && !out)
		*ok = false;
	return out;
}

/* A deep copy that hz_desired_free can free; NULL: out of memory. */
static struct hz_desired *desired_copy(const struct hz_desired *d)
{
	struct hz_desired *c = calloc(1, sizeof(*c));
	bool ok = c != NULL;

	if (!c)
		return NULL;
	c->peers = dup_mem(d->peers, d->n_peers, sizeof(*d->peers), &ok);
	c->n_peers = c->peers ? d->n_peers : 0;
	for (size_t i = 0; i < c->n_peers; i++) {
		struct hz_peer *p = &c->peers[i];

		p->allowed_ips = dup_mem(d->peers[i].allowed_ips, p->n_allowed_ips,
					 sizeof(*p->allowed_ips), &ok);
		if (!p->allowed_ips)
			p->n_allowed_ips = 0;
		p->name = dup_str(d->peers[i].name, &ok);
	}
	c->routes = dup_mem(d->routes, d->n_routes, sizeof(*d->routes), &ok);
	c->n_routes = c->routes ? d->n_routes : 0;
	c->warnings = dup_mem(d->warnings, d->n_warnings, sizeof(char *), &ok);
	c->n_warnings = c->warnings ? d->n_warnings : 0;
	for (size_t i = 0; i < c->n_warnings; i++)
		c->warnings[i] = dup_str(d->warnings[i], &ok);
	if (!ok) {
		hz_desired_free(c);
		free(c);
		return NULL;
	}
	return c;
}

void hz_desired_destroy(struct hz_desired *d)
{
	if (d) {
		hz_desired_free(d);
		free(d);
	}
}

int hz_deliver(struct hetzner *h, struct hz_desired *d)
{
	struct hz_desired *copy = NULL, *old_pending = NULL, *old_last;

	if (!h->conf.dry_run) {
		copy = desired_copy(d);
		if (!copy)
			return -ENOMEM;
	}
	pthread_mutex_lock(&h->lock);
	if (!h->conf.dry_run) {
		old_pending = h->pending;       /* never taken: superseded */
		h->pending = d;
		d = copy;
	}
	old_last = h->last;
	h->last = d;
	h->status.rounds_ok++;
	h->status.last_success = hz_real_ns();
	h->status.last_error[0] = '\0';
	h->status.consecutive_failures = 0;
	h->status.n_peers = (unsigned)d->n_peers;
	h->status.n_routes = (unsigned)d->n_routes;
	h->status.n_warnings = (unsigned)d->n_warnings;
	pthread_mutex_unlock(&h->lock);
	hz_desired_destroy(old_pending);
	hz_desired_destroy(old_last);
	return 0;
}

static void round_failed(struct hetzner *h, int ret, const char *err)
{
	bool fatal = ret == -EACCES;

	pthread_mutex_lock(&h->lock);
	h->status.rounds_failed++;
	h->status.consecutive_failures++;
	snprintf(h->status.last_error, sizeof(h->status.last_error), "%s", err);
	if (fatal)
		h->status.running = false;
	pthread_mutex_unlock(&h->lock);
	/* An outage fails every round alike: say it when it changes. */
	if (fatal)
		printf("portcullisd: hetzner: %s; the sync stops, the gateway keeps its last state\n",
		       err);
	else if (strcmp(err, h->last_logged) != 0)
		printf("portcullisd: hetzner: round failed, the last good state stays: %s\n",
		       err);
	snprintf(h->last_logged, sizeof(h->last_logged), "%s", err);
}

static void *loop_main(void *arg)
{
	struct hetzner *h = arg;
	char err[HZ_ERR_LEN];
	uint64_t next;
	int ret;

	for (;;) {
		pthread_mutex_lock(&h->lock);
		h->status.last_attempt = hz_real_ns();
		pthread_mutex_unlock(&h->lock);
		err[0] = '\0';
		ret = hz_round_run(h, err, sizeof(err));
		if (ret == -ECANCELED)
			break;
		if (ret != 0) {
			round_failed(h, ret, err[0] ? err : "round failed");
			if (ret == -EACCES)
				break;
		} else if (h->last_logged[0]) {
			printf("portcullisd: hetzner: the API answers again\n");
			h->last_logged[0] = '\0';
		}
		next = hz_mono_ns() + (uint64_t)h->conf.poll_interval * HZ_NS;
		pthread_mutex_lock(&h->lock);
		h->status.next_poll = hz_real_ns() +
				      (uint64_t)h->conf.poll_interval * HZ_NS;
		pthread_mutex_unlock(&h->lock);
		if (!hz_wait_until(h, next, true))
			break;
	}
	return NULL;
}

/* --- start, stop and the control thread's calls ----------------------------------- */

static int conf_copy(struct config_hetzner *dst, const struct config_hetzner *src)
{
	bool ok = true;

	*dst = *src;
	dst->token_file = dup_str(src->token_file, &ok);
	dst->network = dup_str(src->network, &ok);
	dst->label_selector = dup_str(src->label_selector ? src->label_selector
				      : HZ_DEFAULT_SELECTOR, &ok);
	dst->api_endpoint = dup_str(src->api_endpoint ? src->api_endpoint
				    : HZ_DEFAULT_ENDPOINT, &ok);
	dst->robot_credentials_file = dup_str(src->robot_credentials_file, &ok);
	dst->robot_endpoint = dup_str(src->robot_endpoint ? src->robot_endpoint
				      : HZ_DEFAULT_ROBOT, &ok);
	return ok ? 0 : -ENOMEM;
}

static void conf_free(struct config_hetzner *c)
{
	free(c->token_file);
	free(c->network);
	free(c->label_selector);
	free(c->api_endpoint);
	free(c->robot_credentials_file);
	free(c->robot_endpoint);
}

static int parse_network(struct hetzner *h)
{
	const char *s = h->conf.network;
	uint64_t id = 0;

	for (; *s >= '0' && *s <= '9' && id < UINT64_MAX / 10; s++)
		id = id * 10 + (uint64_t)(*s - '0');
	h->network_by_name = *s != '\0' || id == 0;
	h->network_id = h->network_by_name ? 0 : id;
	h->selector_key = strndup(h->conf.label_selector,
				  strcspn(h->conf.label_selector, "="));
	return h->selector_key ? 0 : -ENOMEM;
}

static int sync_init(struct hetzner *h)
{
	pthread_condattr_t attr;
	int ret;

	ret = pthread_condattr_init(&attr);
	if (ret == 0) {
		ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (ret == 0)
			ret = pthread_cond_init(&h->wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (ret != 0)
		return -ret;
	ret = pthread_mutex_init(&h->lock, NULL);
	if (ret != 0)
		pthread_cond_destroy(&h->wake);
	return -ret;
}

/* The loop takes no signals: they are the main thread's business. */
static int thread_start(struct hetzner *h)
{
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&h->thread, NULL, loop_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	h->thread_started = ret == 0;
	return -ret;
}

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static int http_init_ret;

static void http_init(void)
{
	http_init_ret = hz_http_global_init();
}

static void hetzner_destroy(struct hetzner *h, bool sync_made)
{
	secret_free(&h->token);
	secret_free(&h->robot_credentials);
	conf_free(&h->conf);
	free(h->selector_key);
	hz_desired_destroy(h->pending);
	hz_desired_destroy(h->last);
	if (sync_made) {
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->wake);
	}
	free(h);
}

int hetzner_start(struct hetzner **out, const struct config_hetzner *conf,
		  const struct ip_addr *private_ip, char *err, size_t errlen)
{
	struct hetzner *h;
	int ret;

	*out = NULL;
	if (!conf->network) {
		snprintf(err, errlen, "[Hetzner] has no Network");
		return -EINVAL;
	}
	if (sodium_init() < 0 || (pthread_once(&http_once, http_init),
				  http_init_ret != 0)) {
		snprintf(err, errlen, "cannot initialise libsodium or libcurl");
		return -EIO;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = conf_copy(&h->conf, conf);
	if (ret == 0)
		ret = parse_network(h);
	if (ret != 0)
		snprintf(err, errlen, "out of memory");
	if (ret == 0)
		ret = load_secrets(h, conf, err, errlen);
	if (ret != 0) {
		hetzner_destroy(h, false);
		return ret;
	}
	h->private_ip = private_ip ? *private_ip : (struct ip_addr){ .family = IP_NONE };
	h->status = (struct hetzner_status){
		.running = true, .dry_run = conf->dry_run,
		.ratelimit_limit = -1, .ratelimit_remaining = -1,
	};
	snprintf(h->status.route_state, sizeof(h->status.route_state), "%s",
		 conf->manage_route ? "not checked yet" : "off");
	ret = sync_init(h);
	if (ret != 0) {
		snprintf(err, errlen, "cannot create the sync's lock: %s", strerror(-ret));
		hetzner_destroy(h, false);
		return ret;
	}
	ret = thread_start(h);
	if (ret != 0) {
		snprintf(err, errlen, "cannot start the sync thread: %s", strerror(-ret));
		hetzner_destroy(h, true);
		return ret;
	}
	*out = h;
	return 0;
}

void hetzner_stop(struct hetzner *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
	/* A request in flight finishes first: at most the HTTP timeout. */
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	hetzner_destroy(h, true);
}

struct hz_desired *hetzner_take(struct hetzner *h)
{
	struct hz_desired *d;

	pthread_mutex_lock(&h->lock);
	d = h->pending;
	h->pending = NULL;
	pthread_mutex_unlock(&h->lock);
	return d;
}

int hetzner_last(struct hetzner *h, struct hz_desired *out)
{
	struct hz_desired *c = NULL;
	int ret = -ENOENT;

	/* The copy is made under the lock: the loop swaps h->last with it
	 * held, and a round's state is a few KiB to copy. */
	pthread_mutex_lock(&h->lock);
	if (h->last) {
		c = desired_copy(h->last);
		ret = c ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&h->lock);
	if (c) {
		*out = *c;
		free(c);
	}
	return ret;
}

void hetzner_kick(struct hetzner *h)
{
	pthread_mutex_lock(&h->lock);
	h->kicked = true;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

void hetzner_status_get(struct hetzner *h, struct hetzner_status *out)
{
	pthread_mutex_lock(&h->lock);
	*out = h->status;
	pthread_mutex_unlock(&h->lock);
}

void hz_route_state_set(struct hetzner *h, const char *s)
{
	pthread_mutex_lock(&h->lock);
	snprintf(h->status.route_state, sizeof(h->status.route_state), "%s", s);
	pthread_mutex_unlock(&h->lock);
}
