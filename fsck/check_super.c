/* SPDX-License-Identifier: MIT */
/*
 * check_super.c - the quick steps (superblock, state page, journal) and the
 * last one (mark the pool clean).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "umfs_grow.h"

/* ------------------------------------------------------------------ */
/* Step 1: superblock                                                   */
/* ------------------------------------------------------------------ */

/* Validates the superblock stored at off: umfs_sb_check (umfs_rules.h), plus that a
 * backup names its own place. */
static int sb_check_at(const struct fsck *c, uint64_t off, struct umfs_superblock *sb,
		       const char **why)
{
	int err;

	if (off > c->len || c->len - off < UMFS_PAGE_SIZE) {
		*why = "outside the pool file";
		return -EINVAL;
	}
	memcpy(sb, c->base + off, sizeof(*sb));
	/* Unknown ro_compat features stop a check too: fsck writes, even if
	 * only to private memory, and must understand everything it reads. */
	err = umfs_sb_check(sb, c->len, false, why);
	/* A newer format is left alone, but only a superblock whose checksum
	 * holds can claim to be one: a damaged version field is damage. */
	if (err == -EPROTONOSUPPORT && sb->csum != umfs_sb_csum(sb)) {
		*why = "superblock checksum mismatch (and an unknown version)";
		return -EUCLEAN;
	}
	if (err)
		return err;
	if (off != 0 && sb->backup_sb_off != off) {
		*why = "backup superblock names another location";
		return -EUCLEAN;
	}
	return 0;
}

static bool sb_has_bsums(const struct umfs_superblock *sb)
{
	return sb->feature_ro_compat & UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS;
}

static bool sb_growable(const struct umfs_superblock *sb)
{
	return sb->feature_compat & UMFS_FEATURE_COMPAT_GROWABLE;
}

static bool sb_reserved_zero(const struct umfs_superblock *sb)
{
	if (sb->reserved0 || sb->reserved1 || sb->reserved2 || (!sb_has_bsums(sb) && sb->bsum_off) ||
	    (!sb_growable(sb) && sb->max_pool_size) || (!umfs_sb_growing(sb) && sb->grow_from_pages))
		return false;
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(sb->reserved); i++)
		if (sb->reserved[i])
			return false;
	return true;
}

/* Binds the geometry of the validated superblock c->sb. */
static void sb_bind(struct fsck *c)
{
	const struct umfs_superblock *sb = &c->sb;

	c->pool_size = sb->pool_size;
	c->data_off = sb->data_off;
	c->data_pages = sb->data_pages;
	c->inode_count = sb->inode_count;
	c->phys_base = sb->phys_base;
	c->inodes = (struct umfs_inode *)(c->base + sb->inode_off);
	c->ibitmap = (uint64_t *)(c->base + sb->ibitmap_off);
	c->pbitmap = (uint64_t *)(c->base + sb->pbitmap_off);
	c->bsum = sb_has_bsums(sb) ? (uint64_t *)(c->base + sb->bsum_off) : NULL;
}

/* Writes c->sb over the primary and the backup superblock where they differ. */
static void sb_write_both(struct fsck *c)
{
	if (memcmp(c->base, &c->sb, sizeof(c->sb)))
		fsck_write(c, c->base, &c->sb, sizeof(c->sb));
	if (memcmp(c->base + c->sb.backup_sb_off, &c->sb, sizeof(c->sb)))
		fsck_write(c, c->base + c->sb.backup_sb_off, &c->sb, sizeof(c->sb));
}

/* Compares the backup superblock with the primary. */
static void sb_check_backup(struct fsck *c)
{
	struct umfs_superblock b;
	const char *why = NULL;
	int err;

	if (!memcmp(c->base + c->sb.backup_sb_off, &c->sb, sizeof(c->sb)))
		return;
	err = sb_check_at(c, c->sb.backup_sb_off, &b, &why);
	memcpy(&b, c->base + c->sb.backup_sb_off, sizeof(b)); /* as it is, sound or torn */
	if (umfs_grow_backup_stale(&c->sb, &b)) {
		c->mount_recovers = true; /* every mount rewrites it */
		fsck_crash(c, FSCK_CRASH_GROW, true, 1, "rewritten from the primary",
			   "backup superblock: a grow stopped before its last write");
		fsck_write(c, c->base + c->sb.backup_sb_off, &c->sb, sizeof(c->sb));
		return;
	}
	if (fsck_problem(c, "rewritten from the primary", "backup superblock at 0x%" PRIx64 ": %s",
			 c->sb.backup_sb_off, err ? why : "differs from the primary"))
		fsck_write(c, c->base + c->sb.backup_sb_off, &c->sb, sizeof(c->sb));
}

/* A GROWING superblock in c->sb (the primary's, or the backup standing
 * in for a primary the grow tore): the grow is finished, as a mount does. */
static int sb_grow_finish(struct fsck *c)
{
	uint64_t from = c->sb.grow_from_pages, to = c->sb.data_pages;
	int err;

	c->mount_recovers = true;
	fsck_crash(c, FSCK_CRASH_GROW, true, 1, "finished",
		   "superblock: a grow from %" PRIu64 " to %" PRIu64 " data pages was interrupted",
		   from, to);
	c->wrote = true;
	err = umfs_grow_finish(c->pm, &c->sb);
	if (err)
		fsck_note(c, "finishing the grow failed: %s", strerror(-err));
	sb_bind(c);
	return err;
}

int fsck_superblock(struct fsck *c)
{
	const char *why = NULL, *bwhy = "not found";
	uint64_t cand[2];
	struct umfs_superblock b;
	int err, berr = -EINVAL;

	err = sb_check_at(c, 0, &c->sb, &why);
	if (err == -EPROTONOSUPPORT || err == -EROFS) {
		/* A sound superblock of a newer format: not ours to touch. */
		fsck_note(c, "superblock: %s: not checked", why);
		c->stop = true;
		return err;
	}
	if (err == 0 && umfs_sb_growing(&c->sb)) {
		sb_bind(c);
		err = sb_grow_finish(c);
		if (err)
			return err;
	}
	if (err == 0) {
		sb_bind(c);
		if (!sb_reserved_zero(&c->sb) && c->sb.version_minor <= UMFS_VERSION_MINOR &&
		    fsck_problem(c, "zeroed", "superblock: reserved fields are not zero")) {
			c->sb.reserved0 = c->sb.reserved1 = c->sb.reserved2 = 0;
			memset(c->sb.reserved, 0, sizeof(c->sb.reserved));
			if (!sb_has_bsums(&c->sb))
				c->sb.bsum_off = 0;
			if (!sb_growable(&c->sb))
				c->sb.max_pool_size = 0;
			if (!umfs_sb_growing(&c->sb))
				c->sb.grow_from_pages = 0;
			c->sb.csum = umfs_sb_csum(&c->sb);
			sb_write_both(c);
		}
		sb_check_backup(c);
		return 0;
	}

	/* The backup sits in the pool's last page: the primary's word for
	 * where that is may be garbage, so try the file's last page too. */
	cand[0] = (c->len & ~(uint64_t)(UMFS_PAGE_SIZE - 1)) - UMFS_PAGE_SIZE;
	cand[1] = UINT64_MAX;
	if (c->len >= sizeof(struct umfs_superblock)) {
		uint64_t named = ((const struct umfs_superblock *)c->base)->backup_sb_off;

		if (named != cand[0] && (named & (UMFS_PAGE_SIZE - 1)) == 0)
			cand[1] = named;
	}
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(cand) && berr; i++) {
		if (cand[i] == UINT64_MAX || c->len < 2 * UMFS_PAGE_SIZE)
			continue;
		berr = sb_check_at(c, cand[i], &b, &bwhy);
	}
	if (berr) {
		fsck_problem(c, NULL, "no valid superblock: primary: %s; backup: %s", why, bwhy);
		c->stop = true;
		return 0;
	}
	c->sb = b;
	sb_bind(c);
	if (umfs_sb_growing(&c->sb) && c->sb.backup_sb_off == cand[0]) {
		/* what a grow leaves torn: the mount too takes this backup */
		c->mount_recovers = true;
		fsck_crash(c, FSCK_CRASH_GROW, true, 1, "restored from the backup",
			   "primary superblock: %s, torn by an interrupted grow", why);
		fsck_write(c, c->base, &c->sb, sizeof(c->sb));
		return sb_grow_finish(c);
	}
	if (fsck_problem(c, "restored from the backup", "primary superblock: %s", why))
		fsck_write(c, c->base, &c->sb, sizeof(c->sb));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Step 2: state page                                                   */
/* ------------------------------------------------------------------ */

static void state_check(struct fsck *c, struct umfs_state *st)
{
	if (st->magic != UMFS_STATE_MAGIC &&
	    fsck_problem(c, "reinitialised", "state page: bad magic 0x%016" PRIx64, st->magic)) {
		fsck_set64(c, &st->magic, UMFS_STATE_MAGIC);
		fsck_set64(c, &st->state, UMFS_STATE_DIRTY);
	}
	if (st->state != UMFS_STATE_CLEAN && st->state != UMFS_STATE_DIRTY &&
	    fsck_problem(c, "set to dirty", "state page: unknown state %" PRIu64, st->state))
		fsck_set64(c, &st->state, UMFS_STATE_DIRTY);
	if (st->orphan_head != 0 &&
	    (st->orphan_head <= UMFS_ROOT_INO || st->orphan_head >= c->inode_count) &&
	    fsck_problem(c, "cleared", "state page: orphan list head %" PRIu64 " is not an inode",
			 st->orphan_head))
		fsck_set64(c, &st->orphan_head, 0);
	/* run_id is any value: the name of a runtime directory, or 0 */
}

/* The kinds of damage the errors word names, as a list in buf. */
static const char *errors_list(uint64_t errors, char *buf, size_t len)
{
	static const struct { uint64_t bit; const char *what; } kinds[] = {
		{ UMFS_ERRORS_INODE, "an inode or its page tables" },
		{ UMFS_ERRORS_DIR, "a directory" },
		{ UMFS_ERRORS_PBITMAP, "the page bitmap" },
		{ UMFS_ERRORS_IBITMAP, "the inode bitmap" },
	};
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(kinds) && at < len; i++)
		if (errors & kinds[i].bit)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", kinds[i].what);
	if ((errors & ~UMFS_ERRORS_KNOWN) && at < len)
		snprintf(buf + at, len - at, "%sdamage of kinds unknown here", at ? ", " : "");
	return buf;
}

/* Damage a program's call (or the module) refused while serving stays on
 * record until a repair: the check is then full, as with -f. The word is
 * cleared by the last step, once every problem is repaired. */
static void state_errors(struct fsck *c, const struct umfs_state *st)
{
	char list[160];

	c->errors = st->errors;
	if (c->errors)
		fsck_problem(c, "cleared once the pool is repaired",
			     "state page: damage was refused while serving since the last repair "
			     "(%s): checking fully",
			     errors_list(c->errors, list, sizeof(list)));
}

int fsck_state(struct fsck *c)
{
	struct umfs_state *st = (struct umfs_state *)(c->base + c->sb.state_off);

	c->was_clean = st->magic == UMFS_STATE_MAGIC && st->state == UMFS_STATE_CLEAN;
	/* What makes a mount recover (fs.c). */
	c->mount_recovers = c->mount_recovers || !c->was_clean || st->orphan_head != 0;
	if (st->magic == UMFS_STATE_MAGIC && st->state == UMFS_STATE_DIRTY)
		fsck_crash(c, FSCK_CRASH_DIRTY, true, 1, "recovered",
			   "state page: the pool was not unmounted cleanly (a process died "
			   "using it, or it is in use)");
	state_check(c, st);
	state_errors(c, st);
	c->state = st;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Step 3: journal                                                      */
/* ------------------------------------------------------------------ */

/*
 * The core's view of the pool, for its journal and U-Log recovery and,
 * later, its directory code: umfs_fs_bind(), which leaves the mapping the
 * caller's (a private map, the fuzzer's image) whatever happens, and with
 * UMFS_MOUNT_NORECOVER neither recovers nor marks the pool in use. Steps 1
 * and 2 have made the superblock and the state page acceptable to it.
 */
static int fs_bind(struct fsck *c)
{
	struct umfs_pmem pm = *c->pm;
	int err;

	pm.rdonly = false; /* a private map is writable */
	pm.fd = -1;        /* the lock, if any, stays the caller's */
	err = umfs_fs_bind(&pm, UMFS_MOUNT_NORECOVER | UMFS_MOUNT_STRICT, &c->fs);
	if (err) {
		fsck_note(c, "the core cannot bind the pool: %s", umfs_mount_error());
		c->fs = NULL;
	}
	return err;
}

/*
 * U-Logs: a file open for writing at a crash keeps its U-Log, perhaps with
 * the undo record of a write in flight. The core's recovery (which checks
 * every offset) rolls valid records back and frees every chain; what it
 * cannot do is left to the page-table step, which cuts bad chains.
 */
static int ulog_recover(struct fsck *c)
{
	struct umfs_recover_stats st = { 0 };
	bool any = false;
	int err;

	for (uint64_t ino = UMFS_ROOT_INO; ino < c->inode_count && !any; ino++)
		any = c->inodes[ino].ulog != 0;
	if (!any)
		return 0;
	fsck_set64(c, &c->state->state, UMFS_STATE_DIRTY);
	err = umfs_ulog_recover(c->fs, &st);
	if (err == -ENOMEM)
		return err;
	if (err)
		fsck_problem(c, NULL, "U-Log recovery stopped: %s", strerror(-err));
	if (st.ulog_rolled_back)
		fsck_crash(c, FSCK_CRASH_WRITE, true, st.ulog_rolled_back, "rolled back",
			   "U-Log: %u write(s) interrupted by a crash", st.ulog_rolled_back);
	if (st.ulog_bad)
		fsck_problem(c, "dropped", "U-Log: %u damaged record(s) or chain(s)", st.ulog_bad);
	if (st.ulogs_freed)
		fsck_crash(c, FSCK_CRASH_ULOG, true, st.ulogs_freed, "released",
			   "U-Log: %u chain(s) of files open at a crash", st.ulogs_freed);
	return 0;
}

static struct umfs_jslot_hdr *slot_hdr(const struct fsck *c, uint32_t i)
{
	return (struct umfs_jslot_hdr *)(c->base + umfs_jslot_off(&c->sb, i));
}

int fsck_journal(struct fsck *c)
{
	unsigned rolled = 0, bad = 0, damaged = 0, active = 0;
	int err;

	err = fs_bind(c);
	if (err)
		return err;
	/* An active slot alone makes no mount recover: a pool marked clean
	 * has none unless damaged (only a last unmount with no transaction
	 * open marks it), so a mount of one reads no slot header (fs.c). */
	for (uint32_t i = 0; i < c->sb.journal_slots; i++) {
		struct umfs_jslot_hdr *h = slot_hdr(c, i);

		if (!umfs_jslot_hdr_ok(h, i)) {
			/* The core's recovery reinitialises such a header. */
			fsck_problem(c, "reinitialised",
				     "journal slot %u: damaged header (magic 0x%016" PRIx64
				     ", slot %u)",
				     i, h->magic, h->slot);
			damaged++;
			continue;
		}
		if (h->reserved0 || h->reserved[0] || h->reserved[1] || h->reserved[2] ||
		    h->reserved[3]) {
			if (fsck_problem(c, "zeroed", "journal slot %u: reserved fields are not zero",
					 i)) {
				fsck_set32(c, &h->reserved0, 0);
				fsck_zero(c, h->reserved, sizeof(h->reserved));
			}
		}
		if (h->active_seq) {
			active++;
			fsck_crash(c, FSCK_CRASH_JOURNAL, true, 1, "rolled back",
				   "journal slot %u: transaction %" PRIu64 " was interrupted", i,
				   h->active_seq);
		}
	}
	if (active || damaged) {
		/* Records are checksummed and range-checked by the core. */
		fsck_set64(c, &c->state->state, UMFS_STATE_DIRTY);
		err = umfs_journal_recover(c->fs, &rolled, &bad);
		if (err)
			return err;
		if (bad > damaged)
			fsck_problem(c, "skipped",
				     "journal: %u record(s) name ranges outside the metadata",
				     bad - damaged);
		c->journal_rolled = rolled;
	}
	err = ulog_recover(c);
	if (err)
		return err;

	/* A record may only restore metadata: never the superblocks or the
	 * state page. Check that rollback left them alone. */
	if (memcmp(c->base, &c->sb, sizeof(c->sb)) &&
	    fsck_problem(c, "restored", "journal rollback changed the primary superblock"))
		fsck_write(c, c->base, &c->sb, sizeof(c->sb));
	sb_check_backup(c);
	state_check(c, c->state);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Last step: mark clean                                                */
/* ------------------------------------------------------------------ */

int fsck_mark_clean(struct fsck *c)
{
	struct umfs_state *st = c->state;

	if (!fsck_repairing(c) || c->fixed != c->problems)
		return 0;
	if (st->errors) {
		fsck_set64(c, &st->errors, 0);
		fsck_info(c, "state page: damage on record cleared");
	}
	if (st->state != UMFS_STATE_CLEAN || c->wrote) {
		fsck_set64(c, &st->last_check_ns, (uint64_t)umfs_now_ns());
		fsck_set64(c, &st->state, UMFS_STATE_CLEAN);
		fsck_info(c, "state page: marked clean");
	}
	return 0;
}
