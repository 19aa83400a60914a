/* SPDX-License-Identifier: MIT */
/*
 * releases.c - the kernel's releases and forgets, made to come before
 * the requests that follow them.
 *
 * At the last close of a file the kernel sends RELEASE, and FORGET once it
 * drops the inode, and returns to the program without waiting for either
 * (but on a fuseblk mount). A release drops the file's flock and OFD
 * locks; the forget of a removed file frees it (nodetab.c holds it until
 * then). So the program's next lock or statfs, served by another worker,
 * could run first and find the lock still held or the space still used.
 *
 * The kernel hands out requests in the order they were made, so these
 * come before the request that follows. Each worker says while it is
 * inside a read, and marks a release or forget it read, before it leaves
 * the read, until it has served it. A request that must come after them
 * waits until every other worker that was inside a read or held one when
 * it came has left that read and served what it held. A worker idle in
 * its read is nudged out of it by a signal (EINTR), and reads again.
 * Reads go on in parallel: a mutex around them cost a third of the
 * mount's throughput (a hand-off of the read between two threads at every
 * request).
 *
 * The forget the kernel sends once it has the answer to a release or an
 * unlink is made later than the request, and may also be handed out after
 * it (the kernel gives queued requests a turn among a run of forgets):
 * a statfs waits for the forgets due when it came too (nodetab.c); a lock
 * does not, since a forget drops no lock.
 * With one thread (-s, or max_threads=1) nothing waits: what it read
 * before is served, and nothing else could serve the rest.
 *
 * Every wait is bounded (2 s), and none waits for what came after it.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "umfs_fuse.h"

/* How long a request waits for those read before it (each takes
 * microseconds; freeing a large file takes longer). */
#define UF_RELEASE_WAIT_NS (2 * 1000000000LL)
/* How often a waiting request looks again, and nudges idle readers again
 * (a nudge that lands just before a read begins is lost). */
#define UF_LOOK_EVERY_NS (50 * 1000L)

/* A worker's reading, shared with the others. Slots are never freed; a
 * thread's slot is free again when it ends (tid 0). */
struct uf_reader {
	struct uf_reader *next;
	atomic_int tid;
	atomic_uint seq;	/* reads begun */
	atomic_bool inside;	/* in a read, or what it read not yet marked */
	atomic_bool held;	/* read a release or forget, not yet served */
};

static struct uf_reader *_Atomic readers;
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t reader_key;
static int nudge_sig;
static sigset_t nudge_set;
static struct fuse_session *session;
static bool single;

static __thread struct uf_reader *self;

void uf_release_served(void)
{
	if (self)
		atomic_store(&self->held, false);
}

static void reader_end(void *arg)
{
	struct uf_reader *r = arg;

	atomic_store(&r->inside, false);
	atomic_store(&r->held, false);
	atomic_store(&r->tid, 0);
}

/* This thread's slot, taken at its first read; NULL without memory (the
 * thread then reads unseen, and what follows its releases may pass them). */
static struct uf_reader *reader_self(void)
{
	struct uf_reader *r;

	if (self)
		return self;
	pthread_mutex_lock(&readers_lock);
	for (r = atomic_load(&readers); r; r = r->next)
		if (!atomic_load(&r->tid))
			break;
	if (!r && (r = calloc(1, sizeof(*r)))) {
		r->next = atomic_load(&readers);
		atomic_store(&readers, r);
	}
	if (r)
		atomic_store(&r->tid, (int)syscall(SYS_gettid));
	pthread_mutex_unlock(&readers_lock);
	if (r)
		pthread_setspecific(reader_key, r);
	self = r;
	return r;
}

/* Every other reader that was inside a read or held a release when this
 * began has left that read and served what it held. Readers that read
 * again read what the kernel queued later. */
static void readers_settle(long long end)
{
	struct uf_reader *head = atomic_load(&readers), *r;
	struct timespec nap = { 0, UF_LOOK_EVERY_NS };
	size_t n = 0, i;
	bool waiting;

	for (r = head; r; r = r->next)
		n++;
	if (!n)
		return;
	int tids[n];
	unsigned int seqs[n];

	for (r = head, i = 0; r; r = r->next, i++) {
		seqs[i] = atomic_load(&r->seq);
		tids[i] = r == self || (!atomic_load(&r->inside) && !atomic_load(&r->held))
				  ? 0 : atomic_load(&r->tid);
	}
	do {
		waiting = false;
		for (r = head, i = 0; r; r = r->next, i++) {
			if (!tids[i])
				continue;
			if (atomic_load(&r->tid) != tids[i] || atomic_load(&r->seq) != seqs[i] ||
			    (!atomic_load(&r->inside) && !atomic_load(&r->held))) {
				tids[i] = 0;
				continue;
			}
			waiting = true;
			if (atomic_load(&r->inside))
				syscall(SYS_tgkill, getpid(), tids[i], nudge_sig);
		}
	} while (waiting && !nanosleep(&nap, NULL) && uf_clock_ns(CLOCK_MONOTONIC) < end);
}

void uf_releases_wait(bool forgets_due)
{
	struct timespec nap = { 0, UF_LOOK_EVERY_NS };
	long long end = uf_clock_ns(CLOCK_MONOTONIC) + UF_RELEASE_WAIT_NS;
	uint64_t due;

	if (single)
		return;
	readers_settle(end);
	if (!forgets_due)
		return;
	due = uf_nodes_due_now();
	while (uf_nodes_due_before(due) && uf_clock_ns(CLOCK_MONOTONIC) < end)
		nanosleep(&nap, NULL);
}

static void nudged(int sig)
{
	(void)sig; /* only ends the read (no SA_RESTART) */
}

static ssize_t uf_io_read(int fd, void *buf, size_t len, void *userdata)
{
	const struct fuse_in_header *in = buf;
	struct uf_reader *r = reader_self();
	ssize_t n;
	int err;

	(void)userdata;
	/* One libfuse answered without calling the handler (no memory for
	 * the request) is served by now. */
	uf_release_served();
	if (r)
		atomic_store(&r->inside, true);
	do {
		if (r)
			atomic_fetch_add(&r->seq, 1);
		/* the nudge may end only this read, never a call of the core */
		pthread_sigmask(SIG_UNBLOCK, &nudge_set, NULL);
		n = read(fd, buf, len);
		err = errno;
		pthread_sigmask(SIG_BLOCK, &nudge_set, NULL);
	} while (n < 0 && err == EINTR && !fuse_session_exited(session));
	if (r) {
		if (n >= (ssize_t)sizeof(*in) &&
		    (in->opcode == FUSE_RELEASE || in->opcode == FUSE_RELEASEDIR ||
		     in->opcode == FUSE_FORGET || in->opcode == FUSE_BATCH_FORGET))
			atomic_store(&r->held, true);
		atomic_store(&r->inside, false);
	}
	errno = err;
	return n;
}

static ssize_t uf_io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	return writev(fd, iov, count);
}

int uf_releases_install(struct fuse_session *se, bool one_thread)
{
	static const struct fuse_custom_io io = {
		.read = uf_io_read,
		.writev = uf_io_writev,
	};
	struct sigaction sa = { .sa_handler = nudged };

	session = se;
	single = one_thread;
	nudge_sig = SIGRTMIN + 1;
	sigemptyset(&nudge_set);
	sigaddset(&nudge_set, nudge_sig);
	if (pthread_key_create(&reader_key, reader_end) || sigaction(nudge_sig, &sa, NULL))
		return -1;
	/* blocked but in reads, in this thread and the workers it starts */
	pthread_sigmask(SIG_BLOCK, &nudge_set, NULL);
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
