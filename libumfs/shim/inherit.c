/* SPDX-License-Identifier: MIT */
/*
 * inherit.c - the pool's descriptors a new image inherits, so that a
 * program that runs as another user than its parent (su -c, setpriv, a
 * daemon that drops privileges and then executes a program) reaches the
 * pool through what its parent opened, as it keeps the open files its
 * parent passed it, without the pool being opened to that user.
 *
 * A process on the library holds the pool file, the runtime directory,
 * its lock region, the library's helper directory, its shared area, the
 * ofd/ directory and the arena in it, the fifo/ and sock/ directories:
 * nine descriptors at high numbers,
 * close-on-exec. At an exec (or posix_spawn, system, popen) whose image
 * keeps the library (image.c: a dynamic ELF, not set-user-ID or
 * set-group-ID, with libumfs in LD_PRELOAD and UMFS_POOL in its
 * environment), they are passed on: made inheritable for the exec only,
 * and named in UMFS_FDS ("pool=1019,lock=1018,..."). Any other image gets
 * neither: a static program could never use them, and a writable pool
 * descriptor is not to be left with a program that never asked for it.
 *
 * The new image takes them only when it may not open the pool itself
 * (faccessat AT_EACCESS): otherwise it mounts by name as any process does,
 * closing them, all but the two gate descriptions, kept until that mount
 * (see bridge below). Each descriptor must be what its name says: the pool
 * (the file UMFS_POOL names), a runtime directory (/dev/shm/umfs-UUID-ID
 * or /tmp/..., which the core checks against the pool's state page) and
 * the files at their places in it; anything else in UMFS_FDS is ignored
 * and left alone. A process cannot be given descriptors it does not hold,
 * so UMFS_FDS grants nothing by itself. A process that took them is made
 * non-dumpable, as the kernel makes one that changed credentials (an exec
 * undoes that): another process of its user cannot take them from it.
 *
 * The lock region and the shared area count their users by open file
 * descriptions (the gates): a child must hold descriptions of its own, or
 * its parent and it could each take itself for the last user. A forked
 * child gets its own (mount.c, share.c); a posix_spawn, system or popen
 * child gets fresh ones opened for it here, unless it inherits no UMFS
 * descriptor and the pool's name still leads the parent to its pool: it
 * then gets nothing, and mounts by name. So does the image of an exec by
 * a process that holds nothing of the pool (counted as left, held.c).
 * When the parent cannot open
 * them any more (it changed credentials too), both keep the one they
 * share and neither takes itself for the last user (gates=shared): the
 * next process to use the pool recovers what is left, as after a kill.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

static const char *const kind_name[INH_COUNT] = {
	[INH_POOL] = "pool",     [INH_LOCK] = "lock", [INH_RUN] = "run",     [INH_HELPER] = "shim",
	[INH_SHARED] = "shared", [INH_OFD] = "ofd",   [INH_ARENA] = "arena", [INH_FIFO] = "fifo", [INH_SOCK] = "sock",
};

/* Where each lives in the runtime directory ("" for the directory). */
static const char *const kind_place[INH_COUNT] = {
	[INH_POOL] = NULL,          [INH_LOCK] = "/lock",    [INH_RUN] = "",
	[INH_HELPER] = "/shim",     [INH_SHARED] = "/shim/shared", [INH_OFD] = "/shim/ofd",
	[INH_ARENA] = "/shim/ofd/arena", [INH_FIFO] = "/shim/fifo", [INH_SOCK] = "/shim/sock",
};

/* What this image inherited and has not used yet. */
static int pending[INH_COUNT] = { -1, -1, -1, -1, -1, -1, -1, -1, -1 };
static bool pending_gates_shared;

/* The gate descriptions (lock region, shared area) an image that mounts
 * by name keeps from its predecessor until its own mount holds the gates.
 * Without them an image exec'd by the pool's only user would find itself
 * the first user of a pool marked in use and recover the whole pool,
 * though its predecessor only changed program (its handover, held.c,
 * counts that join as left cleanly). */
static int bridge[2] = { -1, -1 };

/* Descriptors made inheritable for exec's under way: counted, so that
 * threads executing at once do not undo each other's. */
static pthread_mutex_t pass_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int fd;
	int users;
} opened[2 * INH_COUNT];

static bool fd_link(int fd, char *buf, size_t size)
{
	char proc[40];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = OS(readlink)(proc, buf, size - 1);
	if (n <= 0 || (size_t)n >= size - 1)
		return false;
	buf[n] = '\0';
	return true;
}

/* /dev/shm/umfs-<32 hex>-<16 hex>, or the same under /tmp. */
static bool is_rundir_name(const char *link)
{
	const char *p = link;

	if (strncmp(p, "/dev/shm/umfs-", 14) == 0)
		p += 14;
	else if (strncmp(p, "/tmp/umfs-", 10) == 0)
		p += 10;
	else
		return false;
	for (int i = 0; i < 32 + 1 + 16; i++, p++)
		if (i == 32 ? *p != '-' : !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return *p == '\0';
}

/* The file UMFS_POOL names; by its link only when the name leads this
 * process nowhere. */
static bool is_pool(int fd)
{
	char link[PATH_MAX + 32];
	struct stat a, b;

	if (OS(fstat)(fd, &a) < 0 || !(S_ISREG(a.st_mode) || S_ISBLK(a.st_mode)))
		return false;
	if (OS(stat)(cfg.pool, &b) == 0)
		return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	return fd_link(fd, link, sizeof(link)) && strcmp(link, cfg.pool) == 0;
}

/* Whether fd is the runtime directory the pool behind pool names, whose
 * path goes to run[]: by identity, as for the files in it below, without
 * the /proc link whose first reading costs a new process about 25 us. */
static bool is_pools_rundir(int fd, int pool, char *run, size_t size)
{
	struct stat a, b;

	return umfs_rundir_path_of(pool, run, size) == 0 && is_rundir_name(run) &&
	       OS(fstat)(fd, &a) == 0 && S_ISDIR(a.st_mode) &&
	       OS(fstatat)(AT_FDCWD, run, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Whether fd is the file at place (kind_place) in the runtime directory
 * run_fd, whose path is run: the same inode as the name there now, or,
 * where this process may not search the directory (its credentials
 * changed), what its /proc link says (a readlink that costs 6 us, the
 * first in a process 25 us). */
static bool is_at_place(int fd, int run_fd, const char *run, const char *place)
{
	char link[PATH_MAX + 32];
	struct stat a, b;

	if (OS(fstat)(fd, &a) == 0 &&
	    OS(fstatat)(run_fd, place + 1, &b, AT_SYMLINK_NOFOLLOW) == 0)
		return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	return fd_link(fd, link, sizeof(link)) && strncmp(link, run, strlen(run)) == 0 &&
	       strcmp(link + strlen(run), place) == 0;
}

/* Parses UMFS_FDS into fds[], keeping only descriptors that are what
 * their names say. */
static void parse(const char *v, int fds[INH_COUNT], bool *shared)
{
	char run[PATH_MAX] = "";
	int named[INH_COUNT];

	for (int k = 0; k < INH_COUNT; k++)
		fds[k] = named[k] = -1;
	*shared = false;
	while (*v) {
		size_t len = strcspn(v, "=,");
		char *end;

		if (v[len] == '=') {
			long fd = strtol(v + len + 1, &end, 10);

			for (int k = 0; k < INH_COUNT; k++)
				if (strlen(kind_name[k]) == len && memcmp(v, kind_name[k], len) == 0 &&
				    end != v + len + 1 && fd >= 0 && fd < (1 << 30))
					named[k] = (int)fd;
			if (len == 5 && memcmp(v, "gates", 5) == 0)
				*shared = strncmp(v + 6, "shared", 6) == 0;
		}
		v += strcspn(v, ",");
		if (*v == ',')
			v++;
	}
	if (named[INH_POOL] >= 0 && is_pool(named[INH_POOL]))
		fds[INH_POOL] = named[INH_POOL];
	/* a directory the pool does not name (it was made again since) may
	 * still be one its holders share: taken by its name */
	if (named[INH_RUN] >= 0 &&
	    ((fds[INH_POOL] >= 0 &&
	      is_pools_rundir(named[INH_RUN], fds[INH_POOL], run, sizeof(run))) ||
	     (fd_link(named[INH_RUN], run, sizeof(run)) && is_rundir_name(run))))
		fds[INH_RUN] = named[INH_RUN];
	else
		return;
	for (int k = 0; k < INH_COUNT; k++) {
		if (k == INH_POOL || k == INH_RUN || named[k] < 0)
			continue;
		if (is_at_place(named[k], fds[INH_RUN], run, kind_place[k]))
			fds[k] = named[k];
	}
}

void inherit_init(void)
{
	const char *v = shim_env(SHIM_ENV_FDS);
	int fds[INH_COUNT];
	bool shared, own;

	if (!v)
		return;
	parse(v, fds, &shared);
	unsetenv(SHIM_FDS_ENV); /* children get their own */
	/* one who may open the pool mounts it by name, as every process does */
	own = SYS(faccessat)(AT_FDCWD, cfg.pool, cfg.readonly ? R_OK : R_OK | W_OK,
			     AT_EACCESS) == 0;
	for (int k = 0; k < INH_COUNT; k++) {
		int fd = fds[k];

		if (fd < 0)
			continue;
		if (own) {
			int *keep = k == INH_LOCK ? &bridge[0] : k == INH_SHARED ? &bridge[1] : NULL;

			if (keep && !shared) {
				*keep = shim_fd_move_high(fd);
				OS(fcntl)(*keep, F_SETFD, FD_CLOEXEC);
				uinfo_mark_internal(*keep);
			} else {
				sys_close_quiet(fd);
			}
			continue;
		}
		fd = shim_fd_move_high(fd);
		OS(fcntl)(fd, F_SETFD, FD_CLOEXEC);
		uinfo_mark_internal(fd);
		pending[k] = fd;
	}
	pending_gates_shared = shared;
	if (own || pending[INH_POOL] < 0)
		return;
	/* As the kernel marks a process that changed credentials: other
	 * processes of this user may not read its memory or descriptors
	 * (ptrace, /proc/PID/fd, /proc/PID/mem), which hold the pool. */
	SYS(prctl)(PR_SET_DUMPABLE, 0, 0, 0, 0);
	SHIM_LOG(LOG_INFO, "reaching %s through the descriptors inherited from the parent",
		 cfg.pool);
}

void inherit_bridge_close(void)
{
	for (int i = 0; i < 2; i++) {
		int fd = bridge[i];

		if (fd < 0)
			continue;
		bridge[i] = -1;
		uinfo_unmark_internal(fd);
		sys_close_quiet(fd);
	}
}

bool inherit_has_pool(void)
{
	return pending[INH_POOL] >= 0;
}

bool inherit_nothing_to_pass(void)
{
	/* after a change of credentials the name may lead this process to
	 * the pool only by capabilities the exec drops (setpriv's capset
	 * after its setresuid) */
	return atomic_load(&uinfo_count) == 0 && atomic_load(&mmap_shared_count) == 0 &&
	       !inherit_has_pool() && !shim_creds_changed() && shim_pool_by_name();
}

int inherit_peek(enum inherit_kind k)
{
	return pending[k];
}

bool inherit_gates_shared(void)
{
	return pending_gates_shared;
}

/* The pending descriptor of kind k, now the caller's to keep or close. */
int inherit_take(enum inherit_kind k)
{
	int fd = pending[k];

	pending[k] = -1;
	if (fd >= 0)
		uinfo_unmark_internal(fd);
	return fd;
}

/* ------------------------------------------------------------------ */
/* Passing them on                                                      */
/* ------------------------------------------------------------------ */

bool inherit_pass_needs_image(const struct inherit_pass *p)
{
	return p->active ||
	       (atomic_load_explicit(&uinfo_count, memory_order_relaxed) > 0 && fallback_mounted());
}

void inherit_pass_image(struct inherit_pass *p, const char *path, int fd, char *const env[])
{
	p->image = inherit_pass_needs_image(p) ? image_keeps_library(path, fd, env)
					       : IMAGE_LIBRARY;
	if (p->image == IMAGE_NO_LIBRARY)
		inherit_pass_close(p);
}

/* This process's descriptor of kind k: the live one, else the pending. */
static int current_fd(enum inherit_kind k)
{
	struct umfs_fs *fs = shim_fs_peek();
	int fd = -1;

	if (fs) {
		switch (k) {
		case INH_POOL: fd = umfs_fs_fd(fs); break;
		case INH_LOCK: fd = umfs_fs_share_fd(fs); break;
		case INH_RUN: fd = umfs_fs_rundir_fd(fs); break;
		case INH_HELPER: fd = shim_helper_dfd(); break;
		case INH_SHARED: fd = shim_shared_fd(); break;
		case INH_OFD: fd = ofd_dir_fd(); break;
		case INH_ARENA: fd = ofd_arena_fd(); break;
		case INH_FIFO: fd = fifo_dir_fd(); break;
		case INH_SOCK: fd = sock_dir_fd(); break;
		default: break;
		}
	}
	return fd >= 0 ? fd : pending[k];
}

static bool gates_shared_now(void)
{
	struct umfs_fs *fs = shim_fs_peek();

	return fs ? umfs_fs_gate_shared(fs) : pending_gates_shared;
}

static void gates_now_shared(void)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (fs)
		umfs_fs_set_gate_shared(fs);
	else
		pending_gates_shared = true;
}

void inherit_pass_prepare(struct inherit_pass *p, bool spawn)
{
	struct umfs_fs *fs = shim_fs_peek();
	bool shared;

	memset(p, 0, sizeof(*p));
	p->fresh[0] = p->fresh[1] = -1;
	p->image = IMAGE_LIBRARY;
	for (int k = 0; k < INH_COUNT; k++)
		p->fd[k] = current_fd((enum inherit_kind)k);
	if (p->fd[INH_POOL] < 0)
		return;
	/* a spawned child that inherits nothing of UMFS (it runs no fork
	 * handlers and holds nothing) mounts the pool by name as any process
	 * does: no descriptors to pass, no gates to open. So does the image
	 * of an exec that counted its process as left (held.c): it needs no
	 * bridge either, since the last user's work was done before the
	 * exec (umfs_exec_last) or another process holds the gates */
	if ((spawn || held_leaving()) && shim_fs_peek() && inherit_nothing_to_pass())
		return;
	p->active = true;
	shared = gates_shared_now();
	/* a child started without fork handlers needs gate descriptions of
	 * its own, which only a process that may still open them can give */
	if (spawn && !shared && p->fd[INH_LOCK] >= 0) {
		/* in the library's range: a child's file actions may dup2
		 * onto any of the program's numbers */
		int lock = fs ? shim_fd_move_high(umfs_gate_join(p->fd[INH_RUN], "lock",
								 p->fd[INH_LOCK],
								 umfs_fs_rundir_path(fs)))
			      : -1;
		int sh = lock >= 0 && p->fd[INH_SHARED] >= 0
				 ? shim_fd_move_high(umfs_gate_join(p->fd[INH_HELPER], "shared",
								    p->fd[INH_SHARED],
								    shim_helper_dir()))
				 : -1;

		if (lock >= 0 && (sh >= 0 || p->fd[INH_SHARED] < 0)) {
			p->fd[INH_LOCK] = p->fresh[0] = lock;
			if (sh >= 0)
				p->fd[INH_SHARED] = p->fresh[1] = sh;
		} else {
			if (lock >= 0)
				OS(close)(lock);
			if (sh >= 0)
				OS(close)(sh);
			gates_now_shared();
			shared = true;
		}
	}
	p->gates_shared = shared;
}

int inherit_pass_env(const struct inherit_pass *p, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s=", SHIM_FDS_ENV);

	for (int k = 0; k < INH_COUNT && n < size; k++)
		if (p->fd[k] >= 0)
			n += (size_t)snprintf(buf + n, size - n, "%s%s=%d", k ? "," : "",
					      kind_name[k], p->fd[k]);
	if (p->gates_shared && n < size)
		n += (size_t)snprintf(buf + n, size - n, ",gates=shared");
	return n < size ? 0 : -ENAMETOOLONG;
}

/* FD_CLOEXEC is the only descriptor flag: set without reading it first. */
static void set_cloexec(int fd, bool on)
{
	OS(fcntl)(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

/* Made inheritable for the exec (counted, see opened[]). */
void inherit_pass_open(struct inherit_pass *p)
{
	if (!p->active)
		return;
	pthread_mutex_lock(&pass_lock);
	for (int k = 0; k < INH_COUNT; k++) {
		int fd = p->fd[k], free_i = -1, i;

		if (fd < 0)
			continue;
		for (i = 0; i < (int)ARRAY_SIZE(opened); i++) {
			if (opened[i].users && opened[i].fd == fd)
				break;
			if (!opened[i].users && free_i < 0)
				free_i = i;
		}
		if (i == (int)ARRAY_SIZE(opened)) {
			if (free_i < 0)
				continue;
			i = free_i;
			opened[i].fd = fd;
			set_cloexec(fd, false);
		}
		opened[i].users++;
	}
	p->opened = true;
	pthread_mutex_unlock(&pass_lock);
}

/* After the exec failed, or the spawn returned. */
void inherit_pass_close(struct inherit_pass *p)
{
	if (p->opened) {
		pthread_mutex_lock(&pass_lock);
		for (int k = 0; k < INH_COUNT; k++)
			for (int i = 0; p->fd[k] >= 0 && i < (int)ARRAY_SIZE(opened); i++)
				if (opened[i].users && opened[i].fd == p->fd[k] &&
				    --opened[i].users == 0)
					set_cloexec(p->fd[k], true);
		pthread_mutex_unlock(&pass_lock);
		p->opened = false;
	}
	for (int i = 0; i < 2; i++)
		if (p->fresh[i] >= 0)
			OS(close)(p->fresh[i]);
	p->fresh[0] = p->fresh[1] = -1;
	p->active = false;
}

/* A forked child holds what this process holds: pending gate descriptions
 * are shared from now on (a mounted process gives its child its own,
 * mount.c and share.c). The child starts with nothing made inheritable. */
void inherit_fork_prepare(void)
{
	if (!shim_fs_peek() && (pending[INH_LOCK] >= 0 || pending[INH_SHARED] >= 0))
		pending_gates_shared = true;
}

void inherit_fork_child(void)
{
	pthread_mutex_init(&pass_lock, NULL);
	for (int i = 0; i < (int)ARRAY_SIZE(opened); i++)
		if (opened[i].users) /* another thread's exec, not ours */
			set_cloexec(opened[i].fd, true);
	memset(opened, 0, sizeof(opened));
}
