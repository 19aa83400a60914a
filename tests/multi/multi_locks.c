/* SPDX-License-Identifier: MIT */
/*
 * multi_locks.c - advisory locks between two processes under the library:
 * POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK), open file
 * description locks (F_OFD_*) and flock, on one file in /umfs. This
 * process probes; a second one (this binary executed again, so a fresh
 * program under the library) takes locks on command through a pipe.
 * Conflicts must be seen by the other process, waits must end when the
 * holder releases, a cycle of waits must answer EDEADLK to one side only
 * (and a wait that a release ended must take no part in one), and every
 * lock must go at close, at exit and at kill -9 of its holder, as the
 * kernel does. Expected values follow Linux on tmpfs:
 * run with FILE on tmpfs without the library it passes too.
 *
 *   LD_PRELOAD=libumfs.so multi_locks [FILE]     (default /umfs/locks)
 *   multi_locks FILE HOLDER_FILE HOLDER_PRELOAD
 *
 * The second form runs the holder on another path to the same file with
 * LD_PRELOAD=HOLDER_PRELOAD ("-": none): one side through umfs-fuse, the
 * other under the library. Two answers then differ from one kernel's, as
 * docs/sharing.md says: an OFD lock taken through FUSE is reported with
 * its taker's pid (the kernel does not tell FUSE which kind a record lock
 * is), and it goes with the file's release, which the kernel sends after
 * the last close returns. So wherever the holder's file is on a FUSE mount
 * (either form), the prober waits for the OFD lock to go after the close.
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/file.h>

#include "multi_common.h"

static const char *file = "/umfs/locks";
/* The second form: the holder's path and LD_PRELOAD (NULL: the first). */
static const char *holder_file, *holder_preload;
static int failures;
static pid_t holder = -1;
static FILE *to_holder, *from_holder;
static int pfd; /* the prober's descriptor */

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (cond) {                                                                   \
			printf("ok   ");                                                          \
		} else {                                                                      \
			printf("FAIL ");                                                          \
			failures++;                                                               \
		}                                                                             \
		printf(__VA_ARGS__);                                                          \
		putchar('\n');                                                                \
		fflush(stdout);                                                               \
	} while (0)

/* ------------------------------------------------------------------ */
/* The holder: one command per line, answers "ok" or "err ERRNO"        */
/* ------------------------------------------------------------------ */

static int lock_cmd(int fd, int cmd, char type, long start, long len)
{
	struct flock fl = { .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	fl.l_type = type == 'W' ? F_WRLCK : type == 'R' ? F_RDLCK : F_UNLCK;
	return fcntl(fd, cmd, &fl);
}

static int holder_main(void)
{
	char line[128], a[16], t;
	long s, l, ms;
	int fd = -1, fd2 = -1;

	while (fgets(line, sizeof(line), stdin)) {
		int r = 0;

		if (!strncmp(line, "open2", 5))
			r = fd2 = open(file, O_RDWR);
		else if (!strncmp(line, "open", 4))
			r = fd = open(file, O_RDWR | O_CREAT, 0644);
		else if (!strncmp(line, "close2", 6))
			r = close(fd2);
		else if (!strncmp(line, "close", 5))
			r = close(fd);
		else if (!strncmp(line, "exit", 4))
			exit(0);
		else if (sscanf(line, "posix %c %ld %ld", &t, &s, &l) == 3)
			r = lock_cmd(fd, F_SETLK, t, s, l);
		else if (sscanf(line, "ofd %c %ld %ld", &t, &s, &l) == 3)
			r = lock_cmd(fd, F_OFD_SETLK, t, s, l);
		else if (sscanf(line, "flock %15s", a) == 1)
			r = flock(fd, a[0] == 'X' ? LOCK_EX | LOCK_NB : a[0] == 'S' ? LOCK_SH | LOCK_NB
										: LOCK_UN);
		else if (sscanf(line, "later %ld %15s", &ms, a) == 2) {
			/* answer at once, release after ms */
			printf("ok\n");
			fflush(stdout);
			sleep_ms((unsigned)ms);
			if (a[0] == 'p')
				lock_cmd(fd, F_SETLK, 'U', 0, 0);
			else
				flock(fd, LOCK_UN);
			continue;
		} else
			r = -1, errno = EINVAL;
		if (r < 0)
			printf("err %d\n", errno);
		else
			printf("ok\n");
		fflush(stdout);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The prober                                                           */
/* ------------------------------------------------------------------ */

static void start_holder(void)
{
	int in[2], out[2];

	if (pipe(in) || pipe(out))
		exit(2);
	holder = fork();
	if (holder == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (holder_preload && !strcmp(holder_preload, "-"))
			unsetenv("LD_PRELOAD");
		else if (holder_preload)
			setenv("LD_PRELOAD", holder_preload, 1);
		execl("/proc/self/exe", "multi_locks", "--holder", holder_file ? holder_file : file,
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_holder = fdopen(in[1], "w");
	from_holder = fdopen(out[0], "r");
}

/* Sends a command; true when the holder answered ok. */
static bool cmd(const char *fmt, ...)
{
	char line[64];
	va_list ap;

	va_start(ap, fmt);
	vfprintf(to_holder, fmt, ap);
	va_end(ap);
	fputc('\n', to_holder);
	fflush(to_holder);
	if (!fgets(line, sizeof(line), from_holder)) {
		printf("FAIL the holder died\n");
		exit(1);
	}
	return !strncmp(line, "ok", 2);
}

static void stop_holder(bool kill9)
{
	int st;

	if (kill9) {
		kill(holder, SIGKILL);
	} else {
		fputs("exit\n", to_holder); /* no answer: it exits */
		fflush(to_holder);
	}
	fclose(to_holder);
	fclose(from_holder);
	waitpid(holder, &st, 0);
	holder = -1;
}

/* The prober's attempt: 0, or the errno. */
static int try_lock(int cmdno, char type, long start, long len)
{
	return lock_cmd(pfd, cmdno, type, start, len) < 0 ? errno : 0;
}

static bool conflict(int err) { return err == EAGAIN || err == EACCES; }

static void getlk(int cmdno, char type, long start, long len, struct flock *fl)
{
	*fl = (struct flock){ .l_type = type == 'W' ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
			      .l_start = start, .l_len = len };
	if (fcntl(pfd, cmdno, fl) < 0)
		fl->l_type = -1;
}

/* Retries a non-blocking lock for up to 5 s: a dead holder's locks may be
 * released a little after its death is reported. ms taken, or -1. */
static long eventually(int cmdno, char type, long start, long len)
{
	uint64_t t0 = now_ns();

	while (now_ns() - t0 < 5000000000ull) {
		int err = cmdno == 0 ? (flock(pfd, LOCK_EX | LOCK_NB) < 0 ? errno : 0)
				     : try_lock(cmdno, type, start, len);

		if (!err)
			return (long)((now_ns() - t0) / 1000000);
		sleep_ms(10);
	}
	return -1;
}

static void release_all(void)
{
	lock_cmd(pfd, F_SETLK, 'U', 0, 0);
	lock_cmd(pfd, F_OFD_SETLK, 'U', 0, 0);
	flock(pfd, LOCK_UN);
}

static void posix_tests(void)
{
	struct flock fl;
	int err;

	start_holder();
	CHECK(cmd("open") && cmd("posix W 0 100"), "holder: POSIX write lock on [0,100)");
	err = try_lock(F_SETLK, 'W', 0, 10);
	CHECK(conflict(err), "POSIX: a write lock over it is refused (%s)", strerror(err));
	err = try_lock(F_SETLK, 'R', 50, 10);
	CHECK(conflict(err), "POSIX: a read lock over it is refused (%s)", strerror(err));
	getlk(F_GETLK, 'W', 0, 10, &fl);
	CHECK(fl.l_type == F_WRLCK && fl.l_pid == holder && fl.l_start == 0 && fl.l_len == 100,
	      "POSIX: F_GETLK names the holder (type %d pid %d, want %d, range %ld+%ld)", fl.l_type,
	      fl.l_pid, holder, (long)fl.l_start, (long)fl.l_len);
	err = try_lock(F_SETLK, 'W', 100, 10);
	CHECK(err == 0, "POSIX: a lock beside it is granted (%s)", strerror(err));
	release_all();
	CHECK(cmd("posix U 0 100"), "holder: unlock");
	err = try_lock(F_SETLK, 'W', 0, 10);
	CHECK(err == 0, "POSIX: granted after the holder unlocked (%s)", strerror(err));
	release_all();

	CHECK(cmd("posix R 0 50"), "holder: POSIX read lock on [0,50)");
	err = try_lock(F_SETLK, 'R', 0, 50);
	CHECK(err == 0, "POSIX: read locks are shared (%s)", strerror(err));
	release_all();
	err = try_lock(F_SETLK, 'W', 10, 5);
	CHECK(conflict(err), "POSIX: a write lock over a read lock is refused (%s)", strerror(err));
	CHECK(cmd("posix U 0 0"), "holder: unlock");

	/* POSIX locks belong to the process: closing any descriptor of the
	 * file drops them */
	CHECK(cmd("posix W 0 0") && cmd("open2") && cmd("close2"),
	      "holder: write lock on the whole file, then open and close a second descriptor");
	err = try_lock(F_SETLK, 'W', 0, 0);
	CHECK(err == 0, "POSIX: the holder's lock went with its other descriptor's close (%s)",
	      strerror(err));
	release_all();

	/* F_SETLKW waits until the holder unlocks */
	CHECK(cmd("posix W 0 10") && cmd("later 300 posix"), "holder: lock, unlock in 300 ms");
	uint64_t t0 = now_ns();
	err = try_lock(F_SETLKW, 'W', 0, 10);
	long ms = (long)((now_ns() - t0) / 1000000);
	CHECK(err == 0 && ms >= 200, "POSIX: F_SETLKW waited %ld ms for the release (%s)", ms,
	      strerror(err));
	release_all();
	stop_holder(false);
}

static void ofd_flock_tests(void)
{
	struct flock fl;
	int err;

	start_holder();
	CHECK(cmd("open") && cmd("ofd W 0 10"), "holder: OFD write lock on [0,10)");
	err = try_lock(F_OFD_SETLK, 'W', 5, 10);
	CHECK(conflict(err), "OFD: a conflicting OFD lock is refused (%s)", strerror(err));
	err = try_lock(F_SETLK, 'R', 0, 1);
	CHECK(conflict(err), "OFD: a conflicting POSIX lock is refused too (%s)", strerror(err));
	getlk(F_OFD_GETLK, 'W', 0, 10, &fl);
	CHECK(fl.l_type == F_WRLCK && (fl.l_pid == -1 || (holder_file && fl.l_pid == holder)),
	      "OFD: F_OFD_GETLK shows it (type %d, pid %d)", fl.l_type, fl.l_pid);
	CHECK(cmd("close"), "holder: close");
	if (holder_file || on_fuse(pfd)) {
		long ms = eventually(F_OFD_SETLK, 'W', 0, 10);

		CHECK(ms >= 0, "OFD: granted after the holder closed its description (%ld ms)", ms);
	} else {
		err = try_lock(F_OFD_SETLK, 'W', 0, 10);
		CHECK(err == 0, "OFD: granted after the holder closed its description (%s)",
		      strerror(err));
	}
	release_all();

	CHECK(cmd("open") && cmd("flock X"), "holder: flock LOCK_EX");
	err = flock(pfd, LOCK_EX | LOCK_NB) < 0 ? errno : 0;
	CHECK(err == EWOULDBLOCK, "flock: LOCK_EX refused (%s)", strerror(err));
	err = flock(pfd, LOCK_SH | LOCK_NB) < 0 ? errno : 0;
	CHECK(err == EWOULDBLOCK, "flock: LOCK_SH refused (%s)", strerror(err));
	err = try_lock(F_SETLK, 'W', 0, 0);
	CHECK(err == 0, "flock and fcntl locks are independent (%s)", strerror(err));
	release_all();
	CHECK(cmd("flock U") && cmd("flock S"), "holder: flock LOCK_SH");
	err = flock(pfd, LOCK_SH | LOCK_NB) < 0 ? errno : 0;
	CHECK(err == 0, "flock: shared with another LOCK_SH (%s)", strerror(err));
	flock(pfd, LOCK_UN);
	err = flock(pfd, LOCK_EX | LOCK_NB) < 0 ? errno : 0;
	CHECK(err == EWOULDBLOCK, "flock: LOCK_EX refused over LOCK_SH (%s)", strerror(err));
	CHECK(cmd("flock U") && cmd("flock X") && cmd("later 300 flock"),
	      "holder: LOCK_EX, released in 300 ms");
	uint64_t t0 = now_ns();
	err = flock(pfd, LOCK_EX) < 0 ? errno : 0;
	long ms = (long)((now_ns() - t0) / 1000000);
	CHECK(err == 0 && ms >= 200, "flock: a blocking LOCK_EX waited %ld ms (%s)", ms,
	      strerror(err));
	release_all();
	stop_holder(false);
}

/* ------------------------------------------------------------------ */
/* Cycles of waits                                                      */
/* ------------------------------------------------------------------ */

/* Byte 0 held by this process: a child that takes byte 1, then waits for
 * byte 0 and holds both hold_us. Returns its pid once it has byte 1; it
 * exits 0 when its wait got the lock, else with the wait's errno. */
static pid_t fork_waiter(int fd, unsigned hold_us)
{
	int p[2], r;
	pid_t pid;
	char c;

	if (lock_cmd(fd, F_SETLK, 'W', 0, 1) < 0 || pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		alarm(10);
		lock_cmd(fd, F_SETLK, 'W', 1, 1);
		(void)!write(p[1], "x", 1);
		r = lock_cmd(fd, F_SETLKW, 'W', 0, 1) == 0 ? 0 : errno;
		usleep(hold_us);
		_exit(r);
	}
	if (pid > 0)
		(void)!read(p[0], &c, 1);
	close(p[0]);
	close(p[1]);
	return pid;
}

/* Rounds of a two-process cycle of F_SETLKW waits, while a third process
 * takes and drops a range of its own, so that the waiter wakes and looks
 * at the table again all the time. Whichever waits second hears EDEADLK
 * and the other gets its lock, as the kernel does: never both EDEADLK,
 * never both stuck (the waiter's alarm). */
static void cycle_tests(void)
{
	enum { ROUNDS = 150 };
	char path[4096];
	volatile int *stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int both_deadlk = 0, stuck = 0, waiter_deadlk = 0, fd;

	snprintf(path, sizeof(path), "%s-cycle", file);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || stop == MAP_FAILED) {
		CHECK(false, "cycle: open %s: %s", path, strerror(errno));
		return;
	}
	for (int round = 0; round < ROUNDS; round++) {
		int st = 0, r;
		pid_t waiter, churner;

		*stop = 0;
		waiter = fork_waiter(fd, 0);
		if (waiter < 0)
			break;
		churner = fork();
		if (churner == 0) {
			while (!*stop) {
				lock_cmd(fd, F_SETLK, 'W', 100, 1);
				lock_cmd(fd, F_SETLK, 'U', 100, 1);
			}
			_exit(0);
		}
		usleep(2000); /* the waiter is most likely asleep by now */
		alarm(10);
		r = lock_cmd(fd, F_SETLKW, 'W', 1, 1) == 0 ? 0 : errno;
		alarm(0);
		lock_cmd(fd, F_SETLK, 'U', 0, 2);
		waitpid(waiter, &st, 0);
		*stop = 1;
		waitpid(churner, NULL, 0);
		if (!WIFEXITED(st))
			stuck++;
		else if (r == EDEADLK && WEXITSTATUS(st) == EDEADLK)
			both_deadlk++;
		else if (!((r == EDEADLK && WEXITSTATUS(st) == 0) || (r == 0 && WEXITSTATUS(st) == EDEADLK)))
			stuck++;
		else if (r == 0)
			waiter_deadlk++;
	}
	CHECK(both_deadlk == 0 && stuck == 0,
	      "cycle of waits, %d rounds with a third process churning: both EDEADLK %d, "
	      "other outcomes %d (the forked waiter, slower, heard EDEADLK in %d)",
	      ROUNDS, both_deadlk, stuck, waiter_deadlk);
	close(fd);
	unlink(path);
	munmap((void *)stop, 4096);
}

/* A release ends the wait it let go at once: a process that unlocks the
 * range another waits for, then waits for that waiter's own lock, must
 * wait, not hear EDEADLK (the waiter, woken but not yet run, no longer
 * waits for it). Rounds, as the waiter may or may not have run. */
static void release_tests(void)
{
	enum { ROUNDS = 30 };
	char path[4096];
	int deadlk = 0, other = 0, fd;

	snprintf(path, sizeof(path), "%s-release", file);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		CHECK(false, "release: open %s: %s", path, strerror(errno));
		return;
	}
	for (int round = 0; round < ROUNDS; round++) {
		int st = 0, r;
		pid_t waiter = fork_waiter(fd, 5000);

		if (waiter < 0)
			break;
		usleep(20000); /* the waiter is asleep */
		lock_cmd(fd, F_SETLK, 'U', 0, 1);
		alarm(10);
		r = lock_cmd(fd, F_SETLKW, 'W', 1, 1) == 0 ? 0 : errno;
		alarm(0);
		lock_cmd(fd, F_SETLK, 'U', 0, 2);
		waitpid(waiter, &st, 0);
		if (r == EDEADLK)
			deadlk++;
		else if (r != 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			other++;
	}
	CHECK(deadlk == 0 && other == 0,
	      "a release ends the wait it lets go, %d rounds: EDEADLK %d, other outcomes %d",
	      ROUNDS, deadlk, other);
	close(fd);
	unlink(path);
}

/* Waits recorded behind others': BYSTANDERS processes first wait for byte
 * 50, held here, so that the waits below are recorded after theirs. A
 * cycle must still be found (one side hears EDEADLK), and a release must
 * still end the wait it lets go (the next wait waits). */
static void behind_tests(void)
{
	enum { BYSTANDERS = 6 };
	char path[4096];
	pid_t by[BYSTANDERS];
	int st = 0, r1, r2, fd, n = 0, ok = 0;
	pid_t waiter;

	snprintf(path, sizeof(path), "%s-behind", file);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || lock_cmd(fd, F_SETLK, 'W', 50, 1) < 0) {
		CHECK(false, "behind: open or lock %s: %s", path, strerror(errno));
		return;
	}
	for (; n < BYSTANDERS; n++) {
		by[n] = fork();
		if (by[n] == 0) {
			alarm(20);
			_exit(lock_cmd(fd, F_SETLKW, 'W', 50, 1) == 0 ? 0 : errno);
		}
		if (by[n] < 0)
			break;
	}
	usleep(50000); /* the bystanders are asleep */

	waiter = fork_waiter(fd, 0);
	usleep(20000);
	alarm(10);
	r1 = lock_cmd(fd, F_SETLKW, 'W', 1, 1) == 0 ? 0 : errno;
	alarm(0);
	lock_cmd(fd, F_SETLK, 'U', 0, 2);
	if (waiter > 0)
		waitpid(waiter, &st, 0);
	CHECK(waiter > 0 && r1 == EDEADLK && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "behind %d waits: a cycle hears EDEADLK on the second side (got %s), "
	      "the first gets its lock (status %#x)", n, r1 ? strerror(r1) : "the lock", st);

	waiter = fork_waiter(fd, 5000);
	usleep(20000);
	lock_cmd(fd, F_SETLK, 'U', 0, 1);
	alarm(10);
	r2 = lock_cmd(fd, F_SETLKW, 'W', 1, 1) == 0 ? 0 : errno;
	alarm(0);
	lock_cmd(fd, F_SETLK, 'U', 0, 2);
	st = 0;
	if (waiter > 0)
		waitpid(waiter, &st, 0);
	CHECK(waiter > 0 && r2 == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "behind %d waits: a release ends the wait it lets go (the next wait got %s)", n,
	      r2 ? strerror(r2) : "the lock");

	lock_cmd(fd, F_SETLK, 'U', 50, 1);
	for (int i = 0; i < n; i++) {
		st = 0;
		waitpid(by[i], &st, 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	CHECK(ok == n && n == BYSTANDERS, "behind: %d of %d bystanders got byte 50 in turn", ok,
	      BYSTANDERS);
	close(fd);
	unlink(path);
}

/* The holder takes all three kinds, then exits or is killed. */
static void end_tests(bool kill9)
{
	const char *how = kill9 ? "kill -9 of the holder" : "the holder's exit";
	long ms;

	start_holder();
	CHECK(cmd("open") && cmd("posix W 0 10") && cmd("ofd W 20 10") && cmd("flock X"),
	      "holder: POSIX, OFD and flock locks");
	CHECK(conflict(try_lock(F_SETLK, 'W', 0, 10)) && conflict(try_lock(F_OFD_SETLK, 'W', 20, 10)) &&
		      flock(pfd, LOCK_EX | LOCK_NB) < 0,
	      "all three held");
	stop_holder(kill9);
	ms = eventually(F_SETLK, 'W', 0, 10);
	CHECK(ms >= 0, "POSIX lock released by %s (%ld ms)", how, ms);
	ms = eventually(F_OFD_SETLK, 'W', 20, 10);
	CHECK(ms >= 0, "OFD lock released by %s (%ld ms)", how, ms);
	ms = eventually(0, 0, 0, 0);
	CHECK(ms >= 0, "flock released by %s (%ld ms)", how, ms);
	release_all();
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--holder")) {
		file = argv[2];
		return holder_main();
	}
	if (argc >= 2)
		file = argv[1];
	if (argc >= 4) {
		holder_file = argv[2];
		holder_preload = argv[3];
	}
	signal(SIGPIPE, SIG_IGN);
	pfd = open(file, O_RDWR | O_CREAT, 0644);
	if (pfd < 0) {
		printf("FAIL open %s: %s\n", file, strerror(errno));
		return 1;
	}
	posix_tests();
	ofd_flock_tests();
	if (!holder_file) {
		cycle_tests();
		release_tests();
		behind_tests();
	}
	end_tests(false);
	end_tests(true);
	printf("%d failure(s)\n", failures);
	return failures ? 1 : 0;
}
