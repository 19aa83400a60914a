/* SPDX-License-Identifier: MIT */
/*
 * crash_test.c - crash-state tests.
 *
 * Each workload runs once through the public API on a fresh pool while the
 * persistence layer records every flushed cache line (with its bytes) and
 * every fence; the namespace is dumped after each step. Then, for each
 * chosen fence k, the harness builds the image a crash right after fence k
 * leaves (the initial image plus every line flushed before it, in order),
 * and images where a random subset of the lines flushed since fence k-1
 * reached the media. For each image: recovery (mount) succeeds; the
 * namespace equals the state before or after the step in progress (every
 * finished step fully there, a write all or nothing, a rename target old or
 * new); statfs matches a recount of the pages live inodes own; fsck -n -f
 * finds nothing. Before any mount, fsck -n of a twin of the image finds
 * crash state only, and the image it repaired mounts to the same namespace
 * as the recovered one. For a sample of images, recovery itself is
 * recorded and crashed at a random fence, and recovering that image must
 * give the same result (idempotence).
 *
 *   crash_test [--full] [--workload NAME] [--random N] [--budget N]
 *              [--break FAULT --expect-fail] [--seed N] [--keep DIR] [--tap] [-v]
 *
 * The last line says how many states were checked; with --tap, stdout is
 * TAP with one test per state (meson's summary then counts the states) and
 * the other lines go to stderr.
 *
 * The default (CI) mode checks every fence of every workload with two
 * partial images each and crashes every fourth recovery; --full takes six
 * partial images per fence, crashes every second recovery and adds twelve
 * random workloads. --budget N samples about N fences per workload.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_test.h"

static struct {
	bool full, verbose, expect_fail;
	bool tap;              /* TAP on stdout: one test per state; the rest on stderr */
	const char *only, *keep;
	uint64_t seed;
	unsigned budget;       /* full-image states per workload (0: all) */
	unsigned subsets;      /* subset images per checked fence */
	unsigned recov_every;  /* crash recovery itself every n-th state */
	unsigned nrandom;      /* extra random workloads */
} opt = { .seed = 0x5eed, .budget = 0, .subsets = 2, .recov_every = 4 };

/* Human-readable lines: stdout, or stderr when stdout carries TAP. */
#define say(...) fprintf(opt.tap ? stderr : stdout, __VA_ARGS__)

static struct {
	unsigned long checked, passed, failed;
	unsigned long recov_checked;
	unsigned long fences, lines;
} stats;

/* ------------------------------------------------------------------ */
/* Checking                                                             */
/* ------------------------------------------------------------------ */

/* The step in progress at crash position c (events that happened), and
 * the dumps allowed there. */
static const struct step *expect_at(const struct run *r, size_t c, size_t *a, size_t *b)
{
	size_t last = 0;

	for (size_t i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		if (s->end <= c) {
			last = s->after;
			continue;
		}
		if (s->begin < c) {
			*a = s->before;
			*b = s->after;
			return s;
		}
		break;
	}
	*a = *b = last;
	return NULL;
}

/* Relaxed overwrite: every byte old or new; a new size means all new. */
static bool mix_ok(struct umfs_fs *fs, const struct step *s, char *why, size_t len)
{
	struct umfs_file *f;
	struct stat st;
	uint8_t *buf;
	bool ok = true;

	if (umfs_open(fs, s->path, O_RDONLY, 0, &f)) {
		snprintf(why, len, "%s is gone", s->path);
		return false;
	}
	umfs_fstat(f, &st);
	buf = malloc((size_t)st.st_size + 1);
	umfs_pread(f, buf, (size_t)st.st_size, 0);
	umfs_close(f);
	if ((size_t)st.st_size != s->old_len && (size_t)st.st_size != s->new_len) {
		snprintf(why, len, "%s has size %lld", s->path, (long long)st.st_size);
		ok = false;
	} else if ((size_t)st.st_size == s->new_len && s->new_len != s->old_len) {
		ok = !memcmp(buf, s->new, s->new_len);
		if (!ok)
			snprintf(why, len, "%s has the new size but not all new bytes", s->path);
	} else {
		for (size_t i = 0; i < (size_t)st.st_size && ok; i++) {
			ok = buf[i] == s->old[i] || (i < s->new_len && buf[i] == s->new[i]);
			if (!ok)
				snprintf(why, len, "%s byte %zu is neither old nor new",
					 s->path, i);
		}
	}
	free(buf);
	return ok;
}

/* The dump must be one the model allows at crash position c. */
static bool state_ok(const struct run *r, struct umfs_fs *fs, const struct dump *got, size_t c,
		     char *why, size_t len)
{
	size_t a, b;
	const struct step *s = expect_at(r, c, &a, &b);

	if (dump_equal(got, &r->dumps[a]) || dump_equal(got, &r->dumps[b]))
		return true;
	if (s && s->mix && dump_equal_except(got, &r->dumps[a], s->path))
		return mix_ok(fs, s, why, len);
	dump_diff(got, &r->dumps[b], why, len);
	if (a != b) {
		size_t n = strlen(why);

		snprintf(why + n, len - n, " (nor the state before: ");
		n = strlen(why);
		dump_diff(got, &r->dumps[a], why + n, len - n);
		n = strlen(why);
		snprintf(why + n, len - n, ")");
	}
	return false;
}

static void keep_image(const struct run *r, const uint8_t *img, size_t len, const char *tag)
{
	char path[512];
	FILE *f;

	if (!opt.keep)
		return;
	snprintf(path, sizeof(path), "%s/%s-%s-%lu.pool", opt.keep, r->wl->name, tag,
		 stats.failed);
	f = fopen(path, "w");
	if (f) {
		fwrite(img, 1, len, f);
		fclose(f);
		fprintf(stderr, "  image kept in %s\n", path);
	}
}

static void report(const struct run *r, size_t c, const char *kind, const char *why)
{
	size_t a, b;
	const struct step *s = expect_at(r, c, &a, &b);

	fprintf(stderr, "FAIL: %s: %s crash at event %zu (%s): %s\n", r->wl->name, kind, c,
		s ? s->desc : "between steps", why);
}

/* fsck's view of the crash image raw (a twin of the view the mount gets):
 * fsck -n must find crash state only and exit 0, and the image it repaired
 * must mount to the namespace the mount's own recovery gave (d). */
static int check_raw(const struct run *r, uint8_t *raw, const struct dump *d, char *why,
		     size_t len)
{
	struct umfs_fs *fs;
	struct dump got;
	int err;

	if (check_crash_only(raw, r->size, why, len))
		return -1;
	if (check_mount(raw, r->size, r->wl->flags, &fs, why, len))
		return -1;
	err = dump_take(fs, &got);
	umfs_unmount(fs);
	if (err) {
		snprintf(why, len, "after fsck: namespace walk failed: %s", strerror(-err));
		return -1;
	}
	err = dump_equal(d, &got) ? 0 : -1;
	if (err) {
		char diff[512];

		dump_diff(&got, d, diff, sizeof(diff));
		snprintf(why, len, "fsck's repair differs from the mount's recovery: %s", diff);
	}
	dump_free(&got);
	return err;
}

/* Mounts a view, compares with the model, recounts space, runs fsck; raw,
 * an identical view, goes to check_raw(). When dumpout is non-NULL the
 * recovered dump is handed back. */
static bool check_view(const struct run *r, uint8_t *view, uint8_t *raw, size_t c,
		       const char *kind, struct dump *dumpout)
{
	uint8_t *orig = opt.keep ? malloc(r->size) : NULL;
	char why[2048];
	struct umfs_fs *fs;
	struct dump d;
	int err;

	if (orig)
		memcpy(orig, view, r->size);
	stats.checked++;
	if (check_mount(view, r->size, r->wl->flags, &fs, why, sizeof(why)))
		goto fail;
	err = dump_take(fs, &d);
	if (err) {
		snprintf(why, sizeof(why), "namespace walk failed: %s", strerror(-err));
		umfs_unmount(fs);
		goto fail;
	}
	if (!state_ok(r, fs, &d, c, why, sizeof(why)) || check_space(fs, why, sizeof(why)) ||
	    check_raw(r, raw, &d, why, sizeof(why))) {
		dump_free(&d);
		umfs_unmount(fs);
		goto fail;
	}
	if (check_finish(fs, view, r->size, why, sizeof(why))) {
		dump_free(&d);
		goto fail;
	}
	if (dumpout)
		*dumpout = d;
	else
		dump_free(&d);
	stats.passed++;
	if (opt.tap)
		printf("ok %lu - %s: %s crash at event %zu\n", stats.checked, r->wl->name, kind, c);
	free(orig);
	return true;
fail:
	stats.failed++;
	if (opt.tap)
		printf("not ok %lu - %s: %s crash at event %zu\n", stats.checked, r->wl->name, kind,
		       c);
	report(r, c, kind, why);
	if (orig)
		keep_image(r, orig, r->size, kind);
	free(orig);
	return false;
}

/* Crashes recovery itself: records a recovery of the image, crashes it at
 * a random fence, recovers again; the result must be the same. */
static void check_recovery_crash(const struct run *r, const struct image *im, size_t c,
				 uint64_t *rnd)
{
	uint8_t *v0 = image_view(im), *v1, *w1;
	struct recorder rr;
	struct umfs_fs *fs;
	struct dump d0, d1;
	char why[512];
	size_t stop, nf = 0;

	rec_init(&rr, v0, r->size);
	rec_start(&rr);
	if (check_mount(v0, r->size, r->wl->flags, &fs, why, sizeof(why))) {
		rec_stop();
		goto out; /* reported by the plain check */
	}
	rec_stop();
	if (dump_take(fs, &d0)) {
		umfs_unmount(fs);
		goto out;
	}
	umfs_unmount(fs);
	if (rr.nfences == 0) {
		dump_free(&d0);
		goto out;
	}
	/* a crash right after a random fence of the recovery */
	stop = (size_t)(xrand(rnd) % rr.nfences);
	v1 = image_view(im);
	w1 = image_view(im);
	for (size_t e = 0; e < rr.nev; e++) {
		if (rr.ev[e].kind == REC_FENCE && nf++ == stop)
			break;
		rec_apply(&rr, e, v1);
		rec_apply(&rr, e, w1);
	}
	stats.recov_checked++;
	if (check_view(r, v1, w1, c, "recovery", &d1)) {
		if (!dump_equal(&d0, &d1)) {
			dump_diff(&d1, &d0, why, sizeof(why));
			stats.passed--;
			stats.failed++;
			report(r, c, "recovery (second recovery differs)", why);
		}
		dump_free(&d1);
	}
	image_view_free(im, v1);
	image_view_free(im, w1);
	dump_free(&d0);
out:
	rec_free(&rr);
	image_view_free(im, v0);
}

static void check_run(const struct run *r)
{
	const struct recorder *rec = &r->rec;
	size_t *fence = malloc((rec->nfences + 1) * sizeof(*fence)), nf = 0, applied = 0;
	uint64_t rnd = opt.seed ^ (uint64_t)(uintptr_t)r->wl->name[0] * 0x9E3779B97F4A7C15ull;
	unsigned long before = stats.failed, checked0 = stats.checked, nstate = 0;
	struct image im;
	double t0 = now_sec();
	size_t stride;

	for (size_t e = 0; e < rec->nev; e++)
		if (rec->ev[e].kind == REC_FENCE)
			fence[nf++] = e;
	stats.fences += nf;
	stats.lines += rec->nlines;
	stride = opt.budget && nf > opt.budget ? (nf + opt.budget - 1) / opt.budget : 1;
	if (image_init(&im, r->initial, r->size)) {
		fprintf(stderr, "crash: cannot make an image\n");
		exit(2);
	}
	/* the initial image: nothing recorded has reached the media */
	{
		uint8_t *v = image_view(&im), *w = image_view(&im);

		check_view(r, v, w, 0, "initial", NULL);
		image_view_free(&im, v);
		image_view_free(&im, w);
	}
	for (size_t k = 0; k < nf; k++) {
		size_t e = fence[k], prev = k ? fence[k - 1] + 1 : 0, nflush = 0;
		uint8_t *v, *w;

		if (k % stride && k != nf - 1 && (xrand(&rnd) % 8))
			continue;
		while (applied < prev)
			rec_apply(rec, applied++, im.cur);
		for (size_t i = prev; i < e; i++)
			nflush += rec->ev[i].kind == REC_FLUSH;
		/* some of the lines flushed since the last fence reached the media */
		for (unsigned s = 0; nflush >= 2 && s < opt.subsets; s++) {
			v = image_view(&im);
			w = image_view(&im);
			for (size_t i = prev; i < e; i++)
				if (rec->ev[i].kind == REC_FLUSH && (xrand(&rnd) & 1)) {
					rec_apply(rec, i, v);
					rec_apply(rec, i, w);
				}
			check_view(r, v, w, e, "partial", NULL);
			image_view_free(&im, v);
			image_view_free(&im, w);
		}
		while (applied < e)
			rec_apply(rec, applied++, im.cur);
		v = image_view(&im);
		w = image_view(&im);
		check_view(r, v, w, e + 1, "fence", NULL);
		image_view_free(&im, v);
		image_view_free(&im, w);
		if (opt.recov_every && ++nstate % opt.recov_every == 0)
			check_recovery_crash(r, &im, e + 1, &rnd);
		if (stats.failed - before > 20) {
			fprintf(stderr, "crash: %s: too many failures, next workload\n",
				r->wl->name);
			break;
		}
	}
	if (opt.verbose || stats.failed > before)
		say("crash: %-10s %5zu steps %6zu fences %8zu lines: %5lu states, %lu failed "
		       "(%.1f s)\n",
		       r->wl->name, r->nsteps, nf, rec->nlines, stats.checked - checked0,
		       stats.failed - before, now_sec() - t0);
	image_free(&im);
	free(fence);
}

/* ------------------------------------------------------------------ */
/* Running a workload                                                   */
/* ------------------------------------------------------------------ */

static void run_free(struct run *r)
{
	for (size_t i = 0; i < r->ndumps; i++)
		dump_free(&r->dumps[i]);
	for (size_t i = 0; i < r->nsteps; i++) {
		free(r->steps[i].old);
		free(r->steps[i].new);
	}
	free(r->dumps);
	free(r->steps);
	free(r->initial);
	rec_free(&r->rec);
	unlink(r->pool);
}

/* Makes the journal slots smaller than mkfs would (the zones stay put:
 * the journal area just ends early). */
static int pool_shrink_journal(const char *path, uint32_t slot)
{
	struct umfs_pmem pm;
	struct umfs_superblock *sb;
	int err = umfs_pmem_map(path, 0, false, &pm);

	if (err)
		return err;
	sb = (struct umfs_superblock *)pm.base;
	if (slot >= sb->journal_slot_size || slot % UMFS_PAGE_SIZE) {
		umfs_pmem_unmap(&pm);
		return -EINVAL;
	}
	sb->journal_slot_size = slot;
	for (uint32_t i = 0; i < sb->journal_slots; i++) {
		struct umfs_jslot_hdr *h =
			(void *)(pm.base + sb->journal_off + (uint64_t)i * slot);

		memset(h, 0, sizeof(*h));
		h->magic = UMFS_JSLOT_MAGIC;
		h->slot = i;
		h->next_seq = 1;
	}
	sb->csum = umfs_sb_csum(sb);
	memcpy(pm.base + sb->backup_sb_off, sb, sizeof(*sb));
	umfs_persist(pm.base, pm.len);
	umfs_pmem_unmap(&pm);
	return 0;
}

static int run_workload(const struct workload *wl, enum umfs_fault fault)
{
	struct run r;
	int err;

	memset(&r, 0, sizeof(r));
	r.wl = wl;
	r.size = wl->pool_size;
	r.full = opt.full;
	err = pool_create(r.pool, sizeof(r.pool), wl->name, wl->pool_size, 0);
	if (!err && wl->jslot)
		err = pool_shrink_journal(r.pool, wl->jslot);
	if (!err)
		err = umfs_mount(r.pool, wl->flags, &r.fs);
	if (err) {
		fprintf(stderr, "crash: %s: cannot make the pool: %s\n", wl->name, strerror(-err));
		return -1;
	}
	if (wl->setup)
		wl->setup(&r);
	/* the media now hold exactly what the mapping holds */
	r.initial = malloc(r.size);
	memcpy(r.initial, r.fs->base, r.size);
	rec_init(&r.rec, r.fs->base, r.size);
	dump_push(&r);
	umfs_fault = fault;
	rec_start(&r.rec);
	wl->body(&r);
	rec_stop();
	umfs_fault = UMFS_FAULT_NONE;
	for (int i = 0; i < MAX_OPEN; i++)
		if (r.f[i])
			umfs_close(r.f[i]);
	umfs_unmount(r.fs);
	if (r.broken) {
		stats.failed++;
		fprintf(stderr, "FAIL: %s: the workload itself failed\n", wl->name);
	} else {
		check_run(&r);
	}
	run_free(&r);
	return 0;
}

static enum umfs_fault parse_fault(const char *s)
{
	if (!strcmp(s, "ulog-fence"))
		return UMFS_FAULT_ULOG_NO_FENCE;
	if (!strcmp(s, "size-first"))
		return UMFS_FAULT_SIZE_FIRST;
	if (!strcmp(s, "retire-early"))
		return UMFS_FAULT_RETIRE_EARLY;
	if (!strcmp(s, "tx-seal"))
		return UMFS_FAULT_TX_NO_SEAL;
	if (!strcmp(s, "page-fence"))
		return UMFS_FAULT_PAGE_NO_FENCE;
	fprintf(stderr, "crash: unknown fault '%s' (ulog-fence, size-first, retire-early, tx-seal, "
		"page-fence)\n",
		s);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "full", no_argument, NULL, 'F' },
		{ "random", required_argument, NULL, 'r' },
		{ "budget", required_argument, NULL, 'B' },
		{ "workload", required_argument, NULL, 'w' },
		{ "break", required_argument, NULL, 'b' },
		{ "expect-fail", no_argument, NULL, 'x' },
		{ "seed", required_argument, NULL, 's' },
		{ "keep", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "tap", no_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	enum umfs_fault fault = UMFS_FAULT_NONE;
	double t0 = now_sec(), dt;
	bool found = false;
	int c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "v", lopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			opt.full = true;
			opt.subsets = 6;
			opt.recov_every = 2;
			opt.nrandom = 12;
			break;
		case 'r':
			opt.nrandom = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'B':
			opt.budget = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'w':
			opt.only = optarg;
			break;
		case 'b':
			fault = parse_fault(optarg);
			break;
		case 'x':
			opt.expect_fail = true;
			break;
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			opt.keep = optarg;
			break;
		case 'v':
			opt.verbose = true;
			break;
		case 't':
			opt.tap = true;
			break;
		default:
			fprintf(stderr, "usage: crash_test [--full] [--workload NAME] [--random N] "
					"[--budget N] [--break FAULT --expect-fail] [--seed N] "
					"[--keep DIR] [--tap] [-v]\n");
			return 2;
		}
	}
	for (size_t i = 0; i < crash_nworkloads; i++) {
		if (opt.only && strcmp(opt.only, crash_workloads[i].name))
			continue;
		found = true;
		run_workload(&crash_workloads[i], fault);
	}
	/* more random workloads, each with its own seed */
	for (unsigned i = 0; i < opt.nrandom && !opt.only; i++) {
		struct workload wl = crash_workloads[0];

		for (size_t k = 0; k < crash_nworkloads; k++)
			if (!strcmp(crash_workloads[k].name, "random"))
				wl = crash_workloads[k];
		char name[32];

		snprintf(name, sizeof(name), "random-%u", i + 3);
		wl.name = name;
		wl.seed = i + 3;
		wl.jslot = i % 3 == 2 ? 24 * KiB : 0;
		run_workload(&wl, fault);
	}
	if (!found) {
		fprintf(stderr, "crash: no workload named '%s'\n", opt.only);
		return 2;
	}
	dt = now_sec() - t0;
	say("crash: %lu fences and %lu flushed lines recorded; %lu recovery crashes; "
	       "%.0f states/s\n",
	       stats.fences, stats.lines, stats.recov_checked, (double)stats.checked / dt);
	if (opt.expect_fail)
		say("crash: deliberately broken protocol (--break): %s\n",
		       stats.failed ? "caught" : "NOT caught");
	if (opt.tap)
		printf("1..%lu\n", stats.checked);
	say("crash: %lu states checked, %lu passed, %lu failed\n", stats.checked, stats.passed,
	       stats.failed);
	if (opt.expect_fail)
		return stats.failed ? 0 : 1;
	return stats.failed ? 1 : 0;
}
