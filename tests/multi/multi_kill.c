/* SPDX-License-Identifier: MIT */
/*
 * multi_kill.c - writers under the LD_PRELOAD library killed with SIGKILL
 * at random moments, a new one started at once in the dead one's place.
 *
 * W lanes run at the same time on shared files of one pool; each lane is
 * one process at a time. A lane overwrites its slots of a shared record file
 * (small records, through the U-Log) and of a shared file of large records
 * (copy-on-write), appends to a shared O_APPEND file, replaces and unlinks
 * names and makes and removes directories in a shared directory, with an
 * fsync before most acknowledgements. Before each operation it publishes
 * its intent in a shared area on /dev/shm (outside UMFS, so it survives
 * the kill), after it returned it acknowledges it.
 *
 * A new process for a lane first settles the operation its predecessor
 * left in flight: what it observes must be the acknowledged state or the
 * intended one, whole (strict mode: an overwrite in flight is old or new,
 * never a mix). After the last kill a checker compares everything with the
 * acknowledged state: every acknowledged write present and whole, every
 * acknowledged append exactly once, one in flight at most once, nothing
 * else. Finally every lane runs once more unharmed: nobody is wedged.
 *
 *   multi_kill -l LIBUMFS -p POOL [-k KILLS] [-w LANES] [-s SEED]
 */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "multi_common.h"

#define LANES 8
#define SLOTS 8             /* small records per lane */
#define SREC 512
#define BSLOTS 2            /* large records per lane */
#define BREC (200u << 10)   /* larger than a U-Log byte record: copy-on-write */
#define NAMES 6
#define APP_MAX (1u << 18)  /* appends per lane */
#define MSGS 12

#define KREC_MAGIC 0x4B52454355524543ull
#define KAPP_MAGIC 0x4B415050u

enum { K_NONE, K_SLOT, K_BIG, K_APPEND, K_NAME, K_DIR };

struct intent {
	uint32_t kind, idx;
	uint64_t val; /* the new ticket, or 0 (name: unlinked; dir: removed) */
};

struct lane {
	_Atomic uint32_t active; /* intent below is in flight */
	struct intent in;
	uint64_t slot[SLOTS], big[BSLOTS], name[NAMES]; /* acknowledged tickets */
	uint8_t dir[NAMES];
	uint64_t app_next;
	uint8_t app_acked[APP_MAX / 8], app_maybe[APP_MAX / 8];
	_Atomic uint64_t ops, starts;
};

struct kshared {
	_Atomic uint64_t ticket, failures;
	struct lane lane[LANES];
};

struct krec { /* head of every small and large record */
	uint64_t magic;
	uint32_t lane, idx;
	uint64_t ticket, hash; /* hash of the whole record with this field 0 */
};

static struct kshared *sh;
static int me = -1;
static unsigned nmsg;
static uint8_t bigbuf[BREC], bigwant[BREC];

static void failf(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&sh->failures, 1);
	if (nmsg++ >= MSGS)
		return;
	fprintf(stderr, "FAIL [pid %d lane %d] ", getpid(), me);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void bit_set(uint8_t *m, uint64_t i) { m[i / 8] |= (uint8_t)(1u << (i % 8)); }
static bool bit(const uint8_t *m, uint64_t i) { return m[i / 8] >> (i % 8) & 1; }

/* A record of len bytes for (lane, kind-index, ticket). */
static void krec_make(uint8_t *buf, size_t len, uint32_t lane, uint32_t idx, uint64_t t)
{
	struct krec h = { KREC_MAGIC, lane, idx, t, 0 };

	mfill(buf, len, t ^ ((uint64_t)lane << 48) ^ ((uint64_t)idx << 40));
	memcpy(buf, &h, sizeof(h));
	h.hash = mhash(buf, len);
	memcpy(buf, &h, sizeof(h));
}

/* The ticket of the record in buf, or 0 when it is not whole. */
static uint64_t krec_ticket(const uint8_t *buf, size_t len, uint32_t lane, uint32_t idx)
{
	struct krec h;
	uint8_t *want = len == BREC ? bigwant : (uint8_t[SREC]){ 0 };

	memcpy(&h, buf, sizeof(h));
	if (h.magic != KREC_MAGIC || h.lane != lane || h.idx != idx)
		return 0;
	krec_make(want, len, lane, idx, h.ticket);
	return memcmp(want, buf, len) ? 0 : h.ticket;
}

/* ------------------------------------------------------------------ */
/* Observing the pool                                                   */
/* ------------------------------------------------------------------ */

static int fd_small, fd_big, fd_app;

static off_t slot_off(int kind, uint32_t idx)
{
	return kind == K_SLOT ? (off_t)(me * SLOTS + (int)idx) * SREC
			      : (off_t)(me * BSLOTS + (int)idx) * BREC;
}

/* The ticket a slot holds (~0: not a whole record). */
static uint64_t observe_slot(int kind, uint32_t idx)
{
	size_t len = kind == K_SLOT ? SREC : BREC;
	uint8_t small[SREC], *buf = kind == K_SLOT ? small : bigbuf;
	ssize_t n = pread(kind == K_SLOT ? fd_small : fd_big, buf, len, slot_off(kind, idx));

	if (n != (ssize_t)len) {
		failf("pread %s slot %u: %zd bytes (%s)", kind == K_SLOT ? "small" : "large", idx, n,
		      n < 0 ? strerror(errno) : "short");
		return 0;
	}
	uint64_t t = krec_ticket(buf, len, (uint32_t)me, idx);

	return t ? t : ~0ull;
}

static void name_path(char *b, size_t n, int lane, const char *kind, uint64_t i)
{
	snprintf(b, n, "/umfs/k/ns/L%d%s%llu", lane, kind, (unsigned long long)i);
}

/* A name's ticket: 0 when absent, ~0 when it is not a whole record. */
static uint64_t observe_name(uint32_t idx)
{
	char p[64];
	uint8_t buf[SREC + 1];
	ssize_t n;
	int fd;

	name_path(p, sizeof(p), me, "n", idx);
	fd = open(p, O_RDONLY);
	if (fd < 0) {
		int err = errno;

		if (err != ENOENT)
			failf("open %s: %s", p, strerror(err));
		return err == ENOENT ? 0 : ~0ull;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != SREC)
		return ~0ull;
	uint64_t t = krec_ticket(buf, SREC, (uint32_t)me, 100 + idx);

	return t ? t : ~0ull;
}

static uint64_t observe_dir(uint32_t idx)
{
	char p[64];
	struct stat st;

	name_path(p, sizeof(p), me, "d", idx);
	if (stat(p, &st) < 0)
		return 0;
	return S_ISDIR(st.st_mode) ? 1 : ~0ull;
}

static uint64_t observe(int kind, uint32_t idx)
{
	switch (kind) {
	case K_SLOT:
	case K_BIG: return observe_slot(kind, idx);
	case K_NAME: return observe_name(idx);
	default: return observe_dir(idx);
	}
}

static uint64_t *acked(struct lane *l, int kind, uint32_t idx)
{
	static uint64_t dirv;

	switch (kind) {
	case K_SLOT: return &l->slot[idx];
	case K_BIG: return &l->big[idx];
	case K_NAME: return &l->name[idx];
	default: dirv = l->dir[idx]; return &dirv;
	}
}

static const char *const kind_name[] = { "-", "small record", "large record", "append", "name",
					  "directory" };

/* Settles the operation a killed predecessor left in flight: the pool must
 * show the acknowledged state or the intended one. */
static void settle(struct lane *l)
{
	struct intent in = l->in;
	uint64_t seen, old;

	if (!atomic_load(&l->active))
		return;
	if (in.kind == K_APPEND) {
		if (in.val < APP_MAX)
			bit_set(l->app_maybe, in.val);
		atomic_store(&l->active, 0);
		return;
	}
	old = *acked(l, (int)in.kind, in.idx);
	seen = observe((int)in.kind, in.idx);
	if (seen != old && seen != in.val) {
		failf("after a kill, %s %u shows %s%llu: neither the acknowledged %llu nor the one in "
		      "flight %llu", kind_name[in.kind], in.idx, seen == ~0ull ? "a torn state " : "",
		      (unsigned long long)(seen == ~0ull ? 0 : seen), (unsigned long long)old,
		      (unsigned long long)in.val);
		seen = in.val;
	}
	if (in.kind == K_DIR)
		l->dir[in.idx] = (uint8_t)seen;
	else
		*acked(l, (int)in.kind, in.idx) = seen;
	atomic_store(&l->active, 0);
}

/* ------------------------------------------------------------------ */
/* A lane                                                               */
/* ------------------------------------------------------------------ */

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0) {
		failf("open %s: %s", path, strerror(errno));
		exit(3);
	}
	return fd;
}

static void open_files(void)
{
	fd_small = open_or_die("/umfs/k/small", O_RDWR);
	fd_big = open_or_die("/umfs/k/big", O_RDWR);
	fd_app = open_or_die("/umfs/k/app", O_RDWR | O_APPEND);
}

static void begin(struct lane *l, uint32_t kind, uint32_t idx, uint64_t val)
{
	l->in.kind = kind;
	l->in.idx = idx;
	l->in.val = val;
	atomic_store(&l->active, 1);
}

static void end(struct lane *l)
{
	struct intent in = l->in;

	switch (in.kind) {
	case K_APPEND: bit_set(l->app_acked, in.val); break;
	case K_DIR: l->dir[in.idx] = (uint8_t)in.val; break;
	default: *acked(l, (int)in.kind, in.idx) = in.val;
	}
	atomic_store(&l->active, 0);
	atomic_fetch_add(&l->ops, 1);
}

static void maybe_fsync(int fd, uint64_t *rnd)
{
	if (mrand(rnd) % 4 && fsync(fd) < 0)
		failf("fsync: %s", strerror(errno));
}

static void op_slot(struct lane *l, int kind, uint64_t *rnd)
{
	uint32_t idx = (uint32_t)(mrand(rnd) % (kind == K_SLOT ? SLOTS : BSLOTS));
	uint64_t t = atomic_fetch_add(&sh->ticket, 1) + 1;
	size_t len = kind == K_SLOT ? SREC : BREC;
	uint8_t small[SREC], *buf = kind == K_SLOT ? small : bigbuf;
	int fd = kind == K_SLOT ? fd_small : fd_big;

	krec_make(buf, len, (uint32_t)me, idx, t);
	begin(l, (uint32_t)kind, idx, t);
	if (pwrite(fd, buf, len, slot_off(kind, idx)) != (ssize_t)len) {
		failf("pwrite %s %u: %s", kind_name[kind], idx, strerror(errno));
		exit(4);
	}
	maybe_fsync(fd, rnd);
	end(l);
}

static void op_append(struct lane *l, uint64_t *rnd)
{
	uint8_t buf[2048];
	uint32_t len = 32 + 8 * (uint32_t)(mrand(rnd) % 250);
	uint64_t seq = l->app_next, hv;
	uint32_t h[4] = { KAPP_MAGIC, len, (uint32_t)me, 0 };

	if (seq >= APP_MAX)
		return;
	memcpy(buf, h, 16);
	memcpy(buf + 16, &seq, 8);
	mfill(buf + 24, len - 32, ((uint64_t)me << 40) ^ seq);
	hv = mhash(buf, len - 8);
	memcpy(buf + len - 8, &hv, 8);
	l->app_next = seq + 1; /* never reused, whatever happens to this one */
	begin(l, K_APPEND, 0, seq);
	if (write(fd_app, buf, len) != (ssize_t)len) {
		failf("O_APPEND write: %s", strerror(errno));
		exit(4);
	}
	maybe_fsync(fd_app, rnd);
	end(l);
}

static void op_name(struct lane *l, uint64_t *rnd)
{
	uint32_t idx = (uint32_t)(mrand(rnd) % NAMES);
	uint64_t t = atomic_fetch_add(&sh->ticket, 1) + 1;
	char p[64], tmp[64];
	uint8_t buf[SREC];
	int fd;

	name_path(p, sizeof(p), me, "n", idx);
	if (l->name[idx] && mrand(rnd) % 3 == 0) {
		begin(l, K_NAME, idx, 0);
		if (unlink(p) < 0) {
			failf("unlink %s (acknowledged as present): %s", p, strerror(errno));
			exit(4);
		}
		end(l);
		return;
	}
	/* the temporary is not in the model: a kill may leave it, partial */
	name_path(tmp, sizeof(tmp), me, "t", t);
	krec_make(buf, SREC, (uint32_t)me, 100 + idx, t);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0 || write(fd, buf, SREC) != SREC) {
		failf("create %s: %s", tmp, strerror(errno));
		exit(4);
	}
	maybe_fsync(fd, rnd);
	close(fd);
	begin(l, K_NAME, idx, t);
	if (rename(tmp, p) < 0) {
		failf("rename %s %s: %s", tmp, p, strerror(errno));
		exit(4);
	}
	end(l);
}

static void op_dir(struct lane *l, uint64_t *rnd)
{
	uint32_t idx = (uint32_t)(mrand(rnd) % NAMES);
	char p[64];
	int r;

	name_path(p, sizeof(p), me, "d", idx);
	begin(l, K_DIR, idx, !l->dir[idx]);
	r = l->dir[idx] ? rmdir(p) : mkdir(p, 0755);
	if (r < 0) {
		failf("%s %s (acknowledged %s): %s", l->dir[idx] ? "rmdir" : "mkdir", p,
		      l->dir[idx] ? "present" : "absent", strerror(errno));
		exit(4);
	}
	end(l);
}

static _Noreturn void role_lane(uint64_t seed)
{
	struct lane *l = &sh->lane[me];
	uint64_t rnd = seed;

	atomic_fetch_add(&l->starts, 1);
	open_files();
	settle(l);
	for (;;) {
		unsigned pick = (unsigned)(mrand(&rnd) % 100);

		if (pick < 35)
			op_slot(l, K_SLOT, &rnd);
		else if (pick < 45)
			op_slot(l, K_BIG, &rnd);
		else if (pick < 70)
			op_append(l, &rnd);
		else if (pick < 90)
			op_name(l, &rnd);
		else
			op_dir(l, &rnd);
	}
}

static int role_setup(int lanes)
{
	uint8_t small[SREC];
	int fd;

	if (mkdir("/umfs/k", 0755) || mkdir("/umfs/k/ns", 0755))
		return 3;
	fd = open("/umfs/k/app", O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return 3;
	close(fd);
	fd_small = open("/umfs/k/small", O_CREAT | O_RDWR, 0644);
	fd_big = open("/umfs/k/big", O_CREAT | O_RDWR, 0644);
	if (fd_small < 0 || fd_big < 0)
		return 3;
	for (me = 0; me < lanes; me++) {
		struct lane *l = &sh->lane[me];

		for (uint32_t i = 0; i < SLOTS; i++) {
			l->slot[i] = atomic_fetch_add(&sh->ticket, 1) + 1;
			krec_make(small, SREC, (uint32_t)me, i, l->slot[i]);
			if (pwrite(fd_small, small, SREC, slot_off(K_SLOT, i)) != SREC)
				return 3;
		}
		for (uint32_t i = 0; i < BSLOTS; i++) {
			l->big[i] = atomic_fetch_add(&sh->ticket, 1) + 1;
			krec_make(bigbuf, BREC, (uint32_t)me, i, l->big[i]);
			if (pwrite(fd_big, bigbuf, BREC, slot_off(K_BIG, i)) != BREC)
				return 3;
		}
	}
	return fsync(fd_small) || fsync(fd_big) ? 3 : 0;
}

/* Everything against the acknowledged state, after the last kill. */
static int role_check(int lanes)
{
	static uint8_t buf[1 << 16];
	uint64_t pos = 0, next[LANES] = { 0 };
	size_t keep = 0;
	struct stat st;
	unsigned counted = 0;

	open_files();
	for (me = 0; me < lanes; me++) {
		struct lane *l = &sh->lane[me];

		settle(l);
		for (uint32_t i = 0; i < SLOTS; i++)
			if (observe_slot(K_SLOT, i) != l->slot[i])
				failf("small record %u: want ticket %llu, pool has %llu (~0: torn)", i,
				      (unsigned long long)l->slot[i],
				      (unsigned long long)observe_slot(K_SLOT, i));
		for (uint32_t i = 0; i < BSLOTS; i++)
			if (observe_slot(K_BIG, i) != l->big[i])
				failf("large record %u: want ticket %llu, pool has %llu (~0: torn)", i,
				      (unsigned long long)l->big[i],
				      (unsigned long long)observe_slot(K_BIG, i));
		for (uint32_t i = 0; i < NAMES; i++) {
			if (observe_name(i) != l->name[i])
				failf("name n%u: want %llu, pool has %llu (0 absent, ~0 torn)", i,
				      (unsigned long long)l->name[i],
				      (unsigned long long)observe_name(i));
			if (observe_dir(i) != l->dir[i])
				failf("directory d%u: want %s", i, l->dir[i] ? "present" : "absent");
		}
	}
	/* the append file: whole records only, each lane's in order */
	me = -1;
	if (fstat(fd_app, &st) < 0)
		return 3;
	int fdr = open("/umfs/k/app", O_RDONLY);

	while (pos + keep < (uint64_t)st.st_size) {
		size_t want = sizeof(buf) - keep, p = 0;
		ssize_t n;

		if (want > (uint64_t)st.st_size - pos - keep)
			want = (size_t)((uint64_t)st.st_size - pos - keep);
		n = pread(fdr, buf + keep, want, (off_t)(pos + keep));
		if (n != (ssize_t)want) {
			failf("pread append file: %zd of %zu", n, want);
			return 1;
		}
		keep += (size_t)n;
		while (p + 24 <= keep) {
			uint32_t h[4];
			uint64_t seq, hv;
			uint8_t want_b[2048];

			memcpy(h, buf + p, 16);
			memcpy(&seq, buf + p + 16, 8);
			if (h[0] != KAPP_MAGIC || h[1] < 32 || h[1] > 2048 || h[1] % 8 || h[2] >= (uint32_t)lanes) {
				failf("append file at %llu: garbage (torn or overlapping appends)",
				      (unsigned long long)(pos + p));
				return 1;
			}
			if (p + h[1] > keep)
				break;
			memcpy(&hv, buf + p + h[1] - 8, 8);
			mfill(want_b, h[1] - 32, ((uint64_t)h[2] << 40) ^ seq);
			if (hv != mhash(buf + p, h[1] - 8) || memcmp(want_b, buf + p + 24, h[1] - 32)) {
				failf("append file at %llu: record of lane %u seq %llu damaged",
				      (unsigned long long)(pos + p), h[2], (unsigned long long)seq);
				return 1;
			}
			struct lane *l = &sh->lane[h[2]];

			if (seq < next[h[2]] || seq >= APP_MAX) {
				failf("append file at %llu: lane %u seq %llu again or out of order",
				      (unsigned long long)(pos + p), h[2], (unsigned long long)seq);
				return 1;
			}
			for (uint64_t s = next[h[2]]; s < seq; s++)
				if (bit(l->app_acked, s))
					failf("lane %u: acknowledged append %llu lost", h[2],
					      (unsigned long long)s);
			if (!bit(l->app_acked, seq) && !bit(l->app_maybe, seq))
				failf("lane %u: append %llu present but never attempted", h[2],
				      (unsigned long long)seq);
			next[h[2]] = seq + 1;
			counted++;
			p += h[1];
		}
		memmove(buf, buf + p, keep - p);
		keep -= p;
		pos += p;
	}
	if (keep)
		failf("append file: %zu bytes of a partial record at the end", keep);
	for (int w = 0; w < lanes; w++)
		for (uint64_t s = next[w]; s < sh->lane[w].app_next && s < APP_MAX; s++)
			if (bit(sh->lane[w].app_acked, s))
				failf("lane %d: acknowledged append %llu lost (after the last one present)",
				      w, (unsigned long long)s);
	/* the shared directory: only names of the model and temporaries */
	DIR *d = opendir("/umfs/k/ns");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		int lane;
		unsigned long long i;
		char k, x;

		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    (sscanf(e->d_name, "L%d%c%llu%c", &lane, &k, &i, &x) != 3 || lane >= lanes ||
		     (k != 'n' && k != 'd' && k != 't')))
			failf("/umfs/k/ns: unexpected entry %s", e->d_name);
	}
	if (d)
		closedir(d);
	printf("check: %u appended records parsed, %lld bytes\n", counted, (long long)st.st_size);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The killer (not under the library)                                   */
/* ------------------------------------------------------------------ */

static const char *lib, *pool, *shm_path;

static pid_t start_lane(int lane, uint64_t seed)
{
	char a[16], s[24];

	snprintf(a, sizeof(a), "%d", lane);
	snprintf(s, sizeof(s), "%llu", (unsigned long long)seed);
	char *argv[] = { "multi_kill", "--role", "lane", (char *)shm_path, a, s, NULL };

	return spawn_shim(lib, pool, argv);
}

static int run_role(const char *role, int lanes, unsigned secs)
{
	char a[16];

	snprintf(a, sizeof(a), "%d", lanes);
	char *argv[] = { "multi_kill", "--role", (char *)role, (char *)shm_path, a, "0", NULL };

	return run_shim_role(lib, pool, argv, role, secs);
}

/* Reaps a lane killed by us; false (and a message) if it died otherwise. */
static bool reap(pid_t pid, int lane)
{
	int st;

	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		return true;
	fprintf(stderr, "FAIL lane %d (pid %d) ended by itself: %s %d\n", lane, pid,
		WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	atomic_fetch_add(&sh->failures, 1);
	return false;
}

int main(int argc, char **argv)
{
	unsigned kills = 150, lanes = 3, k = 0;
	uint64_t seed = (uint64_t)time(NULL), rnd, t0, ops = 0;
	pid_t pids[LANES];
	char path[128];
	int opt, bad = 0;

	if (argc >= 6 && !strcmp(argv[1], "--role")) {
		sh = shm_map(argv[3], 0);
		if (!strcmp(argv[2], "setup"))
			return role_setup(atoi(argv[4]));
		if (!strcmp(argv[2], "check"))
			return role_check(atoi(argv[4]));
		if (!strcmp(argv[2], "lane")) {
			me = atoi(argv[4]);
			role_lane(strtoull(argv[5], NULL, 0) | 1);
		}
		return 2;
	}
	while ((opt = getopt(argc, argv, "l:p:k:w:s:")) != -1) {
		switch (opt) {
		case 'l': lib = optarg; break;
		case 'p': pool = optarg; break;
		case 'k': kills = (unsigned)atoi(optarg); break;
		case 'w': lanes = (unsigned)atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: multi_kill -l LIBUMFS -p POOL [-k KILLS] [-w LANES] "
				"[-s SEED]\n");
			return 2;
		}
	}
	if (!lib || !pool || lanes < 1 || lanes > LANES) {
		fprintf(stderr, "multi_kill: -l and -p are required, 1 <= LANES <= %d\n", LANES);
		return 2;
	}
	rnd = seed;
	snprintf(path, sizeof(path), "/dev/shm/multi-kill-%d.shm", getpid());
	shm_path = path;
	sh = shm_map(path, sizeof(*sh));
	printf("multi_kill: %u lanes, %u kills, seed %llu\n", lanes, kills,
	       (unsigned long long)seed);
	fflush(stdout);
	if (run_role("setup", (int)lanes, 60)) {
		unlink(path);
		return 1;
	}
	t0 = now_ns();
	for (unsigned w = 0; w < lanes; w++)
		pids[w] = start_lane((int)w, mrand(&rnd));
	while (k < kills) {
		unsigned w = (unsigned)(mrand(&rnd) % lanes);
		/* mostly a few ms (in the middle of operations), sometimes at once
		 * (in the start-up and the settling of the previous kill) */
		unsigned pick = (unsigned)(mrand(&rnd) % 10);
		unsigned us = pick < 2 ? (unsigned)(mrand(&rnd) % 500) : 1000 + (unsigned)(mrand(&rnd) % 25000);
		struct timespec ts = { 0, (long)us * 1000 };

		nanosleep(&ts, NULL);
		kill(pids[w], SIGKILL);
		if (!reap(pids[w], (int)w)) {
			bad = 1;
			break;
		}
		k++;
		pids[w] = start_lane((int)w, mrand(&rnd));
	}
	for (unsigned w = 0; w < lanes; w++) {
		kill(pids[w], SIGKILL);
		bad |= !reap(pids[w], (int)w);
	}
	k += lanes;
	double secs = (double)(now_ns() - t0) / 1e9;

	/* after everything: the checker, then every lane once more, alive */
	bad |= run_role("check", (int)lanes, 120);
	for (unsigned w = 0; w < lanes; w++)
		ops += atomic_load(&sh->lane[w].ops);
	uint64_t before[LANES];

	for (unsigned w = 0; w < lanes; w++) {
		before[w] = atomic_load(&sh->lane[w].ops);
		pids[w] = start_lane((int)w, mrand(&rnd));
	}
	uint64_t deadline = now_ns() + 30ull * 1000000000ull;
	bool moving = false;

	while (!moving && now_ns() < deadline) {
		sleep_ms(50);
		moving = true;
		for (unsigned w = 0; w < lanes; w++)
			moving &= atomic_load(&sh->lane[w].ops) > before[w] + 5;
	}
	for (unsigned w = 0; w < lanes; w++) {
		kill(pids[w], SIGKILL);
		bad |= !reap(pids[w], (int)w);
	}
	if (!moving) {
		fprintf(stderr, "FAIL after the kills, fresh lanes made no progress in 30 s (wedged)\n");
		bad = 1;
	}
	bad |= run_role("check", (int)lanes, 120);
	uint64_t failures = atomic_load(&sh->failures);

	printf("kills survived: %u in %.1f s; %llu operations acknowledged; failures: %llu\n", k,
	       secs, (unsigned long long)ops, (unsigned long long)failures);
	munmap(sh, sizeof(*sh));
	unlink(path);
	return bad || failures ? 1 : 0;
}
