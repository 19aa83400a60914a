/* SPDX-License-Identifier: MIT */
/*
 * test_jrules.c - the on-media rules of umfs_rules.h, umfs_journal.h and
 * umfs_ulog.h, as the core compiles them and as the kernel module compiles
 * them (kmod/ktx.c and kmod/crc32c.c built against kstub/), against
 * expectations written here.
 *
 * Each case writes records into the module's journal slot of a pool image
 * and says how many the rollback must replay and whether the scan must stop
 * at a record that names a range no transaction changes. The core's side is
 * umfs_jslot_scan(); the module's is its own recovery, umfs_km_tx_recover(),
 * which replays the valid records or, after a bad one, refuses the slot.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umfs_format.h"
#include "umfs_journal.h"
#include "umfs_ulog.h"
#include "kstub/kstub_bridge.h"
#include "crc_ref.h"

#define POOL (1u << 20)
#define STATE_OFF 0x1000u
#define JOURNAL_OFF 0x2000u
#define SLOT_SIZE 0x2000u
#define SLOTS 2u
#define JOURNAL_END (JOURNAL_OFF + SLOTS * SLOT_SIZE)
#define INODE_OFF (JOURNAL_END + 0x1000u) /* one page of gap after the journal */
#define BACKUP_OFF (POOL - 0x1000u)
#define KSLOT_OFF (JOURNAL_OFF + (SLOTS - 1) * SLOT_SIZE)
#define SEQ 77u
#define ORPHAN_HEAD (STATE_OFF + 24u)

/* How a record of a case is spoiled after it is sealed. */
enum spoil { OK, TORN, STALE, BADSUM, LONG };

struct rec {
	uint64_t off;
	uint32_t len;
	enum spoil how;
};

struct jcase {
	const char *name;
	struct rec recs[3];
	unsigned nrecs;
	unsigned want_valid; /* records the rollback replays */
	int want_bad;        /* the scan stops at a forbidden range */
};

static const struct jcase cases[] = {
	{ "two valid inode-zone records", { { INODE_OFF, 64, OK }, { INODE_OFF + 256, 8, OK } }, 2,
	  2, 0 },
	{ "torn second record", { { INODE_OFF, 64, OK }, { INODE_OFF + 256, 32, TORN } }, 2, 1, 0 },
	{ "stale first record", { { INODE_OFF, 64, STALE }, { INODE_OFF + 256, 8, OK } }, 2, 0, 0 },
	{ "stale after a valid one", { { INODE_OFF, 64, OK }, { INODE_OFF + 256, 8, STALE } }, 2, 1,
	  0 },
	{ "bad checksum", { { INODE_OFF, 16, BADSUM } }, 1, 0, 0 },
	{ "length past the slot", { { INODE_OFF, 16, LONG } }, 1, 0, 0 },
	{ "zero-length record", { { INODE_OFF, 0, OK } }, 1, 1, 0 },
	{ "range past the pool", { { POOL - 8, 16, OK } }, 1, 0, 1 },
	{ "offset past the pool", { { (uint64_t)POOL + 4096, 8, OK } }, 1, 0, 1 },
	{ "offset and length wrap", { { UINT64_MAX - 3, 8, OK } }, 1, 0, 1 },
	{ "superblock", { { 0, 8, OK } }, 1, 0, 1 },
	{ "the journal itself", { { JOURNAL_OFF + 8, 8, OK } }, 1, 0, 1 },
	{ "valid, then a bad range", { { INODE_OFF, 8, OK }, { 16, 8, OK } }, 2, 1, 1 },
	/* where the two rules of the past disagreed */
	{ "orphan list head", { { ORPHAN_HEAD, 8, OK } }, 1, 1, 0 },
	{ "state page magic", { { STATE_OFF, 8, OK } }, 1, 0, 1 },
	{ "orphan head, 16 bytes", { { ORPHAN_HEAD, 16, OK } }, 1, 0, 1 },
	{ "whole state page", { { STATE_OFF, 4096, OK } }, 1, 0, 1 },
	{ "gap after the journal", { { JOURNAL_END, 8, OK } }, 1, 0, 1 },
	{ "backup superblock", { { BACKUP_OFF, 8, OK } }, 1, 0, 1 },
	{ "up to the backup superblock", { { BACKUP_OFF - 64, 64, OK } }, 1, 1, 0 },
	{ "across the backup superblock", { { BACKUP_OFF - 8, 16, OK } }, 1, 0, 1 },
};

static uint8_t *pool_image(struct umfs_superblock *sb)
{
	uint8_t *base = calloc(1, POOL);
	struct umfs_jslot_hdr *h = (struct umfs_jslot_hdr *)(base + KSLOT_OFF);

	assert_non_null(base);
	memset(sb, 0, sizeof(*sb));
	sb->pool_size = POOL;
	sb->state_off = STATE_OFF;
	sb->journal_off = JOURNAL_OFF;
	sb->journal_slots = SLOTS;
	sb->journal_slot_size = SLOT_SIZE;
	sb->inode_off = INODE_OFF;
	sb->backup_sb_off = BACKUP_OFF;
	h->magic = UMFS_JSLOT_MAGIC;
	h->slot = SLOTS - 1;
	h->active_seq = SEQ;
	h->next_seq = SEQ + 1;
	return base;
}

/* Writes the case's records (old bytes: a pattern) and returns where each
 * record's data went; the pool's live bytes are left 0. */
static void write_case(uint8_t *base, const struct jcase *c, uint8_t **saved)
{
	uint32_t at = sizeof(struct umfs_jslot_hdr);

	for (unsigned i = 0; i < c->nrecs; i++) {
		const struct rec *rc = &c->recs[i];
		struct umfs_jrec *r = (struct umfs_jrec *)(base + KSLOT_OFF + at);
		uint8_t *data = (uint8_t *)(r + 1);

		r->seq = rc->how == STALE ? SEQ - 1 : SEQ;
		r->off = rc->off;
		r->len = rc->len;
		for (uint32_t k = 0; k < rc->len; k++)
			data[k] = (uint8_t)(0x40 + i * 16 + k);
		r->csum = crc_reference(crc_reference(0, r, offsetof(struct umfs_jrec, csum)), data, rc->len);
		if (rc->how == TORN)
			data[rc->len - 1] ^= 0xff;
		if (rc->how == BADSUM)
			r->csum ^= 1;
		if (rc->how == LONG)
			r->len = SLOT_SIZE; /* seal first: only the length is wrong */
		saved[i] = data;
		at += (uint32_t)((sizeof(*r) + rc->len + 7) & ~7u);
	}
}

static void flush_none(const void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

static void fence_none(void)
{
}

/* A lone sealed record restored as the core's abort restores it: written
 * back over its range when the range is one a transaction changes, else
 * refused with nothing written. */
static void check_core_restore(const struct jcase *c, uint8_t *base, const struct umfs_jgeom *g)
{
	const struct umfs_jrec *r = (const void *)(base + KSLOT_OFF + sizeof(struct umfs_jslot_hdr));
	struct umfs_jenv env = { .base = base, .flush = flush_none, .fence = fence_none };
	uint8_t before[64];
	size_t k = c->recs[0].len < 64 ? c->recs[0].len : 64;
	int err;

	if (c->nrecs != 1 || c->recs[0].how != OK)
		return;
	if (c->recs[0].off < POOL && c->recs[0].off + k <= POOL)
		memcpy(before, base + c->recs[0].off, k);
	err = umfs_jrec_restore(&env, g, r);
	if (err != (c->want_bad ? -EUCLEAN : 0))
		fail_msg("core restore: %s: %d", c->name, err);
	if (!err)
		assert_memory_equal(base + c->recs[0].off, r + 1, c->recs[0].len);
	else if (c->recs[0].off < POOL && c->recs[0].off + k <= POOL)
		assert_memory_equal(base + c->recs[0].off, before, k);
}

/* The rule as the core compiles it. */
static void check_core(const struct jcase *c)
{
	struct umfs_superblock sb;
	uint8_t *base = pool_image(&sb), *saved[3];
	struct umfs_jgeom g = umfs_jgeom_of(&sb);
	uint32_t pos[SLOT_SIZE / sizeof(struct umfs_jrec)];
	int bad;
	uint32_t n;

	write_case(base, c, saved);
	n = umfs_jslot_scan(&g, base + umfs_jslot_off(&sb, SLOTS - 1), SEQ, pos, 512, &bad);
	if (n != c->want_valid || bad != c->want_bad)
		fail_msg("core: %s: %u valid, bad %d; want %u, bad %d", c->name, n, bad,
			 c->want_valid, c->want_bad);
	check_core_restore(c, base, &g);
	free(base);
}

/* The module's recovery, compiled from kmod/ktx.c. */
static void check_kmod(const struct jcase *c)
{
	struct umfs_superblock sb;
	uint8_t *base = pool_image(&sb), *saved[3];
	const struct umfs_jslot_hdr *h = (const void *)(base + KSLOT_OFF);
	uint64_t restored = 99;
	int err;

	write_case(base, c, saved);
	err = kstub_tx_recover(base, &sb, &restored);
	if (c->want_bad) {
		if (err != -EUCLEAN || restored != 0 || h->active_seq != SEQ)
			fail_msg("kmod: %s: err %d, %llu restored, active %llu; want the slot refused",
				 c->name, err, (unsigned long long)restored,
				 (unsigned long long)h->active_seq);
	} else {
		if (err != 0 || restored != c->want_valid || h->active_seq != 0)
			fail_msg("kmod: %s: err %d, %llu restored, active %llu; want %u and retired",
				 c->name, err, (unsigned long long)restored,
				 (unsigned long long)h->active_seq, c->want_valid);
		/* the replayed ranges hold the saved bytes, the others are untouched */
		for (unsigned i = 0; i < c->nrecs; i++) {
			const struct rec *rc = &c->recs[i];
			uint8_t zero[64] = { 0 };
			size_t k = rc->len < 64 ? rc->len : 64;

			if (i < c->want_valid)
				assert_memory_equal(base + rc->off, saved[i], rc->len);
			else if (rc->off < POOL && k && rc->off + k <= POOL)
				assert_memory_equal(base + rc->off, zero, k);
		}
	}
	free(base);
}

static void test_record_validity(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check_core(&cases[i]);
		check_kmod(&cases[i]);
	}
}

/* The identity block: 48 bytes, fields in the documented order. */
static void test_inode_identity(void **state)
{
	struct umfs_inode in;
	uint8_t ref[48] = { 0 };
	uint32_t want;

	(void)state;
	memset(&in, 0xee, sizeof(in)); /* the fields outside the block must not count */
	in.mode = 0100644;
	in.uid = 1000;
	in.gid = 100;
	in.generation = 7;
	in.pt_root = 0x123456789000ull;
	in.ulog = 0x200000ull;
	in.rdev = 0x0801ull;
	in.pt_height = 2;
	memcpy(ref + 0, &in.mode, 4);
	memcpy(ref + 4, &in.uid, 4);
	memcpy(ref + 8, &in.gid, 4);
	memcpy(ref + 12, &in.generation, 4);
	memcpy(ref + 16, &in.pt_root, 8);
	memcpy(ref + 24, &in.ulog, 8);
	memcpy(ref + 32, &in.rdev, 8);
	ref[40] = in.pt_height;
	want = crc_reference(0, ref, sizeof(ref));
	assert_int_equal(umfs_inode_id_csum(&in), want);
	for (unsigned i = 0; i < 6; i++) { /* the words the core's crc32 instructions take */
		uint64_t w;

		memcpy(&w, ref + 8 * i, 8);
		assert_int_equal(umfs_inode_id_word(&in, i), le64toh(w));
	}
	assert_int_equal(kstub_inode_csum(&in), want);
	in.size = 1; /* a hot field */
	assert_int_equal(umfs_inode_id_csum(&in), want);
	in.uid = 0; /* an identity field */
	assert_int_not_equal(umfs_inode_id_csum(&in), want);
	assert_int_equal(kstub_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(umfs_crc32c(0, "123456789", 9), 0xE3069283u);
	/* the module's table path (umfs_rules.h's byte step), continued from
	 * a running value, against the bit-at-a-time reference */
	for (unsigned len = 0; len < sizeof(ref); len++)
		assert_int_equal(kstub_crc32c(0x12345678u, ref, len),
				 crc_reference(0x12345678u, ref, len));
}

static void test_page_offsets(void **state)
{
	(void)state;
	assert_true(umfs_off_is_data_page(0x200000, 4, 0x200000));
	assert_true(umfs_off_is_data_page(0x200000, 4, 0x203000));
	assert_false(umfs_off_is_data_page(0x200000, 4, 0x204000)); /* one past */
	assert_false(umfs_off_is_data_page(0x200000, 4, 0x1ff000)); /* below */
	assert_false(umfs_off_is_data_page(0x200000, 4, 0x200008)); /* unaligned */
	assert_true(umfs_off_is_huge_leaf(0x200000, 1024, 0x400000));
	assert_false(umfs_off_is_huge_leaf(0x200000, 1023, 0x400000)); /* last page outside */
	assert_false(umfs_off_is_huge_leaf(0x200000, 1024, 0x401000)); /* not on a 512 boundary */
	assert_false(umfs_off_is_huge_leaf(0x200000, 1024, 0x600000)); /* past the zone */
	assert_true(umfs_off_in_pool(100, 100, 0));
	assert_false(umfs_off_in_pool(100, 101, 0));
	assert_false(umfs_off_in_pool(100, 8, UINT64_MAX)); /* no wrap */
	assert_true(umfs_zone_ok(4096, 4096, 8192));
	assert_false(umfs_zone_ok(4095, 1, 8192));
}

/* A U-Log page at data page pg of a 16-page zone at 0x10000, stamped for
 * (ino, gen), marked in the bitmap, linked to next. */
static struct umfs_ulog *ulog_page(uint8_t *base, uint64_t *bm, unsigned pg, uint64_t ino,
				   uint32_t gen, uint64_t next)
{
	struct umfs_ulog *u = (struct umfs_ulog *)(base + 0x10000 + pg * 4096u);

	u->magic = UMFS_ULOG_MAGIC;
	u->ino = ino;
	u->generation = gen;
	u->csum = crc_reference(0, u, offsetof(struct umfs_ulog, csum));
	u->next = next;
	*bm |= 1ull << pg;
	return u;
}

/* The chain walk and the record rule of umfs_ulog.h against cases built
 * here: what a walk keeps, where it cuts, which record fields pass. */
static void test_ulog_rules(void **state)
{
	uint8_t *base = calloc(1, 0x10000 + 16 * 4096);
	uint64_t bm = 0, offs[8];
	struct umfs_ulog_env e = { .base = base, .data_off = 0x10000, .data_pages = 16,
				   .pbitmap = &bm };
	struct umfs_ulog *u;
	int cut;

	(void)state;
	assert_non_null(base);
	u = ulog_page(base, &bm, 0, 5, 9, 0x11000);
	ulog_page(base, &bm, 1, 5, 9, 0x12000);
	ulog_page(base, &bm, 2, 5, 9, 0);
	assert_int_equal(umfs_ulog_chain_walk(&e, 0x10000, 5, 9, offs, 8, &cut), 3);
	assert_false(cut);
	assert_int_equal(offs[2], 0x12000);
	assert_int_equal(umfs_ulog_chain_walk(&e, 0x10000, 5, 9, offs, 2, &cut), 2);
	assert_true(cut); /* a link past max is not followed */
	assert_int_equal(umfs_ulog_chain_walk(&e, 0x10000, 5, 8, offs, 8, &cut), 0);
	assert_true(cut); /* another generation's chain */
	ulog_page(base, &bm, 2, 5, 9, 0x11000);
	assert_int_equal(umfs_ulog_chain_walk(&e, 0x10000, 5, 9, offs, 8, &cut), 3);
	assert_true(cut); /* a loop */
	bm &= ~2ull;
	assert_int_equal(umfs_ulog_chain_walk(&e, 0x10000, 5, 9, offs, 8, &cut), 1);
	assert_true(cut); /* a page the bitmap calls free */
	assert_int_equal(umfs_ulog_chain_walk(&e, 0x10008, 5, 9, offs, 8, &cut), 0);
	assert_true(cut); /* not a page's start */

	u->rec_kind = UMFS_ULOG_REC_BYTES;
	u->rec_off = UMFS_MAX_FILE_SIZE - 100;
	u->rec_len = 100;
	assert_true(umfs_ulog_rec_ok(u, 5, 1));
	u->rec_len = 101; /* past the largest file */
	assert_false(umfs_ulog_rec_ok(u, 5, 1));
	u->rec_off = 0;
	u->rec_len = UMFS_ULOG_DATA_SIZE + 1; /* more than one page holds */
	assert_false(umfs_ulog_rec_ok(u, 5, 1));
	assert_true(umfs_ulog_rec_ok(u, 5, 2));
	u->rec_kind = UMFS_ULOG_REC_PAGE;
	u->rec_len = sizeof(struct umfs_ulog_page);
	u->rec_off = 4096;
	assert_true(umfs_ulog_rec_ok(u, 5, 1));
	u->rec_off = 4100; /* unaligned */
	assert_false(umfs_ulog_rec_ok(u, 5, 1));
	u->rec_kind = UMFS_ULOG_REC_SWAP;
	u->rec_off = 10;
	u->rec_len = 4;
	u->rec_done = 4;
	u->rec_aux_ino = 6;
	assert_true(umfs_ulog_rec_ok(u, 5, 1));
	assert_false(umfs_ulog_rec_ok(u, 6, 1)); /* the file as its own shadow */
	u->rec_done = 5; /* more exchanged than covered */
	assert_false(umfs_ulog_rec_ok(u, 5, 1));
	u->rec_done = 0;
	u->rec_old_size = UMFS_MAX_FILE_SIZE + 1;
	assert_false(umfs_ulog_rec_ok(u, 5, 1));
	u->rec_old_size = 0;
	u->rec_kind = UMFS_ULOG_REC_PTES; /* reserved, never written */
	assert_false(umfs_ulog_rec_ok(u, 5, 1));
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_validity),
		cmocka_unit_test(test_inode_identity),
		cmocka_unit_test(test_page_offsets),
		cmocka_unit_test(test_ulog_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
