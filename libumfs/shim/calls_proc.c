/* SPDX-License-Identifier: MIT */
/*
 * calls_proc.c - processes: _Fork and clone (the fork handlers run
 * around them), the exec family, posix_spawn, daemon, umask, and what
 * only the kernel does (chroot, inotify and fanotify marks). vfork is
 * vfork.c's.
 *
 * exec: the cwd inside UMFS travels in UMFS_CWD (the kernel's cwd is
 * elsewhere); shared mappings are written back; the open-inode registry
 * drops this image's holds (the new image adds its own as it adopts the
 * descriptors it inherits). A program stored in UMFS is executed from a
 * memfd copy (fexecve), since the kernel cannot read it.
 */
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "shim.h"

extern char **environ;

/* ------------------------------------------------------------------ */
/* The environment a child gets                                         */
/* ------------------------------------------------------------------ */

/* Whether entry e is KEY=... for key "KEY=". */
static bool env_is(const char *e, const char *key)
{
	return strncmp(e, key, strlen(key)) == 0;
}

/* Whether envp has an entry for key "KEY=". */
static bool env_has(char *const envp[], const char *key)
{
	for (size_t i = 0; envp[i]; i++)
		if (env_is(envp[i], key))
			return true;
	return false;
}

long shim_env_count(char *const envp[])
{
	for (size_t n = 0;; n++) {
		const char *slot = (const char *)&envp[n];

		if (shim_probe_pages_rd(slot, slot + sizeof(char *) - 1) < 0)
			return -EFAULT;
		if (!envp[n])
			return (long)n;
		if (shim_probe_strnlen(envp[n], SHIM_ENV_KEY_MAX) < 0)
			return -EFAULT;
	}
}

/* Where env_for_child builds: the heap, or (buf set) the stack of a vfork
 * child's exec, since what the child allocated would stay in its parent. */
struct env_room {
	char *buf;
	size_t size, used;
};

static void *env_take(struct env_room *r, size_t size)
{
	if (!r->buf)
		return malloc(size);
	size = (size + 15) & ~(size_t)15;
	if (size > r->size - r->used)
		return NULL;
	r->used += size;
	return r->buf + r->used - size;
}

static void env_give(struct env_room *r, void *p)
{
	if (!r->buf)
		free(p);
}

/* The room env_for_child may take for n entries of envp. */
#define ENV_CWD_ROOM (PATH_MAX + 16)
#define ENV_RDONLY_ROOM (PATH_MAX + 32)
#define ENV_ROOM(n) (2 * (ENV_CWD_ROOM + ENV_RDONLY_ROOM) + 1024 + ((n) + 8) * sizeof(char *))

/*
 * envp as the library's state says, for a new image: UMFS_CWD names the
 * cwd inside UMFS (or is dropped), UMFS_RDONLY_DIR a read-only process's
 * private helper directory, UMFS_EXPOSURE_SAID that the pool's exposure
 * was said, UMFS_FDS the pool's descriptors pass passes (or is dropped:
 * the image does not keep the library, inherit_pass_image),
 * UMFS_ADOPT that the image may inherit UMFS descriptors (or the text
 * hold of the UMFS program path names), which it then looks for as it
 * starts (or is dropped). Set here rather than only in environ, which
 * shells keep their own copy of. *alloc is what to free (heap room).
 * NULL when room's stack is too small.
 */
static char *const *env_for_child(char *const envp[], char ***alloc, struct inherit_pass *pass,
				  const char *path, const char *held, struct env_room *room)
{
	static const char *const keys[] = { "UMFS_CWD=", "UMFS_RDONLY_DIR=",
					    UMFS_EXPOSURE_SAID_ENV "=", "UMFS_FDS=",
					    SHIM_ADOPT_ENV "=", SHIM_HELD_ENV "=" };
	const char *want[ARRAY_SIZE(keys)] = { NULL }, *dir = shim_helper_private_dir();
	bool in_umfs = atomic_load(&cwd_in_umfs), stale = false;
	size_t n, k = 0, bytes = 0;
	char fds[256], **v, *s, *names = NULL;
	long count;

	*alloc = NULL;
	if (pass->active && inherit_pass_env(pass, fds, sizeof(fds)) < 0)
		inherit_pass_close(pass);
	if (!cfg.enabled || !envp || (count = shim_env_count(envp)) < 0)
		return envp;
	n = (size_t)count;
	if (pass->active)
		want[3] = fds;
	/* The two path-sized names in the room, and only when one is to go:
	 * as 8 KiB of this frame they would cost every forked child on its
	 * way to exec a fault per page, which the compiler's stack probes
	 * touch (a vfork child's room is its parent's stack, already there). */
	if ((in_umfs || dir) && !(names = env_take(room, ENV_CWD_ROOM + ENV_RDONLY_ROOM)))
		return room->buf ? NULL : envp;
	if (in_umfs) {
		strcpy(names, keys[0]);
		if (cwd_env(names + strlen(keys[0]), ENV_CWD_ROOM - strlen(keys[0])) == 0)
			want[0] = names;
	}
	if (dir && snprintf(names + ENV_CWD_ROOM, ENV_RDONLY_ROOM, "%s%s", keys[1], dir) <
			   ENV_RDONLY_ROOM)
		want[1] = names + ENV_CWD_ROOM;
	if (getenv(UMFS_EXPOSURE_SAID_ENV) && !env_has(envp, keys[2]))
		want[2] = UMFS_EXPOSURE_SAID_ENV "=1"; /* (any value says it) */
	if (atomic_load_explicit(&uinfo_count, memory_order_relaxed) > 0 ||
	    (path && path_maybe_umfs(AT_FDCWD, path)))
		want[4] = SHIM_ADOPT_ENV "=1";
	want[5] = held;
	for (size_t j = 0; j < ARRAY_SIZE(keys); j++)
		bytes += want[j] ? strlen(want[j]) + 1 : 0;
	for (size_t i = 0; i < n; i++)
		stale |= (env_is(envp[i], keys[0]) && !want[0]) ||
			 (env_is(envp[i], keys[3]) && !want[3]) ||
			 (env_is(envp[i], keys[4]) && !want[4]) ||
			 (env_is(envp[i], keys[5]) && !want[5]);
	v = bytes || stale ? env_take(room, (n + ARRAY_SIZE(keys) + 1) * sizeof(*v) + bytes)
			   : NULL;
	if (!v) { /* nothing to give nor to take away, or no memory */
		env_give(room, names);
		return room->buf && (bytes || stale) ? NULL : envp;
	}
	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		/* UMFS_CWD, UMFS_FDS, UMFS_ADOPT and UMFS_HELD go whenever
		 * they are not ours to give; the others stay unless we give them */
		for (size_t j = 0; j < ARRAY_SIZE(keys); j++)
			ours |= env_is(envp[i], keys[j]) &&
				(want[j] || j == 0 || j >= 3);
		if (!ours)
			v[k++] = envp[i];
	}
	s = (char *)(v + n + ARRAY_SIZE(keys) + 1);
	for (size_t j = 0; j < ARRAY_SIZE(keys); j++) {
		if (!want[j])
			continue;
		strcpy(s, want[j]);
		v[k++] = s;
		s += strlen(s) + 1;
	}
	v[k] = NULL;
	env_give(room, names);
	if (!room->buf)
		*alloc = v;
	return v;
}

/* Before an exec whose image inherit_pass_image told: sw holds the
 * descriptors given as the fallback mount's files (fallback.c), which a
 * failed exec takes back. */
static void exec_prepare(struct inherit_pass *pass, struct fallback_swap *sw)
{
	fallback_exec_prepare(sw, pass, false);
	mmap_registry_all(-1); /* the mapped stores back to the files */
	cwd_exec(-1);
	reclock_exec_prepare();
	ofd_exec_prepare();
	devnode_registry_all(-1); /* the new image knows them as host nodes */
	inherit_pass_open(pass);
	nofile_exec_prepare();
	held_exec_start(); /* last: nothing may touch the pool after it */
}

/* Before an exec in a child the library did not see start: the library's
 * state is the parent's (shared with it after CLONE_VM or a vfork kept
 * real), and stays as it is. Only what the kernel does for this process
 * changes: the parent's descriptions may be held by the new image from
 * now on (the spawn mark, the parent's own when memory is shared), the
 * parked number, which the new image must not inherit, is closed in a
 * table of this process's own, and a vfork child's limit on descriptors
 * comes down to the program's, as a forked child's does. */
static void exec_prepare_unseen(void)
{
	int parked = atomic_load(&ofd_parked_fd);

	ofd_spawn_mark();
	if (parked >= 0 && SYS(unshare)(CLONE_FILES) == 0)
		OS(close)(parked);
	if (shim_vfork_child())
		nofile_exec_prepare(); /* as a forked child's exec: the program's limit */
}

static void exec_failed(struct inherit_pass *pass, struct fallback_swap *sw)
{
	fallback_exec_restore(sw);
	inherit_pass_close(pass);
	ofd_exec_failed();
	devnode_registry_all(1);
	reclock_exec_failed();
	cwd_exec(1);
	mmap_registry_all(1);
}

/* ------------------------------------------------------------------ */
/* Programs stored in UMFS                                              */
/* ------------------------------------------------------------------ */

/* The text lock (text.c) program_memfd took for the program this thread
 * is about to execute, or -1; exec_image drops it when the exec fails. */
static __thread int exec_text_fd = -1;

/* A memfd holding the program the UMFS file (pool path, or descriptor
 * when path is NULL) contains, after the execute permission check. Not
 * close-on-exec for a script: its interpreter opens /dev/fd/N. A file
 * open for writing anywhere is not executed (ETXTBSY); a binary is held
 * busy while it runs (a script is the interpreter's input). */
static int program_memfd(const char *path, int fd)
{
	bool script = false;
	struct umfs_file *uf = NULL, *pf = NULL;
	struct umfs_fs *fs;
	struct stat st;
	char buf[65536];
	uint64_t ino;
	uint32_t gen;
	off_t off = 0;
	int err, mfd = -1;

	fs = shim_fs(&err);
	if (!fs)
		return err;
	pool_lock();
	if (path) {
		err = umfs_stat(fs, path, &st, 0);
		if (!err && !S_ISREG(st.st_mode))
			err = -EACCES;
		if (!err)
			err = umfs_access(fs, path, X_OK);
		if (!err)
			err = umfs_open(fs, path, O_PATH, 0, &pf);
		if (!err)
			umfs_file_id(pf, &ino, &gen);
	} else {
		struct ofd *o = fd_get_fast(fd);

		err = o && o->uf ? 0 : -EBADF;
		if (!err) {
			umfs_file_id(o->uf, &ino, &gen);
			err = umfs_fstat(o->uf, &st);
			if (!err && (!S_ISREG(st.st_mode) || !(st.st_mode & 0111)))
				err = -EACCES;
		}
		if (o)
			ofd_put(o);
	}
	if (!err && ofd_slot_open_for_write(ino, gen))
		err = -ETXTBSY;
	if (!err)
		err = umfs_open_id(fs, ino, gen, O_RDONLY, UMFS_OPEN_ID_NOCHECK, &uf);
	if (pf)
		umfs_close(pf);
	pool_unlock();
	if (err)
		return err;
	for (;;) {
		ssize_t n = umfs_pread(uf, buf, sizeof(buf), off);

		if (n < 0) {
			err = (int)n;
			break;
		}
		if (off == 0) {
			script = n >= 2 && buf[0] == '#' && buf[1] == '!';
			shim_fdguard_own();
			mfd = SYS(memfd_create)("umfs-exec", script ? 0 : MFD_CLOEXEC);
			if (mfd < 0) {
				err = -errno;
				break;
			}
		}
		if (n == 0)
			break;
		if (sys_write_full(mfd, buf, (size_t)n, -1) < 0) {
			err = -EIO;
			break;
		}
		off += n;
	}
	pool_lock();
	umfs_close(uf);
	pool_unlock();
	if (!err && !script) {
		int tfd = text_hold(ino, gen);

		text_release(exec_text_fd);
		exec_text_fd = tfd < 0 ? -1 : tfd; /* without it, only ETXTBSY is lost */
	}
	if (err) {
		sys_close_quiet(mfd);
		return err;
	}
	return mfd;
}

static void exec_text_drop(void)
{
	text_release(exec_text_fd);
	exec_text_fd = -1;
}

/* Executes the image at kpath, or in fd when kpath is NULL: a memfd copy
 * of a UMFS program (owned: a failed exec closes it and drops its text
 * lock) or the program's own kernel descriptor. path names it for the
 * environment, which is envp as the image and the library's state say,
 * built in room. */
static int exec_image_in(struct env_room *room, const char *kpath, int fd, bool owned,
			 const char *path, char *const argv[], char *const envp[],
			 struct inherit_pass *pass, const char *held)
{
	bool ours = shim_state_ours();
	struct fallback_swap sw;
	char *const *env;
	char **alloc;
	int e;

	if (!ours)
		inherit_pass_close(pass); /* the parent's descriptors, not ours to pass */
	inherit_pass_image(pass, kpath, kpath ? -1 : fd, envp);
	env = env_for_child(envp, &alloc, pass, path, held, room);
	if (!env)
		shim_vfork_retry(); /* a vfork child's stack room was too small */
	if (ours)
		exec_prepare(pass, &sw);
	else
		exec_prepare_unseen();
	if (kpath)
		SYS(execve)(kpath, argv, env);
	else
		SYS(fexecve)(fd, argv, env);
	e = errno;
	if (ours)
		exec_failed(pass, &sw);
	free(alloc);
	if (owned) {
		sys_close_quiet(fd);
		exec_text_drop();
	}
	return -e;
}

/* A vfork child's exec, its environment built on its stack (the parent's
 * stack below the parent's frames, which it does not use meanwhile). */
static __attribute__((noinline)) int exec_image_borrowed(const char *kpath, int fd, bool owned,
							 const char *path, char *const argv[],
							 char *const envp[],
							 struct inherit_pass *pass,
							 const char *held)
{
	long count = envp ? shim_env_count(envp) : 0;
	size_t n = count < 0 ? 0 : count > 65536 ? 65536 : (size_t)count;
	char buf[ENV_ROOM(n)] __attribute__((aligned(16)));
	struct env_room room = { .buf = buf, .size = sizeof(buf) };

	return exec_image_in(&room, kpath, fd, owned, path, argv, envp, pass, held);
}

static int exec_image(const char *kpath, int fd, bool owned, const char *path,
		      char *const argv[], char *const envp[], struct inherit_pass *pass,
		      const char *held)
{
	struct env_room heap = { 0 };

	if (shim_vfork_child())
		return exec_image_borrowed(kpath, fd, owned, path, argv, envp, pass, held);
	return exec_image_in(&heap, kpath, fd, owned, path, argv, envp, pass, held);
}

/* ------------------------------------------------------------------ */
/* exec                                                                 */
/* ------------------------------------------------------------------ */

/* The holds this image hands to the next (held.c): none from a child the
 * library did not see start, which holds nothing of its own. */
static const char *exec_held(void)
{
	return shim_state_ours() ? held_hand() : NULL;
}

/* Where an exec of path goes: its kind (UP_*, or -errno) once followed
 * out of the pool as often as a UMFS symlink leads there (up.kpath then
 * names the host's file). */
static int exec_follow(const char *path, struct upath *up)
{
	int kind = path_resolve(AT_FDCWD, path, up), e;

	for (int hops = 0; kind == UP_UMFS && hops < 40; hops++) {
		struct umfs_fs *fs = shim_fs(&e);
		struct stat st;

		if (!fs)
			return e;
		pool_lock();
		e = umfs_stat(fs, up->buf, &st, 0);
		pool_unlock_ro();
		if (e != -UMFS_EXTERNAL)
			break;
		kind = path_external(up);
	}
	return kind;
}

/* An exec of a path that may be in UMFS: followed to where it really is
 * (maybe out of the pool), then run from a copy or passed on; errno or 0.
 * Not in do_execve, whose frame every child on its way to exec pays for:
 * the path's 4 KiB here is a page the compiler's stack probe faults in. */
static __attribute__((noinline)) int exec_resolved(const char *path, char *const argv[],
						   char *const envp[], struct inherit_pass *pass,
						   const char *held)
{
	struct upath up;
	int kind = exec_follow(path, &up), mfd;

	if (kind < 0)
		return -kind;
	if (kind == UP_UMFS || kind == UP_FD) {
		mfd = kind == UP_FD ? program_memfd(NULL, up.fd) : program_memfd(up.buf, -1);
		TRACE_SERVED(exec, mfd < 0 ? mfd : 0, 0, "\"%s\"", path);
		return mfd < 0 ? -mfd : -exec_image(NULL, mfd, true, path, argv, envp, pass, held);
	}
	TRACE_PASS(exec, "\"%s\"", path);
	return -exec_image(up.kpath, -1, false, path, argv, envp, pass, held);
}

static int do_execve(const char *path, char *const argv[], char *const envp[])
{
	struct inherit_pass pass;
	const char *held = exec_held();
	int e;

	inherit_pass_prepare(&pass, false);
	if (path_maybe_umfs(AT_FDCWD, path)) {
		e = exec_resolved(path, argv, envp, &pass, held);
	} else {
		TRACE_PASS(exec, "\"%s\"", path);
		e = -exec_image(path, -1, false, path, argv, envp, &pass, held);
	}
	inherit_pass_close(&pass);
	held_keep(held); /* every return is a failed exec */
	return e;
}

SHIM_API int execve(const char *path, char *const argv[], char *const envp[])
{
	errno = do_execve(path, argv, envp);
	return -1;
}

SHIM_API int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_API int fexecve(int fd, char *const argv[], char *const envp[])
{
	struct inherit_pass pass;
	int mfd, e;
	const char *held = exec_held();

	inherit_pass_prepare(&pass, false);
	if (uinfo_peek(fd) != NULL && uinfo_peek(fd) != UINFO_INTERNAL) {
		mfd = program_memfd(NULL, fd);
		e = mfd < 0 ? -mfd : -exec_image(NULL, mfd, true, NULL, argv, envp, &pass, held);
	} else {
		e = -exec_image(NULL, fd, false, NULL, argv, envp, &pass, held);
	}
	inherit_pass_close(&pass);
	held_keep(held);
	errno = e;
	return -1;
}

/* The kernel names a script to its interpreter as /dev/fd/N/PATH: with N
 * close-on-exec the interpreter could not open that, and the exec says
 * ENOENT. */
static bool exec_script_unreachable(int dirfd, const char *path)
{
	int saved = errno, fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	char head[2];
	bool script;

	if (fd < 0) {
		errno = saved;
		return false; /* the exec says why */
	}
	script = read(fd, head, 2) == 2 && head[0] == '#' && head[1] == '!';
	close(fd);
	errno = saved;
	return script;
}

/* Relative to a directory descriptor, the program is named as the kernel
 * names it then, /dev/fd/N/PATH: the library's lookup of that reaches a
 * UMFS directory, the kernel's a kernel one. */
SHIM_API int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		      int flags)
{
	char full[PATH_MAX];
	struct stat st;
	int fdflags = 0;

	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		errno = EINVAL;
		return -1;
	}
	if (dirfd != AT_FDCWD && (fdflags = fcntl(dirfd, F_GETFD)) < 0)
		return -1; /* EBADF, a parked number too */
	if ((flags & AT_EMPTY_PATH) && path && path[0] == '\0')
		return fexecve(dirfd, argv, envp);
	if ((flags & AT_SYMLINK_NOFOLLOW) && fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	if (dirfd == AT_FDCWD || !path || path[0] == '/')
		return execve(path, argv, envp);
	if ((fdflags & FD_CLOEXEC) && exec_script_unreachable(dirfd, path)) {
		errno = ENOENT;
		return -1;
	}
	if (snprintf(full, sizeof(full), "/dev/fd/%d/%s", dirfd, path) >= (int)sizeof(full)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return execve(full, argv, envp);
}

/* ------------------------------------------------------------------ */
/* PATH search                                                          */
/* ------------------------------------------------------------------ */

static const char *search_path(void)
{
	const char *path = getenv("PATH");

	return path ? path : "/bin:/usr/bin";
}

/* The next name a PATH search for file tries, into full; false past the
 * last. *p starts at search_path(); a name too long is passed over. */
static bool path_next(const char **p, const char *file, char *full, size_t size)
{
	size_t fl = strlen(file);

	while (*p) {
		const char *s = *p, *colon = strchrnul(s, ':');
		size_t dl = (size_t)(colon - s);

		*p = *colon ? colon + 1 : NULL;
		if (dl + 1 + fl + 1 > size)
			continue;
		if (dl) {
			memcpy(full, s, dl);
			full[dl] = '/';
			memcpy(full + dl + 1, file, fl + 1);
		} else {
			memcpy(full, file, fl + 1); /* an empty entry is the cwd */
		}
		return true;
	}
	return false;
}

/* Whether a PATH search's try at full would fail for want of a file:
 * the kernel has no such name (ENOENT, ENOTDIR: into *e, as the exec
 * would say). One lookup where the exec's try costs the library's
 * preparation and its undoing too, for each directory before the one
 * that holds the program. Kernel paths only: a UMFS name is the exec's. */
static bool exec_absent(const char *full, int *e)
{
	int saved = errno;
	bool absent = !path_maybe_umfs(AT_FDCWD, full) &&
		      SYS(faccessat)(AT_FDCWD, full, F_OK, 0) != 0 &&
		      (errno == ENOENT || errno == ENOTDIR);

	if (absent)
		*e = errno;
	errno = saved;
	return absent;
}

/* The PATH search of execvp, over the shim's execve. */
SHIM_API int execvpe(const char *file, char *const argv[], char *const envp[])
{
	const char *path;
	bool eacces = false;
	char full[PATH_MAX];
	int e = ENOENT;

	if (!file || !*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/')) {
		e = do_execve(file, argv, envp);
		if (e == ENOEXEC)
			goto as_script;
		errno = e;
		return -1;
	}
	for (path = search_path(); path_next(&path, file, full, sizeof(full));) {
		if (exec_absent(full, &e))
			continue;
		e = do_execve(full, argv, envp);
		if (e == ENOEXEC) {
			file = full;
			goto as_script;
		}
		if (e == EACCES)
			eacces = true;
		else if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV &&
			 e != ETIMEDOUT && e != ELOOP && e != ENAMETOOLONG)
			break;
	}
	errno = eacces ? EACCES : e;
	return -1;

as_script: {
	/* no #! line: run it with the shell, as execvp does (its arguments
	 * on the stack: a vfork child's heap is its parent's) */
	size_t argc = 0;

	while (argv[argc])
		argc++;
	{
		char *sv[argc + 2];

		sv[0] = (char *)"/bin/sh";
		sv[1] = (char *)file;
		for (size_t i = 1; i <= argc; i++)
			sv[i + 1] = argv[i];
		errno = do_execve("/bin/sh", sv, envp);
	}
	return -1;
}
}

SHIM_API int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* execl and friends: the arguments after arg0 up to the NULL, counted,
 * then collected into argv[1..n] (n from execl_count), on the caller's
 * stack as the C library's execl has them: a vfork child's heap is its
 * parent's, where an exec would leave them. */
static size_t execl_count(va_list ap)
{
	size_t n = 1;
	va_list c;

	va_copy(c, ap);
	while (va_arg(c, char *))
		n++;
	va_end(c);
	return n;
}

static void execl_collect(char **argv, const char *arg0, size_t n, va_list *ap)
{
	argv[0] = (char *)arg0;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(*ap, char *);
}

SHIM_API int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg0);
	n = execl_count(ap);
	{
		char *argv[n + 1];

		execl_collect(argv, arg0, n, &ap);
		va_end(ap);
		errno = do_execve(path, argv, environ);
	}
	return -1;
}

SHIM_API int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg0);
	n = execl_count(ap);
	{
		char *argv[n + 1], **envp;

		execl_collect(argv, arg0, n, &ap);
		envp = va_arg(ap, char **);
		va_end(ap);
		errno = do_execve(path, argv, envp);
	}
	return -1;
}

SHIM_API int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg0);
	n = execl_count(ap);
	{
		char *argv[n + 1];

		execl_collect(argv, arg0, n, &ap);
		va_end(ap);
		return execvpe(file, argv, environ);
	}
}

/* ------------------------------------------------------------------ */
/* posix_spawn                                                          */
/* ------------------------------------------------------------------ */

/* Files opened now for posix_spawn_file_actions_addopen of UMFS paths. */
struct spawn_open {
	const posix_spawn_file_actions_t *fa;
	int fd;
	struct spawn_open *next;
};

static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spawn_open *spawn_opens;

SHIM_API int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
					      const char *path, int oflag, mode_t mode)
{
	struct spawn_open *s;
	int tmp, r;

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(posix_spawn_file_actions_addopen)(fa, fd, path, oflag, mode);
	SHIM_SERVE();
	/* the child cannot open a UMFS path itself: open it now, let the
	 * child dup2 it into place */
	tmp = shim_open(AT_FDCWD, path, oflag | O_CLOEXEC, mode);
	if (tmp < 0)
		return -tmp;
	s = malloc(sizeof(*s));
	r = s ? posix_spawn_file_actions_adddup2(fa, tmp, fd) : ENOMEM;
	if (r) {
		free(s);
		shim_close(tmp);
		return r;
	}
	s->fa = fa;
	s->fd = tmp;
	pthread_mutex_lock(&spawn_lock);
	s->next = spawn_opens;
	spawn_opens = s;
	pthread_mutex_unlock(&spawn_lock);
	return 0;
}

SHIM_API int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	struct spawn_open **p, *s;
	SHIM_SERVE();

	pthread_mutex_lock(&spawn_lock);
	for (p = &spawn_opens; (s = *p) != NULL;) {
		if (s->fa == fa) {
			*p = s->next;
			shim_close(s->fd);
			free(s);
		} else {
			p = &s->next;
		}
	}
	pthread_mutex_unlock(&spawn_lock);
	return SYS(posix_spawn_file_actions_destroy)(fa);
}

/* The image posix_spawnp will execute for file: the first executable
 * regular file of the PATH search, into full, a UMFS one too (the
 * library's stat and access look); file itself when none is (the spawn
 * fails, or the kernel is left to tell). */
static const char *spawn_image(const char *file, char *full, size_t size)
{
	const char *path = search_path();
	struct stat st;
	int saved = errno;

	while (path_next(&path, file, full, size))
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
			errno = saved;
			return full;
		}
	errno = saved;
	return file;
}

/* Whether a PATH search for file may look into UMFS: one string test a
 * directory, no lookup. */
static bool spawn_search_reaches_umfs(const char *file, char *full, size_t size)
{
	const char *path = search_path();

	while (path_next(&path, file, full, size))
		if (path_maybe_umfs(AT_FDCWD, full))
			return true;
	return false;
}

static int spawn_common(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
			bool search)
{
	const char *named = path;
	struct inherit_pass pass;
	struct fallback_swap sw;
	struct upath up;
	const char *image = NULL; /* what the PATH search finds, once made */
	char *const *env;
	char **alloc, proc[64], full[PATH_MAX];
	int r, mfd = -1;

	shim_vfork_own_memory(); /* what it allocates would stay in the parent */
	inherit_pass_prepare(&pass, true);
	mmap_writeback_all();
	/* the C library's search looks in the kernel's directories alone: one
	 * that leads into UMFS is the library's to search */
	if (search && !strchr(path, '/') && spawn_search_reaches_umfs(path, full, sizeof(full))) {
		image = spawn_image(path, full, sizeof(full));
		if (image == full && path_maybe_umfs(AT_FDCWD, full)) {
			path = full;
			search = false;
		}
	}
	if (!search || strchr(path, '/')) {
		bool maybe = path_maybe_umfs(AT_FDCWD, path);
		int kind = maybe ? exec_follow(path, &up) : UP_KERNEL;

		if (kind == UP_UMFS || kind == UP_FD) {
			/* the child execs a copy, through /proc/self/fd */
			mfd = kind == UP_FD ? program_memfd(NULL, up.fd) : program_memfd(up.buf, -1);
			if (mfd < 0) {
				inherit_pass_close(&pass);
				return -mfd;
			}
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
			path = proc;
			search = false;
		} else if (kind < 0) {
			inherit_pass_close(&pass);
			return -kind;
		} else if (maybe) {
			path = up.kpath; /* the host path a UMFS one led to */
		}
	}
	/* the child's exec does not pass through execve above: what it passes
	 * depends on the image it will run, told here */
	if (inherit_pass_needs_image(&pass))
		inherit_pass_image(&pass,
				   !search || strchr(path, '/') ? path
				   : image			 ? image
								 : spawn_image(path, full, sizeof(full)),
				   -1, envp);
	env = env_for_child(envp, &alloc, &pass, named, NULL, &(struct env_room){ 0 });
	TRACE_PASS(spawn, "\"%s\"", path);
	fd_unpark_all(); /* not to be inherited */
	ofd_spawn_mark(); /* no fork handlers run: the child may hold our files */
	fallback_exec_prepare(&sw, &pass, true);
	inherit_pass_open(&pass);
	r = search ? SYS(posix_spawnp)(pid, path, fa, attr, argv, env)
		   : SYS(posix_spawn)(pid, path, fa, attr, argv, env);
	inherit_pass_close(&pass);
	fallback_exec_restore(&sw);
	ofd_spawn_mark();
	sys_close_quiet(mfd);
	exec_text_drop(); /* the child has its own, if it started */
	free(alloc);
	return r;
}

SHIM_API int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(pid, path, fa, attr, argv, envp, false);
}

SHIM_API int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_common(pid, file, fa, attr, argv, envp, true);
}

/* ------------------------------------------------------------------ */
/* Others                                                               */
/* ------------------------------------------------------------------ */

/* The C library starts these children without fork handlers; the
 * library's own run around them (none of the program's, as there). */
SHIM_API pid_t _Fork(void)
{
	shim_fork_prepare();
	return (pid_t)shim_fork_done(SYS(_Fork)());
}

struct clone_start {
	int (*fn)(void *);
	void *arg;
};

/* The child of a clone without CLONE_VM, on its own stack and in its own
 * copy of memory (cs with it). */
static int clone_child(void *p)
{
	struct clone_start *cs = p;

	shim_fork_child();
	return cs->fn(cs->arg);
}

SHIM_API int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	struct clone_start cs = { fn, arg };
	pid_t *ptid, *ctid;
	void *tls;
	va_list ap;

	/* read as the C library's clone reads them: whether passed or not */
	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (flags & CLONE_VM) {
		/* a thread, or a child in our memory, where no handler may run:
		 * such a child may hold our descriptions (the spawn mark), and
		 * leaves our state alone at exit and exec (shim_state_ours) */
		if (!(flags & CLONE_THREAD))
			ofd_spawn_mark();
		return SYS(clone)(fn, stack, flags, arg, ptid, tls, ctid);
	}
	shim_fork_prepare();
	/* the child starts in clone_child: only the parent returns here */
	return (int)shim_fork_done(SYS(clone)(clone_child, stack, flags, &cs, ptid, tls, ctid));
}

SHIM_API int daemon(int nochdir, int noclose)
{
	pid_t pid = SYS(fork)();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if (!nochdir)
		chdir("/");
	if (!noclose) {
		fd = open("/dev/null", O_RDWR);
		if (fd < 0)
			return -1;
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 0;
}

SHIM_API mode_t umask(mode_t mask)
{
	mode_t old = SYS(umask)(mask);

	if (!shim_vfork_child()) /* a vfork child's mask is not its parent's */
		atomic_store(&shim_umask, mask & 0777);
	return old;
}

/* ------------------------------------------------------------------ */
/* What only the kernel does: watches (inotify, fanotify), chroot       */
/* ------------------------------------------------------------------ */

/* A UMFS name is looked up as the kernel would look it up, then refused:
 * UMFS changes do not pass through the kernel, and the kernel cannot make
 * a UMFS directory its root. */
enum kernel_only_call { KO_INOTIFY, KO_FANOTIFY, KO_CHROOT };

struct kernel_only_arg {
	enum kernel_only_call call;
	int fd;          /* the inotify or fanotify instance */
	unsigned flags;  /* fanotify_mark's */
	uint64_t mask;
	bool nofollow, onlydir;
};

bool shim_capable(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int saved = errno;
	bool may = cap >= 0 && cap < 64 && SYS(capget)(&h, d) == 0 &&
		   (d[cap / 32].effective >> (cap % 32) & 1);

	errno = saved;
	return may;
}

static long kernel_only_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct kernel_only_arg *a = arg;
	struct stat st;
	int err = umfs_stat(fs, path, &st, a->nofollow ? AT_SYMLINK_NOFOLLOW : 0);

	if (err)
		return err;
	if (a->onlydir && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (a->call == KO_CHROOT) {
		err = umfs_access(fs, path, X_OK);
		if (err)
			return err;
		/* asked once the directory is found and searchable */
		if (!shim_capable(CAP_SYS_CHROOT))
			return -EPERM;
	}
	return -EOPNOTSUPP;
}

/* Only fanotify_mark takes a directory: the others get the path as given
 * (relative to the kernel's cwd) or the absolute host path a UMFS one led
 * to. */
static long kernel_only_kernel(int dirfd, const char *path, void *arg)
{
	struct kernel_only_arg *a = arg;
	long r;

	switch (a->call) {
	case KO_INOTIFY:
		r = SYS(inotify_add_watch)(a->fd, path, (uint32_t)a->mask);
		break;
	case KO_FANOTIFY:
		r = SYS(fanotify_mark)(a->fd, a->flags, a->mask, dirfd, path);
		break;
	default:
		r = SYS(chroot)(path);
		break;
	}
	return r < 0 ? -errno : r;
}

/* /proc/self/fd/N of a UMFS descriptor: followed, it is a UMFS file; not
 * followed, the kernel's own link. */
static long kernel_only_byfd(int fd, void *arg)
{
	(void)fd;
	return ((struct kernel_only_arg *)arg)->nofollow ? PATH_RUN_KERNEL : -EOPNOTSUPP;
}

static const struct path_ops kernel_only_ops = { kernel_only_umfs, kernel_only_kernel,
						 kernel_only_byfd, false, true };

static int kernel_only_run(int dirfd, const char *path, struct kernel_only_arg *a)
{
	SHIM_SERVE();
	return (int)shim_ret(path_run(dirfd, path, &kernel_only_ops, a));
}

SHIM_API int chroot(const char *path)
{
	struct kernel_only_arg a = { .call = KO_CHROOT, .onlydir = true };

	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(chroot)(path);
	return kernel_only_run(AT_FDCWD, path, &a);
}

SHIM_API int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	struct kernel_only_arg a = { .call = KO_INOTIFY, .fd = fd, .mask = mask,
				     .nofollow = mask & IN_DONT_FOLLOW, .onlydir = mask & IN_ONLYDIR };

	if (!fd_pass_ok(fd))
		return -1;
	if (likely(!path_maybe_umfs(AT_FDCWD, path)))
		return SYS(inotify_add_watch)(fd, path, mask);
	return kernel_only_run(AT_FDCWD, path, &a);
}

/* Without a path the mark is on dirfd's file itself. A flush names no
 * file. */
SHIM_API int fanotify_mark(int fd, unsigned int flags, uint64_t mask, int dirfd, const char *path)
{
	struct kernel_only_arg a = { .call = KO_FANOTIFY, .fd = fd, .flags = flags, .mask = mask,
				     .nofollow = flags & FAN_MARK_DONT_FOLLOW,
				     .onlydir = flags & FAN_MARK_ONLYDIR };

	if (!fd_pass_ok(fd))
		return -1;
	if (flags & FAN_MARK_FLUSH)
		return SYS(fanotify_mark)(fd, flags, mask, dirfd, path);
	if (path == NULL) {
		if (!fd_pass_ok(dirfd))
			return -1;
		if (likely(!dirfd_in_umfs(dirfd)))
			return SYS(fanotify_mark)(fd, flags, mask, dirfd, path);
		errno = EOPNOTSUPP;
		return -1;
	}
	if (likely(!path_maybe_umfs(dirfd, path)))
		return SYS(fanotify_mark)(fd, flags, mask, dirfd, path);
	return kernel_only_run(dirfd, path, &a);
}
