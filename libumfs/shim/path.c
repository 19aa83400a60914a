/* SPDX-License-Identifier: MIT */
/*
 * path.c - which paths are UMFS's.
 *
 * A path is UMFS's when it is absolute and lies under the mount prefix
 * (UMFS_MOUNT; "//" and "/./" are normalised away), when it is relative and
 * the cwd is inside UMFS (the shim keeps that cwd; the kernel's stays
 * where it was), or when it is relative to a UMFS directory descriptor.
 * A relative path is not joined to the directory's path: the core walks
 * it from the directory's inode (umfs_walk_from), as the kernel walks it
 * from the dentry, so its length alone counts against PATH_MAX.
 * /proc/self/fd/N, /dev/fd/N and /dev/std* naming UMFS descriptors are
 * recognised too, since the kernel would otherwise open the token.
 * "." and ".." inside the pool are resolved by the core, physically, as
 * the kernel does; ".." at the pool root and symlinks to absolute targets
 * outside the prefix come back as -UMFS_EXTERNAL with a host path, which
 * path_external() classifies again.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define MAX_HOPS 40 /* external round trips, as SYMLOOP_MAX */

_Atomic bool cwd_in_umfs;
static pthread_rwlock_t cwd_lock = PTHREAD_RWLOCK_INITIALIZER;

/* The cwd when it is inside UMFS: the directory itself, held open (as the
 * kernel holds a cwd) so that relative paths start at its inode, it stays
 * while we are in it even if it is removed, and it is found again if it is
 * renamed; and its pool path, for getcwd. */
static struct {
	struct umfs_file *hold; /* first: what a process outside UMFS reads */
	bool path_long;      /* its path is PATH_MAX or longer: cwd_path is stale */
	bool removed;
	uint32_t gen;
	uint64_t ino;        /* 0: not known yet (inherited through UMFS_CWD) */
	uint64_t epoch;      /* shim_dir_epoch() when cwd_path was last checked */
} cwd;
UMFS_BSS_LARGE static char cwd_path[PATH_MAX]; /* apart: cwd.hold is read by all */

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
	int fd;

	up->base = 0;
	up->base_gen = 0;
	if (path_host_is_umfs(path, up->buf, sizeof(up->buf))) {
		up->kind = UP_UMFS;
		return UP_UMFS;
	}
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = magic_fd(path, &rest);
	if (fd >= 0 && (o = fd_get_fast(fd)) != NULL) {
		if (*rest == '\0') {
			ofd_put(o);
			up->kind = UP_FD;
			up->fd = fd;
			return UP_FD;
		}
		/* the rest starts at the descriptor's inode, as the kernel's
		 * walk goes on from the link's target */
		while (*rest == '/')
			rest++;
		up->base = o->ino;
		up->base_gen = o->gen;
		up->base_fd = fd;
		ofd_put(o);
		strcpy(up->buf, *rest ? rest : "./");
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

void path_use(const struct upath *from, const struct upath *to)
{
	umfs_walk_from(shim_fs_peek(), from ? from->base : 0, from ? from->base_gen : 0,
		       to ? to->base : 0, to ? to->base_gen : 0);
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

static int path_classify(int dirfd, const char *path, struct upath *up)
{
	struct ofd *o;
	long len;
	int err;

	up->hops = 0;
	up->fd = -1;
	up->base = 0;
	up->base_gen = 0;
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
		up->base_fd = AT_FDCWD;
		err = cwd_base(&up->base, &up->base_gen);
		if (err == -EAGAIN)
			goto kernel; /* chdir out of UMFS meanwhile */
		if (err)
			return err;
	} else {
		o = fd_get_fast(dirfd);
		if (!o)
			goto kernel;
		if (o->type != S_IFDIR) {
			ofd_put(o);
			return -ENOTDIR;
		}
		up->base = o->ino;
		up->base_gen = o->gen;
		up->base_fd = dirfd;
		ofd_put(o);
	}
	strcpy(up->buf, path);
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

int path_dir_base(int dirfd, char *buf, size_t size)
{
	struct ofd *o;
	int err;

	if (dirfd == AT_FDCWD) {
		if (!atomic_load(&cwd_in_umfs))
			return 0;
		err = cwd_pool_path(buf, size);
		return err == -EAGAIN ? 0 : err ? err : 1;
	}
	o = fd_get_fast(dirfd);
	if (!o)
		return 0;
	err = o->type == S_IFDIR ? ofd_path(o, buf, size) : -ENOTDIR;
	ofd_put(o);
	return err ? err : 1;
}

int path_resolve(int dirfd, const char *path, struct upath *up)
{
	int kind = path_classify(dirfd, path, up);

	if (kind == UP_UMFS || kind == UP_FD)
		shim_vfork_own_memory(); /* its walk and all after it are its parent's */
	if (kind == UP_UMFS)
		path_use(up, NULL);
	return kind;
}

/* The path of up's base from the root: the cwd's and a descriptor's are
 * kept (checked after renames), any other is asked of the core. */
static int base_path(struct umfs_fs *fs, const struct upath *up, char *buf, size_t size)
{
	uint64_t ino;
	uint32_t gen;
	struct ofd *o;
	int err = -ESTALE;

	if (up->base_fd == AT_FDCWD) {
		if (cwd_base(&ino, &gen) == 0 && ino == up->base && gen == up->base_gen)
			err = cwd_pool_path(buf, size);
	} else if ((o = fd_get_fast(up->base_fd)) != NULL) {
		if (o->ino == up->base && o->gen == up->base_gen)
			err = ofd_path(o, buf, size);
		ofd_put(o);
	}
	if (err == -ESTALE)
		err = umfs_dir_path(fs, up->base, up->base_gen, buf, size);
	return err == -ERANGE ? -ENAMETOOLONG : err;
}

int path_absolute(struct umfs_fs *fs, const struct upath *up, char *buf, size_t size)
{
	char *base;
	int err;

	if (up->base == 0) {
		if (strlen(up->buf) + 1 > size)
			return -ENAMETOOLONG;
		strcpy(buf, up->buf);
		return 0;
	}
	base = malloc(PATH_MAX);
	if (!base)
		return -ENOMEM;
	err = base_path(fs, up, base, PATH_MAX);
	if (!err)
		err = join(buf, size, base, up->buf);
	free(base);
	return err == -ERANGE ? -ENAMETOOLONG : err;
}

int path_external(struct upath *up)
{
	const char *host = umfs_external_path();
	char tmp[PATH_MAX];
	size_t n = strlen(host);
	int kind;

	if (++up->hops > MAX_HOPS)
		return -ELOOP;
	up->base = 0; /* a host path: absolute */
	up->base_gen = 0;
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

/* The cwd's path from its inode (cwd_lock held for writing): a removed
 * directory is noted, one whose path is too long too. */
static void cwd_find_path(struct umfs_fs *fs)
{
	char *now = malloc(PATH_MAX);
	int err = now ? umfs_dir_path(fs, cwd.ino, cwd.gen, now, PATH_MAX) : -ENOMEM;

	cwd.removed = err != 0 && err != -ENAMETOOLONG && err != -ENOMEM;
	cwd.path_long = err == -ENAMETOOLONG;
	if (!err)
		strcpy(cwd_path, now);
	free(now);
}

/* Takes hold as the cwd (cwd_lock held for writing). */
static void cwd_take(struct umfs_file *hold)
{
	cwd_release();
	cwd.hold = hold;
	cwd.removed = false;
	cwd.path_long = false;
	cwd.epoch = shim_dir_epoch();
	atomic_store(&cwd_in_umfs, true);
}

/* UMFS_CWD for a cwd whose path is too long: its inode (cwd_from_env). */
static void cwd_id_string(char *buf, size_t size, uint64_t ino, uint32_t gen)
{
	snprintf(buf, size, "@%" PRIu64 ".%" PRIu32, ino, gen);
}

/* Children (exec, system, popen) learn the cwd from the environment: its
 * host path, or its inode when the path is too long (id). */
static void cwd_export(const char *pool_path, const char *id)
{
	char host[PATH_MAX];

	if (pool_path && path_to_host(pool_path, host, sizeof(host)) == 0)
		setenv("UMFS_CWD", host, 1);
	else if (id)
		setenv("UMFS_CWD", id, 1);
	else
		unsetenv("UMFS_CWD");
}

int cwd_env(char *buf, size_t size)
{
	uint64_t ino;
	uint32_t gen;
	int err = cwd_get(buf, size);

	if (err != -ENAMETOOLONG)
		return err;
	err = cwd_base(&ino, &gen);
	if (!err)
		cwd_id_string(buf, size, ino, gen);
	return err;
}

/* Opens the directory at cwd_path to hold it (cwd_lock held for writing). */
static void cwd_open_path(struct umfs_fs *fs)
{
	struct umfs_file *hold = NULL;
	int err;

	pool_lock();
	if (cwd.path_long) /* inherited by inode: the parent held it */
		err = umfs_open_id(fs, cwd.ino, cwd.gen, O_PATH | O_DIRECTORY,
				   UMFS_OPEN_ID_NOCHECK, &hold);
	else
		err = umfs_open(fs, cwd_path, O_PATH | O_DIRECTORY, 0, &hold);
	if (err == 0) {
		umfs_file_id(hold, &cwd.ino, &cwd.gen);
		registry_add(cwd.ino, 1);
		cwd.hold = hold;
	}
	pool_unlock();
}

int cwd_set_umfs(const char *pool_path)
{
	struct umfs_fs *fs = shim_fs_peek();
	size_t n = strlen(pool_path);
	char host[PATH_MAX];

	if (n >= sizeof(cwd_path) || path_to_host(pool_path, host, sizeof(host)))
		return -ENAMETOOLONG;
	pthread_rwlock_wrlock(&cwd_lock);
	cwd_take(NULL);
	memcpy(cwd_path, pool_path, n + 1);
	cwd.ino = 0;
	cwd.gen = 0;
	if (fs)
		cwd_open_path(fs);
	pthread_rwlock_unlock(&cwd_lock);
	cwd_export(pool_path, NULL);
	return 0;
}

/* A cwd inherited by inode (UMFS_CWD=@INO.GEN). */
static void cwd_set_id(uint64_t ino, uint32_t gen)
{
	struct umfs_fs *fs = shim_fs_peek();

	pthread_rwlock_wrlock(&cwd_lock);
	cwd_take(NULL);
	cwd_path[0] = '\0';
	cwd.path_long = true;
	cwd.ino = ino;
	cwd.gen = gen;
	if (fs)
		cwd_open_path(fs);
	pthread_rwlock_unlock(&cwd_lock);
}

void cwd_set_file(struct umfs_fs *fs, struct umfs_file *hold)
{
	char id[64];
	bool known;

	pthread_rwlock_wrlock(&cwd_lock);
	cwd_take(hold);
	umfs_file_id(hold, &cwd.ino, &cwd.gen);
	pool_lock();
	cwd_find_path(fs);
	pool_unlock_ro();
	known = !cwd.removed && !cwd.path_long;
	cwd_id_string(id, sizeof(id), cwd.ino, cwd.gen);
	pthread_rwlock_unlock(&cwd_lock);
	cwd_export(known ? cwd_path : NULL, cwd.path_long ? id : NULL);
}

void cwd_leave_umfs(void)
{
	if (!atomic_load(&cwd_in_umfs))
		return;
	shim_vfork_own_memory(); /* the cwd is its parent's */
	pthread_rwlock_wrlock(&cwd_lock);
	atomic_store(&cwd_in_umfs, false);
	cwd_release();
	pthread_rwlock_unlock(&cwd_lock);
	unsetenv("UMFS_CWD");
}

/* Checks the cwd against the name space (cwd_lock held for writing):
 * renamed directories are followed, a removed one noted. */
static void cwd_check(uint64_t epoch)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct stat st;

	if (!fs)
		return;
	if (!cwd.hold) {
		/* inherited through UMFS_CWD before the pool was mounted */
		cwd_open_path(fs);
		cwd.removed = cwd.hold == NULL;
		cwd.epoch = epoch;
		return;
	}
	pool_lock();
	if (cwd.path_long || umfs_stat(fs, cwd_path, &st, 0) != 0 || st.st_ino != cwd.ino)
		cwd_find_path(fs);
	pool_unlock_ro();
	cwd.epoch = epoch;
}

/* Whether the cwd is to be checked against the name space (cwd_check):
 * a rename or rmdir since the last check, or no hold yet. */
static bool cwd_unchecked(uint64_t epoch)
{
	return cwd.epoch != epoch || !cwd.hold;
}

/* Runs fn with cwd_lock held for reading, the cwd checked against the
 * name space first; -EAGAIN when the cwd left UMFS meanwhile. */
static int cwd_read(int (*fn)(void *arg), void *arg)
{
	uint64_t epoch = shim_dir_epoch();
	int err;

	/* the check writes the parent's cwd once the pool is mounted: not
	 * from a vfork child (cwd_vfork_prepare makes that rare), which must
	 * not hold cwd_lock as it retries */
	if (shim_vfork_child() && shim_fs_peek() && cwd_unchecked(epoch))
		shim_vfork_retry();
	pthread_rwlock_rdlock(&cwd_lock);
	if (cwd_unchecked(epoch)) {
		pthread_rwlock_unlock(&cwd_lock);
		pthread_rwlock_wrlock(&cwd_lock);
		if (cwd_unchecked(epoch))
			cwd_check(epoch);
	}
	err = atomic_load(&cwd_in_umfs) ? fn(arg) : -EAGAIN;
	pthread_rwlock_unlock(&cwd_lock);
	return err;
}

struct cwd_copy {
	char *buf;
	size_t size;
	uint64_t *ino;
	uint32_t *gen;
};

static int cwd_copy_path(void *arg)
{
	struct cwd_copy *c = arg;

	if (cwd.removed)
		return -ENOENT;
	if (cwd.path_long)
		return -ENAMETOOLONG;
	if (strlen(cwd_path) + 1 > c->size)
		return -ERANGE;
	strcpy(c->buf, cwd_path);
	return 0;
}

static int cwd_copy_id(void *arg)
{
	struct cwd_copy *c = arg;

	if (!cwd.hold)
		return -ENOENT; /* not there when the pool was mounted */
	*c->ino = cwd.ino;
	*c->gen = cwd.gen;
	return 0;
}

static int cwd_nothing(void *arg)
{
	(void)arg;
	return 0;
}

void cwd_vfork_prepare(void)
{
	if (atomic_load(&cwd_in_umfs) && shim_fs_peek())
		(void)cwd_read(cwd_nothing, NULL);
}

int cwd_pool_path(char *buf, size_t size)
{
	struct cwd_copy c = { .buf = buf, .size = size };

	return cwd_read(cwd_copy_path, &c);
}

int cwd_get_long(char **out)
{
	size_t plen = cfg.prefix_len;
	struct umfs_fs *fs;
	uint64_t ino;
	uint32_t gen;
	char *buf;
	int err = cwd_base(&ino, &gen);

	if (err)
		return err == -EAGAIN ? -ENOENT : err;
	fs = shim_fs_peek(); /* cwd_base mounted the pool, if it was not yet */
	for (size_t size = 2 * PATH_MAX; size <= (1u << 20); size *= 2) {
		buf = malloc(plen + size);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, cfg.prefix, plen);
		pool_lock();
		err = umfs_dir_path(fs, ino, gen, buf + plen, size);
		pool_unlock_ro();
		if (!err) {
			if (strcmp(buf + plen, "/") == 0)
				buf[plen] = '\0';
			*out = buf;
			return 0;
		}
		free(buf);
		if (err != -ENAMETOOLONG)
			return err;
	}
	return -ENAMETOOLONG;
}

int cwd_base(uint64_t *ino, uint32_t *gen)
{
	struct cwd_copy c = { .ino = ino, .gen = gen };
	int err;

	if (!shim_fs(&err))
		return err;
	return cwd_read(cwd_copy_id, &c);
}

int cwd_get(char *buf, size_t size)
{
	char pool[PATH_MAX];
	int err = cwd_pool_path(pool, sizeof(pool));

	if (!err && path_to_host(pool, buf, size) != 0)
		err = size >= PATH_MAX ? -ENAMETOOLONG : -ERANGE;
	return err;
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
	const char *s = shim_env(SHIM_ENV_CWD);
	char rest[PATH_MAX];

	if (!s || !cfg.enabled)
		return;
	if (s[0] == '@') {
		unsigned long long ino;
		unsigned gen;

		if (sscanf(s, "@%llu.%u", &ino, &gen) == 2 && ino != 0)
			cwd_set_id(ino, gen);
		else
			unsetenv("UMFS_CWD");
		return;
	}
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
		if (ops->lockless) {
			/* a handler waits: the call may take the core's lock */
			shim_busy_enter();
			path_use(&up, NULL);
			r = ops->umfs(fs, up.buf, arg);
			shim_busy_leave();
		} else {
			pool_lock();
			path_use(&up, NULL);
			r = ops->umfs(fs, up.buf, arg);
			if (ops->changes)
				pool_unlock();
			else
				pool_unlock_ro();
		}
		if (r != -UMFS_EXTERNAL)
			return r;
		kind = path_external(&up);
	}
}
