/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_xdp_steer: what the AF_XDP steering program (dataplane/xdp/
 * steer.bpf.c) costs per frame, in the kernel, with BPF_PROG_TEST_RUN.
 * Each frame kind is run `repeat` times per round and the kernel reports
 * the mean time per run; the reference is the program's shortest path
 * (maps not filled yet: one lookup, one counter, XDP_PASS), measured in
 * the same rounds, so the ratio says what the decision adds on this CPU
 * whatever else the machine is doing.  No socket is in xsks_map, so a
 * frame for the gateway ends in XDP_DROP after the xsks_map lookup: the
 * redirect itself (the kernel's AF_XDP path) is not in these figures.
 *
 * Needs root (CAP_BPF).  Usage: bench_xdp_steer [ROUNDS [REPEAT]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "portcullis/xdp_steer.h"
#include "xdp_steer.h"

extern const unsigned char xdp_steer_obj[];
extern const size_t xdp_steer_obj_len;

enum { MAX_ROUNDS = 99, FRAME = 128 };

static const uint8_t SHARED[4] = { 203, 0, 113, 1 }, TRANSIT[4] = { 198, 51, 100, 9 };

struct kind {
	const char *name, *verdict;
	uint8_t proto;                         /* 0: ARP */
	const uint8_t *dst;
	uint16_t dport;
	uint16_t vlan;                         /* 4000: the private side */
};

static const struct kind kinds[] = {
	{ "maps not filled (reference)", "kernel", IPPROTO_UDP, SHARED, 51820 },
	{ "WireGuard to the shared address", "gateway", IPPROTO_UDP, SHARED, 51820 },
	{ "SSH to the shared address", "kernel", IPPROTO_TCP, SHARED, 22 },
	{ "NAT return traffic (PortRange)", "gateway", IPPROTO_TCP, SHARED, 25000 },
	{ "a forward's port", "gateway", IPPROTO_TCP, SHARED, 2222 },
	{ "transit (private side, VLAN 4000)", "gateway", IPPROTO_TCP, TRANSIT, 443, 4000 },
	{ "ARP for the shared address", "kernel", 0, SHARED, 0 },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static uint32_t frame_build(const struct kind *k, uint8_t *f)
{
	uint32_t tag = k->vlan ? 4 : 0;

	memset(f, 0, FRAME);
	memset(f, 0xff, 6);                    /* dst MAC */
	f[6] = 0x02;                           /* src MAC 02:00:... */
	if (tag) {                             /* 802.1Q, then as untagged */
		f[12] = 0x81, f[14] = (uint8_t)(k->vlan >> 8), f[15] = (uint8_t)k->vlan;
		f += 4;
	}
	if (k->proto == 0) {                   /* ARP request */
		f[12] = 0x08, f[13] = 0x06;
		f[14 + 1] = 1, f[14 + 2] = 0x08, f[14 + 4] = 6, f[14 + 5] = 4, f[14 + 7] = 1;
		memcpy(f + 14 + 24, k->dst, 4);
		return 60 + tag;
	}
	f[12] = 0x08;                          /* IPv4 */
	f[14] = 0x45, f[14 + 3] = 40, f[14 + 8] = 64, f[14 + 9] = k->proto;
	memcpy(f + 14 + 12, (const uint8_t[]){ 192, 0, 2, 7 }, 4);
	memcpy(f + 14 + 16, k->dst, 4);
	f[34] = 0xc3, f[35] = 0x50;            /* source port 50000 */
	f[36] = (uint8_t)(k->dport >> 8), f[37] = (uint8_t)k->dport;
	return 14 + 40 + tag;
}

/* The maps a bastion with NAT would have on a NIC carrying both sides
 * (the private one on VLAN 4000): the shared address (host, gateway,
 * WireGuard, NAT), PortRange 20000-29999, one forward. */
static int maps_fill(const struct xdp_steer_maps *m)
{
	static struct xdp_steer_plan p;

	p.conf = (struct xdp_steer_conf){ .enabled = 1, .listen_port = 51820,
		.nat_port_min = 20000, .nat_port_max = 29999,
		.vlan = { 0, 4000 }, .transit = { 0, 1 } };
	p.addrs[0].key.family = 4;
	memcpy(p.addrs[0].key.addr, SHARED, 4);
	p.addrs[0].flags = XDP_STEER_ADDR_HOST | XDP_STEER_ADDR_GATEWAY |
			   XDP_STEER_ADDR_WG | XDP_STEER_ADDR_NAT;
	p.n_addrs = 1;
	p.fwd[0] = (struct xdp_steer_fwd_key){ .proto = IPPROTO_TCP, .port = htons(2222) };
	memcpy(p.fwd[0].addr, SHARED, 4);
	p.n_fwd = 1;
	return xdp_steer_maps_write(m, &p);
}

static int run(int prog, const struct kind *k, unsigned repeat, double *ns)
{
	uint8_t f[FRAME];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .repeat = repeat);

	o.data_size_in = frame_build(k, f);
	if (bpf_prog_test_run_opts(prog, &o) < 0)
		return -errno;
	if (o.retval != (strcmp(k->verdict, "gateway") == 0 ? XDP_DROP : XDP_PASS))
		return -EPROTO;
	*ns = o.duration;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 7;
	unsigned repeat = argc > 2 ? (unsigned)atoi(argv[2]) : 1000000;
	static double ns[N_KINDS][MAX_ROUNDS];
	struct xdp_steer_maps m = { -1, -1, -1, -1 };
	struct bpf_object *obj;
	int prog, ret = 1;

	if (rounds == 0 || rounds > MAX_ROUNDS || repeat == 0) {
		fprintf(stderr, "usage: bench_xdp_steer [ROUNDS 1-%d [REPEAT]]\n", MAX_ROUNDS);
		return 2;
	}
	obj = bpf_object__open_mem(xdp_steer_obj, xdp_steer_obj_len, NULL);
	if (obj == NULL || bpf_object__load(obj) < 0) {
		fprintf(stderr, "bench_xdp_steer: cannot load the program (root?): %s\n",
			strerror(errno));
		return 1;
	}
	prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "portcullis_xdp"));
	if (xdp_steer_maps_find(prog, &m) < 0)
		goto out;
	/* Round-robin, so drift in the machine's load hits every kind alike;
	 * the reference runs before the maps are filled, then again after
	 * emptying conf, each round. */
	for (unsigned r = 0; r < rounds; r++) {
		struct xdp_steer_conf off = { 0 };
		uint32_t zero = 0;

		if (bpf_map_update_elem(m.conf, &zero, &off, BPF_ANY) < 0 ||
		    run(prog, &kinds[0], repeat, &ns[0][r]) < 0 || maps_fill(&m) < 0)
			goto out;
		for (unsigned k = 1; k < N_KINDS; k++)
			if (run(prog, &kinds[k], repeat, &ns[k][r]) < 0)
				goto out;
	}
	printf("AF_XDP steering program, BPF_PROG_TEST_RUN, %u rounds x %u runs, median\n",
	       rounds, repeat);
	printf("%-34s %-8s %8s %8s\n", "frame", "verdict", "ns", "ratio");
	for (unsigned k = 0; k < N_KINDS; k++)
		qsort(ns[k], rounds, sizeof(double), cmp_double);
	for (unsigned k = 0; k < N_KINDS; k++)
		printf("%-34s %-8s %8.1f %8.2f\n", kinds[k].name, kinds[k].verdict,
		       ns[k][rounds / 2], ns[k][rounds / 2] / ns[0][rounds / 2]);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "bench_xdp_steer: failed: %s\n", strerror(errno));
	xdp_steer_maps_close(&m);
	bpf_object__close(obj);
	return ret;
}
