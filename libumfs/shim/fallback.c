/* SPDX-License-Identifier: MIT */
/*
 * fallback.c - UMFS descriptors leaving the library's reach, under
 * umfs-run's kernel fallback.
 *
 * A UMFS descriptor is, for the kernel, the token of its description (a
 * directory of the library's, ofd_slot.c): a program without the library
 * that inherits or receives one reads EISDIR. Under umfs-run --fallback
 * the pool's umfs-fuse is mounted at the prefix in the program's mount
 * namespace, so the same file can be given to such a program as the
 * mount's file: at an exec of an image that will not load the library
 * (image.c tells) each inheritable UMFS descriptor of a regular file or
 * directory is replaced by an open of the same file through the mount
 * (same access mode, status flags and offset), dup3'ed onto the same
 * number; the token is kept at a close-on-exec number of the library's,
 * and put back if the exec fails. posix_spawn, system
 * and popen do the same in the parent for their child's exec, which the
 * library does not see, and put the tokens back when they return. An
 * SCM_RIGHTS send (sendmsg, each message of a sendmmsg) carries the
 * mount's files in place of UMFS descriptors.
 * The new description's offset is its own from then on.
 *
 * The mount is trusted only as umfs-run made it: UMFS_FALLBACK_AT names
 * this pool, this prefix and this very mount namespace (a private one no
 * other user can mount in), and statfs of the prefix says FUSE. Without
 * it nothing changes. Nothing here runs at opens: only at an exec or a
 * send with UMFS descriptors in hand.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "shim.h"

#define FALLBACK_AT_ENV "UMFS_FALLBACK_AT" /* "POOL:PREFIX:MOUNT-NAMESPACE", by umfs-run */
#define FUSE_MAGIC 0x65735546              /* statfs f_type of a FUSE mount */

static _Atomic int fb_state = -1; /* the mount is umfs-run's fallback: 1, 0, unknown */

bool fallback_mounted(void)
{
	int v = atomic_load_explicit(&fb_state, memory_order_relaxed);
	const char *at;
	char ns[64], want[2 * PATH_MAX + 80];
	struct statfs sf;
	ssize_t n;
	int saved = errno;

	if (v >= 0)
		return v;
	v = 0;
	at = getenv(FALLBACK_AT_ENV);
	if (at && cfg.enabled && (n = SYS(readlink)("/proc/self/ns/mnt", ns, sizeof(ns) - 1)) > 0) {
		ns[n] = '\0';
		v = (size_t)snprintf(want, sizeof(want), "%s:%.*s:%s", cfg.pool, (int)cfg.prefix_len,
				     cfg.prefix, ns) < sizeof(want) &&
		    strcmp(at, want) == 0 && SYS(statfs)(cfg.prefix, &sf) == 0 &&
		    (unsigned long)sf.f_type == FUSE_MAGIC;
	}
	atomic_store(&fb_state, v);
	errno = saved;
	return v;
}

/* ------------------------------------------------------------------ */
/* The mount's file for a description                                   */
/* ------------------------------------------------------------------ */

/* An open through the mount of the file description o stands for, with
 * its access mode, status flags and offset: a close-on-exec descriptor, or
 * -errno (-ESTALE: the name is another file's now, or none). */
static int mount_open(struct ofd *o)
{
	char path[PATH_MAX], at[PATH_MAX];
	int f = atomic_load_explicit(&o->sh->flags, memory_order_relaxed), nfd, err;
	int want = f & (O_ACCMODE | O_PATH | O_APPEND | O_NONBLOCK | O_DSYNC | O_SYNC | O_NOATIME);
	struct stat st;

	if (o->type != S_IFREG && o->type != S_IFDIR)
		return -EOPNOTSUPP; /* fifos, sockets, devices: their host objects already */
	if (o->type == S_IFDIR)
		want = (f & O_PATH) | O_RDONLY | O_DIRECTORY;
	if ((err = ofd_path(o, path, sizeof(path))) < 0)
		return err;
	if ((size_t)snprintf(at, sizeof(at), "%.*s%s", (int)cfg.prefix_len, cfg.prefix,
			     strcmp(path, "/") ? path : "") >= sizeof(at))
		return -ENAMETOOLONG;
	nfd = sys_open_cloexec(at, want | O_NOFOLLOW | O_NOCTTY, 0);
	if (nfd == -EPERM && (want & O_NOATIME))
		nfd = sys_open_cloexec(at, (want & ~O_NOATIME) | O_NOFOLLOW | O_NOCTTY, 0);
	if (nfd < 0)
		return nfd;
	if (SYS(fstat)(nfd, &st) < 0 || (uint64_t)st.st_ino != o->ino) {
		OS(close)(nfd);
		return -ESTALE;
	}
	if (o->type == S_IFREG && !(f & O_PATH) &&
	    SYS(lseek)(nfd, (off_t)o->sh->pos, SEEK_SET) < 0) {
		err = -errno;
		OS(close)(nfd);
		return err;
	}
	return nfd;
}

static void say_not_moved(int fd, int err)
{
	static _Atomic bool said;

	if (!atomic_exchange(&said, true))
		SHIM_LOG(LOG_WARN, "%s: descriptor %d stays the library's (it reads EISDIR in a "
				   "program without the library): the fallback mount cannot open "
				   "its file: %s", program_invocation_short_name, fd,
			 strerror(-err));
}

/* ------------------------------------------------------------------ */
/* exec and spawn                                                       */
/* ------------------------------------------------------------------ */

/* One swap at a time, and none across a fork (fallback_fork_*): another
 * thread's exec or spawn would save the mount's file in place of the
 * token and put it back last, and a forked child would keep the mount's
 * file under a number its library takes for a UMFS descriptor. */
static pthread_mutex_t swap_lock = PTHREAD_MUTEX_INITIALIZER;
/* This thread holds swap_lock (a C library that forks inside system or
 * popen must not wait for itself), or took it for its fork. */
static __thread bool swap_held, swap_fork_took;

static void swap_add(struct fallback_swap *sw, size_t *cap, int fd, bool all)
{
	struct ofd *o;
	int fl, nfd, saved;

	if ((fl = SYS(fcntl)(fd, F_GETFD)) < 0 || ((fl & FD_CLOEXEC) && !all) ||
	    !(o = fd_get_fast(fd)))
		return;
	nfd = mount_open(o);
	ofd_put(o);
	if (nfd < 0) {
		say_not_moved(fd, nfd);
		return;
	}
	if (sw->n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct fallback_moved *t = realloc(sw->moved, c * sizeof(*t));

		if (!t) {
			OS(close)(nfd);
			return;
		}
		sw->moved = t;
		*cap = c;
	}
	saved = shim_fd_dup_high(fd);
	if (saved < 0 || SYS(dup3)(nfd, fd, fl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0) {
		if (saved >= 0)
			OS(close)(saved);
		OS(close)(nfd);
		say_not_moved(fd, saved < 0 ? saved : -errno);
		return;
	}
	OS(close)(nfd);
	sw->moved[sw->n++] = (struct fallback_moved){ fd, saved, fl & FD_CLOEXEC };
}

void fallback_exec_prepare(struct fallback_swap *sw, const struct inherit_pass *pass, bool spawn)
{
	size_t cap = 0;

	*sw = (struct fallback_swap){ 0 };
	if (likely(pass->image == IMAGE_LIBRARY) ||
	    atomic_load_explicit(&uinfo_count, memory_order_relaxed) == 0 || !fallback_mounted())
		return;
	pthread_mutex_lock(&swap_lock);
	sw->locked = swap_held = true;
	for (int i = 0; i < (int)atomic_load(&uinfo_high); i++) {
		struct ofd *o = uinfo_peek(i);

		if (o != NULL && o != UINFO_INTERNAL)
			swap_add(sw, &cap, i, spawn);
	}
	if (sw->n)
		SHIM_LOG(LOG_DEBUG, "%s: %zu UMFS descriptor(s) given as the fallback mount's "
				    "files", spawn ? "spawn" : "exec", sw->n);
}

void fallback_exec_restore(struct fallback_swap *sw)
{
	int saved = errno;

	for (size_t i = 0; i < sw->n; i++) {
		struct fallback_moved *m = &sw->moved[i];

		SYS(dup3)(m->saved, m->fd, m->cloexec ? O_CLOEXEC : 0); /* the token again */
		OS(close)(m->saved);
	}
	free(sw->moved);
	if (sw->locked) {
		swap_held = false;
		pthread_mutex_unlock(&swap_lock);
	}
	*sw = (struct fallback_swap){ 0 };
	errno = saved;
}

void fallback_fork_prepare(void)
{
	swap_fork_took = !swap_held;
	if (swap_fork_took)
		pthread_mutex_lock(&swap_lock);
}

void fallback_fork_parent(void)
{
	if (swap_fork_took)
		pthread_mutex_unlock(&swap_lock);
}

/* The child's thread is the forking one: it holds its own swap, if any,
 * and undoes it as the parent would. */
void fallback_fork_child(void)
{
	if (swap_fork_took)
		pthread_mutex_init(&swap_lock, NULL);
}

/* ------------------------------------------------------------------ */
/* SCM_RIGHTS                                                           */
/* ------------------------------------------------------------------ */

/* The descriptors control message c carries: 0 for another kind. */
static size_t rights_count(const struct cmsghdr *c)
{
	if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len < CMSG_LEN(0))
		return 0;
	return (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
}

bool fallback_rights_carry_umfs(const struct msghdr *msg)
{
	struct cmsghdr *c;
	bool umfs = false;

	if (!msg || user_readable(msg, sizeof(*msg)) || /* the kernel's EFAULT */
	    !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr) ||
	    user_readable(msg->msg_control, msg->msg_controllen))
		return false;
	/* every number looked at, with or without the fallback: a parked one
	 * is settled, and the kernel refuses it as closed (not the token) */
	for (c = CMSG_FIRSTHDR((struct msghdr *)msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		size_t n = rights_count(c);
		const int *fds = (const int *)CMSG_DATA(c);

		for (size_t i = 0; i < n; i++) {
			struct ofd *o = uinfo_peek(fds[i]);

			umfs |= o != NULL && o != UINFO_INTERNAL;
		}
	}
	return umfs && fallback_mounted();
}

int fallback_rights_take(struct msghdr *msg, struct fallback_rights *fr)
{
	size_t max = msg->msg_controllen / sizeof(int);
	struct cmsghdr *c;

	fr->n = 0;
	fr->control = malloc(msg->msg_controllen);
	fr->opened = malloc(max * sizeof(int));
	if (!fr->control || !fr->opened) {
		free(fr->control);
		free(fr->opened);
		*fr = (struct fallback_rights){ 0 };
		return -ENOMEM;
	}
	memcpy(fr->control, msg->msg_control, msg->msg_controllen);
	msg->msg_control = fr->control;
	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n = rights_count(c);
		int *fds = (int *)CMSG_DATA(c);

		for (size_t i = 0; i < n && fr->n < max; i++) {
			struct ofd *o = fd_get_fast(fds[i]);
			int nfd;

			if (!o)
				continue;
			nfd = mount_open(o);
			ofd_put(o);
			if (nfd < 0) {
				say_not_moved(fds[i], nfd);
				continue;
			}
			fds[i] = fr->opened[fr->n++] = nfd;
		}
	}
	return 0;
}

void fallback_rights_drop(struct fallback_rights *fr)
{
	int saved = errno;

	for (size_t i = 0; i < fr->n; i++)
		OS(close)(fr->opened[i]);
	free(fr->control);
	free(fr->opened);
	*fr = (struct fallback_rights){ 0 };
	errno = saved;
}

ssize_t fallback_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct fallback_rights fr;
	struct msghdr m = *msg;
	int err = fallback_rights_take(&m, &fr);
	ssize_t r;

	if (err) {
		errno = -err;
		return -1;
	}
	r = SYS(sendmsg)(fd, &m, flags);
	fallback_rights_drop(&fr);
	return r;
}
