/* SPDX-License-Identifier: MIT */
/*
 * ops_lock.c - flock and fcntl record locks of the kernel's clients, kept
 * in the core's lock table beside the locks of libumfs programs, so that
 * both see each other (docs/sharing.md, "Advisory locks").
 *
 * The kernel names each owner (fi->lock_owner): the open file for flock;
 * for a record lock a process (its descriptor table) or, for an OFD lock,
 * the open file, without saying which. Those owners live as long as this
 * daemon, so the table records the daemon as their host: if it dies, its
 * clients' locks die with it, as the kernel's would with the mount.
 *
 * When they go: a flock lock with the file's release (flock_release). A
 * process's record locks on a file at every close of a descriptor of it,
 * which the kernel sends as a flush naming the process. An OFD lock with
 * its open file, for whose release the kernel sends no unlock: so each open
 * file remembers the record-lock owners that locked through it since their
 * last flush of it, and its release drops what they still hold, but for
 * an owner that has locked through another open file since (owners_take).
 * A process that locked through the file has flushed it by then (every
 * close does), so only the open file's own locks are left to drop.
 *
 * A request that must wait (F_SETLKW, a blocking flock) waits in a thread
 * of its own, not in one of libfuse's workers: those are few (max_threads),
 * and the unlock a waiter waits for comes as a request too, which must
 * find a worker free however many clients wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "umfs_fuse.h"

/* The request this thread serves, for the callbacks below. */
static __thread fuse_req_t lock_req;
static __thread struct umfs_fs *lock_fs;

/* Whether a libumfs description still holds its slot: its token (the
 * directory shim/ofd/SLOT of the runtime directory) is flock'ed while it
 * is open anywhere. A token this daemon cannot open is taken as held. */
static bool uf_desc_alive(uint32_t slot, uint64_t id)
{
	char name[32];
	int fd, held;

	(void)id; /* a claim of the slot drops a closed description's locks */
	snprintf(name, sizeof(name), "shim/ofd/%u", slot);
	fd = openat(umfs_fs_rundir_fd(lock_fs), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* Whether the daemon is going: the waits then end (EINTR) before the
 * pool goes. */
static atomic_bool waits_stop;

/* A client's blocking flock or F_SETLKW interrupted by a signal
 * (FUSE_INTERRUPT): the kernel restarts it if the handler asked for
 * SA_RESTART. */
static int uf_wait_look(void *arg)
{
	(void)arg;
	return fuse_req_interrupted(lock_req) || atomic_load(&waits_stop) ? -EINTR : 0;
}

static const struct umfs_lock_ops uf_lock_ops = {
	.desc_alive = uf_desc_alive,
	.wait_look = uf_wait_look,
};

/* The owner the kernel names for a request on fi, of kind (the flock of
 * an open file, or a record lock's), in q with the file. */
static void uf_lock_owner(const struct fuse_file_info *fi, uint8_t kind, pid_t pid,
			  struct umfs_lock_req *q)
{
	q->owner.kind = kind;
	q->owner.id = fi->lock_owner;
	q->owner.host = umfs_lock_process_id();
	q->owner.pid = pid;
	umfs_file_id(uf_file(fi), &q->ino, &q->gen);
}

struct lock_wait {
	fuse_req_t req;
	struct umfs_fs *fs;
	struct umfs_lock_req q;
	int busy; /* the answer to a conflict: EAGAIN, or EWOULDBLOCK for flock */
	struct lock_wait *prev, *next; /* among the waits under way */
};

/* The waits under way in threads of their own, which uf_locks_stop wakes
 * and waits for; each leaves the list as it has answered. */
static pthread_mutex_t waits_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waits_gone = PTHREAD_COND_INITIALIZER;
static struct lock_wait *waits;

static void waits_add(struct lock_wait *w)
{
	pthread_mutex_lock(&waits_lock);
	w->prev = NULL;
	w->next = waits;
	if (waits)
		waits->prev = w;
	waits = w;
	pthread_mutex_unlock(&waits_lock);
}

static void waits_remove(struct lock_wait *w)
{
	pthread_mutex_lock(&waits_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		waits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (!waits)
		pthread_cond_broadcast(&waits_gone);
	pthread_mutex_unlock(&waits_lock);
}

/* libfuse, on the kernel's FUSE_INTERRUPT for a waiting request (from the
 * thread that read it): the wait wakes at once, and its look answers
 * EINTR, rather than at its next look. */
static void uf_wait_interrupted(fuse_req_t req, void *data)
{
	struct lock_wait *w = data;

	(void)req;
	umfs_lock_wake(w->fs, w->q.ino, w->q.gen);
}

static void *lock_wait_main(void *arg)
{
	struct lock_wait *w = arg;
	int r;

	lock_req = w->req;
	lock_fs = w->fs;
	fuse_req_interrupt_func(w->req, uf_wait_interrupted, w);
	r = umfs_lock_request(w->fs, &w->q, &uf_lock_ops, NULL);
	/* libfuse calls it under the request's lock, which this takes: none
	 * runs once w goes */
	fuse_req_interrupt_func(w->req, NULL, NULL);
	uf_reply_err(w->req, r == -EAGAIN ? w->busy : r);
	waits_remove(w);
	free(w);
	return NULL;
}

/* Asks for q without waiting; at a conflict once more after the releases
 * read before it are served, since one of them may drop it. */
static int uf_lock_try(const struct umfs_lock_req *q, struct umfs_lock_req *conflict)
{
	int r = umfs_lock_request(lock_fs, q, &uf_lock_ops, conflict);

	if (r == -EAGAIN) {
		uf_releases_wait(false);
		r = umfs_lock_request(lock_fs, q, &uf_lock_ops, conflict);
	}
	return r;
}

/* Serves q, answering a conflict with busy: at once unless it must wait,
 * then in a thread of its own (in this worker if none can be had). */
static void uf_lock_serve(fuse_req_t req, const struct umfs_lock_req *q, int busy)
{
	struct umfs_lock_req now = *q;
	struct lock_wait *w;
	pthread_attr_t attr;
	pthread_t t;
	int r;

	lock_req = req;
	lock_fs = uf_fs(req);
	now.wait = false;
	r = uf_lock_try(&now, NULL);
	if (q->wait && r == -EAGAIN && (w = malloc(sizeof(*w)))) {
		*w = (struct lock_wait){ .req = req, .fs = lock_fs, .q = *q, .busy = busy };
		waits_add(w);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&t, &attr, lock_wait_main, w);
		pthread_attr_destroy(&attr);
		if (r == 0)
			return;
		waits_remove(w);
		free(w);
		r = umfs_lock_request(lock_fs, q, &uf_lock_ops, NULL);
	}
	uf_reply_err(req, r == -EAGAIN ? busy : r);
}

/* Every wait is woken, looks at the flag and ends; the daemon waits for
 * them 5 s at most (a wait that cannot end holds only its request). */
void uf_locks_stop(void)
{
	struct timespec until;

	atomic_store(&waits_stop, true);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&waits_lock);
	for (struct lock_wait *w = waits; w; w = w->next)
		umfs_lock_wake(w->fs, w->q.ino, w->q.gen);
	while (waits &&
	       pthread_cond_clockwait(&waits_gone, &waits_lock, CLOCK_MONOTONIC, &until) == 0)
		;
	pthread_mutex_unlock(&waits_lock);
}

/* ------------------------------------------------------------------ */
/* fcntl record locks                                                   */
/* ------------------------------------------------------------------ */

/* Owners that took record locks through an open file (fi->fh) and have
 * not flushed it since. */
struct fh_owner {
	uint64_t fh, owner;
};
static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fh_owner *owners;
static size_t owners_n, owners_cap;
/* Whether a client ever took a record lock: flushes look for none before. */
static atomic_bool records_used;

static void owners_add(uint64_t fh, uint64_t owner)
{
	pthread_mutex_lock(&owners_lock);
	for (size_t i = 0; i < owners_n; i++)
		if (owners[i].fh == fh && owners[i].owner == owner)
			goto out;
	if (owners_n == owners_cap) {
		size_t cap = owners_cap ? 2 * owners_cap : 64;
		struct fh_owner *p = realloc(owners, cap * sizeof(*p));

		if (!p)
			goto out; /* its locks then go with the process's flush only */
		owners = p;
		owners_cap = cap;
	}
	owners[owners_n++] = (struct fh_owner){ fh, owner };
out:
	pthread_mutex_unlock(&owners_lock);
}

/* Forgets owner for fh. */
static void owners_forget(uint64_t fh, uint64_t owner)
{
	pthread_mutex_lock(&owners_lock);
	for (size_t i = 0; i < owners_n;) {
		if (owners[i].fh == fh && owners[i].owner == owner)
			owners[i] = owners[--owners_n];
		else
			i++;
	}
	pthread_mutex_unlock(&owners_lock);
}

/* Takes an owner recorded on fh whose locks go with fh's release: true,
 * with it in *owner. One also recorded on another open file is only
 * forgotten here: the kernel names an OFD owner by its open file's
 * address, which a file opened after this one's last close may have
 * again, and the release of this one, which the kernel sends late, must
 * not take that file's locks. */
static bool owners_take(uint64_t fh, uint64_t *owner)
{
	bool found = false;

	pthread_mutex_lock(&owners_lock);
	for (size_t i = 0; i < owners_n && !found;) {
		uint64_t o = owners[i].owner;
		bool elsewhere = false;

		if (owners[i].fh != fh) {
			i++;
			continue;
		}
		owners[i] = owners[--owners_n];
		for (size_t j = 0; j < owners_n && !elsewhere; j++)
			elsewhere = owners[j].owner == o && owners[j].fh != fh;
		if (!elsewhere) {
			*owner = o;
			found = true;
		}
	}
	pthread_mutex_unlock(&owners_lock);
	return found;
}

/* The request's range from the kernel's flock (SEEK_SET; l_len 0: to any
 * length); -EINVAL for one no file has. */
static int uf_record_range(const struct flock *l, struct umfs_lock_req *q)
{
	int64_t start = l->l_start, len = l->l_len;

	if (l->l_whence != SEEK_SET)
		return -EINVAL;
	if (len < 0) {
		start += len;
		len = -len;
	}
	if (start < 0)
		return -EINVAL;
	q->start = start;
	q->end = len == 0 || len - 1 > INT64_MAX - start ? INT64_MAX : start + len - 1;
	return 0;
}

void uf_getlk(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, struct flock *lock)
{
	struct umfs_lock_req q = { 0 }, c = { 0 };
	int r;

	(void)node;
	r = uf_record_range(lock, &q);
	if (r || (lock->l_type != F_RDLCK && lock->l_type != F_WRLCK)) {
		uf_reply_err(req, r ? r : -EINVAL);
		return;
	}
	q.type = lock->l_type;
	q.test = true;
	uf_lock_owner(fi, UMFS_LOCK_POSIX, fuse_req_ctx(req)->pid, &q);
	lock_req = req;
	lock_fs = uf_fs(req);
	r = uf_lock_try(&q, &c);
	if (r && r != -EAGAIN) {
		uf_reply_err(req, r);
		return;
	}
	if (r == 0) {
		lock->l_type = F_UNLCK;
	} else {
		lock->l_type = (short)c.type;
		lock->l_whence = SEEK_SET;
		lock->l_start = c.start;
		lock->l_len = c.end == INT64_MAX ? 0 : c.end - c.start + 1;
		lock->l_pid = c.owner.pid;
	}
	fuse_reply_lock(req, lock);
}

void uf_setlk(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, struct flock *lock,
	      int sleep)
{
	struct umfs_lock_req q = { 0 };
	int r;

	(void)node;
	r = uf_record_range(lock, &q);
	if (r || (lock->l_type != F_RDLCK && lock->l_type != F_WRLCK && lock->l_type != F_UNLCK)) {
		uf_reply_err(req, r ? r : -EINVAL);
		return;
	}
	q.type = lock->l_type;
	q.wait = sleep && q.type != F_UNLCK;
	uf_lock_owner(fi, UMFS_LOCK_POSIX, lock->l_pid > 0 ? lock->l_pid : fuse_req_ctx(req)->pid,
		      &q);
	if (q.type != F_UNLCK) {
		/* before the lock exists: a flush meanwhile must look for it */
		atomic_store(&records_used, true);
		owners_add(fi->fh, fi->lock_owner);
	}
	uf_lock_serve(req, &q, -EAGAIN);
}

/* A close of a descriptor of the file by the process the flush names: its
 * record locks on the file go (POSIX). */
void uf_records_flush(fuse_req_t req, struct fuse_file_info *fi)
{
	struct umfs_lock_req q = { 0 };

	if (!atomic_load(&records_used))
		return;
	uf_lock_owner(fi, UMFS_LOCK_POSIX, 0, &q);
	umfs_lock_release(uf_fs(req), q.ino, q.gen, &q.owner);
	owners_forget(fi->fh, q.owner.id);
}

/* The open file's last close: the record locks it owns itself (OFD) go. */
void uf_records_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct umfs_lock_req q = { 0 };

	if (!atomic_load(&records_used))
		return;
	uf_lock_owner(fi, UMFS_LOCK_POSIX, 0, &q);
	while (owners_take(fi->fh, &q.owner.id))
		umfs_lock_release(uf_fs(req), q.ino, q.gen, &q.owner);
}

/* ------------------------------------------------------------------ */
/* flock                                                                */
/* ------------------------------------------------------------------ */

void uf_flock(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, int op)
{
	struct umfs_lock_req q = { 0 };

	(void)node;
	q.type = umfs_lock_flock_type(op);
	if (q.type < 0) {
		uf_reply_err(req, q.type);
		return;
	}
	uf_lock_owner(fi, UMFS_LOCK_FLOCK, fuse_req_ctx(req)->pid, &q);
	q.end = INT64_MAX;
	q.wait = !(op & LOCK_NB);
	uf_lock_serve(req, &q, -EWOULDBLOCK);
}

/* The last close of an open file that took a flock lock (release says so
 * with flock_release). */
void uf_flock_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct umfs_lock_req q = { 0 };

	if (!fi->flock_release)
		return;
	uf_lock_owner(fi, UMFS_LOCK_FLOCK, 0, &q);
	umfs_lock_release(uf_fs(req), q.ino, q.gen, &q.owner);
}
