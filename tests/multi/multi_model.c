/* SPDX-License-Identifier: MIT */
/*
 * multi_model.c - N processes under the LD_PRELOAD library doing random
 * operations on shared files and directories of one pool, each checking
 * what it observes against what the others acknowledged.
 *
 * The reference lives in a shared area on /dev/shm, outside UMFS. Every
 * mutation takes a ticket from one global counter before it starts and
 * another when it returned, and publishes both; so a reader knows, for each
 * record it reads, whether a later write had completed before its read
 * began (the read is then stale: a write that returned must be visible to
 * any read that starts after it, in any process).
 *
 *   registers  fixed-size records in shared files (pwrite/pread), and
 *              names replaced by rename over them: every read whole, never
 *              stale, a renamed-over name never missing;
 *   appends    self-describing records appended with O_APPEND by all:
 *              parsed incrementally by every reader, each writer's records
 *              in order, exactly once, all acknowledged ones present;
 *   namespace  create, write, truncate, unlink, link, rename, mkdir,
 *              rmdir on a few names in shared directories: only the
 *              errors the races allow, file contents empty or whole;
 *   unlinked   a file unlinked while two processes hold it stays readable
 *              by both, its space comes back after the last close.
 *
 * Then the same random phase with one process, for the throughput ratio.
 *
 *   multi_model -l LIBUMFS -p POOL [-n N] [-t SECONDS] [-s SEED] [-B BUG]
 *
 * -B torn|stale|append injects a bug into the workers themselves (a record
 * written in two halves, acknowledged before it is written, an append in
 * two writes): the checks must then fail (the self-test).
 */
#include <dirent.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/statvfs.h>

#include "multi_common.h"

#define MAXW 16
#define NFILES 4          /* record files */
#define NSLOTS 64         /* records per file */
#define REC 256           /* record size */
#define NSTABLE 8         /* names replaced by rename */
#define NREG (NFILES * NSLOTS + NSTABLE)
#define NDIRS 3
#define NNAMES 10
#define BLOB 128          /* namespace file contents: empty or this */
#define TCAP (1u << 20)   /* completed-write table, indexed by start ticket */
#define BIG (12u << 20)   /* the unlinked-while-open file */
#define MSGS 12           /* failure messages printed per process */

#define REC_MAGIC 0x5245434D554C5449ull
#define APP_MAGIC 0x41505031u
#define BLOB_MAGIC 0x424C4F42u

struct done { _Atomic uint64_t start, end; };

struct shared {
	_Atomic uint64_t ticket;
	_Atomic uint32_t stop;
	_Atomic uint64_t failures;
	_Atomic uint64_t acked_start[NREG]; /* max start ticket of completed writes */
	_Atomic uint64_t app_next[MAXW];    /* next append sequence of writer id */
	_Atomic uint64_t app_acked[MAXW];   /* appends of writer id that returned */
	_Atomic uint64_t ops[MAXW];
	_Atomic uint32_t stage;             /* the unlinked-while-open steps */
	uint64_t bfree0;                    /* statfs before the big file */
	struct done done[TCAP];
};

struct rec {
	uint64_t magic;
	uint32_t reg, writer;
	uint64_t ticket;
	uint8_t payload[REC - 32];
	uint64_t hash;
};
_Static_assert(sizeof(struct rec) == REC, "record size");

struct app_hdr {
	uint32_t magic, len; /* len: the whole record, hash included */
	uint32_t writer, pad;
	uint64_t seq;
};

static struct shared *sh;
static const char *inject = ""; /* -B: a bug injected into the workers (self-test) */
static int me = -1;       /* worker id, -1 in other roles */
static unsigned nmsg;

static void failf(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&sh->failures, 1);
	if (nmsg++ >= MSGS)
		return;
	fprintf(stderr, "FAIL [pid %d worker %d] ", getpid(), me);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t ticket(void)
{
	return atomic_fetch_add(&sh->ticket, 1) + 1;
}

/* ------------------------------------------------------------------ */
/* Registers: records in files and names replaced by rename            */
/* ------------------------------------------------------------------ */

static void rec_make(struct rec *r, unsigned reg, uint64_t t)
{
	memset(r, 0, sizeof(*r));
	r->magic = REC_MAGIC;
	r->reg = reg;
	r->writer = (uint32_t)me;
	r->ticket = t;
	mfill(r->payload, sizeof(r->payload), t * 0x9E37u + reg);
	r->hash = mhash(r, offsetof(struct rec, hash));
}

/* A write of register reg that started at ticket t has returned. */
static void reg_done(unsigned reg, uint64_t t)
{
	uint64_t e = ticket(), cur;
	struct done *d = &sh->done[t % TCAP];

	atomic_store(&d->end, e);
	atomic_store(&d->start, t);
	cur = atomic_load(&sh->acked_start[reg]);
	while (cur < t && !atomic_compare_exchange_weak(&sh->acked_start[reg], &cur, t))
		;
}

/* Checks a record read by a read that began after acked_start was a. */
static void rec_check(const struct rec *r, ssize_t n, unsigned reg, uint64_t a, const char *what)
{
	struct rec want;
	struct done *d;

	if (n != REC) {
		failf("%s (register %u): read %zd bytes, want %d", what, reg, n, REC);
		return;
	}
	if (r->magic != REC_MAGIC || r->reg != reg ||
	    r->hash != mhash(r, offsetof(struct rec, hash))) {
		failf("%s (register %u): torn or foreign record (magic %llx reg %u ticket %llu)", what,
		      reg, (unsigned long long)r->magic, r->reg, (unsigned long long)r->ticket);
		return;
	}
	memcpy(&want, r, sizeof(want));
	mfill(want.payload, sizeof(want.payload), r->ticket * 0x9E37u + reg);
	if (memcmp(want.payload, r->payload, sizeof(want.payload))) {
		failf("%s (register %u): payload of ticket %llu mixed with another write", what, reg,
		      (unsigned long long)r->ticket);
		return;
	}
	d = &sh->done[r->ticket % TCAP];
	if (atomic_load(&d->start) == r->ticket) {
		uint64_t e = atomic_load(&d->end);

		if (e < a)
			failf("%s (register %u): stale: saw the write of ticket %llu (returned at %llu), "
			      "but the write of ticket %llu had returned before this read began",
			      what, reg, (unsigned long long)r->ticket, (unsigned long long)e,
			      (unsigned long long)a);
	}
}

static int rec_fd[NFILES];
static int app_wfd = -1, app_rfd = -1;

static void path_rec(char *b, size_t n, unsigned f) { snprintf(b, n, "/umfs/m/r%u", f); }

static void op_rec_write(uint64_t *rnd)
{
	unsigned f = (unsigned)(mrand(rnd) % NFILES), s = (unsigned)(mrand(rnd) % NSLOTS);
	unsigned reg = f * NSLOTS + s;
	uint64_t t = ticket();
	struct rec r;
	ssize_t n;

	rec_make(&r, reg, t);
	if (!strcmp(inject, "stale")) {
		reg_done(reg, t); /* acknowledged before it is written */
		usleep(200);
	}
	if (!strcmp(inject, "torn")) { /* two halves: a reader can see a mix */
		n = pwrite(rec_fd[f], &r, REC / 2, (off_t)s * REC);
		sched_yield();
		n += pwrite(rec_fd[f], (char *)&r + REC / 2, REC / 2, (off_t)s * REC + REC / 2);
	} else {
		n = pwrite(rec_fd[f], &r, REC, (off_t)s * REC);
	}
	if (n != REC) {
		failf("pwrite r%u slot %u: %zd (%s)", f, s, n, strerror(errno));
		return;
	}
	if (strcmp(inject, "stale"))
		reg_done(reg, t);
}

static void op_rec_read(uint64_t *rnd)
{
	unsigned f = (unsigned)(mrand(rnd) % NFILES), s = (unsigned)(mrand(rnd) % NSLOTS);
	unsigned reg = f * NSLOTS + s;
	uint64_t a = atomic_load(&sh->acked_start[reg]);
	struct rec r;
	ssize_t n = pread(rec_fd[f], &r, REC, (off_t)s * REC);
	char what[32];

	snprintf(what, sizeof(what), "pread r%u slot %u", f, s);
	rec_check(&r, n, reg, a, what);
}

static void op_stable_replace(uint64_t *rnd)
{
	unsigned i = (unsigned)(mrand(rnd) % NSTABLE), reg = NFILES * NSLOTS + i;
	uint64_t t = ticket();
	char tmp[64], name[64];
	struct rec r;
	int fd;

	snprintf(tmp, sizeof(tmp), "/umfs/m/stable/.t%d-%llu", me, (unsigned long long)t);
	snprintf(name, sizeof(name), "/umfs/m/stable/s%u", i);
	rec_make(&r, reg, t);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0) {
		failf("create %s: %s", tmp, strerror(errno));
		return;
	}
	if (write(fd, &r, REC) != REC)
		failf("write %s: %s", tmp, strerror(errno));
	close(fd);
	if (rename(tmp, name) < 0) {
		failf("rename %s over %s: %s", tmp, name, strerror(errno));
		unlink(tmp);
		return;
	}
	reg_done(reg, t);
}

static void op_stable_read(uint64_t *rnd)
{
	unsigned i = (unsigned)(mrand(rnd) % NSTABLE), reg = NFILES * NSLOTS + i;
	uint64_t a = atomic_load(&sh->acked_start[reg]);
	char name[64];
	struct rec r;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "/umfs/m/stable/s%u", i);
	fd = open(name, O_RDONLY);
	if (fd < 0) {
		failf("open %s (always replaced by rename, never missing): %s", name, strerror(errno));
		return;
	}
	n = read(fd, &r, REC);
	close(fd);
	rec_check(&r, n, reg, a, name);
}

/* ------------------------------------------------------------------ */
/* Appends                                                              */
/* ------------------------------------------------------------------ */

static void op_append(uint64_t *rnd)
{
	uint8_t buf[1024];
	struct app_hdr *h = (struct app_hdr *)buf;
	uint64_t seq = atomic_load(&sh->app_next[me]);
	uint32_t len = 32 + 8 * (uint32_t)(mrand(rnd) % 120);
	ssize_t n;

	h->magic = APP_MAGIC;
	h->len = len;
	h->writer = (uint32_t)me;
	h->pad = 0;
	h->seq = seq;
	mfill(buf + sizeof(*h), len - sizeof(*h) - 8, ((uint64_t)me << 40) ^ seq);
	uint64_t hv = mhash(buf, len - 8);
	memcpy(buf + len - 8, &hv, 8);
	atomic_store(&sh->app_next[me], seq + 1);
	if (!strcmp(inject, "append")) { /* two writes: others can come between */
		n = write(app_wfd, buf, len / 2);
		sched_yield();
		n += write(app_wfd, buf + len / 2, len - len / 2);
	} else {
		n = write(app_wfd, buf, len);
	}
	if (n != (ssize_t)len) {
		failf("O_APPEND write of %u bytes: %zd (%s)", len, n, strerror(errno));
		return;
	}
	atomic_store(&sh->app_acked[me], seq + 1);
}

/* Incremental parse of the append file by this process. */
static uint64_t app_pos, app_seen[MAXW]; /* next offset; next expected seq per writer */
static bool app_broken;

/* Parses buf[0..n) (whole records); false on the first bad one. */
static bool app_parse(const uint8_t *buf, size_t n, uint64_t base, size_t *used)
{
	size_t p = 0;

	while (p + sizeof(struct app_hdr) <= n) {
		struct app_hdr h;
		uint8_t want[1024];
		uint64_t hv;

		memcpy(&h, buf + p, sizeof(h));
		if (h.magic != APP_MAGIC || h.len < 32 || h.len > 1024 || h.len % 8 ||
		    h.writer >= MAXW) {
			failf("append file at %llu: not a record (magic %x len %u): appends overlap "
			      "or were torn", (unsigned long long)(base + p), h.magic, h.len);
			return false;
		}
		if (p + h.len > n)
			break;
		memcpy(&hv, buf + p + h.len - 8, 8);
		mfill(want, h.len - sizeof(h) - 8, ((uint64_t)h.writer << 40) ^ h.seq);
		if (hv != mhash(buf + p, h.len - 8) ||
		    memcmp(want, buf + p + sizeof(h), h.len - sizeof(h) - 8)) {
			failf("append file at %llu: record of writer %u seq %llu damaged",
			      (unsigned long long)(base + p), h.writer, (unsigned long long)h.seq);
			return false;
		}
		if (h.seq != app_seen[h.writer]) {
			failf("append file at %llu: writer %u seq %llu, expected seq %llu (%s)",
			      (unsigned long long)(base + p), h.writer, (unsigned long long)h.seq,
			      (unsigned long long)app_seen[h.writer],
			      h.seq < app_seen[h.writer] ? "a record twice" : "a record lost");
			return false;
		}
		app_seen[h.writer]++;
		p += h.len;
	}
	*used = p;
	return true;
}

/* Reads what was appended since the last call; every append acknowledged
 * before the read began must be there, and the size is a record boundary. */
static void op_app_check(bool final)
{
	static uint8_t buf[1 << 16];
	uint64_t snap[MAXW];
	struct stat st;
	size_t keep = 0;

	if (app_broken)
		return;
	for (int w = 0; w < MAXW; w++)
		snap[w] = atomic_load(&sh->app_acked[w]);
	if (fstat(app_rfd, &st) < 0) {
		failf("fstat append file: %s", strerror(errno));
		return;
	}
	while (app_pos + keep < (uint64_t)st.st_size) {
		uint64_t off = app_pos + keep, want = (uint64_t)st.st_size - off;
		size_t used;
		ssize_t n;

		if (want > sizeof(buf) - keep)
			want = sizeof(buf) - keep;
		n = pread(app_rfd, buf + keep, want, (off_t)off);
		if (n != (ssize_t)want) {
			failf("pread append file at %llu: %zd of %llu bytes (the size was %lld)",
			      (unsigned long long)off, n, (unsigned long long)want, (long long)st.st_size);
			app_broken = true;
			return;
		}
		if (!app_parse(buf, keep + (size_t)n, app_pos, &used)) {
			app_broken = true;
			return;
		}
		memmove(buf, buf + used, keep + (size_t)n - used);
		keep = keep + (size_t)n - used;
		app_pos += used;
	}
	if (keep) {
		failf("append file: size %lld is not a record boundary (%zu bytes of a record "
		      "at %llu visible)", (long long)st.st_size, keep, (unsigned long long)app_pos);
		app_broken = true;
		return;
	}
	for (int w = 0; w < MAXW; w++) {
		if (app_seen[w] < snap[w] || (final && app_seen[w] != snap[w]))
			failf("append file: writer %d had %llu appends returned, %llu visible%s", w,
			      (unsigned long long)snap[w], (unsigned long long)app_seen[w],
			      final ? " at the end" : " to a read that began after them");
	}
}

/* ------------------------------------------------------------------ */
/* Namespace                                                            */
/* ------------------------------------------------------------------ */

struct blob {
	uint32_t magic, creator;
	uint64_t ticket;
	uint8_t payload[BLOB - 24];
	uint64_t hash;
};
_Static_assert(sizeof(struct blob) == BLOB, "blob size");

static void name_path(char *b, size_t n, unsigned d, unsigned i)
{
	snprintf(b, n, "/umfs/m/d%u/n%u", d, i);
}

static bool allowed(int err, const int *ok)
{
	for (; *ok; ok++)
		if (*ok == err)
			return true;
	return false;
}

#define EXPECT(call, desc, ...)                                                               \
	do {                                                                                  \
		static const int ok_[] = { __VA_ARGS__, 0 };                                    \
		if ((call) < 0 && !allowed(errno, ok_))                                           \
			failf("%s: unexpected %s", desc, strerror(errno));                          \
	} while (0)

static void blob_write(int fd, const char *path)
{
	struct blob b = { .magic = BLOB_MAGIC, .creator = (uint32_t)me, .ticket = ticket() };

	mfill(b.payload, sizeof(b.payload), b.ticket);
	b.hash = mhash(&b, offsetof(struct blob, hash));
	if (pwrite(fd, &b, BLOB, 0) != BLOB)
		failf("pwrite %s: %s", path, strerror(errno));
}

static void blob_check(int fd, const char *path)
{
	uint8_t buf[BLOB + 64];
	struct blob b;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	uint8_t want[sizeof(b.payload)];

	if (n == 0)
		return; /* created or truncated, not written yet */
	if (n != BLOB) {
		failf("%s: %zd bytes, want 0 or %d (a write or truncate seen half done)", path, n,
		      BLOB);
		return;
	}
	memcpy(&b, buf, BLOB);
	mfill(want, sizeof(want), b.ticket);
	if (b.magic != BLOB_MAGIC || b.hash != mhash(&b, offsetof(struct blob, hash)) ||
	    memcmp(want, b.payload, sizeof(want)))
		failf("%s: contents torn or foreign (magic %x ticket %llu)", path, b.magic,
		      (unsigned long long)b.ticket);
}

static void op_namespace(uint64_t *rnd)
{
	unsigned d = (unsigned)(mrand(rnd) % NDIRS), i = (unsigned)(mrand(rnd) % NNAMES);
	unsigned j = (unsigned)(mrand(rnd) % NNAMES), d2 = (unsigned)(mrand(rnd) % NDIRS);
	char a[64], b[80];
	int fd;

	name_path(a, sizeof(a), d, i);
	switch (mrand(rnd) % 10) {
	case 0: /* create and fill */
		fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd >= 0) {
			blob_write(fd, a);
			close(fd);
		} else if (errno != EEXIST) {
			failf("create %s: unexpected %s", a, strerror(errno));
		}
		break;
	case 1: /* truncate and rewrite */
		fd = open(a, O_WRONLY);
		if (fd >= 0) {
			if (ftruncate(fd, 0) < 0)
				failf("ftruncate %s: %s", a, strerror(errno));
			if (mrand(rnd) & 1)
				blob_write(fd, a);
			close(fd);
		} else if (errno != ENOENT && errno != EISDIR) {
			failf("open %s for writing: unexpected %s", a, strerror(errno));
		}
		break;
	case 2:
		EXPECT(unlink(a), a, ENOENT, EISDIR);
		break;
	case 3:
		name_path(b, sizeof(b), d2, j);
		EXPECT(link(a, b), "link", ENOENT, EEXIST, EPERM);
		break;
	case 4:
	case 5:
		name_path(b, sizeof(b), d2, j);
		/* EINVAL: a directory into itself (same name) */
		EXPECT(rename(a, b), "rename", ENOENT, EISDIR, ENOTDIR, ENOTEMPTY, EEXIST, EINVAL);
		break;
	case 6:
		EXPECT(mkdir(a, 0755), "mkdir", EEXIST);
		if (mrand(rnd) & 1) {
			snprintf(b, sizeof(b), "%s/in", a);
			fd = open(b, O_CREAT | O_WRONLY, 0644);
			if (fd >= 0)
				close(fd);
			else if (errno != ENOENT && errno != ENOTDIR)
				failf("create %s: unexpected %s", b, strerror(errno));
		}
		break;
	case 7:
		if (mrand(rnd) & 1) {
			snprintf(b, sizeof(b), "%s/in", a);
			EXPECT(unlink(b), b, ENOENT, ENOTDIR);
		}
		EXPECT(rmdir(a), "rmdir", ENOENT, ENOTDIR, ENOTEMPTY, EEXIST);
		break;
	case 8: { /* list: only the names we use */
		DIR *dir;
		struct dirent *e;

		snprintf(b, sizeof(b), "/umfs/m/d%u", d);
		dir = opendir(b);
		if (!dir) {
			failf("opendir %s: %s", b, strerror(errno));
			break;
		}
		while ((e = readdir(dir))) {
			unsigned k;
			char extra;

			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
			    (sscanf(e->d_name, "n%u%c", &k, &extra) != 1 || k >= NNAMES))
				failf("readdir %s: unexpected entry \"%s\"", b, e->d_name);
		}
		closedir(dir);
		break;
	}
	default: /* read: empty or whole */
		fd = open(a, O_RDONLY);
		if (fd >= 0) {
			struct stat st;

			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
				blob_check(fd, a);
			close(fd);
		} else if (errno != ENOENT) {
			failf("open %s: unexpected %s", a, strerror(errno));
		}
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Roles                                                                */
/* ------------------------------------------------------------------ */

static void open_shared_files(void)
{
	char p[64];

	for (unsigned f = 0; f < NFILES; f++) {
		path_rec(p, sizeof(p), f);
		rec_fd[f] = open(p, O_RDWR);
		if (rec_fd[f] < 0) {
			fprintf(stderr, "open %s: %s\n", p, strerror(errno));
			exit(3);
		}
	}
	app_wfd = open("/umfs/m/app", O_WRONLY | O_APPEND);
	app_rfd = open("/umfs/m/app", O_RDONLY);
	if (app_wfd < 0 || app_rfd < 0) {
		fprintf(stderr, "open /umfs/m/app: %s\n", strerror(errno));
		exit(3);
	}
}

static int role_setup(void)
{
	char p[64];
	struct rec r;

	me = 0;
	if (mkdir("/umfs/m", 0755) || mkdir("/umfs/m/stable", 0755)) {
		fprintf(stderr, "setup: mkdir: %s\n", strerror(errno));
		return 3;
	}
	for (unsigned d = 0; d < NDIRS; d++) {
		snprintf(p, sizeof(p), "/umfs/m/d%u", d);
		if (mkdir(p, 0755))
			return 3;
	}
	for (unsigned f = 0; f < NFILES; f++) {
		int fd;

		path_rec(p, sizeof(p), f);
		fd = open(p, O_CREAT | O_RDWR, 0644);
		if (fd < 0)
			return 3;
		for (unsigned s = 0; s < NSLOTS; s++) {
			uint64_t t = ticket();

			rec_make(&r, f * NSLOTS + s, t);
			if (pwrite(fd, &r, REC, (off_t)s * REC) != REC)
				return 3;
			reg_done(f * NSLOTS + s, t);
		}
		close(fd);
	}
	for (unsigned i = 0; i < NSTABLE; i++) {
		uint64_t t = ticket();
		int fd;

		snprintf(p, sizeof(p), "/umfs/m/stable/s%u", i);
		fd = open(p, O_CREAT | O_WRONLY, 0644);
		rec_make(&r, NFILES * NSLOTS + i, t);
		if (fd < 0 || write(fd, &r, REC) != REC)
			return 3;
		close(fd);
		reg_done(NFILES * NSLOTS + i, t);
	}
	int fd = open("/umfs/m/app", O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return 3;
	close(fd);
	return 0;
}

static int role_worker(uint64_t seed)
{
	uint64_t rnd = seed, n = 0;

	open_shared_files();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		unsigned pick = (unsigned)(mrand(&rnd) % 100);

		if (pick < 22)
			op_rec_write(&rnd);
		else if (pick < 44)
			op_rec_read(&rnd);
		else if (pick < 52)
			op_stable_replace(&rnd);
		else if (pick < 62)
			op_stable_read(&rnd);
		else if (pick < 74)
			op_append(&rnd);
		else if (pick < 78)
			op_app_check(false);
		else
			op_namespace(&rnd);
		atomic_fetch_add_explicit(&sh->ops[me], 1, memory_order_relaxed);
		n++;
	}
	op_app_check(false);
	return 0;
}

/* After every worker stopped: every register, the whole append file, and
 * every namespace file once more, then the leftover temporary names. */
static int role_final(void)
{
	char p[300];

	open_shared_files();
	for (unsigned f = 0; f < NFILES; f++)
		for (unsigned s = 0; s < NSLOTS; s++) {
			struct rec r;
			uint64_t a = atomic_load(&sh->acked_start[f * NSLOTS + s]);
			ssize_t n = pread(rec_fd[f], &r, REC, (off_t)s * REC);
			char what[32];

			snprintf(what, sizeof(what), "final r%u slot %u", f, s);
			rec_check(&r, n, f * NSLOTS + s, a, what);
		}
	for (unsigned i = 0; i < NSTABLE; i++) {
		snprintf(p, sizeof(p), "/umfs/m/stable/s%u", i);
		int fd = open(p, O_RDONLY);
		struct rec r;
		uint64_t a = atomic_load(&sh->acked_start[NFILES * NSLOTS + i]);

		if (fd < 0) {
			failf("final: %s missing", p);
			continue;
		}
		rec_check(&r, read(fd, &r, REC), NFILES * NSLOTS + i, a, p);
		close(fd);
	}
	DIR *dir = opendir("/umfs/m/stable");
	struct dirent *e;

	while (dir && (e = readdir(dir)))
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			failf("final: temporary /umfs/m/stable/%s left (its rename returned)", e->d_name);
	if (dir)
		closedir(dir);
	op_app_check(true);
	for (unsigned d = 0; d < NDIRS; d++)
		for (unsigned i = 0; i < NNAMES; i++) {
			int fd;
			struct stat st;

			name_path(p, sizeof(p), d, i);
			fd = open(p, O_RDONLY);
			if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
				blob_check(fd, p);
			if (fd >= 0)
				close(fd);
		}
	return 0;
}

/* The unlinked-while-open steps, two processes: A creates, both open, A
 * unlinks, both read, A closes, B reads, B closes; the space comes back. */
static bool wait_stage(uint32_t s)
{
	uint64_t deadline = now_ns() + 60ull * 1000000000ull;

	while (atomic_load(&sh->stage) < s) {
		if (now_ns() > deadline) {
			failf("unlinked-while-open: timed out waiting for step %u", s);
			return false;
		}
		sleep_ms(1);
	}
	return true;
}

static uint64_t bfree(void)
{
	struct statvfs v;

	if (statvfs("/umfs", &v) < 0) {
		failf("statvfs /umfs: %s", strerror(errno));
		return 0;
	}
	return (uint64_t)v.f_bfree * v.f_frsize;
}

static void big_verify(int fd, const char *who)
{
	static uint8_t buf[BIG], want[BIG];
	ssize_t n = pread(fd, buf, BIG, 0);

	mfill(want, BIG, 4242);
	if (n != BIG || memcmp(buf, want, BIG))
		failf("unlinked-while-open: %s: read %zd bytes, %s", who, n,
		      n == BIG ? "contents differ" : "want 12 MiB");
}

#define SLACK (64u * 4096u) /* directory blocks, U-Logs: not the 12 MiB */

static int role_unlinked(int role)
{
	static uint8_t data[BIG];
	const char *path = "/umfs/m/big";
	int fd;

	if (role == 0) {
		sh->bfree0 = bfree();
		mfill(data, BIG, 4242);
		fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
		if (fd < 0 || write(fd, data, BIG) != BIG || fsync(fd) < 0) {
			failf("unlinked-while-open: create %s: %s", path, strerror(errno));
			atomic_store(&sh->stage, 99);
			return 1;
		}
		if (bfree() + BIG - SLACK > sh->bfree0)
			failf("unlinked-while-open: statfs: 12 MiB written but free space went from "
			      "%llu to %llu", (unsigned long long)sh->bfree0,
			      (unsigned long long)bfree());
		atomic_store(&sh->stage, 1);
		if (!wait_stage(2))
			return 1;
		if (unlink(path) < 0)
			failf("unlink %s: %s", path, strerror(errno));
		if (access(path, F_OK) == 0 || errno != ENOENT)
			failf("%s still visible after unlink", path);
		big_verify(fd, "the unlinker after unlink");
		if (bfree() + BIG - SLACK > sh->bfree0)
			failf("unlinked-while-open: the space of an open unlinked file was freed "
			      "(free %llu, before the file %llu)", (unsigned long long)bfree(),
			      (unsigned long long)sh->bfree0);
		atomic_store(&sh->stage, 3);
		if (!wait_stage(4))
			return 1;
		close(fd);
		atomic_store(&sh->stage, 5);
		return 0;
	}
	if (role == 1) {
		if (!wait_stage(1))
			return 1;
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			failf("unlinked-while-open: open %s in the second process: %s", path,
			      strerror(errno));
			atomic_store(&sh->stage, 99);
			return 1;
		}
		atomic_store(&sh->stage, 2);
		if (!wait_stage(3))
			return 1;
		big_verify(fd, "the other holder after the unlink");
		atomic_store(&sh->stage, 4);
		if (!wait_stage(5))
			return 1;
		big_verify(fd, "the last holder after the unlinker closed");
		if (bfree() + BIG - SLACK > sh->bfree0)
			failf("unlinked-while-open: space freed while a process still holds the file "
			      "(free %llu, before %llu)", (unsigned long long)bfree(),
			      (unsigned long long)sh->bfree0);
		close(fd);
		if (bfree() + SLACK < sh->bfree0)
			failf("unlinked-while-open: after the last close free space is %llu, before "
			      "the file it was %llu: not returned", (unsigned long long)bfree(),
			      (unsigned long long)sh->bfree0);
		atomic_store(&sh->stage, 6);
		return 0;
	}
	/* role 2: a fresh process afterwards */
	if (bfree() + SLACK < sh->bfree0)
		failf("unlinked-while-open: a new process sees %llu bytes free, %llu before the "
		      "file", (unsigned long long)bfree(), (unsigned long long)sh->bfree0);
	if (access(path, F_OK) == 0)
		failf("%s exists again", path);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The driver (not under the library)                                   */
/* ------------------------------------------------------------------ */

static const char *lib, *pool, *shm_path;

static int run_role(const char *role, const char *arg, const char *arg2, unsigned secs)
{
	char *argv[] = { "multi_model", "--role", (char *)role, (char *)shm_path, (char *)arg,
			 (char *)arg2, NULL };

	return run_shim_role(lib, pool, argv, role, secs);
}

/* Runs n workers for secs seconds; returns ops per second (0 on failure). */
static double phase(unsigned n, unsigned secs, uint64_t seed)
{
	pid_t pids[MAXW];
	uint64_t ops0 = 0, ops1 = 0, t0, t1;
	char ids[MAXW][16], seeds[MAXW][24];
	int bad = 0;

	for (unsigned w = 0; w < MAXW; w++)
		ops0 += atomic_load(&sh->ops[w]);
	atomic_store(&sh->stop, 0);
	t0 = now_ns();
	for (unsigned w = 0; w < n; w++) {
		snprintf(ids[w], sizeof(ids[w]), "%u", w);
		snprintf(seeds[w], sizeof(seeds[w]), "%llu", (unsigned long long)(seed + w * 7919));
		char *argv[] = { "multi_model", "--role", "worker", (char *)shm_path, ids[w],
				 seeds[w], NULL };
		pids[w] = spawn_shim(lib, pool, argv);
	}
	sleep_ms(secs * 1000);
	atomic_store(&sh->stop, 1);
	for (unsigned w = 0; w < n; w++) {
		int st;

		if (wait_until(pids[w], &st, now_ns() + 60ull * 1000000000ull) < 0) {
			kill(pids[w], SIGKILL);
			waitpid(pids[w], &st, 0);
			fprintf(stderr, "FAIL worker %u did not stop within 60 s (deadlock?)\n", w);
			bad = 1;
		} else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "FAIL worker %u: %s %d\n", w, WIFEXITED(st) ? "exit" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			bad = 1;
		}
	}
	t1 = now_ns();
	for (unsigned w = 0; w < MAXW; w++)
		ops1 += atomic_load(&sh->ops[w]);
	if (bad)
		atomic_fetch_add(&sh->failures, 1);
	return (double)(ops1 - ops0) / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
	unsigned n = 4, secs = 4;
	uint64_t seed = (uint64_t)time(NULL);
	char path[128];
	int opt;

	if (argc >= 4 && !strcmp(argv[1], "--role")) {
		sh = shm_map(argv[3], 0);
		if (!strcmp(argv[2], "setup"))
			return role_setup();
		if (!strcmp(argv[2], "final"))
			return role_final();
		if (!strcmp(argv[2], "unlinked"))
			return role_unlinked(atoi(argv[4]));
		if (!strcmp(argv[2], "worker") && argc >= 6) {
			me = atoi(argv[4]);
			inject = getenv("MULTI_BREAK") ? getenv("MULTI_BREAK") : "";
			return role_worker(strtoull(argv[5], NULL, 0) | 1);
		}
		return 2;
	}
	while ((opt = getopt(argc, argv, "l:p:n:t:s:B:")) != -1) {
		switch (opt) {
		case 'l': lib = optarg; break;
		case 'p': pool = optarg; break;
		case 'n': n = (unsigned)atoi(optarg); break;
		case 't': secs = (unsigned)atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'B': setenv("MULTI_BREAK", optarg, 1); break;
		default:
			fprintf(stderr, "usage: multi_model -l LIBUMFS -p POOL [-n N] [-t S] [-s SEED]\n");
			return 2;
		}
	}
	if (!lib || !pool || n < 1 || n > MAXW) {
		fprintf(stderr, "multi_model: -l and -p are required, 1 <= N <= %d\n", MAXW);
		return 2;
	}
	snprintf(path, sizeof(path), "/dev/shm/multi-model-%d.shm", getpid());
	shm_path = path;
	sh = shm_map(path, sizeof(*sh));
	printf("multi_model: %u processes, %u s per phase, seed %llu\n", n, secs,
	       (unsigned long long)seed);
	fflush(stdout);

	int bad = run_role("setup", "0", "0", 60);
	double tn = 0, t1 = 0;

	if (!bad) {
		tn = phase(n, secs, seed);
		t1 = phase(1, secs, seed ^ 0xABCDEF);
		bad |= run_role("final", "0", "0", 120);
		/* the two holders of the unlinked file run together */
		char *a0[] = { "multi_model", "--role", "unlinked", (char *)shm_path, "0", NULL };
		char *a1[] = { "multi_model", "--role", "unlinked", (char *)shm_path, "1", NULL };
		pid_t p0 = spawn_shim(lib, pool, a0), p1 = spawn_shim(lib, pool, a1);
		int s0, s1;

		if (wait_until(p0, &s0, now_ns() + 120ull * 1000000000ull) < 0 ||
		    wait_until(p1, &s1, now_ns() + 120ull * 1000000000ull) < 0) {
			kill(p0, SIGKILL);
			kill(p1, SIGKILL);
			waitpid(p0, &s0, 0);
			waitpid(p1, &s1, 0);
			fprintf(stderr, "FAIL unlinked-while-open: hung\n");
			bad = 1;
		} else if (!WIFEXITED(s0) || WEXITSTATUS(s0) || !WIFEXITED(s1) || WEXITSTATUS(s1)) {
			fprintf(stderr, "FAIL unlinked-while-open holders exited badly\n");
			bad = 1;
		}
		bad |= run_role("unlinked", "2", "0", 60);
	}
	uint64_t failures = atomic_load(&sh->failures);

	printf("throughput: %u processes %.0f ops/s, 1 process %.0f ops/s, ratio %.2f\n", n, tn, t1,
	       t1 > 0 ? tn / t1 : 0.0);
	printf("tickets issued: %llu, failures: %llu\n",
	       (unsigned long long)atomic_load(&sh->ticket), (unsigned long long)failures);
	munmap(sh, sizeof(*sh));
	unlink(path);
	return bad || failures ? 1 : 0;
}
