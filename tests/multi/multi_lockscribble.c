/* SPDX-License-Identifier: MIT */
/*
 * multi_lockscribble.c - lock waits while another process writes garbage
 * into the record lock table. The table is in the lock region (the file
 * "lock" of the pool's runtime directory), which every user of the pool
 * can write, so the library reads it as untrusted memory (docs/security.md,
 * "The record lock table"; docs/sharing.md, "Advisory locks", "Waits"):
 * indexes checked, walks bounded, a damaged table rebuilt, an owner asked
 * of the kernel before anyone waits for it, a waiter looking again every
 * 20 ms. Whatever is written there, then, no user of the pool may die of a
 * signal, and no wait may outlast the holder and the writer by long.
 *
 * The driver (not under the library) starts, each a fresh program (this
 * binary again, under the library unless LIB is "-"):
 *   the holder    an fcntl write lock on DIR/f [0,100), an OFD write lock
 *                 on DIR/f [200,300) and flock LOCK_EX on DIR/g; it holds
 *                 them HOLD_MS, unlocks them and exits;
 *   3 waiters     meanwhile blocked in F_SETLKW, F_OFD_SETLKW and a
 *                 blocking flock on those ranges;
 *   the scribbler a plain program, optionally of another user (setpriv),
 *                 writing into the region for SCRIB_MS while they wait,
 *                 each write logged (LOG), in one MODE:
 *                   random  random bytes at random offsets past page 0
 *                   flip    one bit flipped at random offsets past page 0
 *                   ff      runs of 0xff past page 0
 *                   copy    one part of the region copied over another
 *                   hot     the words other processes changed since before
 *                           the holder locked (the records, list heads,
 *                           counts, waiter entries, lock words), anywhere:
 *                           garbage, bit flips, 0xff, 0, indexes near the
 *                           table's bounds, another hot word
 *                   whole   the header's magic first, then all of the
 *                           above over the whole file, half in page 0;
 *                 but no write that leaves a word naming a live process
 *                 with an unknown stamp (high half 0: pid 1, say): the
 *                 library rightly takes such a forged range for that
 *                 process's lock (docs/sharing.md), which would outlive
 *                 the run;
 *   probes        fresh programs asking whether a lock a waiter says it
 *                 got is seen: F_GETLK, F_OFD_GETLK, flock LOCK_NB.
 * It checks that nothing dies of a signal; that every wait ends within
 * 15 s of the later of the scribbler's end and the holder's exit, with the
 * lock or with a documented errno (printed as "# errno KIND NAME"); and
 * that a lock got once the scribbler stopped is seen by another process (a
 * lock got while it wrote may be lost to it, as may the holder's: that is
 * noted, not failed: any user of the pool may forge or drop locks). A
 * keeper holds the pool open meanwhile, so that a second round without the
 * scribbler ("after:") meets the table as it was left, still in use (with
 * the header damaged, the keeper leaves first: nobody may come in before
 * all left, and the region is rebuilt): there every wait must end with its
 * lock at the release, seen by others, as the kernel's. With MODE none only
 * that round runs: on tmpfs without the library it is the reference.
 *
 *   multi_lockscribble run DIR LIB POOL MODE SEED HOLD_MS SCRIB_MS LOG UID
 *       POOL: the pool file, to find the region ("-" with MODE none);
 *       UID: the scribbler's user (0: this one's), with group UID
 *   multi_lockscribble take DIR
 *       (under the library) each kind taken, refused to another process,
 *       released and then granted to it, all within 5 s
 */
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>

#include "multi_common.h"

enum kind { K_POSIX, K_OFD, K_FLOCK, K_N };
static const char *const kind_name[K_N] = { "posix", "ofd", "flock" };

#define SEC 1000000000ull
#define QUIET_BOUND (15 * SEC) /* a wait's end after the writer and the holder */
#define RUN_BOUND (90 * SEC)   /* the whole run */
#define PAGE 4096u

static int failures;
static const char *phase = ""; /* before each message of the driver's */

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

#define FAILED(...) (failures++, printf("FAIL %s", phase), say(__VA_ARGS__))
#define PASSED(...) (printf("ok   %s", phase), say(__VA_ARGS__))
#define NOTE(...) (printf("# %s", phase), say(__VA_ARGS__))

/* The error's name (the C library knows them), or its number. */
static const char *err_name(int e)
{
	static char buf[16];
	const char *name = strerrorname_np(e);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Locks, as each role takes them                                       */
/* ------------------------------------------------------------------ */

static const char *kind_file(enum kind k) { return k == K_FLOCK ? "g" : "f"; }

static int open_in(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDWR);
}

static int setlk(int fd, int cmd, short type, off_t start)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = 100 };

	return fcntl(fd, cmd, &fl);
}

/* Kind k taken (blocking, or not) or released: 0 or an errno. */
static int lock_kind(int fd, enum kind k, bool wait, bool unlock)
{
	int r;

	if (k == K_POSIX)
		r = setlk(fd, wait ? F_SETLKW : F_SETLK, unlock ? F_UNLCK : F_WRLCK, 0);
	else if (k == K_OFD)
		r = setlk(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, unlock ? F_UNLCK : F_WRLCK, 200);
	else
		r = flock(fd, unlock ? LOCK_UN : wait ? LOCK_EX : LOCK_EX | LOCK_NB);
	return r < 0 ? errno : 0;
}

/* A line from the driver on stdin; false at its end. */
static bool command(char *line, size_t n)
{
	return fgets(line, (int)n, stdin) != NULL;
}

/* ------------------------------------------------------------------ */
/* The holder, the waiters, the probes, the recovery check              */
/* ------------------------------------------------------------------ */

static int holder_main(const char *dir)
{
	int fd = open_in(dir, "f"), gfd = open_in(dir, "g"), err;
	int fds[K_N] = { fd, fd, gfd };
	char line[64], errs[128] = "";
	unsigned ms;

	if (fd < 0 || gfd < 0) {
		say("openerr %d", errno);
		return 3;
	}
	say("mounted");
	if (!command(line, sizeof(line)) || strncmp(line, "lock", 4))
		return 5;
	for (int k = 0; k < K_N; k++)
		if ((err = lock_kind(fds[k], (enum kind)k, false, false))) {
			say("lockerr %s %s", kind_name[k], err_name(err));
			return 3;
		}
	say("locked");
	if (!command(line, sizeof(line)) || sscanf(line, "hold %u", &ms) != 1)
		return 5;
	sleep_ms(ms);
	uint64_t t = now_ns();
	for (int k = 0; k < K_N; k++)
		if ((err = lock_kind(fds[k], (enum kind)k, false, true)))
			snprintf(errs + strlen(errs), sizeof(errs) - strlen(errs), " %s:%s",
				 kind_name[k], err_name(err));
	say("released %llu%s", (unsigned long long)t, errs);
	return 0;
}

static int waiter_main(const char *dir, enum kind k)
{
	int fd = open_in(dir, kind_file(k)), err;
	char line[64];

	if (fd < 0) {
		say("openerr %d", errno);
		return 3;
	}
	say("ready");
	err = lock_kind(fd, k, true, false);
	if (err)
		say("err %d %llu", err, (unsigned long long)now_ns());
	else
		say("got %llu", (unsigned long long)now_ns());
	/* holds it until the driver has had it probed */
	while (command(line, sizeof(line)) && strncmp(line, "exit", 4))
		;
	return 0;
}

/* "held PID", "free", "openerr ERRNO" or "err ERRNO" */
static int probe_main(const char *dir, enum kind k)
{
	int fd = open_in(dir, kind_file(k));
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = k == K_OFD ? 200 : 0, .l_len = 100 };

	if (fd < 0) {
		say("openerr %d", errno);
		return 0;
	}
	if (k == K_FLOCK) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			say("free");
		else if (errno == EWOULDBLOCK)
			say("held 0"); /* flock names no holder */
		else
			say("err %d", errno);
		return 0;
	}
	if (fcntl(fd, k == K_OFD ? F_OFD_GETLK : F_GETLK, &fl) < 0)
		say("err %d", errno);
	else if (fl.l_type == F_UNLCK)
		say("free");
	else
		say("held %d", (int)fl.l_pid);
	return 0;
}

/* A forked child's non-blocking try of kind k with a description of its
 * own: 0 granted, 1 refused as a conflict, 2 another error. */
static int child_try(const char *dir, enum kind k)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open_in(dir, kind_file(k)), err;

		if (fd < 0)
			_exit(2);
		err = lock_kind(fd, k, false, false);
		_exit(!err ? 0 : err == EAGAIN || err == EACCES ? 1 : 2);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 2;
	return WEXITSTATUS(st);
}

/* Each kind taken (waiting if need be), seen by another process, released,
 * and then granted to another process: the table serves, within 5 s. */
static int take_main(const char *dir)
{
	int fds[K_N], err;
	uint64_t t0 = now_ns();
	long ms;

	fds[K_POSIX] = fds[K_OFD] = open_in(dir, "f");
	fds[K_FLOCK] = open_in(dir, "g");
	if (fds[K_POSIX] < 0 || fds[K_FLOCK] < 0) {
		FAILED("take: open in %s: %s", dir, err_name(errno));
		return 1;
	}
	for (int k = 0; k < K_N; k++) {
		uint64_t t = now_ns();
		int held = -1, after = -1;

		err = lock_kind(fds[k], (enum kind)k, true, false);
		if (!err) {
			held = child_try(dir, (enum kind)k);
			err = lock_kind(fds[k], (enum kind)k, false, true);
			after = child_try(dir, (enum kind)k);
		}
		ms = (long)((now_ns() - t) / 1000000);
		if (err || held != 1 || after != 0)
			FAILED("take: %s: %s; another process's try while held %s, after the release "
			       "%s (%ld ms)", kind_name[k], err ? err_name(err) : "taken and released",
			       held == 1 ? "refused" : held == 0 ? "GRANTED" : "failed",
			       after == 0 ? "granted" : after == 1 ? "REFUSED" : "failed", ms);
		else
			PASSED("take: %s taken, seen by another process, released, then granted to it "
			       "(%ld ms)", kind_name[k], ms);
	}
	ms = (long)((now_ns() - t0) / 1000000);
	if (ms > 5000)
		FAILED("take: took %ld ms, more than 5 s", ms);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* The scribbler                                                        */
/* ------------------------------------------------------------------ */

enum mode { M_NONE, M_RANDOM, M_FLIP, M_FF, M_COPY, M_HOT, M_WHOLE, M_N };
static const char *const mode_name[M_N] = { "none", "random", "flip", "ff", "copy", "hot", "whole" };

struct scribbler {
	int fd;
	size_t size;
	uint64_t rng;
	uint8_t *shadow;   /* the region at the last look, with our writes */
	uint8_t *look;     /* scratch */
	uint8_t *is_hot;   /* a byte per 8-byte word others changed */
	uint32_t *hot;     /* those words */
	size_t nhot;
	FILE *log;
	uint64_t t0;
	unsigned long writes, skipped;
	bool cut;          /* the region changed size: stop */
};

static uint64_t rnd(struct scribbler *s, uint64_t n) { return n ? mrand(&s->rng) % n : 0; }

static bool read_all(int fd, uint8_t *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = pread(fd, p + done, n - done, (off_t)done);

		if (r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

/* Words that differ from the shadow were changed by others: hot. */
static void scr_look(struct scribbler *s)
{
	struct stat st;
	uint8_t *t;

	if (fstat(s->fd, &st) < 0 || (size_t)st.st_size != s->size || !read_all(s->fd, s->look, s->size)) {
		fprintf(s->log, "%.3f region now %lld bytes: stop\n",
			(double)(now_ns() - s->t0) / 1e9, (long long)st.st_size);
		s->cut = true;
		return;
	}
	for (size_t w = 0; w < s->size / 8; w++)
		if (!s->is_hot[w] && memcmp(s->look + w * 8, s->shadow + w * 8, 8)) {
			s->is_hot[w] = 1;
			s->hot[s->nhot++] = (uint32_t)w;
		}
	t = s->shadow;
	s->shadow = s->look;
	s->look = t;
}

/* Whether word w names a live process, its stamp unknown (0): a range of
 * such an owner the library takes for that process's lock, as documented
 * (a forged range naming a live owner is waited for, as the kernel would
 * wait for that owner's), and with pid 1 it would outlive the run. */
static bool names_live(uint64_t w)
{
	uint32_t pid = (uint32_t)w;

	return w >> 32 == 0 && pid > 0 && pid < (1u << 22) &&
	       (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Whether writing b at off would leave such a word (as a record's owner or
 * host) in the region: the one thing the scribbler does not write. */
static bool forges_live_owner(struct scribbler *s, size_t off, const uint8_t *b, size_t len)
{
	size_t lo = off & ~(size_t)7, hi = (off + len + 7) & ~(size_t)7;
	uint8_t win[512 + 16];
	uint64_t w;

	if (hi - lo > sizeof(win) || pread(s->fd, win, hi - lo, (off_t)lo) != (ssize_t)(hi - lo))
		return true;
	memcpy(win + (off - lo), b, len);
	for (size_t i = 0; i < hi - lo; i += 8) {
		memcpy(&w, win + i, 8);
		if (names_live(w))
			return true;
	}
	return false;
}

static void scr_put(struct scribbler *s, size_t off, const uint8_t *b, size_t len, const char *what)
{
	if (off >= s->size)
		return;
	if (len > s->size - off)
		len = s->size - off;
	if (forges_live_owner(s, off, b, len)) {
		s->skipped++;
		return;
	}
	if (pwrite(s->fd, b, len, (off_t)off) != (ssize_t)len)
		return;
	memcpy(s->shadow + off, b, len);
	s->writes++;
	fprintf(s->log, "%.3f %s %zu+%zu", (double)(now_ns() - s->t0) / 1e9, what, off, len);
	for (size_t i = 0; i < len && i < 16; i++)
		fprintf(s->log, i ? "%02x" : " %02x", b[i]);
	fputc('\n', s->log);
}

/* An offset in [lo, hi) where len bytes fit. */
static size_t scr_offset(struct scribbler *s, size_t lo, size_t hi, size_t len)
{
	return lo + len >= hi ? lo : lo + rnd(s, hi - len - lo);
}

static void scr_random(struct scribbler *s, size_t lo, size_t hi)
{
	uint8_t b[16];
	size_t len = 1 + rnd(s, sizeof(b));

	mfill(b, len, mrand(&s->rng));
	scr_put(s, scr_offset(s, lo, hi, len), b, len, "random");
}

static void scr_flip(struct scribbler *s, size_t lo, size_t hi)
{
	size_t off = scr_offset(s, lo, hi, 1);
	uint8_t b;

	if (pread(s->fd, &b, 1, (off_t)off) != 1)
		return;
	b ^= (uint8_t)(1u << rnd(s, 8));
	scr_put(s, off, &b, 1, "flip");
}

static void scr_ff(struct scribbler *s, size_t lo, size_t hi)
{
	uint8_t b[64];
	size_t len = 1 + rnd(s, sizeof(b));

	memset(b, 0xff, sizeof(b));
	scr_put(s, scr_offset(s, lo, hi, len), b, len, "ff");
}

static void scr_copy(struct scribbler *s, size_t lo, size_t hi)
{
	uint8_t b[512];
	size_t len = 8 + rnd(s, sizeof(b) - 8), from = scr_offset(s, lo, hi, len);

	if (pread(s->fd, b, len, (off_t)from) != (ssize_t)len)
		return;
	scr_put(s, scr_offset(s, lo, hi, len), b, len, "copy");
}

/* A hot word, or half of one, rewritten. */
static void scr_hot(struct scribbler *s)
{
	/* indexes at and past the table's ends, and other nasty values */
	static const uint32_t nasty[] = { 0, 1, 2, 3, 255, 256, 257, 1023, 1024, 1025, 8191,
					  8192, 8193, 8194, 65535, 65536, 0x7fffffff, 0x80000000,
					  0xfffffffe, 0xffffffff };
	uint8_t b[8];
	size_t off, len = 8;
	const char *what = "hot";

	if (s->nhot == 0) {
		scr_random(s, PAGE, s->size);
		return;
	}
	off = (size_t)s->hot[rnd(s, s->nhot)] * 8;
	switch (rnd(s, 6)) {
	case 0:
		mfill(b, 8, mrand(&s->rng));
		break;
	case 1:
		if (pread(s->fd, b, 8, (off_t)off) != 8)
			return;
		b[rnd(s, 8)] ^= (uint8_t)(1u << rnd(s, 8));
		what = "hot-flip";
		break;
	case 2:
		memset(b, 0xff, 8);
		what = "hot-ff";
		break;
	case 3:
		memset(b, 0, 8);
		what = "hot-zero";
		break;
	case 4:
		if (pread(s->fd, b, 8, (off_t)s->hot[rnd(s, s->nhot)] * 8) != 8)
			return;
		what = "hot-copy";
		break;
	default: {
		uint32_t v = nasty[rnd(s, ARRAY_LEN(nasty))];

		memcpy(b, &v, 4);
		off += 4 * rnd(s, 2);
		len = 4;
		what = "hot-index";
	}
	}
	scr_put(s, off, b, len, what);
}

/* One write of mode m: past page 0, but for "whole": there anywhere, and
 * half of its writes other than "hot" ones in page 0 (the header, the
 * table's lock word, counts and first list heads). */
static void scr_one(struct scribbler *s, enum mode m)
{
	size_t lo = PAGE, hi = s->size;

	if (m == M_WHOLE) {
		m = (enum mode)(M_RANDOM + rnd(s, M_HOT - M_RANDOM + 1));
		lo = 0;
		if (m != M_HOT && rnd(s, 2))
			hi = PAGE;
	}
	switch (m) {
	case M_RANDOM: scr_random(s, lo, hi); break;
	case M_FLIP: scr_flip(s, lo, hi); break;
	case M_FF: scr_ff(s, lo, hi); break;
	case M_COPY: scr_copy(s, lo, hi); break;
	case M_HOT: scr_hot(s); break;
	default: break;
	}
}

/* The region at path, mapped by nobody here: pread and pwrite only, so
 * that a region cut by its last user stops us rather than killing us.
 * stdin: "go MS"; stdout: "baseline" once the shadow is taken, "done T N"
 * at the end; every write logged on fd 3. */
static int scribble_main(const char *path, const char *mode, uint64_t seed)
{
	struct scribbler s = { .rng = seed * 0x9E3779B97F4A7C15ull + 1 };
	enum mode m = M_NONE;
	struct stat st;
	char line[64];
	unsigned ms;

	for (int i = 0; i < M_N; i++)
		if (!strcmp(mode, mode_name[i]))
			m = (enum mode)i;
	s.log = fdopen(3, "w");
	s.fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (s.fd < 0 || fstat(s.fd, &st) < 0) {
		say("openerr %d", errno);
		return 3;
	}
	s.size = (size_t)st.st_size & ~(size_t)7;
	s.shadow = malloc(s.size);
	s.look = malloc(s.size);
	s.is_hot = calloc(s.size / 8, 1);
	s.hot = calloc(s.size / 8, sizeof(*s.hot));
	if (!s.log || !s.shadow || !s.look || !s.is_hot || !s.hot || m == M_NONE || s.size < 2 * PAGE ||
	    !read_all(s.fd, s.shadow, s.size)) {
		say("setup failed: %s", strerror(errno));
		return 3;
	}
	fprintf(s.log, "# %s, %zu bytes, mode %s, seed %llu, uid %d\n", path, s.size, mode,
		(unsigned long long)seed, (int)getuid());
	say("baseline");
	if (!command(line, sizeof(line)) || sscanf(line, "go %u", &ms) != 1)
		return 5;
	s.t0 = now_ns();
	scr_look(&s); /* what the holder and the waiters wrote since: hot */
	fprintf(s.log, "# %zu hot words\n", s.nhot);
	if (m == M_WHOLE) {
		uint8_t magic[16];

		mfill(magic, sizeof(magic), seed);
		scr_put(&s, 0, magic, sizeof(magic), "header");
	}
	for (uint64_t next_look = s.t0; !s.cut && now_ns() - s.t0 < (uint64_t)ms * 1000000ull;) {
		if (now_ns() >= next_look) {
			scr_look(&s);
			next_look = now_ns() + 50000000ull;
		}
		scr_one(&s, m);
		usleep((useconds_t)(200 + rnd(&s, 600)));
	}
	fprintf(s.log, "# %lu writes, %zu hot words, %lu writes left out: they named a live "
		"process with no stamp\n", s.writes, s.nhot, s.skipped);
	fflush(s.log);
	say("done %llu %lu %lu", (unsigned long long)now_ns(), s.writes, s.skipped);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The driver: processes and their lines                                */
/* ------------------------------------------------------------------ */

struct proc {
	char name[32];
	pid_t pid;
	int to, from; /* its stdin, its stdout */
	char buf[512];
	size_t len;
	bool eof, reaped, killed, checked;
	int status;
	uint64_t exit_ns;
};

static char self[4096];
static const char *lib, *pool;

/* Starts this binary with args; under the library unless lib is "-" or
 * as_user is set (the scribbler: through setpriv, log on fd 3). */
static void spawn(struct proc *p, const char *name, bool shim, const char *const args[],
		  unsigned as_user, int log_fd)
{
	int in[2], out[2];
	char u[32], g[32];
	const char *argv[16];
	int n = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		perror("pipe");
		exit(2);
	}
	if (as_user) {
		snprintf(u, sizeof(u), "--reuid=%u", as_user);
		snprintf(g, sizeof(g), "--regid=%u", as_user);
		argv[n++] = "setpriv";
		argv[n++] = u;
		argv[n++] = g;
		argv[n++] = "--clear-groups";
		argv[n++] = "--";
	}
	argv[n++] = self;
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	p->pid = fork();
	if (p->pid < 0) {
		perror("fork");
		exit(2);
	}
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (log_fd == 3)
			fcntl(3, F_SETFD, 0);
		else if (log_fd >= 0)
			dup2(log_fd, 3);
		if (shim && strcmp(lib, "-")) {
			setenv("LD_PRELOAD", lib, 1);
			setenv("UMFS_POOL", pool, 1);
			setenv("UMFS_MOUNT", "/umfs", 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		execvp(argv[0], (char *const *)argv);
		perror(argv[0]);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->to = in[1];
	p->from = out[0];
	fcntl(p->from, F_SETFL, O_NONBLOCK);
}

static void tell(struct proc *p, const char *fmt, ...)
{
	char line[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	if (!p->reaped && p->to >= 0)
		(void)!write(p->to, line, strlen(line));
}

/* A complete line of p's, if there is one: 1; 0 none yet; -1 its end. */
static int line_of(struct proc *p, char *line, size_t n)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		ssize_t r;

		if (nl || p->len == sizeof(p->buf) - 1) {
			size_t k = nl ? (size_t)(nl - p->buf) : p->len;

			snprintf(line, n, "%.*s", (int)k, p->buf);
			p->len -= nl ? k + 1 : k;
			memmove(p->buf, p->buf + (nl ? k + 1 : k), p->len);
			return 1;
		}
		if (p->eof)
			return -1;
		r = read(p->from, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
		if (r > 0)
			p->len += (size_t)r;
		else if (r == 0)
			p->eof = true;
		else
			return 0;
	}
}

/* p's next line within secs: false (and a failure) when none came. */
static bool expect(struct proc *p, const char *want, char *line, size_t n, unsigned secs)
{
	uint64_t end = now_ns() + secs * SEC;
	int r;

	while ((r = line_of(p, line, n)) == 0 && now_ns() < end) {
		struct pollfd pf = { .fd = p->from, .events = POLLIN };

		poll(&pf, 1, 10);
	}
	if (r == 1 && !strncmp(line, want, strlen(want)))
		return true;
	FAILED("%s: expected \"%s\" within %u s, got %s%s%s", p->name, want, secs,
	       r == 1 ? "\"" : r == 0 ? "nothing" : "its end", r == 1 ? line : "", r == 1 ? "\"" : "");
	return false;
}

static bool reap(struct proc *p)
{
	if (!p->reaped && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) == p->pid) {
		p->reaped = true;
		p->exit_ns = now_ns();
	}
	return p->reaped;
}

static void kill_proc(struct proc *p)
{
	if (p->pid > 0 && !reap(p)) {
		p->killed = true;
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &p->status, 0);
		p->reaped = true;
		p->exit_ns = now_ns();
	}
}

/* Waits up to secs for p's exit; kills it after. */
static void finish(struct proc *p, unsigned secs)
{
	uint64_t end = now_ns() + secs * SEC;

	if (p->pid <= 0)
		return;
	if (p->to >= 0)
		close(p->to);
	p->to = -1;
	while (!reap(p) && now_ns() < end)
		sleep_ms(5);
	if (!p->reaped) {
		FAILED("%s (pid %d) did not exit within %u s: killed", p->name, (int)p->pid, secs);
		kill_proc(p);
	}
}

/* No user of the pool may die of a signal (ours excepted). */
static void check_status(struct proc *p)
{
	if (p->pid <= 0 || p->killed || !p->reaped || p->checked)
		return;
	p->checked = true;
	if (WIFSIGNALED(p->status))
		FAILED("%s (pid %d) died of signal %d (%s)", p->name, (int)p->pid, WTERMSIG(p->status),
		       strsignal(WTERMSIG(p->status)));
	else if (WEXITSTATUS(p->status))
		FAILED("%s (pid %d) exited %d", p->name, (int)p->pid, WEXITSTATUS(p->status));
}

/* The newest lock region of the pool: /dev/shm/umfs-UUID-RUNID/lock. */
static bool find_region(char *out, size_t n)
{
	uint8_t uuid[16];
	char hex[33], pat[128];
	int fd = open(pool, O_RDONLY);
	glob_t g;
	time_t newest = 0;
	bool found = false;

	if (fd < 0 || pread(fd, uuid, sizeof(uuid), 32) != (ssize_t)sizeof(uuid)) {
		FAILED("cannot read the pool's uuid from %s: %s", pool, strerror(errno));
		return false;
	}
	close(fd);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
	snprintf(pat, sizeof(pat), "/dev/shm/umfs-%s-*/lock", hex);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct stat st;

			if (stat(g.gl_pathv[i], &st) == 0 && st.st_size > 0 && st.st_mtime >= newest) {
				newest = st.st_mtime;
				snprintf(out, n, "%s", g.gl_pathv[i]);
				found = true;
			}
		}
		globfree(&g);
	}
	if (!found)
		FAILED("no lock region %s while the holder uses the pool", pat);
	return found;
}

/* ------------------------------------------------------------------ */
/* The driver: one run                                                  */
/* ------------------------------------------------------------------ */

enum wstate { W_WAITING, W_GOT, W_ERR, W_DONE };

struct waiter {
	struct proc p;
	enum kind kind;
	enum wstate state;
	int err;
	uint64_t at; /* when its call ended */
};

struct run {
	const char *dir;
	enum mode mode;
	unsigned hold_ms;
	struct proc holder, scrib;
	struct waiter w[K_N];
	uint64_t release_ns; /* the holder began to unlock (0: not yet) */
	uint64_t scrib_end;  /* the scribbler stopped (0: not yet) */
	unsigned long writes, skipped;
};

static void waiter_poll(struct waiter *w)
{
	char line[128];
	unsigned long long t;

	int r;

	if (w->state != W_WAITING || (r = line_of(&w->p, line, sizeof(line))) == 0)
		return;
	if (r < 0) { /* how it ended: check_status, once reaped */
		FAILED("%s: its process ended in the wait, the call not returned", w->p.name);
		w->state = W_DONE;
		return;
	}
	if (sscanf(line, "got %llu", &t) == 1) {
		w->state = W_GOT;
		w->at = t;
	} else if (sscanf(line, "err %d %llu", &w->err, &t) == 2) {
		w->state = W_ERR;
		w->at = t;
	} else {
		FAILED("%s: unexpected \"%s\"", w->p.name, line);
		w->state = W_DONE;
	}
}

/* A fresh program's view of kind k: "held PID", "free", or why not. */
static void probe(struct run *r, enum kind k, char *ans, size_t n)
{
	const char *args[] = { "probe", r->dir, kind_name[k], NULL };
	struct proc p;
	char name[32];

	snprintf(name, sizeof(name), "probe %s", kind_name[k]);
	spawn(&p, name, true, args, 0, -1);
	if (!expect(&p, "", ans, n, 20))
		snprintf(ans, n, "none");
	finish(&p, 10);
	check_status(&p);
}

/* Whether a documented end of a wait of kind k. */
static bool documented(enum kind k, int err)
{
	return (k == K_POSIX && err == EDEADLK) || err == ENOLCK || err == EIO || err == EPROTO;
}

static void judge_got(struct run *r, struct waiter *w)
{
	char ans[128];
	int pid = 0;
	bool held, strict = r->mode == M_NONE || w->at > r->scrib_end;
	const char *kn = kind_name[w->kind];

	probe(r, w->kind, ans, sizeof(ans));
	held = sscanf(ans, "held %d", &pid) == 1 &&
	       (w->kind == K_POSIX ? pid == (int)w->p.pid : w->kind == K_OFD ? pid == -1 : true);
	if (r->mode == M_NONE && (!r->release_ns || w->at < r->release_ns))
		FAILED("%s: got its lock while the holder held it", kn);
	else if (r->mode == M_NONE && w->at - r->release_ns > 2 * SEC)
		FAILED("%s: got its lock %llu ms after the release", kn,
		       (unsigned long long)(w->at - r->release_ns) / 1000000);
	else if (!r->release_ns || w->at < r->release_ns)
		NOTE("%s: got its lock before the holder let go: the holder's lock was lost to the "
		     "scribbling", kn);
	if (held)
		PASSED("%s: the wait ended with the lock, and a fresh process sees it (%s)", kn, ans);
	else if (r->mode == M_WHOLE && !strcmp(ans, "openerr 5"))
		NOTE("%s: got its lock; no fresh process can check it: the pool refuses new users "
		     "while the region's header is damaged (EIO), as documented", kn);
	else if (!strict)
		NOTE("%s: got its lock while the scribbler wrote; a fresh process then saw \"%s\": "
		     "lost to the scribbling", kn, ans);
	else
		FAILED("%s: got its lock %s, but a fresh process sees \"%s\" (want %s)", kn,
		       r->mode == M_NONE ? "" : "after the scribbler stopped", ans,
		       w->kind == K_POSIX ? "held by the waiter's pid" : w->kind == K_OFD ? "held 1" : "held");
}

static void judge(struct run *r, struct waiter *w)
{
	const char *kn = kind_name[w->kind];

	if (w->state == W_GOT) {
		judge_got(r, w);
	} else if (r->mode == M_NONE) {
		FAILED("%s: the wait ended with %s, without any scribbling", kn, err_name(w->err));
	} else if (documented(w->kind, w->err)) {
		NOTE("errno %s %s", kn, err_name(w->err));
		PASSED("%s: the wait ended with %s (documented)", kn, err_name(w->err));
	} else {
		FAILED("%s: the wait ended with %s, which no document promises for a wait", kn,
		       err_name(w->err));
	}
	w->state = W_DONE;
	tell(&w->p, "exit");
}

static void holder_poll(struct run *r)
{
	char line[256];
	unsigned long long t;

	if (line_of(&r->holder, line, sizeof(line)) == 1) {
		if (sscanf(line, "released %llu", &t) == 1) {
			r->release_ns = t;
			if (strchr(line + 9, ':'))
				NOTE("the holder's unlocks answered:%s", strchr(line + 9, ' '));
		} else {
			FAILED("holder: unexpected \"%s\"", line);
		}
	}
	reap(&r->holder);
}

static void scrib_poll(struct run *r)
{
	char line[128];
	unsigned long long t;

	if (r->mode == M_NONE)
		return;
	if (line_of(&r->scrib, line, sizeof(line)) == 1 &&
	    sscanf(line, "done %llu %lu %lu", &t, &r->writes, &r->skipped) == 3)
		r->scrib_end = t;
	if (reap(&r->scrib) && !r->scrib_end) {
		FAILED("scribbler: ended without saying done");
		r->scrib_end = now_ns();
	}
}

/* Until every wait ended and was judged, within the bounds. */
static void run_loop(struct run *r)
{
	uint64_t start = now_ns();

	for (;;) {
		bool quiet, all = true;

		holder_poll(r);
		scrib_poll(r);
		quiet = r->holder.reaped && (r->mode == M_NONE || r->scrib_end);
		for (int k = 0; k < K_N; k++) {
			struct waiter *w = &r->w[k];

			waiter_poll(w);
			/* judged once the writer stopped and the holder let go */
			if ((w->state == W_GOT || w->state == W_ERR) && (r->mode == M_NONE || r->scrib_end) &&
			    (r->release_ns || r->holder.reaped))
				judge(r, w);
			all &= w->state == W_DONE;
		}
		if (all)
			return;
		uint64_t since = quiet ? r->holder.exit_ns > r->scrib_end ? r->holder.exit_ns : r->scrib_end : 0;
		if ((quiet && now_ns() > since + QUIET_BOUND) || now_ns() > start + RUN_BOUND) {
			for (int k = 0; k < K_N; k++)
				if (r->w[k].state == W_WAITING) {
					FAILED("%s: still waiting %s (killed)", kind_name[k],
					       quiet ? "15 s after the scribbler stopped and the holder exited"
						     : "90 s after the start, and the holder or the scribbler "
						       "has not ended");
					kill_proc(&r->w[k].p);
				}
			if (!quiet)
				FAILED("the holder %s, the scribbler %s after 90 s",
				       r->holder.reaped ? "exited" : "still runs",
				       r->scrib_end || r->mode == M_NONE ? "ended" : "still runs");
			return;
		}
		sleep_ms(5);
	}
}

/* The holder locks, the waiters wait, the scribbler (if any) writes. */
static void run_start(struct run *r, char *region, size_t region_len, uint64_t seed,
		      unsigned scrib_ms, int log_fd, unsigned uid)
{
	const char *hargs[] = { "hold", r->dir, NULL };
	char line[128], s_seed[32];

	spawn(&r->holder, "holder", true, hargs, 0, -1);
	if (!expect(&r->holder, "mounted", line, sizeof(line), 20))
		return;
	/* the region exists once the holder uses the pool */
	if (r->mode != M_NONE && !find_region(region, region_len))
		return;
	if (r->mode != M_NONE) {
		const char *sargs[] = { "scribble", region, mode_name[r->mode], s_seed, NULL };

		snprintf(s_seed, sizeof(s_seed), "%llu", (unsigned long long)seed);
		spawn(&r->scrib, "scribbler", false, sargs, uid, log_fd);
		if (!expect(&r->scrib, "baseline", line, sizeof(line), 20))
			return;
	}
	tell(&r->holder, "lock");
	if (!expect(&r->holder, "locked", line, sizeof(line), 10))
		return;
	for (int k = 0; k < K_N; k++) {
		const char *wargs[] = { "wait", r->dir, kind_name[k], NULL };
		char name[32];

		snprintf(name, sizeof(name), "waiter %s", kind_name[k]);
		r->w[k].kind = (enum kind)k;
		spawn(&r->w[k].p, name, true, wargs, 0, -1);
		if (!expect(&r->w[k].p, "ready", line, sizeof(line), 20))
			return;
	}
	sleep_ms(300); /* asleep in their waits by now */
	for (int k = 0; k < K_N; k++) {
		waiter_poll(&r->w[k]);
		if (r->w[k].state != W_WAITING)
			FAILED("%s: the wait ended at once (%s), the holder holding the lock%s",
			       kind_name[k], r->w[k].state == W_GOT ? "got it" : err_name(r->w[k].err),
			       r->mode == M_NONE ? "" : ", before anything was written");
	}
	tell(&r->holder, "hold %u", r->hold_ms);
	if (r->mode != M_NONE)
		tell(&r->scrib, "go %u", scrib_ms);
	run_loop(r);
}

/* Every process of the run told to go and waited for; their ends checked. */
static void run_end(struct run *r)
{
	for (int k = 0; k < K_N; k++)
		if (r->w[k].state != W_DONE && r->w[k].p.pid > 0)
			tell(&r->w[k].p, "exit");
	for (int k = 0; k < K_N; k++) {
		finish(&r->w[k].p, 10);
		check_status(&r->w[k].p);
	}
	finish(&r->holder, 10);
	check_status(&r->holder);
	if (r->mode != M_NONE) {
		finish(&r->scrib, 10);
		check_status(&r->scrib);
	}
}

static void run_summary(const struct run *r, uint64_t seed, unsigned scrib_ms, unsigned uid)
{
	printf("# %smode %s, seed %llu: holder %u ms, scribbler %u ms, %lu writes (%lu left out), "
	       "uid %u; waits: ", phase, mode_name[r->mode], (unsigned long long)seed, r->hold_ms,
	       r->mode == M_NONE ? 0 : scrib_ms, r->writes, r->skipped, uid);
	for (int k = 0; k < K_N; k++)
		printf("%s %s%s", kind_name[k],
		       !r->w[k].at ? "no end" : r->w[k].err ? err_name(r->w[k].err) : "lock",
		       k + 1 < K_N ? ", " : "\n");
}

/* Holds the pool open until its stdin ends: the region stays in use, with
 * whatever the scribbler left in it, for the round after. */
static int keeper_main(const char *dir)
{
	char line[16];
	int fd = open_in(dir, "f");

	if (fd < 0) {
		say("openerr %d", errno);
		return 3;
	}
	say("mounted");
	while (command(line, sizeof(line)))
		;
	return 0;
}

/* argv: DIR LIB POOL MODE SEED HOLD_MS SCRIB_MS LOG UID. With a scribbler,
 * a second round follows it without one, on the table as it left it,
 * still in use (a keeper holds the pool open throughout; with the header
 * damaged, it leaves first, as no new user may come in until all left):
 * every wait must then end as on tmpfs. */
static int run_main(char **argv)
{
	struct run r = { .dir = argv[0], .mode = M_N, .hold_ms = (unsigned)atoi(argv[5]) };
	uint64_t seed = strtoull(argv[4], NULL, 0);
	unsigned scrib_ms = (unsigned)atoi(argv[6]), uid = (unsigned)atoi(argv[8]);
	char region[4096] = "", line[64];
	struct proc keeper = { .pid = 0 };
	int log_fd = -1;

	lib = argv[1];
	pool = argv[2];
	for (int i = 0; i < M_N; i++)
		if (!strcmp(argv[3], mode_name[i]))
			r.mode = (enum mode)i;
	if (r.mode == M_N) {
		fprintf(stderr, "unknown mode %s\n", argv[3]);
		return 2;
	}
	if (r.mode != M_NONE) {
		const char *kargs[] = { "keep", r.dir, NULL };

		log_fd = open(argv[7], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log_fd < 0) {
			perror(argv[7]);
			return 2;
		}
		spawn(&keeper, "keeper", true, kargs, 0, -1);
		expect(&keeper, "mounted", line, sizeof(line), 20);
	}
	run_start(&r, region, sizeof(region), seed, scrib_ms, log_fd, uid);
	run_end(&r);
	run_summary(&r, seed, scrib_ms, uid);
	if (r.mode != M_NONE) {
		struct run again = { .dir = r.dir, .mode = M_NONE, .hold_ms = 500 };

		if (r.mode == M_WHOLE) {
			finish(&keeper, 10);
			check_status(&keeper);
		}
		phase = "after: ";
		run_start(&again, NULL, 0, 0, 0, -1, 0);
		run_end(&again);
		run_summary(&again, 0, 0, 0);
		phase = "";
		finish(&keeper, 10);
		check_status(&keeper);
	}
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return 2;
	self[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return holder_main(argv[2]);
	for (int k = 0; k < K_N && argc == 4; k++) {
		if (!strcmp(argv[1], "wait") && !strcmp(argv[3], kind_name[k]))
			return waiter_main(argv[2], (enum kind)k);
		if (!strcmp(argv[1], "probe") && !strcmp(argv[3], kind_name[k]))
			return probe_main(argv[2], (enum kind)k);
	}
	if (argc == 3 && !strcmp(argv[1], "keep"))
		return keeper_main(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "take"))
		return take_main(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "scribble"))
		return scribble_main(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc == 11 && !strcmp(argv[1], "run"))
		return run_main(argv + 2);
	fprintf(stderr, "usage: %s run DIR LIB POOL MODE SEED HOLD_MS SCRIB_MS LOG UID | take DIR\n",
		argv[0]);
	return 2;
}
