/* SPDX-License-Identifier: MIT */
/* test_journal.c - undo-log transactions: commit, abort, crash rollback. */
#include <errno.h>
#include <sys/wait.h>

#include "testutil.h"

/* A scratch range inside the pool that no structure uses: the tail of the
 * data zone (never allocated in these tests). */
static uint8_t *scratch(struct umfs_fs *fs, size_t len)
{
	return umfs_page_ptr(fs, fs->data_pages - 1 - UMFS_DIV_ROUND_UP(len, UMFS_PAGE_SIZE));
}

static void commit_keeps_changes(void **state)
{
	struct test_pool tp;
	uint8_t *p;

	assert_int_equal(test_pool_make(&tp, "jcommit", 16 << 20, 0), 0);
	p = scratch(tp.fs, 64);
	memset(p, 1, 64);
	umfs_persist(p, 64);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_tx_add(tp.fs, p, 64), 0);
	memset(p, 2, 64);
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(test_pool_remount(&tp), 0);
	p = scratch(tp.fs, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], 2);
	test_pool_destroy(&tp);
}

static void abort_restores_oldest_snapshot(void **state)
{
	struct test_pool tp;
	uint8_t *p;

	assert_int_equal(test_pool_make(&tp, "jabort", 16 << 20, 0), 0);
	p = scratch(tp.fs, 256);
	test_fill(p, 256, 7);
	uint8_t before[256];
	memcpy(before, p, sizeof(before));
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	/* overlapping and repeated snapshots: the oldest copy must win */
	assert_int_equal(umfs_tx_add(tp.fs, p, 128), 0);
	memset(p, 0xee, 128);
	assert_int_equal(umfs_tx_add(tp.fs, p + 64, 192), 0);
	memset(p + 64, 0xdd, 192);
	assert_int_equal(umfs_tx_add(tp.fs, p, 256), 0);
	memset(p, 0xcc, 256);
	umfs_tx_abort(tp.fs);
	assert_memory_equal(p, before, sizeof(before));
	assert_int_equal(tp.fs->tx.hdr->active_seq, 0);
	test_pool_destroy(&tp);
}

static void slot_full_is_enospc_and_abortable(void **state)
{
	struct test_pool tp;
	uint8_t *p;
	int err = 0, adds = 0;

	assert_int_equal(test_pool_make(&tp, "jfull", 16 << 20, 0), 0);
	p = scratch(tp.fs, 1 << 20);
	memset(p, 3, 1 << 20);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	for (size_t off = 0; off + 4096 <= (1 << 20); off += 4096, adds++) {
		err = umfs_tx_add(tp.fs, p + off, 4096);
		if (err)
			break;
		memset(p + off, 9, 4096);
	}
	assert_int_equal(err, -ENOSPC);
	assert_true(adds > 8);
	assert_true(umfs_tx_room(tp.fs) < 4096 + sizeof(struct umfs_jrec));
	umfs_tx_abort(tp.fs);
	for (size_t i = 0; i < (1 << 20); i++)
		if (p[i] != 3)
			fail_msg("byte %zu not restored", i);
	test_pool_destroy(&tp);
}

/* A child process changes the pool inside a transaction and dies without
 * committing: the next mount must roll the change back. */
static void crash_mid_transaction_rolls_back(void **state)
{
	struct test_pool tp;
	uint8_t before[8192], *p;
	pid_t pid;
	int status;

	assert_int_equal(test_pool_make(&tp, "jcrash", 16 << 20, 0), 0);
	p = scratch(tp.fs, sizeof(before));
	test_fill(p, sizeof(before), 99);
	umfs_persist(p, sizeof(before));
	memcpy(before, p, sizeof(before));

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		umfs_tx_begin(tp.fs);
		for (size_t off = 0; off < sizeof(before); off += 512) {
			umfs_tx_add(tp.fs, p + off, 512);
			memset(p + off, 0, 512);
			umfs_persist(p + off, 512);
		}
		_exit(0); /* no commit, no unmount */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* the parent's mapping shows what the child left */
	assert_int_equal(p[0], 0);
	umfs_unmount(tp.fs);
	tp.fs = NULL;
	assert_int_equal(umfs_mount(tp.path, 0, &tp.fs), 0);
	p = scratch(tp.fs, sizeof(before));
	assert_memory_equal(p, before, sizeof(before));
	test_pool_destroy(&tp);
}

/* A record whose checksum fails ends the scan; records before it are used. */
static void torn_tail_record_is_ignored(void **state)
{
	struct test_pool tp;
	struct umfs_fs *fs;
	uint8_t *p;
	unsigned rolled, bad;

	assert_int_equal(test_pool_make(&tp, "jtorn", 16 << 20, 0), 0);
	fs = tp.fs;
	p = scratch(fs, 128);
	memset(p, 0x11, 128);
	assert_int_equal(umfs_tx_begin(fs), 0);
	assert_int_equal(umfs_tx_add(fs, p, 64), 0);
	memset(p, 0x22, 64);
	assert_int_equal(umfs_tx_add(fs, p + 64, 64), 0);
	/* tear the second record, as if the crash hit before its fence */
	struct umfs_jrec *r2 = (struct umfs_jrec *)(fs->tx.slot + sizeof(struct umfs_jslot_hdr) +
						    UMFS_ALIGN_UP(sizeof(struct umfs_jrec) + 64, 8));
	((uint8_t *)(r2 + 1))[5] ^= 1;
	fs->tx.active = false; /* the process "died" */
	assert_int_equal(umfs_journal_recover(fs, &rolled, &bad), 0);
	assert_int_equal(rolled, 1);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], 0x11);
	test_pool_destroy(&tp);
}

/* A batch saved with umfs_tx_save stays unsealed until an add (or the
 * seal) fences it, records each range once, and recovery restores the
 * batch's records up to the first torn one (the scan's rule, which makes
 * a crash before the seal safe: none of the batch's ranges changed). */
static void batch_shares_one_fence_and_restores_a_prefix(void **state)
{
	struct test_pool tp;
	struct umfs_fs *fs;
	uint8_t *p;
	unsigned rolled, bad;
	size_t rec = UMFS_ALIGN_UP(sizeof(struct umfs_jrec) + 64, 8);

	assert_int_equal(test_pool_make(&tp, "jbatch", 16 << 20, 0), 0);
	fs = tp.fs;
	p = scratch(fs, 192);
	memset(p, 0x11, 192);
	umfs_persist(p, 192);
	assert_int_equal(umfs_tx_begin(fs), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(umfs_tx_save(fs, p + 64 * i, 64), 0);
	assert_true(fs->tx.unsealed);
	/* a range saved already is not recorded again, but an add seals */
	assert_int_equal(umfs_tx_add(fs, p + 64, 32), 0);
	assert_false(fs->tx.unsealed);
	assert_int_equal(fs->tx.used, sizeof(struct umfs_jslot_hdr) + 3 * rec);
	memset(p, 0x22, 192);
	/* tear the second record: the first alone is restored */
	struct umfs_jrec *r2 = (struct umfs_jrec *)(fs->tx.slot + sizeof(struct umfs_jslot_hdr) +
						    rec);
	((uint8_t *)(r2 + 1))[5] ^= 1;
	fs->tx.active = false; /* the process "died" */
	assert_int_equal(umfs_journal_recover(fs, &rolled, &bad), 0);
	assert_int_equal(rolled, 1);
	for (int i = 0; i < 192; i++)
		assert_int_equal(p[i], i < 64 ? 0x11 : 0x22);
	test_pool_destroy(&tp);
}

/* Recovery twice gives the same result (a crash during recovery). */
static void recovery_is_idempotent(void **state)
{
	struct test_pool tp;
	uint8_t *p;
	unsigned rolled;

	assert_int_equal(test_pool_make(&tp, "jidem", 16 << 20, 0), 0);
	p = scratch(tp.fs, 64);
	memset(p, 0x33, 64);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	assert_int_equal(umfs_tx_add(tp.fs, p, 64), 0);
	memset(p, 0x44, 64);
	tp.fs->tx.active = false;
	/* recover, then pretend that recovery crashed before clearing the slot */
	uint64_t seq = tp.fs->tx.hdr->active_seq;
	assert_int_equal(umfs_journal_recover(tp.fs, &rolled, NULL), 0);
	memset(p, 0x55, 64); /* later work that must not be undone... */
	tp.fs->tx.hdr->active_seq = seq; /* ...by replaying a finished slot */
	assert_int_equal(umfs_journal_recover(tp.fs, &rolled, NULL), 0);
	assert_int_equal(p[0], 0x33); /* the same record, same result */
	test_pool_destroy(&tp);
}

/* After a remount, new transactions never reuse the sequence numbers of
 * records still lying in the slot. */
static void sequence_numbers_never_repeat(void **state)
{
	struct test_pool tp;
	uint64_t seqs[3];
	uint8_t *p;

	assert_int_equal(test_pool_make(&tp, "jseq", 16 << 20, 0), 0);
	for (int round = 0; round < 3; round++) {
		p = scratch(tp.fs, 8);
		assert_int_equal(umfs_tx_begin(tp.fs), 0);
		seqs[round] = tp.fs->tx.seq;
		assert_int_equal(umfs_tx_add(tp.fs, p, 8), 0);
		assert_int_equal(umfs_tx_commit(tp.fs), 0);
		assert_int_equal(test_pool_remount(&tp), 0);
	}
	assert_true(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
	test_pool_destroy(&tp);
}

/* Two mounts of one pool (two processes, or parent and child) draw
 * sequence numbers from disjoint reserved blocks. */
static void two_mounts_never_share_sequence_numbers(void **state)
{
	struct test_pool tp;
	struct umfs_fs *other;
	uint64_t a_first, b_first;

	assert_int_equal(test_pool_make(&tp, "jtwo", 16 << 20, 0), 0);
	assert_int_equal(umfs_mount(tp.path, 0, &other), 0);
	assert_int_equal(umfs_tx_begin(tp.fs), 0);
	a_first = tp.fs->tx.seq;
	assert_int_equal(umfs_tx_commit(tp.fs), 0);
	assert_int_equal(umfs_tx_begin(other), 0);
	b_first = other->tx.seq;
	assert_int_equal(umfs_tx_commit(other), 0);
	/* the second mount starts past the first one's whole reservation */
	assert_true(b_first >= tp.fs->tx.seq_limit || a_first >= other->tx.seq_limit);
	assert_true(b_first != a_first);
	umfs_unmount(other);
	test_pool_destroy(&tp);
}

static void garbage_slot_header_is_reset(void **state)
{
	struct test_pool tp;
	unsigned bad = 0;

	assert_int_equal(test_pool_make(&tp, "jgarb", 16 << 20, 0), 0);
	test_fill(tp.fs->tx.hdr, sizeof(struct umfs_jslot_hdr), 5);
	assert_int_equal(umfs_journal_recover(tp.fs, NULL, &bad), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(tp.fs->tx.hdr->magic, UMFS_JSLOT_MAGIC);
	assert_int_equal(tp.fs->tx.hdr->active_seq, 0);
	test_pool_destroy(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commit_keeps_changes),
		cmocka_unit_test(abort_restores_oldest_snapshot),
		cmocka_unit_test(slot_full_is_enospc_and_abortable),
		cmocka_unit_test(crash_mid_transaction_rolls_back),
		cmocka_unit_test(torn_tail_record_is_ignored),
		cmocka_unit_test(batch_shares_one_fence_and_restores_a_prefix),
		cmocka_unit_test(recovery_is_idempotent),
		cmocka_unit_test(sequence_numbers_never_repeat),
		cmocka_unit_test(two_mounts_never_share_sequence_numbers),
		cmocka_unit_test(garbage_slot_header_is_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
