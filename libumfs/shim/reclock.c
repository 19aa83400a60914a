/* SPDX-License-Identifier: MIT */
/*
 * reclock.c - fcntl record locks, OFD locks and flock on UMFS descriptors,
 * kept in the core's lock table (libumfs/core/locktab.c) that every process
 * using the pool shares, umfs-fuse included: no system call when nothing
 * is in the way.
 *
 * What only the library knows is said here: a POSIX owner is this process;
 * an OFD or flock owner is a description, named by the lock id in its arena
 * slot, alive while its token is locked (ofd_slot_alive); a signal ends a
 * wait to run its handler outside the library, and F_SETLKW's acts on a
 * pending thread cancellation at each look; closing any descriptor of
 * a file drops the process's POSIX locks on it; an exec drops those on
 * files whose descriptors it closes (close-on-exec), and keeps the rest.
 */
#include <sys/file.h>
#include <unistd.h>

#include "shim.h"

static bool rl_posix_taken; /* this process may hold POSIX locks */

void reclock_fork_child(void)
{
	rl_posix_taken = false; /* POSIX locks are not inherited */
}

/* A waiting request: its hooks' state, on the stack of its interposer. */
struct rl_wait {
	struct umfs_lock_ops ops;
	struct ofd *o;	  /* the interposer's reference to the description */
	int depth;	  /* the served depth, the interposer's SHIM_SERVE included */
};

/* Before each sleep. A signal the wait deferred ends it: the interposer
 * lets go of everything, its handlers run as the call leaves the library,
 * and the call starts again (SHIM_ERESTART), as the kernel's wait returns
 * to run them and is restarted. Nested in another served call, the wait
 * goes on and they run when that call leaves. A cancellable wait acts on
 * a pending cancellation, as the kernel's wait ends at one. */
static int rl_wait_look(void *arg)
{
	struct rl_wait *w = arg;

	if (w->ops.cancellable)
		pthread_testcancel();
	return shim_sig_pending && w->depth == 1 ? -SHIM_ERESTART : 0;
}

/* Cancelled at a look: what the interposer would have let go of. */
static void rl_wait_abandon(void *arg)
{
	struct rl_wait *w = arg;

	ofd_put(w->o);
	shim_busy_leave();
}

static int rl_request(struct umfs_fs *fs, struct umfs_lock_req *q, struct umfs_lock_req *got,
		      struct ofd *o, bool cancellable)
{
	static const struct umfs_lock_ops no_wait = { .desc_alive = ofd_slot_alive };

	if (!q->wait)
		return umfs_lock_request(fs, q, &no_wait, got);

	struct rl_wait w = {
		.ops = { .desc_alive = ofd_slot_alive,
			 .wait_look = rl_wait_look,
			 .wait_abandon = rl_wait_abandon,
			 .arg = &w,
			 /* F_SETLKW's wait, the C library's
			  * cancellation point (flock's is none) */
			 .cancellable = cancellable },
		.o = o,
		.depth = shim_busy,
	};

	return umfs_lock_request(fs, q, &w.ops, got);
}

static void rl_owner_of(struct ofd *o, uint8_t kind, struct umfs_lock_owner *w)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	if (kind == UMFS_LOCK_POSIX) {
		w->id = umfs_lock_process_id();
		w->pid = (int32_t)(uint32_t)w->id;
		return;
	}
	w->id = atomic_load_explicit(&o->sh->lock_id, memory_order_acquire);
	if (!w->id) {
		uint64_t want = 0, id = umfs_lock_new_id();

		/* another holder of the description may name it first */
		w->id = atomic_compare_exchange_strong(&o->sh->lock_id, &want, id) ? id : want;
	}
	w->slot = o->slot;
	w->pid = -1;
}

/* struct flock to an absolute range, as the kernel's flock_to_posix_lock. */
static int rl_range(struct ofd *o, const struct flock *fl, int64_t *s, int64_t *e)
{
	int64_t base;

	if (ofd_whence_base(o, fl->l_whence, &base))
		return -EINVAL;
	if (fl->l_start > INT64_MAX - base)
		return -EOVERFLOW;
	base += fl->l_start;
	if (base < 0)
		return -EINVAL;
	if (fl->l_len > 0) {
		if (fl->l_len - 1 > INT64_MAX - base)
			return -EOVERFLOW;
		*s = base;
		*e = base + fl->l_len - 1;
	} else if (fl->l_len < 0) {
		if (base + fl->l_len < 0)
			return -EINVAL;
		*s = base + fl->l_len;
		*e = base - 1;
	} else {
		*s = base;
		*e = INT64_MAX;
	}
	return 0;
}

int reclock_fcntl(struct ofd *o, int cmd, struct flock *user)
{
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	bool get = cmd == F_GETLK || cmd == F_OFD_GETLK;
	int flags = atomic_load(&o->sh->flags);
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_lock_req q = { 0 }, got;
	struct flock fl;
	int r;

	if (!user)
		return -EFAULT;
	if (flags & O_PATH)
		return -EBADF;
	if (user_readable(user, sizeof(*user)))
		return -EFAULT;
	fl = *user;
	if (ofd && fl.l_pid != 0)
		return -EINVAL;
	if (get ? fl.l_type != F_RDLCK && fl.l_type != F_WRLCK
		: fl.l_type != F_RDLCK && fl.l_type != F_WRLCK && fl.l_type != F_UNLCK)
		return -EINVAL;
	if (!get) {
		if (fl.l_type == F_RDLCK && !acc_reads(flags))
			return -EBADF;
		if (fl.l_type == F_WRLCK && !acc_writes(flags))
			return -EBADF;
	}
	r = rl_range(o, &fl, &q.start, &q.end);
	if (r)
		return r;
	if (!fs)
		return -ENOLCK;
	rl_owner_of(o, ofd ? UMFS_LOCK_OFD : UMFS_LOCK_POSIX, &q.owner);
	q.ino = o->ino;
	q.gen = o->gen;
	q.type = fl.l_type;
	q.test = get;
	q.wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
	if (!ofd && !get && q.type != F_UNLCK)
		rl_posix_taken = true;
	r = rl_request(fs, &q, &got, o, true);
	if (!get)
		return r;
	/* with nothing in the way only l_type changes, as the kernel's */
	if (r == 0) {
		fl.l_type = F_UNLCK;
		return user_copy_out(&user->l_type, &fl.l_type, sizeof(fl.l_type));
	}
	if (r != -EAGAIN)
		return r;
	fl.l_type = (short)got.type;
	fl.l_whence = SEEK_SET;
	fl.l_start = got.start;
	fl.l_len = got.end == INT64_MAX ? 0 : got.end - got.start + 1;
	fl.l_pid = got.owner.pid;
	return user_copy_out(user, &fl, sizeof(fl));
}

int reclock_flock(struct ofd *o, int op)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_lock_req q = { 0 };
	int flags = atomic_load(&o->sh->flags), r;

	q.type = umfs_lock_flock_type(op);
	if (q.type < 0)
		return q.type;
	/* as the kernel, after the operation's check: an O_PATH descriptor
	 * locks nothing, one open for neither reading nor writing only unlocks */
	if ((flags & O_PATH) || (q.type != F_UNLCK && !acc_reads(flags) && !acc_writes(flags)))
		return -EBADF;
	if (!fs)
		return -ENOLCK;
	rl_owner_of(o, UMFS_LOCK_FLOCK, &q.owner);
	q.ino = o->ino;
	q.gen = o->gen;
	q.end = INT64_MAX;
	q.wait = !(op & LOCK_NB);
	r = rl_request(fs, &q, NULL, o, false);
	return r == -EAGAIN ? -EWOULDBLOCK : r;
}

/* An O_PATH description: the kernel's close drops no POSIX lock for one. */
static bool rl_path_only(const struct ofd *o)
{
	return o->sh && (atomic_load(&o->sh->flags) & O_PATH);
}

void reclock_fd_closed(struct ofd *o)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_lock_owner w;
	int saved = errno;

	if (!fs || !rl_posix_taken || rl_path_only(o))
		return;
	rl_owner_of(o, UMFS_LOCK_POSIX, &w);
	umfs_lock_release(fs, o->ino, o->gen, &w);
	errno = saved;
}

void reclock_ofd_closed(struct ofd *o, bool only_ours)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_lock_owner w = { 0 };
	int saved = errno;

	/* others may hold it: its locks go when a conflict finds it closed */
	if (!fs || !o->sh || !only_ours)
		return;
	w.id = atomic_load(&o->sh->lock_id);
	if (!w.id)
		return;
	w.slot = o->slot;
	w.kind = UMFS_LOCK_OFD;
	umfs_lock_release(fs, o->ino, o->gen, &w);
	w.kind = UMFS_LOCK_FLOCK;
	umfs_lock_release(fs, o->ino, o->gen, &w);
	errno = saved;
}

void reclock_slot_claimed(struct ofd_shared *sh, uint32_t slot)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_lock_owner w = { .slot = slot };
	int saved = errno;

	if (!fs || sh->magic != OFD_MAGIC)
		return;
	w.id = atomic_load(&sh->lock_id);
	if (!w.id)
		return;
	w.kind = UMFS_LOCK_OFD;
	umfs_lock_release(fs, sh->ino, sh->gen, &w);
	w.kind = UMFS_LOCK_FLOCK;
	umfs_lock_release(fs, sh->ino, sh->gen, &w);
	errno = saved;
}

/* ------------------------------------------------------------------ */
/* exec                                                                 */
/* ------------------------------------------------------------------ */

/* The kernel closes close-on-exec descriptors at a successful exec, and
 * with each goes the process's POSIX locks on its file. Those locks are
 * marked before the exec; the new image (same pid and start time) drops
 * the marked ones as it mounts; a failed exec unmarks them. */
static void rl_mark_one(struct ofd *o, void *arg)
{
	struct umfs_fs *fs = shim_fs_peek();
	bool set = *(bool *)arg, cloexec = false;

	if (!fs || rl_path_only(o))
		return; /* closed by the exec, it drops none either */
	if (set) {
		struct rlimit rl;
		size_t end = atomic_load(&uinfo_high);

		/* the program's numbers are below its soft limit */
		if (SYS(getrlimit)(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < end)
			end = rl.rlim_cur;
		for (size_t fd = 0; fd < end && !cloexec; fd++) {
			int f;

			if (atomic_load_explicit(&uinfo[fd], memory_order_relaxed) != o)
				continue;
			f = SYS(fcntl)((int)fd, F_GETFD);
			cloexec = f >= 0 && (f & FD_CLOEXEC);
		}
		if (!cloexec)
			return;
	}
	umfs_lock_exec_mark(fs, o->ino, o->gen, set);
}

void reclock_exec_prepare(void)
{
	bool set = true;

	if (rl_posix_taken)
		ofd_foreach(rl_mark_one, &set);
}

void reclock_exec_failed(void)
{
	bool set = false;

	if (rl_posix_taken)
		ofd_foreach(rl_mark_one, &set);
}

void reclock_mounted(struct umfs_fs *fs)
{
	rl_posix_taken = umfs_lock_exec_done(fs);
}
