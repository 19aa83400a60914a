/* SPDX-License-Identifier: MIT */
/*
 * test_plock.c - the process-shared lock and the bounded gate waits: a
 * holder that died (exited, killed and not yet reaped), a forged or
 * garbage lock word, a reused thread id, are taken over within a bound
 * and reported as -EOWNERDEAD; a live holder is waited for and then
 * released normally; a lock its holder abandons is taken over at once; a
 * waiter that slept for long is handed the lock, not passed; a thread
 * never waits for itself; whoever holds an OFD lock is named; and
 * joiners that find a gate's area parked all come in, in turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether this kernel's pidfds are on pidfs (Linux 6.9 on): the kind of
 * task stamp expected, asked independently of procfs.c. */
static unsigned stamp_kind_pidfs;

static bool pidfs_here(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	struct statfs sfs;
	bool yes;

	if (fd < 0)
		return false;
	yes = fstatfs(fd, &sfs) == 0 && (uint32_t)sfs.f_type == 0x50494446u;
	close(fd);
	return yes;
}

/* A lock in memory shared with children. */
static struct umfs_plock *shared_lock(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	umfs_plock_init(p);
	return p;
}

/* A child that takes the lock, tells the parent through a pipe, and then
 * does what mode says: exit at once (dead holder), or wait to be killed. */
static pid_t holder_start(struct umfs_plock *l, bool stay)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (umfs_plock_lock(l, "test lock") != 0)
			_exit(3);
		if (write(p[1], "x", 1) != 1)
			_exit(4);
		if (!stay)
			_exit(0); /* dies holding it */
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void test_uncontended(void **state)
{
	struct umfs_plock *l = shared_lock();

	(void)state;
	assert_int_equal(umfs_plock_lock(l, "test lock"), 0);
	assert_int_equal(umfs_plock_trylock(l, "test lock"), -EDEADLK);
	assert_int_equal(umfs_plock_lock(l, "test lock"), -EDEADLK); /* never waits for itself */
	umfs_plock_unlock(l);
	assert_int_equal(umfs_plock_trylock(l, "test lock"), 0);
	umfs_plock_unlock(l);
	assert_int_equal(l->word, 0);
	munmap(l, 4096);
}

/* Many takers at once, threads of two processes: each increment of the
 * counter is made inside the lock, so none is lost, and no two takers are
 * ever inside together. Every 500th turn holds the lock for 300 us, longer
 * than a taker spins, so that takers also sleep on the word and are woken. */
#define CONTEND_THREADS 3
#define CONTEND_TURNS 20000

struct contended {
	struct umfs_plock lock;
	uint64_t counter;
	uint32_t inside, overlaps, errors;
};

static void *contend_thread(void *arg)
{
	struct contended *c = arg;

	for (int i = 0; i < CONTEND_TURNS; i++) {
		uint64_t v;

		if (umfs_plock_lock(&c->lock, "test lock") != 0)
			c->errors++;
		if (c->inside++)
			c->overlaps++;
		v = c->counter;
		if (i % 500 == 0)
			usleep(300);
		c->counter = v + 1;
		c->inside--;
		umfs_plock_unlock(&c->lock);
	}
	return NULL;
}

static void contend_run(struct contended *c)
{
	pthread_t t[CONTEND_THREADS];

	for (int i = 0; i < CONTEND_THREADS; i++)
		if (pthread_create(&t[i], NULL, contend_thread, c))
			c->errors++;
	for (int i = 0; i < CONTEND_THREADS; i++)
		pthread_join(t[i], NULL);
}

static void test_contended(void **state)
{
	struct contended *c = (struct contended *)shared_lock();
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		umfs_plock_forked();
		contend_run(c);
		_exit(0);
	}
	contend_run(c);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(c->errors, 0);
	assert_int_equal(c->overlaps, 0);
	assert_int_equal(c->counter, 2ull * CONTEND_THREADS * CONTEND_TURNS);
	assert_int_equal(c->lock.word, 0);
	munmap(c, 4096);
}

/* The holder exited: the next taker gets it, told to repair. */
static void test_dead_holder(void **state)
{
	struct umfs_plock *l = shared_lock();
	pid_t pid = holder_start(l, false);
	double t0;

	(void)state;
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	t0 = now_sec();
	assert_int_equal(umfs_plock_lock(l, "test lock"), -EOWNERDEAD);
	assert_true(now_sec() - t0 < 2.0);
	umfs_plock_unlock(l);
	assert_int_equal(umfs_plock_lock(l, "test lock"), 0);
	umfs_plock_unlock(l);
	munmap(l, 4096);
}

/* Killed and not yet reaped (a zombie): dead all the same. */
static void test_zombie_holder(void **state)
{
	struct umfs_plock *l = shared_lock();
	pid_t pid = holder_start(l, true);
	double t0;

	(void)state;
	kill(pid, SIGKILL);
	/* until it is a zombie, left unreaped */
	assert_int_equal(waitid(P_PID, (id_t)pid, &(siginfo_t){ 0 }, WEXITED | WNOWAIT), 0);
	assert_int_equal(umfs_plock_trylock(l, "test lock"), -EOWNERDEAD);
	umfs_plock_unlock(l);
	waitpid(pid, NULL, 0);
	/* a waiter already asleep behind a holder that is then killed */
	pid = holder_start(l, true);
	if (fork() == 0) {
		usleep(300000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	t0 = now_sec();
	assert_int_equal(umfs_plock_lock(l, "test lock"), -EOWNERDEAD);
	assert_true(now_sec() - t0 < 3.0);
	umfs_plock_unlock(l);
	waitpid(pid, NULL, 0);
	while (wait(NULL) > 0)
		;
	munmap(l, 4096);
}

/* A live holder is waited for, and its unlock wakes the waiter. */
static void test_live_holder(void **state)
{
	struct umfs_plock *l = shared_lock();
	int p[2];
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		assert_int_equal(umfs_plock_lock(l, "test lock"), 0);
		if (write(p[1], "x", 1) != 1)
			_exit(4);
		usleep(500000);
		umfs_plock_unlock(l);
		usleep(500000);
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(umfs_plock_trylock(l, "test lock"), -EBUSY);
	assert_int_equal(umfs_plock_lock(l, "test lock"), 0); /* released, not taken over */
	umfs_plock_unlock(l);
	waitpid(pid, NULL, 0);
	close(p[0]);
	close(p[1]);
	munmap(l, 4096);
}

/* Words no holder wrote: each is taken over at once, never waited on for
 * good, never a crash. */
static void test_garbage_words(void **state)
{
	struct umfs_plock *l = shared_lock();
	uint64_t x = 0x243F6A8885A308D3ull;
	uint64_t self = (uint64_t)syscall(SYS_gettid);
	uint64_t forged[] = {
		~0ull, 0x80000000ull, 0x7fffffffull, 1ull << 40 | 0x3fffffff,
		/* a live process, another start time: a reused id */
		(uint64_t)0x1234567 << 32 | (uint64_t)getppid(),
	};
	double t0 = now_sec();

	(void)state;
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(forged) + 200; i++) {
		uint64_t w;
		int r;

		if (i < UMFS_ARRAY_SIZE(forged)) {
			w = forged[i];
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w = x;
		}
		if ((w & 0x3fffffff) == self)
			continue; /* this thread's own id: -EDEADLK, tested above */
		l->word = w;
		r = umfs_plock_lock(l, "test lock");
		/* a word naming a live thread of another process may stand for
		 * a holder; none of these does */
		assert_true(r == -EOWNERDEAD || (r == 0 && w == 0));
		umfs_plock_unlock(l);
		assert_int_equal(l->word, 0);
	}
	assert_true(now_sec() - t0 < 5.0);
	munmap(l, 4096);
}

/* A live process named by a forged word is a holder: it is waited for
 * only while it lives. */
static void test_forged_live_owner(void **state)
{
	struct umfs_plock *l = shared_lock();
	pid_t pid = fork();
	double t0;

	(void)state;
	if (pid == 0) {
		usleep(600000);
		_exit(0);
	}
	l->word = (uint64_t)pid; /* no start time: kill(pid, 0) decides */
	t0 = now_sec();
	assert_int_equal(umfs_plock_lock(l, "test lock"), -EOWNERDEAD);
	assert_true(now_sec() - t0 > 0.3); /* it waited while the process lived */
	umfs_plock_unlock(l);
	waitpid(pid, NULL, 0);
	munmap(l, 4096);
}

/* A forked child is not its parent's thread: it waits for what its
 * parent holds. */
/* A lock its holder abandons (a mount cut off its pool) is a dead
 * holder's: taken over at once, by a child waiting for it and by a
 * try-lock, with -EOWNERDEAD; an abandon by a thread that does not hold
 * the lock changes nothing. */
static void test_abandoned(void **state)
{
	struct umfs_plock *l = shared_lock();
	int st, pipefd[2];
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(umfs_plock_lock(l, "abandoned"), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		double t0;
		int r;

		umfs_plock_forked();
		if (write(pipefd[1], "w", 1) != 1)
			_exit(3);
		t0 = now_sec();
		r = umfs_plock_lock(l, "abandoned");
		/* the wait ends with the abandon: taken over, not waited for */
		_exit(r == -EOWNERDEAD ? (now_sec() - t0 < 2.0 ? 0 : 2) : 1);
	}
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	usleep(50 * 1000); /* the child sleeps on the word */
	umfs_plock_abandon(l);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(pipefd[0]);
	close(pipefd[1]);

	/* the child died holding it: taken over; abandoned again: taken over */
	assert_int_equal(umfs_plock_trylock(l, "abandoned"), -EOWNERDEAD);
	umfs_plock_abandon(l);
	assert_int_equal(umfs_plock_trylock(l, "abandoned"), -EOWNERDEAD);
	umfs_plock_unlock(l);
	umfs_plock_abandon(l); /* not held: nothing */
	assert_int_equal(umfs_plock_trylock(l, "abandoned"), 0);
	umfs_plock_unlock(l);
	munmap(l, 4096);
}

/* The hand-off bit of a lock word (plock.c), asked for by a waiter that
 * has waited 2 ms. */
#define TEST_HANDOFF 0x40000000ull

/* A child that waits for l, which this thread holds, long enough to ask
 * for a hand-off; once it has the lock it sets *got and lets go. */
static pid_t handoff_asker(struct umfs_plock *l, _Atomic uint32_t *got)
{
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		umfs_plock_forked();
		if (write(p[1], "w", 1) != 1 || umfs_plock_lock(l, "handoff") != 0)
			_exit(1);
		atomic_store(got, 1);
		usleep(10 * 1000);
		umfs_plock_unlock(l);
		_exit(0);
	}
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	close(p[1]);
	/* it sleeps a tick (20 ms), wakes and asks; a loaded machine may
	 * keep it from running for a while */
	for (int i = 0; i < 500 && !(l->word & TEST_HANDOFF); i++)
		usleep(10 * 1000);
	assert_true(l->word & TEST_HANDOFF);
	return pid;
}

/* A waiter that slept for long is not passed: once it asked, the holder's
 * unlock hands it the lock, and the holder's own next lock waits behind
 * it (the woken asker takes it, or, kept from a CPU for a tick, loses it
 * to the holder, which then slept a tick itself: never at once). A handed
 * word whose asker died is taken by the next taker within a tick, by a
 * lock or a try-lock, as a free lock (0, not -EOWNERDEAD). */
static void test_handoff(void **state)
{
	struct umfs_plock *l = shared_lock();
	_Atomic uint32_t *got = (_Atomic uint32_t *)(l + 1);
	double t0;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(umfs_plock_lock(l, "handoff"), 0);
	pid = handoff_asker(l, got);
	umfs_plock_unlock(l);
	assert_true(l->word != 0); /* handed, or the asker's already */
	t0 = now_sec();
	assert_int_equal(umfs_plock_lock(l, "handoff"), 0);
	assert_true(atomic_load(got) == 1 || now_sec() - t0 > 0.015);
	umfs_plock_unlock(l);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* the asker killed while it waits: its hand-off goes to others */
	assert_int_equal(umfs_plock_lock(l, "handoff"), 0);
	pid = handoff_asker(l, got);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	umfs_plock_unlock(l);
	assert_int_equal(l->word & ~0x80000000ull, TEST_HANDOFF); /* handed to nobody */
	t0 = now_sec();
	assert_int_equal(umfs_plock_lock(l, "handoff"), 0);
	assert_true(now_sec() - t0 < 1.0);
	umfs_plock_unlock(l);
	assert_int_equal(l->word, 0);
	l->word = TEST_HANDOFF | 0x80000000ull;
	assert_int_equal(umfs_plock_trylock(l, "handoff"), 0);
	umfs_plock_unlock(l);
	assert_int_equal(l->word, 0);
	munmap(l, 4096);
}

/* A forked child is another holder and another POSIX owner, whether the
 * front end's fork handler (umfs_fork_child: the resets, then a lock)
 * runs or only the core's own: never its parent, which had made its ids. */
static void test_fork_identity(void **state)
{
	struct umfs_plock *l = shared_lock();
	uint64_t parent = umfs_lock_process_id();
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal((uint32_t)parent, (uint32_t)getpid());
	assert_int_equal(umfs_plock_lock(l, "test lock"), 0);
	for (int front_end = 0; front_end < 2; front_end++) {
		pid = fork();
		if (pid == 0) {
			uint64_t me;

			if (front_end) {
				umfs_lock_forked();
				umfs_plock_forked();
			}
			if (umfs_plock_trylock(l, "test lock") != -EBUSY)
				_exit(1);
			me = umfs_lock_process_id();
			_exit((uint32_t)me == (uint32_t)getpid() && me != parent ? 0 : 2);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(umfs_lock_process_id(), parent);
	umfs_plock_unlock(l);
	munmap(l, 4096);
}

/* A child process holding byte of the gate file path for writing, on a
 * description of its own, stopped (stop) or paused; returned once it holds
 * it. */
static pid_t gate_byte_holder(const char *path, unsigned byte, bool stop)
{
	int p[2], st;
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd = open(path, O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with a test that failed */
		if (cfd < 0 || umfs_gate_lock(cfd, byte, F_WRLCK, false, path) != 0)
			_exit(3);
		if (write(p[1], "x", 1) != 1)
			_exit(4);
		if (stop)
			raise(SIGSTOP);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	if (stop) {
		assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
		assert_true(WIFSTOPPED(st));
	}
	return pid;
}

/* The gate: without wait, -EAGAIN; the holder is named. */
static void test_gate_holder(void **state)
{
	char path[64], who[96], want[64];
	pid_t pid;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/dev/shm/umfs-test-gate-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	pid = gate_byte_holder(path, 0, false);
	assert_int_equal(umfs_gate_lock(fd, 0, F_RDLCK, false, path), -EAGAIN);
	assert_int_equal(umfs_gate_lock(fd, 1, F_WRLCK, false, path), 0); /* another byte */
	umfs_gate_holder(fd, who, sizeof(who));
	snprintf(want, sizeof(want), "process %d (", (int)pid);
	assert_true(strncmp(who, want, strlen(want)) == 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* the kernel dropped the dead holder's lock */
	assert_int_equal(umfs_gate_lock(fd, 0, F_WRLCK, true, path), 0);
	close(fd);
	unlink(path);
}

/*
 * A holder of the leavers' byte that never lets go: a process stopped in
 * its leave, or one that took the byte on purpose. A leaver and a joiner
 * that finds the area parked wait for it a bounded time (two minutes as
 * built, 300 ms here), then go on without it, naming the holder: the
 * leaver as not the last user, the joiner failing with -ETIMEDOUT.
 */
static char gate_msgs[2048];

static void gate_msg_keep(int level, const char *msg)
{
	size_t n = strlen(gate_msgs);

	(void)level;
	snprintf(gate_msgs + n, sizeof(gate_msgs) - n, "%s\n", msg);
}

static void test_gate_stopped_leaver(void **state)
{
	char path[64], name[48], want[64];
	int fd, dfd;
	bool first;
	off_t size;
	double t0;
	pid_t pid;

	(void)state;
	snprintf(name, sizeof(name), "umfs-test-stopped-%d", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	dfd = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	pid = gate_byte_holder(path, 1, true);
	snprintf(want, sizeof(want), "process %d (", (int)pid);
	umfs_test_gate_timeout_ms = 300;
	gate_msgs[0] = '\0';
	umfs_log_set(gate_msg_keep, UMFS_LOG_ERROR);

	/* a user leaving: not the last, after the wait */
	assert_int_equal(umfs_gate_lock(fd, 0, F_RDLCK, false, path), 0);
	t0 = now_sec();
	assert_false(umfs_gate_last(fd, path, NULL));
	assert_in_range((long)((now_sec() - t0) * 1000), 300, 5000);
	assert_non_null(strstr(gate_msgs, want));
	assert_non_null(strstr(gate_msgs, "giving up"));

	/* a joiner that found the area parked: refused, after the wait */
	gate_msgs[0] = '\0';
	t0 = now_sec();
	assert_int_equal(umfs_gate_enter_again(fd, dfd, name, path, &first, &size), -ETIMEDOUT);
	assert_in_range((long)((now_sec() - t0) * 1000), 300, 5000);
	assert_non_null(strstr(gate_msgs, want));

	umfs_log_set(NULL, 0);
	umfs_test_gate_timeout_ms = 0;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	/* the kernel dropped the dead holder's lock: the byte is there */
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(umfs_gate_lock(fd, 1, F_WRLCK, false, path), 0);
	close(fd);
	close(dfd);
	unlink(path);
}

/* Users of a gate joining and leaving over and over, as short processes
 * do: each comes in (first: it makes the area; else it finds the area
 * made, or parked by a last user while it waited, and comes in again),
 * then leaves (last: it parks the area). Every join must come in, after
 * a turn or a few. */
#define AGAIN_USERS 6
#define AGAIN_JOINS 1500
#define AGAIN_MADE 0x4544414d54534554ull /* "TESTMADE" */

struct again_arg {
	const char *name;
	int dfd, k, failed, parked_found, most_rounds;
};

static uint64_t area_magic(int fd)
{
	uint64_t m = 0;

	return pread(fd, &m, sizeof(m), 0) == (ssize_t)sizeof(m) ? m : 0;
}

static void area_mark(int fd, uint64_t m)
{
	assert_int_equal(pwrite(fd, &m, sizeof(m), 0), (ssize_t)sizeof(m));
}

static void *again_user(void *p)
{
	struct again_arg *a = p;

	for (int j = 0; j < AGAIN_JOINS; j++) {
		int fd = openat(a->dfd, a->name, O_RDWR), rounds = 0;
		bool first;
		off_t size;

		fd = umfs_gate_enter_fd(fd, a->dfd, a->name, a->name, &first, &size);
		while (fd >= 0 && !first && area_magic(fd) == UMFS_GATE_PARKED && rounds < 200) {
			rounds++;
			fd = umfs_gate_enter_again(fd, a->dfd, a->name, a->name, &first, &size);
		}
		a->parked_found += rounds > 0;
		a->most_rounds = rounds > a->most_rounds ? rounds : a->most_rounds;
		if (fd < 0 || (!first && area_magic(fd) != AGAIN_MADE)) {
			a->failed++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (first) {
			area_mark(fd, AGAIN_MADE);
			umfs_gate_ready(fd, a->name);
		}
		if (umfs_gate_last(fd, a->name, NULL)) {
			uint64_t m = 0;

			usleep(100); /* a last user's recovery: joiners gather */
			umfs_gate_area_park(&m);
			area_mark(fd, m);
		}
		close(fd);
		usleep(((unsigned)j * 7919u + (unsigned)a->k * 104729u) % 400u); /* between joins */
	}
	return NULL;
}

static void test_gate_enter_again(void **state)
{
	struct again_arg arg[AGAIN_USERS];
	pthread_t t[AGAIN_USERS];
	char path[64], name[48];
	int fd, dfd, found = 0;

	(void)state;
	snprintf(name, sizeof(name), "umfs-test-again-%d", (int)getpid());
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	area_mark(fd, 0);
	close(fd);
	dfd = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (int i = 0; i < AGAIN_USERS; i++) {
		arg[i] = (struct again_arg){ .name = name, .dfd = dfd, .k = i };
		assert_int_equal(pthread_create(&t[i], NULL, again_user, &arg[i]), 0);
	}
	for (int i = 0; i < AGAIN_USERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		print_message("user %d: %d joins found the area parked, at most %d turns, "
			      "%d failed\n", i, arg[i].parked_found, arg[i].most_rounds,
			      arg[i].failed);
		found += arg[i].parked_found;
	}
	for (int i = 0; i < AGAIN_USERS; i++) {
		assert_int_equal(arg[i].failed, 0);
		/* one turn each, all but always on a quiet machine (up to 25
		 * with both CPUs busy with other tests); trying again at once
		 * took up to 200 here (and failed) */
		assert_in_range(arg[i].most_rounds, 0, 60);
	}
	assert_true(found > 0); /* the race was run */
	close(dfd);
	unlink(path);
}

/* Task stamps (procfs.h), of the kind this run makes: one task keeps its
 * stamp, another task's differs, a task that is gone has none; the kind
 * shows in the top bit. */
static void test_task_stamps(void **state)
{
	uint32_t self = umfs_task_stamp(getpid());
	int p[2], st;
	pid_t pid;
	char c;

	(void)state;
	assert_true(self != 0);
	assert_int_equal(umfs_task_stamp(getpid()), self);
	assert_int_equal(self >> 31, umfs_test_stamp_proc ? 0 : stamp_kind_pidfs);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 0 ? 0 : 1); /* until the parent closes */
	}
	close(p[0]);
	assert_true(umfs_task_stamp(pid) != 0);
	assert_true(umfs_task_stamp_differs(self, umfs_task_stamp(pid)));
	assert_false(umfs_task_stamp_differs(self, 0)); /* unknown: not another */
	close(p[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(umfs_task_stamp(pid), 0); /* reaped: no such task */
}

static int plock_tests(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uncontended),
		cmocka_unit_test(test_contended),
		cmocka_unit_test(test_dead_holder),
		cmocka_unit_test(test_zombie_holder),
		cmocka_unit_test(test_live_holder),
		cmocka_unit_test(test_garbage_words),
		cmocka_unit_test(test_forged_live_owner),
		cmocka_unit_test(test_abandoned),
		cmocka_unit_test(test_handoff),
		cmocka_unit_test(test_fork_identity),
		cmocka_unit_test(test_gate_holder),
		cmocka_unit_test(test_gate_stopped_leaver),
		cmocka_unit_test(test_gate_enter_again),
		cmocka_unit_test(test_task_stamps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Every test twice: with the stamps this kernel gives (pidfs where it has
 * it), then, in a child that has made none yet, with /proc's start times. */
int main(void)
{
	int r, st;
	pid_t pid;

	umfs_log_set(NULL, 0); /* takeovers are expected here: quiet */
	stamp_kind_pidfs = pidfs_here();
	r = plock_tests();
	pid = fork();
	if (pid == 0) {
		umfs_plock_forked();
		umfs_test_stamp_proc = true;
		_exit(plock_tests() ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		r = 1;
	return r;
}
