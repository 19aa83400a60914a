/* SPDX-License-Identifier: MIT */
/*
 * shim_cancel DIR mount|busy|points|waiting|async|fifo|splice [ROUNDS] - threads cancelled with
 * pthread_cancel() while they make file calls in DIR; the process must go
 * on working.
 *
 * points: for each of a list of calls on a file of DIR, a thread with a
 * cancellation pending (it cancels itself) makes the call: a line
 * "NAME point" when the call acted on it, "NAME not" when it returned.
 * The lines are compared with the same program on tmpfs (cancel.sh): the
 * C library's cancellation points and no others.
 *
 * mount: the process's first call in DIR is made by a thread cancelled as
 * it starts (on UMFS: the call that mounts the pool); the main thread then
 * creates, writes, reads back and removes a file there.
 *
 * busy: WORKERS threads loop over creates, writes, reads, syncs, record
 * locks (F_SETLKW), renames, stats and unlinks in DIR, nothing else; the
 * main thread cancels one at a random moment, joins it and starts another,
 * ROUNDS times. Each worker counts the calls it has finished; a round
 * whose worker finished none did not test anything, so at least half of
 * the rounds must cancel a worker that had. Then the main thread does the
 * same checks as in mount.
 *
 * waiting: a thread waits for a lock another process holds, by fcntl
 * F_SETLKW, F_OFD_SETLKW and lockf F_LOCK in turn, and is cancelled in the
 * wait; then by flock, no cancellation point, and is cancelled by a signal
 * handler that acts on the pending cancellation in the wait; then by
 * F_SETLKW left by a handler's siglongjmp, after which the thread exits
 * with pthread_exit. Each must end so within WAIT_SECONDS, and the median
 * of the three cancelled at a cancellation point within WAIT_PROMPT_MS: the
 * kernel's wait ends at once, where one that acted on the cancellation
 * only at a periodic look at the holder (20 ms apart) would take about
 * 10 ms (the median: on a loaded machine one wait may meet a scheduling
 * delay of as much). Its own
 * cleanup handler must get a signal it raises (no
 * call left half served), its description must go when its descriptor is
 * closed (its OFD lock then given to the other process), and the other
 * process must then wait for a lock of this one, not hear EDEADLK (the
 * cancelled wait is in no chain).
 *
 * async: a thread in asynchronous cancellation mode gets a signal and is
 * cancelled a moment later, ASYNC_ROUNDS times with each of two handlers:
 * one set with SA_RESETHAND (the library sets the disposition back as the
 * handler starts), one that writes a file of DIR. The cancellation comes
 * anywhere in the handler, where the C library acts on it at once. As on
 * tmpfs, where each of the kernel's calls is whole, the process must go
 * on: every later sigaction answers (a lock left taken would hang it), no
 * descriptor is left behind (the entries of /proc/self/fd as many after
 * the rounds as before), and the file reads back.
 *
 * fifo: a thread opening a FIFO of DIR for reading, with no writer, waits,
 * as the kernel's open does; cancelled 110 ms in, it must end cancelled
 * within WAIT_SECONDS (the C library's open is a cancellation point).
 * Then the main thread opens it, with a SIGALRM handler without
 * SA_RESTART every 20 ms: the open must end with EINTR at the first
 * signal, as the kernel's (a library that tried again would wait on,
 * and a program's alarm() would never end its wait).
 *
 * splice: the waits of a transfer between a file of DIR and a pipe, as
 * the kernel's. A thread waiting in splice from an empty pipe, or into a
 * full one, is cancelled 110 ms in and must end cancelled within
 * WAIT_SECONDS; one waiting in sendfile into a full pipe must not (the C
 * library's sendfile is no cancellation point): it returns once the pipe
 * is drained. A splice from an empty pipe that a process fills 300 ms in
 * gets a SIGALRM 100 ms in: with SA_RESTART its handler runs then and the
 * splice goes on and moves the bytes; without, it ends with EINTR.
 *
 * Other than in async, each cancellation is deferred, so it is acted on only at a cancellation
 * point: the calls open, read, write, pread, pwrite, fsync, fcntl F_SETLKW
 * and close are such points, as in the C library. Every wait is bounded
 * (alarm): a thread unwound inside the library with one of its locks held
 * shows as a hang. Prints "ok" or what went wrong; exits 1 on failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define HANG_SECONDS 60
#define WAIT_SECONDS 2
#define WAIT_PROMPT_MS 5.0 /* the median of the three cancellation points' waits */
#define ASYNC_ROUNDS 2000

static const char *dir;
static _Atomic unsigned long done[WORKERS];

static void fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A file of DIR written, read back and removed: the library still works. */
static void check_works(void)
{
	char name[4096], buf[8192], back[8192];
	int fd;

	snprintf(name, sizeof(name), "%s/check.%d", dir, (int)getpid());
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		fail("open after the cancellations");
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		fail("write after the cancellations");
	if (pread(fd, back, sizeof(back), 0) != (ssize_t)sizeof(back) ||
	    memcmp(buf, back, sizeof(buf)) != 0)
		fail("read back after the cancellations");
	if (close(fd) != 0 || unlink(name) != 0)
		fail("close and unlink after the cancellations");
}

static void *first_call(void *arg)
{
	char name[4096];
	int fd;

	(void)arg;
	snprintf(name, sizeof(name), "%s/first.%d", dir, (int)getpid());
	fd = open(name, O_CREAT | O_RDWR, 0644);
	if (fd >= 0) {
		(void)write(fd, "x", 1);
		close(fd);
	}
	return NULL;
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	char a[4096], b[4096], buf[4096];
	struct stat st;

	memset(buf, 'a' + id, sizeof(buf));
	for (unsigned long i = 0;; i++) {
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 10 };
		int fd;

		snprintf(a, sizeof(a), "%s/w%d.%lu", dir, id, i % 4);
		snprintf(b, sizeof(b), "%s/w%d.%lu.moved", dir, id, i % 4);
		fd = open(a, O_CREAT | O_RDWR | O_TRUNC, 0644);
		if (fd < 0)
			continue;
		(void)write(fd, buf, sizeof(buf));
		(void)pwrite(fd, buf, 100, 50);
		(void)pread(fd, buf, sizeof(buf), 0);
		(void)fsync(fd);
		(void)fcntl(fd, F_SETLKW, &l);
		l.l_type = F_UNLCK;
		(void)fcntl(fd, F_SETLK, &l);
		(void)close(fd);
		(void)rename(a, b);
		(void)stat(b, &st);
		(void)unlink(b);
		atomic_fetch_add(&done[id], 1);
	}
	return NULL;
}

/* The calls of points mode, each on a file of DIR opened read-write
 * (fd), a second descriptor of it (fd2), a pipe, and a mapping of it. */
enum point_call {
	PC_OPEN, PC_OPENAT, PC_CREAT, PC_READ, PC_WRITE, PC_PREAD, PC_PWRITE, PC_READV,
	PC_WRITEV, PC_FSYNC, PC_FDATASYNC, PC_CLOSE, PC_SETLKW, PC_SETLK, PC_GETFL, PC_LOCKF,
	PC_TLOCK, PC_MSYNC, PC_FSTAT, PC_LSEEK, PC_FTRUNCATE, PC_STAT, PC_RENAME, PC_SYSCALL_READ,
	PC_COUNT
};
static const char *const point_name[PC_COUNT] = {
	"open", "openat", "creat", "read", "write", "pread", "pwrite", "readv", "writev",
	"fsync", "fdatasync", "close", "fcntl F_SETLKW", "fcntl F_SETLK", "fcntl F_GETFL",
	"lockf F_LOCK", "lockf F_TLOCK", "msync", "fstat", "lseek", "ftruncate", "stat",
	"rename", "syscall(SYS_read)",
};
static int point_fd, point_fd2;
static char *point_map;
static char point_path[4096], point_path2[4096];
static _Atomic int point_stage;

static void *point_thread(void *arg)
{
	enum point_call c = (enum point_call)(intptr_t)arg;
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
	struct iovec iov;
	struct stat st;
	char buf[16];

	iov = (struct iovec){ .iov_base = buf, .iov_len = 1 };
	pthread_cancel(pthread_self());
	atomic_store(&point_stage, 1);
	switch (c) {
	case PC_OPEN: close(open(point_path, O_RDONLY)); break;
	case PC_OPENAT: close(openat(AT_FDCWD, point_path, O_RDONLY)); break;
	case PC_CREAT: close(creat(point_path2, 0644)); break;
	case PC_READ: (void)read(point_fd, buf, 1); break;
	case PC_WRITE: (void)write(point_fd, "x", 1); break;
	case PC_PREAD: (void)pread(point_fd, buf, 1, 0); break;
	case PC_PWRITE: (void)pwrite(point_fd, "x", 1, 0); break;
	case PC_READV: (void)readv(point_fd, &iov, 1); break;
	case PC_WRITEV: (void)writev(point_fd, &iov, 1); break;
	case PC_FSYNC: (void)fsync(point_fd); break;
	case PC_FDATASYNC: (void)fdatasync(point_fd); break;
	case PC_CLOSE: (void)close(point_fd2); break;
	case PC_SETLKW: (void)fcntl(point_fd, F_SETLKW, &l); break;
	case PC_SETLK: (void)fcntl(point_fd, F_SETLK, &l); break;
	case PC_GETFL: (void)fcntl(point_fd, F_GETFL); break;
	case PC_LOCKF: (void)lockf(point_fd, F_LOCK, 1); break;
	case PC_TLOCK: (void)lockf(point_fd, F_TLOCK, 1); break;
	case PC_MSYNC: (void)msync(point_map, 4096, MS_SYNC); break;
	case PC_FSTAT: (void)fstat(point_fd, &st); break;
	case PC_LSEEK: (void)lseek(point_fd, 0, SEEK_SET); break;
	case PC_FTRUNCATE: (void)ftruncate(point_fd, 4096); break;
	case PC_STAT: (void)stat(point_path, &st); break;
	case PC_RENAME: (void)rename(point_path2, point_path2); break;
	case PC_SYSCALL_READ: (void)syscall(SYS_read, point_fd, buf, 1); break;
	case PC_COUNT: break;
	}
	atomic_store(&point_stage, 2);
	pthread_testcancel();
	return NULL;
}

/* Which calls act on a pending cancellation: one line each. */
static int run_points(void)
{
	snprintf(point_path, sizeof(point_path), "%s/points.%d", dir, (int)getpid());
	snprintf(point_path2, sizeof(point_path2), "%s/points2.%d", dir, (int)getpid());
	point_fd = open(point_path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (point_fd < 0 || ftruncate(point_fd, 4096) != 0)
		fail("the file of points");
	point_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, point_fd, 0);
	if (point_map == MAP_FAILED)
		fail("mmap");
	for (int c = 0; c < PC_COUNT; c++) {
		pthread_t t;
		void *res;

		point_fd2 = dup(point_fd);
		atomic_store(&point_stage, 0);
		if (pthread_create(&t, NULL, point_thread, (void *)(intptr_t)c) != 0)
			fail("pthread_create");
		pthread_join(t, &res);
		printf("%s %s\n", point_name[c],
		       atomic_load(&point_stage) == 1 && res == PTHREAD_CANCELED ? "point" : "not");
		if (c != PC_CLOSE)
			close(point_fd2);
	}
	munmap(point_map, 4096);
	close(point_fd);
	unlink(point_path);
	unlink(point_path2);
	return 0;
}

static int run_busy(int rounds)
{
	pthread_t t[WORKERS];
	unsigned seed = (unsigned)getpid();
	int tested = 0;

	for (int k = 0; k < WORKERS; k++)
		if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k) != 0)
			fail("pthread_create");
	for (int r = 0; r < rounds; r++) {
		int k = (int)(rand_r(&seed) % WORKERS);
		struct timespec pause = { 0, (long)(rand_r(&seed) % 2000) * 1000 };
		void *res;

		nanosleep(&pause, NULL);
		if (atomic_load(&done[k]) > 0)
			tested++;
		pthread_cancel(t[k]);
		if (pthread_join(t[k], &res) != 0 || res != PTHREAD_CANCELED) {
			printf("FAIL round %d: worker %d was not cancelled\n", r, k);
			return 1;
		}
		atomic_store(&done[k], 0);
		if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)k) != 0)
			fail("pthread_create");
	}
	for (int k = 0; k < WORKERS; k++) {
		pthread_cancel(t[k]);
		pthread_join(t[k], NULL);
	}
	if (tested * 2 < rounds) {
		printf("FAIL only %d of %d rounds cancelled a worker that had done its calls\n",
		       tested, rounds);
		return 1;
	}
	return 0;
}

/* waiting mode: the other process takes lock requests over a pipe. */
#define HOLD_FLOCK (-1) /* a request of flock(), not of fcntl() */

struct hold_req {
	int cmd;
	short type;
	off_t start;
};

static int to_holder[2], from_holder[2];

static void holder_serve(const char *path)
{
	int fd = open(path, O_RDWR);
	struct hold_req q;

	while (fd >= 0 && read(to_holder[0], &q, sizeof(q)) == (ssize_t)sizeof(q)) {
		struct flock l = { .l_type = q.type, .l_whence = SEEK_SET, .l_start = q.start,
				   .l_len = 1 };
		int r = q.cmd == HOLD_FLOCK ? flock(fd, q.type == F_UNLCK ? LOCK_UN : LOCK_EX)
					    : fcntl(fd, q.cmd, &l);
		int err = r == 0 ? 0 : errno;

		if (write(from_holder[1], &err, sizeof(err)) != (ssize_t)sizeof(err))
			break;
	}
	_exit(0);
}

static void holder_send(int cmd, short type, off_t start)
{
	struct hold_req q = { cmd, type, start };

	if (write(to_holder[1], &q, sizeof(q)) != (ssize_t)sizeof(q))
		fail("a request to the other process");
}

static int holder_answer(void)
{
	int err;

	if (read(from_holder[0], &err, sizeof(err)) != (ssize_t)sizeof(err))
		fail("the other process's answer");
	return err;
}

static int holder_ask(int cmd, short type, off_t start)
{
	holder_send(cmd, type, start);
	return holder_answer();
}

enum { WAIT_SETLKW, WAIT_OFD_SETLKW, WAIT_LOCKF, WAIT_FLOCK, WAIT_LONGJMP, WAIT_KINDS };
static const char *const wait_name[WAIT_KINDS] = {
	"F_SETLKW", "F_OFD_SETLKW", "lockf F_LOCK", "flock, a handler's cancellation point",
	"F_SETLKW, left by a handler's siglongjmp"
};
#define WAIT_JUMPED ((void *)2) /* how the siglongjmp's thread ends */
static int wait_fd;
static sigjmp_buf wait_env;
static _Atomic int wait_returned;
static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen = 1;
}

static void on_usr2(int sig)
{
	(void)sig;
	pthread_testcancel();
}

static void on_urg(int sig)
{
	(void)sig;
	siglongjmp(wait_env, 1);
}

static void wait_cleanup(void *arg)
{
	(void)arg;
	raise(SIGUSR1); /* delivered before raise returns, as for any call */
}

static void *lock_waiter(void *arg)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	pthread_cleanup_push(wait_cleanup, NULL);
	switch ((int)(intptr_t)arg) {
	case WAIT_SETLKW: (void)fcntl(wait_fd, F_SETLKW, &l); break;
	case WAIT_OFD_SETLKW: (void)fcntl(wait_fd, F_OFD_SETLKW, &l); break;
	case WAIT_LOCKF: (void)lockf(wait_fd, F_LOCK, 1); break;
	case WAIT_FLOCK: (void)flock(wait_fd, LOCK_EX); break;
	default:
		if (sigsetjmp(wait_env, 1) == 0)
			(void)fcntl(wait_fd, F_SETLKW, &l);
		else
			pthread_exit(WAIT_JUMPED); /* unwinds past no record of the library */
		break;
	}
	atomic_store(&wait_returned, 1);
	pthread_cleanup_pop(0);
	return NULL;
}

static int wait_fails(const char *kind, const char *what)
{
	printf("FAIL %s: %s\n", kind, what);
	return 1;
}

/* One kind of wait, cancelled; the other process holds byte 0. *ms: from
 * the cancellation (or signal) to the thread's end. */
static int wait_cancelled(const char *path, int kind, double *ms)
{
	const char *name = wait_name[kind];
	struct flock mine = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
	/* 110 ms into the wait: half way between two of the looks of a wait
	 * that looks every 20 ms, which would act on the cancellation only
	 * there */
	struct timespec settle = { 0, 110 * 1000 * 1000 }, deadline, t0, t1;
	pthread_t t;
	void *res;
	int fd2, err;

	wait_fd = open(path, O_RDWR);
	mine.l_start = 100;
	if (wait_fd < 0 || fcntl(wait_fd, F_OFD_SETLK, &mine) != 0)
		fail("an OFD lock of this process");
	atomic_store(&wait_returned, 0);
	usr1_seen = 0;
	if (pthread_create(&t, NULL, lock_waiter, (void *)(intptr_t)kind) != 0)
		fail("pthread_create");
	nanosleep(&settle, NULL);
	if (atomic_load(&wait_returned))
		return wait_fails(name, "the lock was given while another process held it");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (kind == WAIT_LONGJMP)
		pthread_kill(t, SIGURG);
	else
		pthread_cancel(t);
	if (kind == WAIT_FLOCK)
		pthread_kill(t, SIGUSR2);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_SECONDS;
	if (pthread_timedjoin_np(t, &res, &deadline) != 0)
		return wait_fails(name, "the waiting thread did not end in the wait");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (res != (kind == WAIT_LONGJMP ? WAIT_JUMPED : PTHREAD_CANCELED) ||
	    atomic_load(&wait_returned))
		return wait_fails(name, "the wait returned instead of ending");
	*ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("%s: ended in the wait after %.1f ms\n", name, *ms);
	if (!usr1_seen)
		return wait_fails(name, "a signal raised in the thread's cleanup was not delivered");
	/* the description had only this descriptor: its lock goes with it */
	close(wait_fd);
	err = holder_ask(F_OFD_SETLK, F_WRLCK, 100);
	if (err != 0)
		return wait_fails(name, "the ended wait's description outlived its last descriptor");
	holder_ask(F_OFD_SETLK, F_UNLCK, 100);
	/* the other process waits for this one, which waits for nothing */
	fd2 = open(path, O_RDWR);
	mine.l_start = 200;
	if (fd2 < 0 || fcntl(fd2, F_SETLK, &mine) != 0)
		fail("a POSIX lock of this process");
	holder_send(F_SETLKW, F_WRLCK, 200);
	nanosleep(&settle, NULL);
	close(fd2); /* lets go of byte 200 */
	err = holder_answer();
	if (err != 0)
		return wait_fails(name, err == EDEADLK ? "a later wait heard EDEADLK through the ended one"
						       : "a later wait failed");
	holder_ask(F_SETLK, F_UNLCK, 200);
	return 0;
}

static double median3(const double v[3])
{
	double lo = v[0] < v[1] ? v[0] : v[1], hi = v[0] < v[1] ? v[1] : v[0];

	return v[2] < lo ? lo : v[2] > hi ? hi : v[2];
}

static int run_waiting(void)
{
	char path[4096];
	struct sigaction sa = { .sa_handler = on_usr1 }, sa2 = { .sa_handler = on_usr2 },
			 sa3 = { .sa_handler = on_urg };
	pid_t pid;
	int fd, failed = 0;
	double ms = 0, points_ms[WAIT_LOCKF + 1];

	snprintf(path, sizeof(path), "%s/waiting.%d", dir, (int)getpid());
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0 || sigaction(SIGUSR1, &sa, NULL) != 0 || sigaction(SIGUSR2, &sa2, NULL) != 0 ||
	    sigaction(SIGURG, &sa3, NULL) != 0 || pipe(to_holder) != 0 || pipe(from_holder) != 0)
		fail("the file and pipes of waiting");
	close(fd);
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		close(to_holder[1]); /* the parent's close ends the loop */
		holder_serve(path);
	}
	close(to_holder[0]);
	close(from_holder[1]);
	if (holder_ask(F_SETLK, F_WRLCK, 0) != 0 || holder_ask(HOLD_FLOCK, F_WRLCK, 0) != 0)
		fail("the other process's locks");
	for (int kind = 0; kind < WAIT_KINDS && !failed; kind++) {
		failed = wait_cancelled(path, kind, &ms);
		if (kind <= WAIT_LOCKF)
			points_ms[kind] = ms;
	}
	if (!failed && median3(points_ms) >= WAIT_PROMPT_MS)
		failed = wait_fails("cancellation points",
				    "the cancelled waits did not end at once");
	close(to_holder[1]);
	waitpid(pid, NULL, 0);
	unlink(path);
	return failed;
}

/* async mode */
static int async_fd;
static atomic_int async_ready;
static const char async_record[512] = "written by a handler";

static void async_reset_handler(int sig)
{
	(void)sig;
}

static void async_write_handler(int sig)
{
	(void)sig;
	(void)pwrite(async_fd, async_record, sizeof(async_record), 0);
}

static void *async_spinner(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	atomic_store(&async_ready, 1);
	for (;;)
		;
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		fail("opendir /proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The cancellation comes 0 to about 20 us after the signal is sent. */
static void async_round(unsigned i, bool reset)
{
	struct sigaction sa = { .sa_handler = reset ? async_reset_handler : async_write_handler,
				.sa_flags = reset ? SA_RESETHAND : 0 };
	pthread_t t;

	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		fail("sigaction");
	atomic_store(&async_ready, 0);
	if (pthread_create(&t, NULL, async_spinner, NULL) != 0)
		fail("pthread_create");
	while (!atomic_load(&async_ready))
		;
	pthread_kill(t, SIGUSR1);
	for (volatile unsigned k = 0; k < (i * 7919u) % 20000; k++)
		;
	pthread_cancel(t);
	pthread_join(t, NULL);
}

static int run_async(void)
{
	char name[4096], back[sizeof(async_record)];
	int before, after;

	snprintf(name, sizeof(name), "%s/async.%d", dir, (int)getpid());
	async_fd = open(name, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (async_fd < 0 || pwrite(async_fd, async_record, sizeof(async_record), 0) < 0)
		fail("open and write the handler's file");
	before = count_fds();
	for (unsigned i = 0; i < ASYNC_ROUNDS; i++)
		async_round(i, true);
	for (unsigned i = 0; i < ASYNC_ROUNDS; i++)
		async_round(i, false);
	after = count_fds();
	if (after != before) {
		printf("FAIL %d descriptors open before the cancelled handlers, %d after\n", before,
		       after);
		return 1;
	}
	if (pread(async_fd, back, sizeof(back), 0) != (ssize_t)sizeof(back) ||
	    memcmp(back, async_record, sizeof(back)) != 0)
		fail("read back the handlers' record");
	if (close(async_fd) != 0 || unlink(name) != 0)
		fail("close and unlink the handlers' file");
	return 0;
}

/* A thread running fn(arg), cancelled 110 ms in: whether it ended within
 * WAIT_SECONDS (*res: its result), or goes on (t: it). */
static bool cancelled_in_wait(void *(*fn)(void *), void *arg, pthread_t *t, void **res)
{
	struct timespec settle = { 0, 110 * 1000 * 1000 }, deadline;

	if (pthread_create(t, NULL, fn, arg) != 0)
		fail("pthread_create");
	nanosleep(&settle, NULL);
	pthread_cancel(*t);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_SECONDS;
	return pthread_timedjoin_np(*t, res, &deadline) == 0;
}

/* fifo mode */
static volatile sig_atomic_t fifo_alarms;

static void fifo_on_alarm(int sig)
{
	(void)sig;
	fifo_alarms++;
}

static void *fifo_opener(void *arg)
{
	int fd = open((const char *)arg, O_RDONLY);

	if (fd >= 0)
		close(fd);
	return NULL; /* opened: nobody writes, so never */
}

static int run_fifo(void)
{
	struct sigaction sa = { .sa_handler = fifo_on_alarm }; /* no SA_RESTART */
	struct itimerval every = { { 0, 20000 }, { 0, 20000 } }, off = { 0 };
	char name[4096];
	pthread_t t;
	void *res;
	int fd, e;

	snprintf(name, sizeof(name), "%s/fifo.%d", dir, (int)getpid());
	if (mkfifo(name, 0600) != 0)
		fail("mkfifo");
	if (!cancelled_in_wait(fifo_opener, name, &t, &res)) {
		printf("FAIL a thread cancelled in a FIFO's open did not end\n");
		return 1;
	}
	if (res != PTHREAD_CANCELED) {
		printf("FAIL a thread cancelled in a FIFO's open returned from it\n");
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &every, NULL) != 0)
		fail("the interval timer");
	fd = open(name, O_RDONLY);
	e = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	alarm(HANG_SECONDS);
	if (fd >= 0 || e != EINTR || fifo_alarms != 1) {
		printf("FAIL a FIFO's open with signals every 20 ms: %d (%s) after %d signals, "
		       "not EINTR after the first\n",
		       fd, fd >= 0 ? "opened" : strerror(e), (int)fifo_alarms);
		return 1;
	}
	if (unlink(name) != 0)
		fail("unlink the FIFO");
	return 0;
}

/* splice mode */
enum { XFER_SPLICE_IN, XFER_SPLICE_OUT, XFER_SENDFILE };
static int xfer_pipe[2], xfer_fd;
static volatile sig_atomic_t xfer_alarms;
static char xfer_returned; /* the thread's result when the call returned */

static void *xfer_thread(void *arg)
{
	off_t at = 0;

	switch ((int)(intptr_t)arg) {
	case XFER_SPLICE_IN:
		(void)splice(xfer_pipe[0], NULL, xfer_fd, NULL, 5, 0);
		break;
	case XFER_SPLICE_OUT:
		(void)splice(xfer_fd, NULL, xfer_pipe[1], NULL, 5, 0);
		break;
	default:
		(void)sendfile(xfer_pipe[1], xfer_fd, &at, 5);
	}
	return &xfer_returned;
}

static void xfer_pipe_fill(void)
{
	char b[4096];

	memset(b, 'p', sizeof(b));
	fcntl(xfer_pipe[1], F_SETFL, O_NONBLOCK);
	while (write(xfer_pipe[1], b, sizeof(b)) > 0)
		;
	fcntl(xfer_pipe[1], F_SETFL, 0);
}

static void xfer_pipe_drain(void)
{
	char b[4096];

	fcntl(xfer_pipe[0], F_SETFL, O_NONBLOCK);
	while (read(xfer_pipe[0], b, sizeof(b)) > 0)
		;
	fcntl(xfer_pipe[0], F_SETFL, 0);
}

/* One transfer waiting in a thread, cancelled: whether it ended so. */
static int xfer_cancelled(int kind, const char *name)
{
	bool point = kind != XFER_SENDFILE;
	pthread_t t;
	void *res;

	if (pipe(xfer_pipe) != 0)
		fail("pipe");
	if (kind != XFER_SPLICE_IN)
		xfer_pipe_fill();
	if (!cancelled_in_wait(xfer_thread, (void *)(intptr_t)kind, &t, &res)) {
		if (point) {
			printf("FAIL %s: a thread cancelled in its wait did not end\n", name);
			return 1;
		}
		xfer_pipe_drain(); /* what it waits for */
		pthread_join(t, &res);
	}
	close(xfer_pipe[0]);
	close(xfer_pipe[1]);
	if (res != (point ? PTHREAD_CANCELED : (void *)&xfer_returned)) {
		printf("FAIL %s: cancelled in its wait, the thread %s\n", name,
		       point ? "returned" : "ended cancelled (no cancellation point)");
		return 1;
	}
	return 0;
}

static void xfer_on_alarm(int sig)
{
	(void)sig;
	xfer_alarms++;
}

/* A splice from an empty pipe that a child fills 300 ms in, with a
 * SIGALRM 100 ms in: its result and errno. */
static ssize_t xfer_interrupted(int flags, int *err)
{
	struct sigaction sa = { .sa_handler = xfer_on_alarm, .sa_flags = flags };
	struct itimerval once = { .it_value = { 0, 100 * 1000 } };
	pid_t filler;
	ssize_t r;

	if (pipe(xfer_pipe) != 0)
		fail("pipe");
	filler = fork();
	if (filler < 0)
		fail("fork");
	if (filler == 0) {
		usleep(300 * 1000);
		_exit(write(xfer_pipe[1], "hello", 5) == 5 ? 0 : 1);
	}
	xfer_alarms = 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0 || setitimer(ITIMER_REAL, &once, NULL) != 0)
		fail("the timer");
	r = splice(xfer_pipe[0], NULL, xfer_fd, NULL, 5, 0);
	*err = errno;
	waitpid(filler, NULL, 0);
	signal(SIGALRM, SIG_DFL);
	alarm(HANG_SECONDS);
	close(xfer_pipe[0]);
	close(xfer_pipe[1]);
	return r;
}

static int run_splice(void)
{
	char name[4096];
	ssize_t r;
	int e;

	snprintf(name, sizeof(name), "%s/splice.%d", dir, (int)getpid());
	xfer_fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (xfer_fd < 0 || write(xfer_fd, "hello", 5) != 5)
		fail("open and write the file");
	if (xfer_cancelled(XFER_SPLICE_IN, "splice from an empty pipe") ||
	    xfer_cancelled(XFER_SPLICE_OUT, "splice into a full pipe") ||
	    xfer_cancelled(XFER_SENDFILE, "sendfile into a full pipe"))
		return 1;
	r = xfer_interrupted(SA_RESTART, &e);
	if (r != 5 || xfer_alarms != 1) {
		printf("FAIL a splice with an SA_RESTART handler run in its wait: %zd (%s), "
		       "%d handler runs\n", r, r < 0 ? strerror(e) : "moved", (int)xfer_alarms);
		return 1;
	}
	r = xfer_interrupted(0, &e);
	if (r != -1 || e != EINTR || xfer_alarms != 1) {
		printf("FAIL a splice with a handler without SA_RESTART run in its wait: %zd (%s), "
		       "%d handler runs\n", r, r < 0 ? strerror(e) : "moved", (int)xfer_alarms);
		return 1;
	}
	if (close(xfer_fd) != 0 || unlink(name) != 0)
		fail("close and unlink the file");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: shim_cancel DIR mount|busy|points|waiting|async|fifo|splice [ROUNDS]\n");
		return 2;
	}
	dir = argv[1];
	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(HANG_SECONDS);
	if (strcmp(argv[2], "mount") == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, first_call, NULL) != 0)
			fail("pthread_create");
		pthread_cancel(t);
		pthread_join(t, NULL);
	} else if (strcmp(argv[2], "points") == 0) {
		return run_points();
	} else if (strcmp(argv[2], "waiting") == 0) {
		if (run_waiting() != 0)
			return 1;
	} else if (strcmp(argv[2], "async") == 0) {
		if (run_async() != 0)
			return 1;
	} else if (strcmp(argv[2], "fifo") == 0) {
		if (run_fifo() != 0)
			return 1;
	} else if (strcmp(argv[2], "splice") == 0) {
		if (run_splice() != 0)
			return 1;
	} else if (run_busy(argc > 3 ? atoi(argv[3]) : 100) != 0) {
		return 1;
	}
	check_works();
	printf("ok\n");
	return 0;
}
