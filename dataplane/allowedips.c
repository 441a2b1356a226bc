/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Longest-prefix match for cryptokey routing (WireGuard paper section 3:
 * the allowed-IPs table maps an inner source/destination to a peer).
 *
 * A path-compressed binary trie (a PATRICIA trie, as Linux's allowedips.c
 * uses), one per address family.  Every node carries a whole prefix
 * (key, cidr); a node exists either because a prefix was inserted there
 * (has_value) or because two stored prefixes part ways at that bit (a
 * branch node).  Below a node of length cidr, child[b] holds the prefixes
 * whose bit number cidr is b.  A branch node always has two children, so
 * n prefixes need at most 2n - 1 nodes.
 *
 * Keys are two host-order 64-bit words, most significant first; an IPv4
 * address sits in the top 32 bits of the first word, so one insert/remove
 * path serves both families and an IPv4 lookup touches one word only.
 *
 * Nodes live in one array addressed by 32-bit indices (index 0 is "none"):
 * a lookup walks a compact array, 32 bytes a node; allowedips_clone() is a
 * memcpy, which suits the copy-on-write publication the control thread
 * does (DESIGN.md: immutable snapshots); insertion may realloc the array,
 * which is safe because readers never see a table being modified.  Freed
 * nodes go on a free list threaded through child[0].
 *
 * The jump table.  A trie walk costs one dependent load per level, about
 * log2(n) of them, and that latency is what a per-packet lookup pays.  So
 * each family also has a direct-indexed table over the JUMP_MAX_BITS (or
 * fewer) address bits that follow the root's prefix, the bits every stored
 * prefix shares.  Entry b caches the walk for all addresses whose next bits
 * are b: the best match among the nodes that those bits alone decide, and
 * the first node they do not decide, where the lookup resumes.  A lookup is
 * then one table load plus a walk of the few nodes below the block.  The
 * table is sized to the family (about four entries per prefix, at most
 * 2^16 entries of 8 bytes), is rebuilt in part after each change (only the
 * blocks under the changed node) and in full when the root or the size
 * changes.  It is only an accelerator: if it cannot be allocated, lookups
 * walk from the root and stay correct.
 */
#include "allowedips.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { FAM_V4, FAM_V6, FAM_COUNT };
enum { JUMP_MAX_BITS = 20 };

struct node {
	uint64_t key[2];       /* host order, bits past cidr are zero */
	uint32_t child[2];     /* node indices, 0: none */
	uint32_t value;
	uint8_t cidr;
	uint8_t has_value;
};
_Static_assert(sizeof(struct node) == 32, "two nodes per cache line");

struct jump_entry {
	uint32_t start;        /* node to resume the walk at, 0: none */
	uint32_t best;         /* node of the best match so far, 0: none */
};

struct jump {
	struct jump_entry *e;  /* 1 << bits entries in use */
	uint32_t cap;          /* entries allocated */
	uint32_t root;         /* the root node it was built for */
	uint64_t base_key[2];  /* the root's prefix ... */
	uint8_t base;          /* ... and its length */
	uint8_t bits;          /* 0: no table, walk from the root */
};

struct allowedips {
	struct node *nodes;    /* nodes[0] is never used */
	uint32_t cap;          /* slots allocated */
	uint32_t used;         /* high-water mark: slots [1, used) handed out */
	uint32_t free_head;    /* free list through child[0] */
	uint32_t free_count;
	uint32_t root[FAM_COUNT];
	size_t count[FAM_COUNT]; /* prefixes holding a value */
	struct jump jump[FAM_COUNT];
};

struct key {
	uint64_t w[2];
};

/* --- Bit helpers ---------------------------------------------------------- */

static inline uint64_t mask_hi(unsigned cidr)
{
	return cidr == 0 ? 0 : cidr >= 64 ? UINT64_MAX : UINT64_MAX << (64 - cidr);
}

static inline uint64_t mask_lo(unsigned cidr)
{
	return cidr <= 64 ? 0 : UINT64_MAX << (128 - cidr);
}

/* Bit number i, counting from the most significant.  i == 128 happens only
 * below a /128 node, which has no children; reading any bit is harmless. */
static inline unsigned bit_at(const uint64_t w[2], unsigned i)
{
	return i < 64 ? (unsigned)(w[0] >> (63 - i)) & 1
		      : (unsigned)(w[1] >> ((127 - i) & 63)) & 1;
}

/* Bits [at, at + n) as an integer; 1 <= n <= 32, at + n <= 128. */
static inline uint32_t bits_at(const uint64_t w[2], unsigned at, unsigned n)
{
	uint64_t v;

	if (at + n <= 64)
		v = w[0] >> (64 - at - n);
	else if (at >= 64)
		v = w[1] >> (128 - at - n);
	else
		v = (w[0] << (at + n - 64)) | (w[1] >> (128 - at - n));
	return (uint32_t)v & (uint32_t)((1ULL << n) - 1);
}

static inline bool node_matches(const struct node *n, const uint64_t w[2])
{
	return ((w[0] ^ n->key[0]) & mask_hi(n->cidr)) == 0 &&
	       ((w[1] ^ n->key[1]) & mask_lo(n->cidr)) == 0;
}

/* Number of leading bits a and b share, at most limit. */
static unsigned common_bits(const uint64_t a[2], const uint64_t b[2], unsigned limit)
{
	uint64_t x = a[0] ^ b[0];
	unsigned n;

	if (x)
		n = (unsigned)__builtin_clzll(x);
	else if ((x = a[1] ^ b[1]))
		n = 64 + (unsigned)__builtin_clzll(x);
	else
		n = 128;
	return n < limit ? n : limit;
}

static inline unsigned max_bits(int fam)
{
	return fam == FAM_V4 ? 32 : 128;
}

/* Validate a prefix and turn it into a family and a masked key: host bits
 * are dropped, as wg(8) does for AllowedIPs. */
static int prefix_key(const struct ip_prefix *p, int *fam, struct key *k)
{
	uint32_t v4;

	if (p->addr.family == IP_V4 && p->cidr <= 32) {
		memcpy(&v4, p->addr.bytes, 4);
		k->w[0] = (uint64_t)be32toh(v4) << 32;
		k->w[1] = 0;
		*fam = FAM_V4;
	} else if (p->addr.family == IP_V6 && p->cidr <= 128) {
		memcpy(k->w, p->addr.bytes, 16);
		k->w[0] = be64toh(k->w[0]);
		k->w[1] = be64toh(k->w[1]);
		*fam = FAM_V6;
	} else {
		return -EINVAL;
	}
	k->w[0] &= mask_hi(p->cidr);
	k->w[1] &= mask_lo(p->cidr);
	return 0;
}

/* --- Node storage ----------------------------------------------------------- */

/* Make room for n more nodes so that an insert never reallocates (and so
 * never invalidates the links it holds) halfway through. */
static int reserve(struct allowedips *t, uint32_t n)
{
	/* used starts at 1 while cap is still 0. */
	uint32_t room = t->cap > t->used ? t->cap - t->used : 0, cap;
	struct node *nodes;

	if (t->free_count + room >= n)
		return 0;
	if (t->cap > UINT32_MAX / 2)
		return -ENOMEM;
	cap = t->cap ? t->cap * 2 : 64;
	nodes = realloc(t->nodes, (size_t)cap * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	t->nodes = nodes;
	t->cap = cap;
	return 0;
}

static uint32_t node_alloc(struct allowedips *t, const struct key *k, unsigned cidr)
{
	uint32_t i;

	if (t->free_head) {
		i = t->free_head;
		t->free_head = t->nodes[i].child[0];
		t->free_count--;
	} else {
		i = t->used++;
	}
	t->nodes[i] = (struct node){
		.key = { k->w[0] & mask_hi(cidr), k->w[1] & mask_lo(cidr) },
		.cidr = (uint8_t)cidr,
	};
	return i;
}

static void node_free(struct allowedips *t, uint32_t i)
{
	t->nodes[i].child[0] = t->free_head;
	t->free_head = i;
	t->free_count++;
}

/*
 * Restore the trie's shape at *link after a value was removed there or
 * below: a node without a value needs two children to exist.  With one it
 * is replaced by that child, with none it goes.
 */
static void collapse(struct allowedips *t, uint32_t *link)
{
	uint32_t i = *link;
	struct node *n;

	if (!i)
		return;
	n = &t->nodes[i];
	if (n->has_value || (n->child[0] && n->child[1]))
		return;
	*link = n->child[0] | n->child[1];
	node_free(t, i);
}

/* --- The jump table ----------------------------------------------------------- */

/* About four entries per prefix, within what the root leaves to index. */
static unsigned jump_bits_wanted(const struct allowedips *t, int fam, unsigned base)
{
	unsigned bits = 2, limit = max_bits(fam) - base;

	while (bits < JUMP_MAX_BITS && (1ULL << (bits - 2)) < t->count[fam])
		bits++;
	return bits < limit ? bits : limit;
}

/* The walk that entry idx stands for: from the root, through every node
 * whose decisions depend on the root's prefix and idx alone. */
static struct jump_entry jump_entry_build(const struct allowedips *t, int fam,
					  uint32_t idx)
{
	const struct jump *j = &t->jump[fam];
	unsigned end = j->base + j->bits;
	struct jump_entry e = { 0, 0 };
	uint64_t w[2] = { j->base_key[0], j->base_key[1] };
	uint32_t i = j->root;

	for (unsigned k = 0; k < j->bits; k++)
		if ((idx >> (j->bits - 1 - k)) & 1)
			w[(j->base + k) / 64] |= 1ULL << (63 - (j->base + k) % 64);
	while (i) {
		const struct node *n = &t->nodes[i];

		if (n->cidr >= end) {
			e.start = i;   /* its match needs bits past the block */
			break;
		}
		if (!node_matches(n, w))
			break;
		if (n->has_value)
			e.best = i;
		i = n->child[bit_at(w, n->cidr)];
	}
	return e;
}

static void jump_fill(struct allowedips *t, int fam, uint32_t first, uint32_t n)
{
	for (uint32_t idx = first; idx < first + n; idx++)
		t->jump[fam].e[idx] = jump_entry_build(t, fam, idx);
}

static void jump_rebuild(struct allowedips *t, int fam)
{
	struct jump *j = &t->jump[fam];
	uint32_t root = t->root[fam];
	unsigned base = root ? t->nodes[root].cidr : 0;
	unsigned bits = root ? jump_bits_wanted(t, fam, base) : 0;
	struct jump_entry *e;

	if (bits && (1u << bits) > j->cap) {
		e = realloc(j->e, sizeof(*e) << bits);
		if (e) {
			j->e = e;
			j->cap = 1u << bits;
		} else {
			bits = 0;      /* no table: lookups walk from the root */
		}
	}
	j->root = root;
	j->base = (uint8_t)base;
	j->base_key[0] = root ? t->nodes[root].key[0] : 0;
	j->base_key[1] = root ? t->nodes[root].key[1] : 0;
	j->bits = (uint8_t)bits;
	if (bits)
		jump_fill(t, fam, 0, 1u << bits);
}

/* The root or the wanted size changed: partial updates will not do.  The
 * size has one step of hysteresis, so that inserting and removing at a
 * power of two does not rebuild the whole table each time. */
static bool jump_stale(const struct allowedips *t, int fam)
{
	const struct jump *j = &t->jump[fam];
	uint32_t root = t->root[fam];
	unsigned want;

	/* The key test is belt and braces: a root index is never reused
	 * within one operation, so index and length identify it. */
	if (!root || root != j->root || t->nodes[root].cidr != j->base ||
	    t->nodes[root].key[0] != j->base_key[0] ||
	    t->nodes[root].key[1] != j->base_key[1])
		return true;
	want = jump_bits_wanted(t, fam, j->base);
	return !j->bits || j->bits + 1u < want || j->bits > want + 1;
}

/* Rebuild the entries of the blocks under prefix (key, cidr): the only
 * ones whose walk can pass a node at or below that prefix. */
static void jump_fill_prefix(struct allowedips *t, int fam, const uint64_t key[2],
			     unsigned cidr)
{
	const struct jump *j = &t->jump[fam];
	unsigned end = j->base + j->bits, c;

	if (cidr <= j->base) {
		jump_fill(t, fam, 0, 1u << j->bits);
		return;
	}
	c = cidr < end ? cidr : end;
	jump_fill(t, fam, bits_at(key, j->base, c - j->base) << (end - c),
		  1u << (end - c));
}

/* Bring the jump table up to date after the trie changed at or below the
 * node of prefix (key, cidr). */
static void jump_sync(struct allowedips *t, int fam, const uint64_t key[2],
		      unsigned cidr)
{
	if (jump_stale(t, fam))
		jump_rebuild(t, fam);   /* also fixes a table left without one */
	else
		jump_fill_prefix(t, fam, key, cidr);
}

/* --- Create, clone, destroy ------------------------------------------------- */

struct allowedips *allowedips_create(void)
{
	struct allowedips *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->used = 1;           /* index 0 means "no node" */
	return t;
}

void allowedips_destroy(struct allowedips *t)
{
	if (!t)
		return;
	for (int fam = 0; fam < FAM_COUNT; fam++)
		free(t->jump[fam].e);
	free(t->nodes);
	free(t);
}

/* A copy of the first used bytes of p in a new buffer of cap bytes. */
static void *dup(const void *p, size_t cap, size_t used)
{
	void *c = cap ? malloc(cap) : NULL;

	if (c && used)
		memcpy(c, p, used);
	return c;
}

struct allowedips *allowedips_clone(const struct allowedips *t)
{
	struct allowedips *c = malloc(sizeof(*c));
	bool ok;

	if (!c)
		return NULL;
	*c = *t;
	c->nodes = dup(t->nodes, (size_t)t->cap * sizeof(*t->nodes),
		       (size_t)t->used * sizeof(*t->nodes));
	ok = c->nodes || !t->cap;
	for (int fam = 0; fam < FAM_COUNT; fam++) {
		const struct jump *j = &t->jump[fam];

		c->jump[fam].e = dup(j->e, (size_t)j->cap * sizeof(*j->e),
				     j->bits ? sizeof(*j->e) << j->bits : 0);
		ok = ok && (c->jump[fam].e || !j->cap);
	}
	if (!ok) {
		/* Not yet owned by c: free only what was just allocated. */
		for (int fam = 0; fam < FAM_COUNT; fam++)
			free(c->jump[fam].e);
		free(c->nodes);
		free(c);
		return NULL;
	}
	return c;
}

/* --- Insert and remove (control thread) ----------------------------------- */

static void set_value(struct allowedips *t, int fam, struct node *n, uint32_t value)
{
	if (!n->has_value)
		t->count[fam]++;
	n->has_value = 1;
	n->value = value;
}

/*
 * Descend while the node on the way is a strict ancestor of the new
 * prefix; then the new prefix either is that node, sits above it, or
 * parts from it at some bit, where a branch node is put in.
 */
static uint32_t *trie_insert(struct allowedips *t, int fam, const struct key *k,
			     unsigned cidr, uint32_t value)
{
	uint32_t *link = &t->root[fam], i, leaf, mid;
	unsigned common = 0;
	struct node *n;

	while ((i = *link)) {
		n = &t->nodes[i];
		common = common_bits(k->w, n->key, cidr < n->cidr ? cidr : n->cidr);
		if (common == n->cidr && n->cidr == cidr) {
			set_value(t, fam, n, value);    /* same prefix */
			return link;
		}
		if (common < n->cidr)
			break;                          /* parts from n, or above it */
		link = &n->child[bit_at(k->w, n->cidr)];
	}
	leaf = node_alloc(t, k, cidr);
	set_value(t, fam, &t->nodes[leaf], value);
	if (i && common == cidr) {
		/* The new prefix contains n: it takes n's place, n goes below. */
		t->nodes[leaf].child[bit_at(t->nodes[i].key, cidr)] = i;
	} else if (i) {
		mid = node_alloc(t, k, common);
		t->nodes[mid].child[bit_at(k->w, common)] = leaf;
		t->nodes[mid].child[bit_at(t->nodes[i].key, common)] = i;
		leaf = mid;
	}
	*link = leaf;
	return link;
}

int allowedips_insert(struct allowedips *t, const struct ip_prefix *p, uint32_t value)
{
	const struct node *top;
	struct key k;
	int fam;

	if (prefix_key(p, &fam, &k) < 0)
		return -EINVAL;
	if (reserve(t, 2) < 0)
		return -ENOMEM;
	/* Everything that changed hangs below the node now at the link. */
	top = &t->nodes[*trie_insert(t, fam, &k, p->cidr, value)];
	jump_sync(t, fam, top->key, top->cidr);
	return 0;
}

int allowedips_remove(struct allowedips *t, const struct ip_prefix *p)
{
	uint32_t *link, *parent = NULL, i;
	struct node *n = NULL;
	struct key k, gone;
	int fam;

	/* A malformed prefix cannot be in the table: the contract has only
	 * 0 and -ENOENT. */
	if (prefix_key(p, &fam, &k) < 0)
		return -ENOENT;
	link = &t->root[fam];
	while ((i = *link)) {
		n = &t->nodes[i];
		if (n->cidr > p->cidr || !node_matches(n, k.w))
			return -ENOENT;
		if (n->cidr == p->cidr)
			break;
		parent = link;
		link = &n->child[bit_at(k.w, n->cidr)];
	}
	if (!i || !n->has_value)
		return -ENOENT;
	n->has_value = 0;
	t->count[fam]--;
	memcpy(gone.w, n->key, sizeof(gone.w));
	collapse(t, link);
	if (parent)
		collapse(t, parent);
	/*
	 * Only the blocks under the removed prefix need new jump entries.  A
	 * parent that folds away held no value, so walks through it to the
	 * other side find the same matches as before; and a folded node that
	 * was an entry's resume point lies inside one block, the one holding
	 * the removed prefix.  A new root is caught by jump_stale().
	 */
	jump_sync(t, fam, gone.w, p->cidr);
	return 0;
}

/*
 * The nodes remove_by_value() changed, for a partial jump table update.
 * Removing one peer's few prefixes from a big table must not cost a full
 * rebuild; removing many falls back to one.
 */
enum { DIRTY_MAX = 64 };

struct dirty {
	struct key key[DIRTY_MAX];
	uint8_t cidr[DIRTY_MAX];
	unsigned n;
	bool overflow;
};

static void dirty_add(struct dirty *d, const struct node *n)
{
	if (d->n == DIRTY_MAX) {
		d->overflow = true;
		return;
	}
	memcpy(d->key[d->n].w, n->key, sizeof(n->key));
	d->cidr[d->n++] = n->cidr;
}

/* Post-order, so that each node is collapsed after its subtrees.  The
 * recursion is at most 129 deep (each level adds at least one bit). */
static size_t prune_value(struct allowedips *t, int fam, uint32_t *link,
			  uint32_t value, struct dirty *d)
{
	struct node *n;
	size_t removed;

	if (!*link)
		return 0;
	n = &t->nodes[*link];  /* stable: nothing below allocates */
	removed = prune_value(t, fam, &n->child[0], value, d) +
		  prune_value(t, fam, &n->child[1], value, d);
	if (n->has_value && n->value == value) {
		n->has_value = 0;
		t->count[fam]--;
		removed++;
		dirty_add(d, n);
	}
	/* Branch nodes folding away need no marking; see allowedips_remove(). */
	collapse(t, link);
	return removed;
}

size_t allowedips_remove_by_value(struct allowedips *t, uint32_t value)
{
	size_t removed = 0, n;
	struct dirty d;

	for (int fam = 0; fam < FAM_COUNT; fam++) {
		d.n = 0;
		d.overflow = false;
		n = prune_value(t, fam, &t->root[fam], value, &d);
		removed += n;
		if (!n)
			continue;
		if (d.overflow || jump_stale(t, fam)) {
			jump_rebuild(t, fam);
			continue;
		}
		for (unsigned i = 0; i < d.n; i++)
			jump_fill_prefix(t, fam, d.key[i].w, d.cidr[i]);
	}
	return removed;
}

/* --- Lookup (hot path) -------------------------------------------------------- */

/*
 * After the jump, every node on the way is checked against the address,
 * because path compression skips bits: reaching a node says nothing about
 * the bits between it and its parent.  The last matching node with a value
 * is the longest match.  No allocation, no writes, no locks; the "best"
 * update is written to compile to a conditional move, since whether a node
 * holds a value is as unpredictable as the address.
 */
bool allowedips_lookup_v4(const struct allowedips *t, const uint8_t addr[4],
			  uint32_t *value)
{
	const struct jump *j = &t->jump[FAM_V4];
	const struct node *nodes = t->nodes, *n;
	uint32_t v4, i = t->root[FAM_V4], best = 0;
	uint64_t w;

	memcpy(&v4, addr, 4);
	w = (uint64_t)be32toh(v4) << 32;
	if (j->bits) {
		/* Every prefix lies inside the root's: outside it, no match. */
		if ((w ^ j->base_key[0]) & mask_hi(j->base))
			return false;
		/* base + bits <= 32, so the shifts stay inside the word. */
		const struct jump_entry *e = &j->e[(w << j->base) >> (64 - j->bits)];
		i = e->start;
		best = e->best;
	}
	while (i) {
		n = &nodes[i];
		if ((w ^ n->key[0]) & mask_hi(n->cidr))
			break;
		best = n->has_value ? i : best;
		i = n->child[(w >> (63 - n->cidr)) & 1];  /* cidr <= 32 */
	}
	if (!best)
		return false;
	*value = nodes[best].value;
	return true;
}

bool allowedips_lookup_v6(const struct allowedips *t, const uint8_t addr[16],
			  uint32_t *value)
{
	const struct jump *j = &t->jump[FAM_V6];
	const struct node *nodes = t->nodes, *n;
	uint32_t i = t->root[FAM_V6], best = 0;
	uint64_t w[2];

	memcpy(w, addr, 16);
	w[0] = be64toh(w[0]);
	w[1] = be64toh(w[1]);
	if (j->bits) {
		if (((w[0] ^ j->base_key[0]) & mask_hi(j->base)) ||
		    ((w[1] ^ j->base_key[1]) & mask_lo(j->base)))
			return false;
		const struct jump_entry *e = &j->e[bits_at(w, j->base, j->bits)];
		i = e->start;
		best = e->best;
	}
	while (i) {
		n = &nodes[i];
		if (!node_matches(n, w))
			break;
		best = n->has_value ? i : best;
		i = n->child[bit_at(w, n->cidr)];
	}
	if (!best)
		return false;
	*value = nodes[best].value;
	return true;
}

bool allowedips_lookup(const struct allowedips *t, const struct ip_addr *addr,
		       uint32_t *value)
{
	if (addr->family == IP_V4)
		return allowedips_lookup_v4(t, addr->bytes, value);
	if (addr->family == IP_V6)
		return allowedips_lookup_v6(t, addr->bytes, value);
	return false;
}

/* --- Walk and count ------------------------------------------------------------- */

static void key_to_prefix(const struct node *n, int fam, struct ip_prefix *p)
{
	uint64_t w[2] = { htobe64(n->key[0]), htobe64(n->key[1]) };

	memset(p, 0, sizeof(*p));
	p->addr.family = fam == FAM_V4 ? IP_V4 : IP_V6;
	memcpy(p->addr.bytes, w, fam == FAM_V4 ? 4 : 16);
	p->cidr = n->cidr;
}

/*
 * Pre-order (node, then the 0 side, then the 1 side) is address order:
 * everything below a node extends its prefix, and the 0 side sorts before
 * the 1 side.  Equal addresses come shortest prefix first.  fn must not
 * modify the table.
 */
static int walk_node(const struct allowedips *t, uint32_t i, int fam,
		     allowedips_walk_fn fn, void *ctx)
{
	const struct node *n;
	struct ip_prefix p;
	int ret;

	if (!i)
		return 0;
	n = &t->nodes[i];
	if (n->has_value) {
		key_to_prefix(n, fam, &p);
		ret = fn(&p, n->value, ctx);
		if (ret)
			return ret;
	}
	ret = walk_node(t, n->child[0], fam, fn, ctx);
	if (ret)
		return ret;
	return walk_node(t, n->child[1], fam, fn, ctx);
}

int allowedips_walk(const struct allowedips *t, allowedips_walk_fn fn, void *ctx)
{
	int ret = walk_node(t, t->root[FAM_V4], FAM_V4, fn, ctx);

	return ret ? ret : walk_node(t, t->root[FAM_V6], FAM_V6, fn, ctx);
}

size_t allowedips_count(const struct allowedips *t)
{
	return t->count[FAM_V4] + t->count[FAM_V6];
}

size_t allowedips_nodes(const struct allowedips *t)
{
	return t->used - 1 - t->free_count;
}
