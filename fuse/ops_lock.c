/* SPDX-License-Identifier: MIT */
/*
 * ops_lock.c - flock of the kernel's clients, kept in the core's lock table
 * beside the locks of libumfs programs, so that both see each other
 * (docs/sharing.md, "Advisory locks").
 *
 * The kernel names each owner (fi->lock_owner: the open file) and says when
 * it goes (release with flock_release, the file's last close). Those owners
 * live as long as this daemon, so the table records the daemon as their
 * host: if it dies, its clients' locks die with it, as the kernel's would
 * with the mount. fcntl record locks stay the kernel's on the mount (no
 * lock operation here): see docs/sharing.md for why FUSE cannot carry them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "umfs_fuse.h"

/* The kernel drops a file's flock lock with its release, which it sends
 * without waiting at the last close: another thread may serve the
 * closing program's next flock first. Releases of locked files begun and
 * ended, so that a flock that meets a conflict waits for those begun. */
static atomic_ulong releases_begun, releases_done;

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

/* A client's blocking flock interrupted by a signal (FUSE_INTERRUPT): the
 * kernel restarts it if the handler asked for SA_RESTART. */
static int uf_wait_end(int token)
{
	(void)token;
	return fuse_req_interrupted(lock_req) ? -EINTR : 0;
}

static const struct umfs_lock_ops uf_lock_ops = {
	.desc_alive = uf_desc_alive,
	.wait_end = uf_wait_end,
};

static void uf_lock_owner(const struct fuse_file_info *fi, pid_t pid, struct umfs_lock_req *q)
{
	q->owner.kind = UMFS_LOCK_FLOCK;
	q->owner.id = fi->lock_owner;
	q->owner.host = umfs_lock_process_id();
	q->owner.pid = pid;
	umfs_file_id(uf_file(fi), &q->ino, &q->gen);
	q->end = INT64_MAX;
}

void uf_flock(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi, int op)
{
	struct umfs_lock_req q = { 0 };
	int r;

	(void)node;
	q.type = umfs_lock_flock_type(op);
	if (q.type < 0) {
		uf_reply_err(req, q.type);
		return;
	}
	uf_lock_owner(fi, fuse_req_ctx(req)->pid, &q);
	q.wait = !(op & LOCK_NB);
	lock_req = req;
	lock_fs = uf_fs(req);
	r = umfs_lock_request(lock_fs, &q, &uf_lock_ops, NULL);
	if (r == -EAGAIN && !q.wait) {
		/* a release read just before this request may hold the
		 * conflict: give its thread a few turns to begin, then wait
		 * for the releases begun (microseconds each; a second at most) */
		for (int i = 0; i < 100000; i++) {
			if (i >= 16 && atomic_load(&releases_done) >= atomic_load(&releases_begun))
				break;
			sched_yield();
		}
		r = umfs_lock_request(lock_fs, &q, &uf_lock_ops, NULL);
	}
	uf_reply_err(req, r == -EAGAIN ? -EWOULDBLOCK : r);
}

/* The last close of an open file that took a flock lock (release says so
 * with flock_release). */
void uf_flock_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct umfs_lock_req q = { 0 };

	if (!fi->flock_release)
		return;
	atomic_fetch_add(&releases_begun, 1);
	uf_lock_owner(fi, 0, &q);
	umfs_lock_release(uf_fs(req), q.ino, q.gen, &q.owner);
	atomic_fetch_add(&releases_done, 1);
}
