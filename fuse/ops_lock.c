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
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include "umfs_fuse.h"

/* Whether a libumfs description still holds its slot: its token (the
 * directory shim/ofd/SLOT of the runtime directory) is flock'ed while it
 * is open anywhere. A token this daemon cannot open is taken as held. */
static bool uf_desc_alive(uint32_t slot, uint64_t id)
{
	char name[32];
	int fd, held;

	(void)id; /* a claim of the slot drops a closed description's locks */
	snprintf(name, sizeof(name), "shim/ofd/%u", slot);
	fd = openat(umfs_fs_rundir_fd(uf_fs()), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
	return fuse_interrupted() ? -EINTR : 0;
}

static const struct umfs_lock_ops uf_lock_ops = {
	.desc_alive = uf_desc_alive,
	.wait_end = uf_wait_end,
};

static void uf_lock_owner(struct fuse_file_info *fi, pid_t pid, struct umfs_lock_req *q)
{
	q->owner.kind = UMFS_LOCK_FLOCK;
	q->owner.id = fi->lock_owner;
	q->owner.host = umfs_lock_process_id();
	q->owner.pid = pid;
	umfs_file_id(uf_file(fi), &q->ino, &q->gen);
	q->end = INT64_MAX;
}

int uf_flock(const char *path, struct fuse_file_info *fi, int op)
{
	struct umfs_lock_req q = { 0 };
	int r;

	(void)path;
	q.type = umfs_lock_flock_type(op);
	if (q.type < 0)
		return q.type;
	uf_lock_owner(fi, fuse_get_context()->pid, &q);
	q.wait = !(op & LOCK_NB);
	r = umfs_lock_request(uf_fs(), &q, &uf_lock_ops, NULL);
	return r == -EAGAIN ? -EWOULDBLOCK : r;
}

/* The last close of an open file that took a flock lock: libfuse's
 * high-level layer does not pass that on to flock, so release does. */
void uf_flock_release(struct fuse_file_info *fi)
{
	struct umfs_lock_req q = { 0 };

	if (!fi->flock_release)
		return;
	uf_lock_owner(fi, 0, &q);
	umfs_lock_release(uf_fs(), q.ino, q.gen, &q.owner);
}
