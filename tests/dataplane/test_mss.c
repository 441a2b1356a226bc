/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dataplane/mss.c: a numbered table of TCP MSS clamping cases (IPv4 and
 * IPv6, SYN and SYN-ACK, option layouts good and bad, fragments, headers
 * it must not touch), each checked byte for byte against the reference
 * (packet_ref.h) with the checksum recomputed from scratch; then every
 * truncation of every case in an exact-size buffer (ASan catches a read
 * past it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mss.h"
#include "packet_ref.h"
#include "portcullis/wire.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { BUF = 2048 };

static const uint32_t REMOTE = IP4(198, 51, 100, 7), HOST = IP4(10, 0, 0, 1);

static struct bufs {
	uint8_t pkt[BUF], want[BUF], orig[BUF];
} B;

struct mss_case {
	uint8_t family;
	uint8_t flags;
	uint8_t opts[40];
	uint8_t opt_len;            /* a multiple of 4 */
	uint16_t max;
	bool changed;
	uint8_t want[40];           /* the options after, when changed */
	int poke_at;                /* when nonzero: byte poke_at - 1 := poke */
	uint8_t poke;
};

#define MSS(v) TCP_OPT_MSS, 4, (v) >> 8, (v) & 0xff
#define LINUX_SYN(v) MSS(v), 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7

static const struct mss_case mss_cases[] = {
	/*  1 */ { 4, SYN, { MSS(1460) }, 4, 1360, true, { MSS(1360) } },
	/*  2 */ { 4, SYN, { MSS(1200) }, 4, 1360, false },
	/*  3 */ { 4, SYN, { MSS(1360) }, 4, 1360, false },     /* equal */
	/*  4 */ { 4, SYN, { 0 }, 0, 1360, false },              /* no options */
	/*  5 */ { 4, SYN, { 1, 1, 1, 1 }, 4, 1360, false },     /* no MSS */
	/*  6 */ { 4, SYN | ACK, { MSS(1460) }, 4, 1360, true, { MSS(1360) } },
	/*  7 */ { 4, ACK, { MSS(1460) }, 4, 1360, false },
	/*  8 */ { 4, SYN, { LINUX_SYN(1460) }, 20, 1380, true, { LINUX_SYN(1380) } },
	/*  9 */ { 6, SYN, { MSS(1440) }, 4, 1380, true, { MSS(1380) } },
	/* 10 */ { 6, SYN | ACK, { LINUX_SYN(8940) }, 20, 1380, true, { LINUX_SYN(1380) } },
	/* 11 */ { 6, ACK, { MSS(1440) }, 4, 1380, false },
	/* 12 */ { 4, SYN, { 1, MSS(1460), 0, 0, 0 }, 8, 1360, true, { 1, MSS(1360) } },
	/* 13 */ { 6, SYN, { 1, 1, 1, MSS(0xffff), 0 }, 8, 1220, true, { 1, 1, 1, MSS(1220) } },
	/* 14 */ { 4, SYN, { 0, MSS(1460), 0, 0, 0 }, 8, 1360, false },  /* after EOL */
	/* 15 */ { 4, SYN, { MSS(1460), 8, 0, 0, 0 }, 8, 1360, false },  /* length 0 */
	/* 16 */ { 4, SYN, { MSS(1460), 8, 1, 0, 0 }, 8, 1360, false },  /* length 1 */
	/* 17 */ { 4, SYN, { MSS(1460), 8, 10, 0, 0 }, 8, 1360, false }, /* past end */
	/* 18 */ { 4, SYN, { TCP_OPT_MSS, 3, 5, 1 }, 4, 1360, false },
	/* 19 */ { 4, SYN, { TCP_OPT_MSS, 6, 5, 0xb4, 0, 0, 1, 1 }, 8, 1360, false },
	/* 20 */ { 4, SYN, { MSS(1460), 1, 1, 1, 8 }, 8, 1360, false },  /* no length */
	/* 21 */ { 4, SYN, { 1, 1, 1, TCP_OPT_MSS }, 4, 1360, false },
	/* 22 */ { 4, SYN, { MSS(1460), MSS(1500) }, 8, 1360, true, { MSS(1360), MSS(1360) } },
	/* 23 */ { 4, SYN, { MSS(1460) }, 4, 0, false },          /* MSSClamp off */
	/* 24 */ { 4, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 8, 0x01 }, /* offset 8 */
	/* 25 */ { 4, SYN, { MSS(1460) }, 4, 1360, true, { MSS(1360) }, 7, 0x20 }, /* MF */
	/* 26 */ { 4, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 10, UDP },
	/* 27 */ { 4, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 33, 0x40 }, /* doff 4 */
	/* 28 */ { 4, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 33, 0xf0 }, /* doff 15 */
	/* 29 */ { 6, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 7, 0 },  /* hop-by-hop */
	/* 30 */ { 4, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 1, 0x4f }, /* IHL 15 */
	/* 31 */ { 6, SYN, { MSS(1460) }, 4, 1360, false, { 0 }, 1, 0x40 }, /* not v6 */
};

/* A TCP segment with the case's options and 5 bytes of payload. */
static uint32_t build_syn(uint8_t *ip, const struct mss_case *c)
{
	unsigned h = c->family == 6 ? 40 : 20, tl = 20 + c->opt_len + 5;
	uint8_t *tcp = ip + h;
	uint32_t len = h + tl;

	memset(ip, 0, len);
	if (c->family == 6) {
		ip[0] = 0x60;
		put16(ip + 4, tl);
		ip[6] = TCP;
		ip[7] = 64;
		ip[8] = ip[24] = 0x20;
		ip[23] = 1;
		ip[39] = 2;
	} else {
		struct spec s = { TCP, HOST, REMOTE, 1, 2, 0, 0 };

		build(ip, &s);
		put16(ip + 2, len);
	}
	put16(tcp, 40000);
	put16(tcp + 2, 443);
	tcp[12] = (uint8_t)((20 + c->opt_len) / 4 << 4);
	tcp[13] = c->flags;
	memcpy(tcp + 20, c->opts, c->opt_len);
	memcpy(tcp + 20 + c->opt_len, "hello", 5);
	put16(tcp + 16, 0);
	put16(tcp + 16, (uint16_t)~ref_sum(tcp, tl, ref_pseudo(ip, TCP, tl)));
	return len;
}

static void test_mss_table(void **state)
{
	struct bufs *f = &B;

	(void)state;
	for (size_t i = 0; i < N(mss_cases); i++) {
		const struct mss_case *c = &mss_cases[i];
		uint32_t len = build_syn(f->pkt, c);
		unsigned h = c->family == 6 ? 40 : 20;
		bool changed;

		if (c->poke_at)
			f->pkt[c->poke_at - 1] = c->poke;
		memcpy(f->want, f->pkt, len);
		changed = tcp_mss_clamp(f->pkt, len, c->family, c->max);
		if (changed != c->changed)
			fail_msg("row %zu: changed %d want %d", i + 1, changed, c->changed);
		if (c->changed) {
			uint8_t *tcp = f->want + h;

			memcpy(tcp + 20, c->want, c->opt_len);
			put16(tcp + 16, 0);
			put16(tcp + 16, (uint16_t)~ref_sum(tcp, len - h,
						ref_pseudo(f->want, TCP, len - h)));
		}
		if (memcmp(f->pkt, f->want, len) != 0)
			fail_msg("row %zu: packet differs from the reference", i + 1);
	}
}

/* Every cut of a SYN with options, in an exact-size buffer. */
static void test_mss_truncation(void **state)
{
	struct bufs *f = &B;

	(void)state;
	for (size_t i = 0; i < N(mss_cases); i++) {
		uint32_t len = build_syn(f->orig, &mss_cases[i]);

		for (uint32_t n = 0; n <= len; n++) {
			uint8_t *b = malloc(n ? n : 1);

			assert_non_null(b);
			memcpy(b, f->orig, n);
			tcp_mss_clamp(b, n, mss_cases[i].family, 536);
			tcp_mss_clamp(b, n, 10 - mss_cases[i].family, 536);
			free(b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mss_table),
		cmocka_unit_test(test_mss_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
