/* SPDX-License-Identifier: MIT */
/*
 * check.c - fsck.umfs's check engine: the run of the ordered step table
 * over one mapped pool, the messages and counts of problems, the DRAM maps
 * the steps share, and the few primitives through which every repair is
 * written to the mapping (store, then persist).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ------------------------------------------------------------------ */
/* Messages                                                             */
/* ------------------------------------------------------------------ */

bool fsck_repairing(const struct fsck *c)
{
	return c->opts->mode != FSCK_MODE_CHECK;
}

static void vprint_line(struct fsck *c, const char *label, const char *suffix, const char *fmt,
			va_list ap)
{
	FILE *out = c->opts->out;

	if (out == NULL)
		return;
	if (c->opts->mode == FSCK_MODE_PREEN && c->opts->name)
		fprintf(out, "%s: ", c->opts->name);
	if (label)
		fputs(label, out);
	vfprintf(out, fmt, ap);
	if (suffix)
		fputs(suffix, out);
	fputc('\n', out);
}

bool fsck_problem(struct fsck *c, const char *fix, const char *fmt, ...)
{
	char suffix[96];
	va_list ap;

	c->problems++;
	if (fix && fsck_repairing(c))
		c->fixed++;
	if (c->opts->out) {
		if (fix == NULL)
			snprintf(suffix, sizeof(suffix), ": left as it is");
		else if (fsck_repairing(c))
			snprintf(suffix, sizeof(suffix), ": %s", fix);
		else
			snprintf(suffix, sizeof(suffix), ": would be %s", fix);
		va_start(ap, fmt);
		vprint_line(c, "damage: ", suffix, fmt, ap);
		va_end(ap);
	}
	return fix != NULL;
}

void fsck_crash(struct fsck *c, enum fsck_crash kind, bool sound, unsigned long n,
		const char *fix, const char *fmt, ...)
{
	const char *label = "recoverable: ", *would = fsck_repairing(c) ? "" : "would be ";
	char suffix[96];
	va_list ap;

	if (sound && c->mount_recovers) {
		c->crash[kind] += n;
		snprintf(suffix, sizeof(suffix), ": %s%s%s", would, fix,
			 fsck_repairing(c) ? "" : " by the next mount");
	} else {
		label = "damage: ";
		c->problems++;
		if (fsck_repairing(c))
			c->fixed++;
		snprintf(suffix, sizeof(suffix), "%s: %s%s",
			 sound ? " (in a pool marked clean, which no mount recovers)"
			       : " (mount recovery refuses it)", would, fix);
	}
	if (c->opts->out) {
		va_start(ap, fmt);
		vprint_line(c, label, suffix, fmt, ap);
		va_end(ap);
	}
}

void fsck_info(struct fsck *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->opts->verbose || c->opts->mode == FSCK_MODE_PREEN)
		return;
	va_start(ap, fmt);
	vprint_line(c, NULL, NULL, fmt, ap);
	va_end(ap);
}

void fsck_note(struct fsck *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_line(c, NULL, NULL, fmt, ap);
	va_end(ap);
}

const char *fsck_type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symlink";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	default:
		return "inode of unknown type";
	}
}

const char *fsck_name(char *buf, const char *name, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	for (size_t i = 0; i < len && i < UMFS_NAME_MAX; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') {
			*p++ = (char)ch;
		} else {
			*p++ = '\\';
			*p++ = 'x';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* Page ownership (DRAM)                                                */
/* ------------------------------------------------------------------ */

/* Runs of whole words (2 MiB leaves) are handled a word at a time. */
static bool whole_words(uint64_t page, uint64_t count)
{
	return page % 64 == 0 && count % 64 == 0;
}

bool fsck_own_claim(struct fsck *c, uint64_t page, uint64_t count)
{
	if (page >= c->data_pages || count > c->data_pages - page)
		return false;
	if (whole_words(page, count)) {
		for (uint64_t w = page / 64; w < (page + count) / 64; w++)
			if (c->owned[w])
				return false;
		memset(&c->owned[page / 64], 0xff, count / 8);
		return true;
	}
	for (uint64_t i = 0; i < count; i++)
		if (fsck_owned(c, page + i))
			return false;
	for (uint64_t i = 0; i < count; i++)
		fsck_bit_set(c->owned, page + i);
	return true;
}

void fsck_own_release(struct fsck *c, uint64_t page, uint64_t count)
{
	if (page >= c->data_pages || count > c->data_pages - page)
		return;
	if (whole_words(page, count)) {
		memset(&c->owned[page / 64], 0, count / 8);
		memset(&c->released[page / 64], 0xff, count / 8);
		return;
	}
	for (uint64_t i = 0; i < count; i++) {
		fsck_bit_clear(c->owned, page + i);
		fsck_bit_set(c->released, page + i);
	}
}

void fsck_own_drop(struct fsck *c, uint64_t page, uint64_t count)
{
	if (page >= c->data_pages || count > c->data_pages - page)
		return;
	for (uint64_t i = 0; i < count; i++)
		fsck_bit_set(c->released, page + i);
}

/* ------------------------------------------------------------------ */
/* Writes                                                               */
/* ------------------------------------------------------------------ */

/*
 * Before the first change of a repair, the state page says dirty, so that a
 * run cut short leaves a pool that asks for another check. The mark-clean
 * step sets it back when every problem was repaired.
 */
static void mark_dirty(struct fsck *c)
{
	c->wrote = true;
	if (c->state_marked || c->state == NULL)
		return; /* a superblock restored before the state page is known */
	c->state_marked = true;
	if (c->state->state != UMFS_STATE_DIRTY) {
		c->state->state = UMFS_STATE_DIRTY;
		umfs_persist(&c->state->state, sizeof(c->state->state));
	}
}

void fsck_write(struct fsck *c, void *dst, const void *src, size_t len)
{
	mark_dirty(c);
	memmove(dst, src, len);
	umfs_persist(dst, len);
}

void fsck_zero(struct fsck *c, void *dst, size_t len)
{
	mark_dirty(c);
	memset(dst, 0, len);
	umfs_persist(dst, len);
}

void fsck_set64(struct fsck *c, uint64_t *dst, uint64_t val)
{
	mark_dirty(c);
	*dst = val;
	umfs_persist(dst, sizeof(*dst));
}

void fsck_set32(struct fsck *c, uint32_t *dst, uint32_t val)
{
	mark_dirty(c);
	*dst = val;
	umfs_persist(dst, sizeof(*dst));
}

void fsck_set16(struct fsck *c, uint16_t *dst, uint16_t val)
{
	mark_dirty(c);
	*dst = val;
	umfs_persist(dst, sizeof(*dst));
}

void fsck_set8(struct fsck *c, uint8_t *dst, uint8_t val)
{
	mark_dirty(c);
	*dst = val;
	umfs_persist(dst, sizeof(*dst));
}

void fsck_inode_seal(struct fsck *c, struct umfs_inode *in)
{
	mark_dirty(c);
	umfs_inode_seal(in);
	umfs_persist(in, sizeof(*in));
}

void fsck_inode_clear(struct fsck *c, uint64_t ino)
{
	struct umfs_inode *in = &c->inodes[ino];
	uint32_t gen = in->generation;
	bool was_used = in->mode != 0;

	mark_dirty(c);
	memset(in, 0, sizeof(*in));
	in->generation = gen;
	umfs_persist(in, sizeof(*in));
	if (c->ino)
		c->ino[ino] = (struct fsck_ino){ .flags = was_used ? FI_FREED : 0 };
}

int fsck_add_entry(struct fsck *c, uint64_t dir, const char *name, size_t len, uint64_t ino,
		   unsigned char type)
{
	struct fsck_add *a;

	if (len == 0 || len > UMFS_NAME_MAX)
		return -EINVAL;
	if (c->nadds == c->cap_adds) {
		size_t cap = c->cap_adds ? c->cap_adds * 2 : 64;
		struct fsck_add *n = realloc(c->adds, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		c->adds = n;
		c->cap_adds = cap;
	}
	a = &c->adds[c->nadds++];
	a->dir = dir;
	a->ino = ino;
	a->type = type;
	a->name_len = (uint8_t)len;
	memcpy(a->name, name, len);
	a->name[len] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ */
/* The run                                                              */
/* ------------------------------------------------------------------ */

/* Counts from the (by now checked) bitmaps and inodes of the mapping. */
static void summary_fill(const struct fsck *c, struct fsck_summary *sum)
{
	if (c->inodes == NULL)
		return;
	sum->inodes_total = c->inode_count - UMFS_ROOT_INO; /* inode 0 is never used */
	sum->pages_total = c->data_pages;
	sum->pages_used = umfs_bitmap_count(c->pbitmap, c->data_pages);
	sum->dir_spares = c->dir_spares;
	for (uint64_t ino = 1; ino < c->inode_count; ino++) {
		uint32_t mode = c->inodes[ino].mode;

		if (mode == 0 || !fsck_bit(c->ibitmap, ino))
			continue;
		sum->inodes_used++;
		if (S_ISDIR(mode))
			sum->dirs++;
		else if (S_ISREG(mode))
			sum->files++;
		else if (S_ISLNK(mode))
			sum->symlinks++;
		else
			sum->others++;
	}
}

static void fsck_release(struct fsck *c)
{
	if (c->fs) {
		/* bound with NORECOVER: unmount writes nothing, unmaps nothing */
		umfs_unmount(c->fs);
		c->fs = NULL;
	}
	free(c->owned);
	free(c->released);
	free(c->fresh);
	free(c->ino);
	free(c->adds);
}

/*
 * Damage decides, as in fsck(8). Crash state is no error: a check-only run
 * that finds nothing else exits 0 (the next mount repairs it), and a repair
 * that recovered it exits 1, as one that repaired damage. A pool that was
 * only left dirty needs nothing repaired.
 */
static int exit_code(const struct fsck *c, const struct fsck_summary *sum, int err)
{
	if (err)
		return FSCK_EXIT_OPERATIONAL;
	if (c->fixed != c->problems)
		return FSCK_EXIT_UNCORRECTED;
	if (fsck_repairing(c) && (c->problems || sum->recoverable))
		return FSCK_EXIT_CORRECTED;
	return FSCK_EXIT_OK;
}

/* -C: "STEP/STEPS PERCENT% NAME" once a step is done; a run that stops
 * early (a clean pool needs no full check) ends with "done". Lines of at
 * most PIPE_BUF bytes, each one write: a reader never sees half a line. */
static void progress(const struct fsck_opts *opts, size_t done, const char *name)
{
	if (opts->progress_fd < 0)
		return;
	dprintf(opts->progress_fd, "%zu/%zu %.1f%% %s\n", done, fsck_nsteps,
		100.0 * (double)done / (double)fsck_nsteps, name);
}

int fsck_check(struct umfs_pmem *pm, const struct fsck_opts *opts, struct fsck_summary *sum)
{
	struct fsck c = { .opts = opts, .pm = pm, .base = pm->base, .len = pm->len };
	bool decided = false;
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	for (size_t i = 0; i < fsck_nsteps && !c.stop; i++) {
		const struct fsck_step *step = &fsck_steps[i];
		unsigned long before = c.problems;

		if (!step->quick && !decided) {
			decided = true;
			c.full = opts->force || c.mount_recovers || c.problems || c.journal_rolled;
			if (!c.full) {
				progress(opts, fsck_nsteps, "done");
				break;
			}
		}
		err = step->run(&c);
		if (err) {
			fsck_note(&c, "step %zu (%s) failed: %s", i + 1, step->name,
				  strerror(-err));
			break;
		}
		progress(opts, i + 1, step->name);
		if (c.problems == before)
			fsck_info(&c, "step %zu: %s: ok", i + 1, step->name);
		else
			fsck_info(&c, "step %zu: %s: %lu problem(s)", i + 1, step->name,
				  c.problems - before);
	}

	sum->problems = c.problems;
	sum->fixed = c.fixed;
	sum->full = c.full;
	memcpy(sum->crash, c.crash, sizeof(sum->crash));
	for (int k = 0; k < FSCK_CRASH_KINDS; k++)
		if (k != FSCK_CRASH_DIRTY)
			sum->recoverable += c.crash[k];
	if (!err && !c.stop)
		summary_fill(&c, sum);
	sum->exit_code = exit_code(&c, sum, err);
	fsck_release(&c);
	return sum->exit_code;
}

/* Lists the crash state found ("2 orphan inode(s), ...") into buf. */
static const char *crash_list(const struct fsck_summary *sum, char *buf, size_t len)
{
	static const char *const what[FSCK_CRASH_KINDS] = {
		[FSCK_CRASH_DIRTY] = "not unmounted cleanly",
		[FSCK_CRASH_JOURNAL] = "active journal slot(s)",
		[FSCK_CRASH_WRITE] = "interrupted write(s)",
		[FSCK_CRASH_ULOG] = "U-Log chain(s)",
		[FSCK_CRASH_TRUNC] = "interrupted truncate(s)",
		[FSCK_CRASH_ORPHAN] = "orphan inode(s)",
		[FSCK_CRASH_GROW] = "interrupted grow(s)",
	};
	size_t at = 0;

	buf[0] = '\0';
	for (int k = FSCK_CRASH_KINDS - 1; k >= 0 && at < len; k--) {
		if (sum->crash[k] == 0)
			continue;
		if (k == FSCK_CRASH_DIRTY)
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", what[k]);
		else
			at += (size_t)snprintf(buf + at, len - at, "%s%lu %s", at ? ", " : "",
					       sum->crash[k], what[k]);
	}
	return buf;
}

static const char *preen_verdict(const struct fsck_summary *sum)
{
	switch (sum->exit_code) {
	case FSCK_EXIT_OK:
		return "clean";
	case FSCK_EXIT_CORRECTED:
		return sum->problems ? "errors corrected" : "crash state recovered";
	case FSCK_EXIT_UNCORRECTED:
		return "UNEXPECTED INCONSISTENCY; run fsck.umfs -y";
	default:
		return "check aborted";
	}
}

void fsck_summary_print(const struct fsck_opts *opts, const struct fsck_summary *sum)
{
	const char *name = opts->name ? opts->name : "pool";
	FILE *out = opts->out;
	unsigned long left = sum->problems - sum->fixed;
	bool check = opts->mode == FSCK_MODE_CHECK;
	char list[256];

	if (out == NULL)
		return;
	if (opts->mode == FSCK_MODE_PREEN) {
		/* One line, as e2fsck -p prints. */
		fprintf(out, "%s: %s, %" PRIu64 "/%" PRIu64 " inodes, %" PRIu64 "/%" PRIu64 " pages\n",
			name, preen_verdict(sum), sum->inodes_used, sum->inodes_total,
			sum->pages_used, sum->pages_total);
		return;
	}
	if (sum->inodes_total) {
		fprintf(out,
			"%s: %" PRIu64 "/%" PRIu64 " inodes used (%" PRIu64 " directories, %" PRIu64
			" files, %" PRIu64 " symlinks, %" PRIu64 " other), %" PRIu64 "/%" PRIu64
			" pages used%s\n",
			name, sum->inodes_used, sum->inodes_total, sum->dirs, sum->files,
			sum->symlinks, sum->others, sum->pages_used, sum->pages_total,
			sum->full ? "" : " (quick check of a clean pool)");
		if (sum->dir_spares)
			fprintf(out, "%s: %" PRIu64 " spare directory page(s), kept for new entries\n",
				name, sum->dir_spares);
	}
	if (*crash_list(sum, list, sizeof(list)))
		fprintf(out, "%s: recoverable: %s: %s\n", name, list,
			check ? "the next mount repairs these by itself" : "recovered");
	if (check)
		fprintf(out, "%s: %lu problem(s) of damage found, none written (check only)\n", name,
			sum->problems);
	else
		fprintf(out, "%s: %lu problem(s) of damage found, %lu fixed\n", name, sum->problems,
			sum->fixed);
	switch (sum->exit_code) {
	case FSCK_EXIT_OK:
		if (check && (sum->recoverable || sum->crash[FSCK_CRASH_DIRTY]))
			fprintf(out, "%s: no damage: crash state only, which the next mount "
				     "repairs by itself\n", name);
		else
			fprintf(out, "%s: clean\n", name);
		break;
	case FSCK_EXIT_CORRECTED:
		fprintf(out, "%s: ***** %s *****\n", name,
			sum->problems ? "errors corrected" : "crash state recovered, no damage");
		break;
	case FSCK_EXIT_UNCORRECTED:
		fprintf(out, "%s: ***** %lu error(s) left uncorrected%s *****\n", name, left,
			check ? " (run fsck.umfs -y to repair)" : "");
		break;
	default:
		fprintf(out, "%s: check aborted\n", name);
		break;
	}
}
