/* SPDX-License-Identifier: MIT */
/*
 * path.c - which paths are UMFS's.
 *
 * A path is UMFS's when it is absolute and lies under the mount prefix
 * (UMFS_MOUNT; "//" and "/./" are normalised away), when it is relative and
 * the cwd is inside UMFS (the shim keeps that cwd; the kernel's stays
 * where it was), or when it is relative to a UMFS directory descriptor.
 * /proc/self/fd/N, /dev/fd/N and /dev/std* naming UMFS descriptors are
 * recognised too, since the kernel would otherwise open the token.
 * "." and ".." inside the pool are resolved by the core, physically, as
 * the kernel does; ".." at the pool root and symlinks to absolute targets
 * outside the prefix come back as -UMFS_EXTERNAL with a host path, which
 * path_external() classifies again.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_HOPS 40 /* external round trips, as SYMLOOP_MAX */

_Atomic bool cwd_in_umfs;
static pthread_rwlock_t cwd_lock = PTHREAD_RWLOCK_INITIALIZER;

/* The cwd when it is inside UMFS: its pool path, and the directory itself,
 * held open (as the kernel holds a cwd) so that it stays while we are in it
 * even if it is removed, and found again if it is renamed. */
static struct {
	char path[PATH_MAX];
	uint64_t ino;        /* 0: not known yet (inherited through UMFS_CWD) */
	uint32_t gen;
	uint64_t epoch;      /* shim_dir_epoch() when path was last checked */
	bool removed;
	struct umfs_file *hold;
} cwd;

/* Next component of s (skipping "/" runs and "." components). */
static const char *next_component(const char *s, size_t *len)
{
	for (;;) {
		while (*s == '/')
			s++;
		if (s[0] == '.' && (s[1] == '/' || s[1] == '\0')) {
			s++;
			continue;
		}
		*len = strcspn(s, "/");
		return s;
	}
}

bool path_host_is_umfs(const char *s, char *rest, size_t size)
{
	const char *p = cfg.prefix, *q = s;
	size_t plen, qlen, n;

	if (!cfg.enabled || s[0] != '/')
		return false;
	/* the common case: the (normalised) prefix itself, then '/' or the end */
	if (strncmp(s, cfg.prefix, cfg.prefix_len) == 0 &&
	    (s[cfg.prefix_len] == '/' || s[cfg.prefix_len] == '\0')) {
		q = s + cfg.prefix_len;
		goto rest;
	}
	/* the prefix's components, one by one */
	for (;;) {
		p = next_component(p, &plen);
		if (plen == 0)
			break;
		q = next_component(q, &qlen);
		if (qlen != plen || memcmp(p, q, plen) != 0)
			return false;
		p += plen;
		q += qlen;
	}
	if (*q != '\0' && *q != '/')
		return false;
rest:
	/* the rest, from the pool root */
	while (q[0] == '/' && q[1] == '/')
		q++;
	n = strlen(q);
	if (n == 0) {
		q = "/";
		n = 1;
	}
	if (n >= size)
		return false;
	memcpy(rest, q, n + 1);
	return true;
}

/* /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N, /proc/PID/fd/N (this
 * process) and /dev/stdin|stdout|stderr: the descriptor number, and the
 * rest after it ("" or "/..."), or -1. */
static int magic_fd(const char *s, const char **rest)
{
	const char *p = NULL;
	char *end;
	long fd;

	if (strncmp(s, "/dev/std", 8) == 0) {
		static const char *const names[] = { "in", "out", "err" };

		for (int i = 0; i < 3; i++) {
			size_t l = strlen(names[i]);

			if (strncmp(s + 8, names[i], l) == 0 &&
			    (s[8 + l] == '\0' || s[8 + l] == '/')) {
				*rest = s + 8 + l;
				return i;
			}
		}
		return -1;
	}
	if (strncmp(s, "/dev/fd/", 8) == 0) {
		p = s + 8;
	} else if (strncmp(s, "/proc/", 6) == 0) {
		const char *q = s + 6;

		if (strncmp(q, "self/fd/", 8) == 0) {
			p = q + 8;
		} else if (strncmp(q, "thread-self/fd/", 15) == 0) {
			p = q + 15;
		} else {
			long pid = strtol(q, &end, 10);

			if (end == q || pid != (long)getpid() || strncmp(end, "/fd/", 4) != 0)
				return -1;
			p = end + 4;
		}
	} else {
		return -1;
	}
	fd = strtol(p, &end, 10);
	if (end == p || fd < 0 || fd > INT_MAX || (*end != '\0' && *end != '/'))
		return -1;
	*rest = end;
	return (int)fd;
}

/* out = base + "/" + rel (base is a pool path). */
static int join(char *out, size_t size, const char *base, const char *rel)
{
	size_t bl = strlen(base), rl = strlen(rel);

	if (bl == 1 && base[0] == '/')
		bl = 0;
	if (bl + 1 + rl + 1 > size)
		return -ENAMETOOLONG;
	memmove(out + bl + 1, rel, rl + 1);
	memmove(out, base, bl);
	out[bl] = '/';
	return 0;
}

static int classify_absolute(const char *path, struct upath *up, int dirfd)
{
	const char *rest;
	struct ofd *o;
	int fd, err;

	if (path_host_is_umfs(path, up->buf, sizeof(up->buf))) {
		up->kind = UP_UMFS;
		return UP_UMFS;
	}
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = magic_fd(path, &rest);
	if (fd >= 0 && (o = fd_get_fast(fd)) != NULL) {
		char base[PATH_MAX];

		if (*rest == '\0') {
			ofd_put(o);
			up->kind = UP_FD;
			up->fd = fd;
			return UP_FD;
		}
		err = ofd_path(o, base, sizeof(base));
		ofd_put(o);
		if (!err)
			err = join(up->buf, sizeof(up->buf), base, rest + 1);
		if (err)
			return err;
		up->kind = UP_UMFS;
		return UP_UMFS;
	}
	up->kind = UP_KERNEL;
	up->kpath = path;
	up->kdirfd = dirfd;
	return UP_KERNEL;
}

/* True when the kernel directory dirfd (or the kernel's cwd) is the one
 * that holds the mount prefix (/ for /umfs): a relative "umfs/..." from
 * there is a UMFS path. */
static bool dir_is_prefix_parent(int dirfd)
{
	static _Atomic int known; /* 0 not yet, 1 found, -1 no such directory */
	static dev_t pdev;
	static ino_t pino;
	struct stat st;

	if (atomic_load(&known) == 0) {
		char parent[PATH_MAX];
		char *slash;

		strcpy(parent, cfg.prefix);
		slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else
			*slash = '\0';
		if (SYS(stat)(parent, &st) == 0) {
			pdev = st.st_dev;
			pino = st.st_ino;
			atomic_store(&known, 1);
		} else {
			atomic_store(&known, -1);
		}
	}
	if (atomic_load(&known) < 0)
		return false;
	if ((dirfd == AT_FDCWD ? SYS(stat)(".", &st) : SYS(fstat)(dirfd, &st)) < 0)
		return false;
	return st.st_dev == pdev && st.st_ino == pino;
}

bool path_maybe_umfs_page_end(int dirfd, const char *path)
{
	char head[PATH_MAX + 1];
	long n = shim_probe_strnlen(path, cfg.prefix_len + 1);

	if (n < 0)
		return false;
	memset(head, 0, cfg.prefix_len + 2);
	memcpy(head, path, (size_t)n);
	return path_maybe_umfs_at(dirfd, head);
}

int path_resolve(int dirfd, const char *path, struct upath *up)
{
	char base[PATH_MAX];
	struct ofd *o;
	int err;

	up->hops = 0;
	up->fd = -1;
	long len;

	if (!path)
		return -EFAULT;
	len = shim_probe_strnlen(path, PATH_MAX);
	if (len < 0)
		return -EFAULT;
	if (len == 0)
		return -ENOENT;
	if (len >= PATH_MAX)
		return -ENAMETOOLONG; /* as the kernel, whatever the path leads to */
	if (path[0] == '/')
		return classify_absolute(path, up, dirfd);
	if (dirfd == AT_FDCWD) {
		if (!atomic_load(&cwd_in_umfs))
			goto kernel;
		err = cwd_pool_path(base, sizeof(base));
		if (err == -EAGAIN)
			goto kernel; /* chdir out of UMFS meanwhile */
		if (err)
			return err;
		err = join(up->buf, sizeof(up->buf), base, path);
		if (err)
			return err;
		up->kind = UP_UMFS;
		return UP_UMFS;
	}
	o = fd_get_fast(dirfd);
	if (!o)
		goto kernel;
	if (o->type != S_IFDIR) {
		ofd_put(o);
		return -ENOTDIR;
	}
	err = ofd_path(o, base, sizeof(base));
	ofd_put(o);
	if (!err)
		err = join(up->buf, sizeof(up->buf), base, path);
	if (err)
		return err;
	up->kind = UP_UMFS;
	return UP_UMFS;

kernel:
	if (unlikely(cfg.base_len && strncmp(path, cfg.base, cfg.base_len) == 0 &&
		     (path[cfg.base_len] == '/' || path[cfg.base_len] == '\0')) &&
	    dir_is_prefix_parent(dirfd)) {
		/* "umfs/x" from the directory that holds the mount prefix */
		const char *rest = path + cfg.base_len;

		while (*rest == '/')
			rest++;
		err = join(up->buf, sizeof(up->buf), "/", rest);
		if (err)
			return err;
		up->kind = UP_UMFS;
		return UP_UMFS;
	}
	up->kind = UP_KERNEL;
	up->kpath = path;
	up->kdirfd = dirfd;
	return UP_KERNEL;
}

int path_external(struct upath *up)
{
	const char *host = umfs_external_path();
	char tmp[PATH_MAX];
	size_t n = strlen(host);
	int kind;

	if (++up->hops > MAX_HOPS)
		return -ELOOP;
	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, host, n + 1);
	kind = classify_absolute(tmp, up, AT_FDCWD);
	if (kind == UP_KERNEL) {
		memcpy(up->buf, tmp, n + 1);
		up->kpath = up->buf;
		up->kdirfd = AT_FDCWD;
	}
	return kind;
}

int path_to_host(const char *pool_path, char *buf, size_t size)
{
	size_t pl = cfg.prefix_len, n;

	if (pool_path[0] == '/' && pool_path[1] == '\0')
		pool_path = "";
	n = strlen(pool_path);
	if (pl + n + 1 > size)
		return -ERANGE;
	memcpy(buf, cfg.prefix, pl);
	memcpy(buf + pl, pool_path, n + 1);
	return 0;
}

/* Lets go of the directory held as the cwd (cwd_lock held for writing). */
static void cwd_release(void)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (cwd.hold && fs) {
		pool_lock();
		registry_add(cwd.ino, -1);
		umfs_close(cwd.hold);
		pool_unlock();
	}
	cwd.hold = NULL;
}

int cwd_set_umfs(const char *pool_path)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_file *hold = NULL;
	char host[PATH_MAX];
	size_t n = strlen(pool_path);
	uint64_t ino = 0;
	uint32_t gen = 0;

	if (n >= sizeof(cwd.path) || path_to_host(pool_path, host, sizeof(host)))
		return -ENAMETOOLONG;
	if (fs) {
		pool_lock();
		if (umfs_open(fs, pool_path, O_PATH | O_DIRECTORY, 0, &hold) == 0) {
			umfs_file_id(hold, &ino, &gen);
			registry_add(ino, 1);
		}
		pool_unlock();
	}
	pthread_rwlock_wrlock(&cwd_lock);
	cwd_release();
	memcpy(cwd.path, pool_path, n + 1);
	cwd.ino = ino;
	cwd.gen = gen;
	cwd.hold = hold;
	cwd.removed = false;
	cwd.epoch = shim_dir_epoch();
	atomic_store(&cwd_in_umfs, true);
	pthread_rwlock_unlock(&cwd_lock);
	/* children (exec, system, popen) learn it from the environment */
	setenv("UMFS_CWD", host, 1);
	return 0;
}

void cwd_leave_umfs(void)
{
	if (!atomic_load(&cwd_in_umfs))
		return;
	pthread_rwlock_wrlock(&cwd_lock);
	atomic_store(&cwd_in_umfs, false);
	cwd_release();
	pthread_rwlock_unlock(&cwd_lock);
	unsetenv("UMFS_CWD");
}

/* Checks the cwd's path against the name space (cwd_lock held for
 * writing): renamed directories are followed, a removed one noted. */
static void cwd_check(uint64_t epoch)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct stat st;
	char now[PATH_MAX];
	int err;

	if (!fs)
		return;
	pool_lock();
	err = umfs_stat(fs, cwd.path, &st, 0);
	if (!err && cwd.ino == 0) {
		cwd.ino = st.st_ino; /* inherited: trust the path the first time */
	} else if (err || st.st_ino != cwd.ino) {
		err = umfs_dir_path(fs, cwd.ino, cwd.gen, now, sizeof(now));
		if (!err) {
			strcpy(cwd.path, now);
			cwd.removed = false;
		} else {
			cwd.removed = true;
		}
	}
	pool_unlock_ro();
	cwd.epoch = epoch;
}

int cwd_pool_path(char *buf, size_t size)
{
	uint64_t epoch = shim_dir_epoch();
	int err = 0;

	pthread_rwlock_rdlock(&cwd_lock);
	if (cwd.epoch != epoch) {
		pthread_rwlock_unlock(&cwd_lock);
		pthread_rwlock_wrlock(&cwd_lock);
		if (cwd.epoch != epoch)
			cwd_check(epoch);
	}
	if (!atomic_load(&cwd_in_umfs))
		err = -EAGAIN; /* left UMFS meanwhile */
	else if (cwd.removed)
		err = -ENOENT;
	else if (strlen(cwd.path) + 1 > size)
		err = -ERANGE;
	else
		strcpy(buf, cwd.path);
	pthread_rwlock_unlock(&cwd_lock);
	return err;
}

int cwd_get(char *buf, size_t size)
{
	char pool[PATH_MAX];
	int err = cwd_pool_path(pool, sizeof(pool));

	return err ? err : path_to_host(pool, buf, size);
}

int cwd_ino(uint64_t *ino, uint32_t *gen)
{
	int err;

	pthread_rwlock_rdlock(&cwd_lock);
	*ino = cwd.ino;
	*gen = cwd.gen;
	err = cwd.ino ? 0 : -ENOENT;
	pthread_rwlock_unlock(&cwd_lock);
	return err;
}

bool cwd_removed(void)
{
	char tmp[PATH_MAX];

	return atomic_load(&cwd_in_umfs) && cwd_pool_path(tmp, sizeof(tmp)) == -ENOENT;
}

bool cwd_idle(void)
{
	if (pthread_rwlock_trywrlock(&cwd_lock) != 0)
		return false;
	pthread_rwlock_unlock(&cwd_lock);
	return true;
}

/* The process is leaving: let the cwd directory go. */
void cwd_exit(void)
{
	pthread_rwlock_wrlock(&cwd_lock);
	cwd_release();
	pthread_rwlock_unlock(&cwd_lock);
}

/* fork: the child holds the cwd directory too (pool lock order: after). */
void cwd_fork_prepare(void)
{
	pthread_rwlock_rdlock(&cwd_lock);
	if (cwd.hold) {
		pool_lock();
		registry_add(cwd.ino, 1);
		pool_unlock();
	}
	pthread_rwlock_unlock(&cwd_lock);
}

/* exec: the image's hold goes (-1), or comes back if exec failed (+1). */
void cwd_exec(int delta)
{
	pthread_rwlock_rdlock(&cwd_lock);
	if (cwd.hold) {
		pool_lock();
		registry_add(cwd.ino, delta);
		pool_unlock();
	}
	pthread_rwlock_unlock(&cwd_lock);
}

void cwd_from_env(void)
{
	const char *s = getenv("UMFS_CWD");
	char rest[PATH_MAX];

	if (!s || !cfg.enabled)
		return;
	if (path_host_is_umfs(s, rest, sizeof(rest)))
		cwd_set_umfs(rest);
	else
		unsetenv("UMFS_CWD");
}

long path_run(int dirfd, const char *path, const struct path_ops *ops, void *arg)
{
	struct umfs_fs *fs;
	struct upath up;
	long r;
	int kind, err;

	kind = path_resolve(dirfd, path, &up);
	for (;;) {
		if (kind < 0)
			return kind;
		if (kind == UP_FD && ops->byfd) {
			r = ops->byfd(up.fd, arg);
			if (r != PATH_RUN_KERNEL)
				return r;
		}
		if (kind != UP_UMFS)
			return ops->kernel(kind == UP_KERNEL ? up.kdirfd : dirfd,
					   kind == UP_KERNEL ? up.kpath : path, arg);
		fs = shim_fs(&err);
		if (!fs)
			return err;
		pool_lock();
		r = ops->umfs(fs, up.buf, arg);
		if (ops->changes)
			pool_unlock();
		else
			pool_unlock_ro();
		if (r != -UMFS_EXTERNAL)
			return r;
		kind = path_external(&up);
	}
}
