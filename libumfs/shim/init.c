/* SPDX-License-Identifier: MIT */
/*
 * init.c - configuration from the environment, the constructor and
 * destructor, and the fork hooks.
 *
 *   UMFS_POOL       the pool (nothing is UMFS's without it; UMFS_MOUNT set
 *                   without it gets one warning per process tree, while a
 *                   process with no UMFS_ variable at all stays silent)
 *   UMFS_MOUNT      the host prefix UMFS paths live under (default /umfs)
 *   UMFS_RDONLY=1   mount read-only
 *   UMFS_STATS=1    print per-call statistics at exit (UMFS_STATS_FILE)
 *   UMFS_LOG=LEVEL  error, warn (default), info, debug, trace (UMFS_LOG_FILE)
 *   UMFS_CWD        set by the shim for its children: a cwd inside UMFS (host
 *                   path, or @INO.GEN when longer than PATH_MAX)
 *   UMFS_ADOPT      set by the shim for a child that may inherit UMFS
 *                   descriptors (calls_proc.c); taken out of the environment
 *   UMFS_HELD       set by an exec for the new image: the files the old one
 *                   held (held.c); taken out of the environment
 *
 * Nothing is opened, mapped or resolved for UMFS as a process starts
 * unless it inherited UMFS descriptors across exec: they are adopted here,
 * before main, so that `cmd > /umfs/f` works. The pool is mounted then, at
 * the first UMFS path, or before the process changes its credentials
 * (calls_cred.c). A process that may not open the pool takes the
 * descriptors of it its parent passed (inherit.c).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include "shim.h"

/* Set once the missing UMFS_POOL was reported: children do not repeat it. */
#define NO_POOL_SAID_ENV "UMFS_NO_POOL_SAID"

/* The prefix and the pool's path: most fit the small room, which shares a
 * page with the library's other small variables (a page fault fewer for
 * every process that loads it); longer ones take the large room. */
static char cfg_paths_small[512];
UMFS_BSS_LARGE static char cfg_paths_large[2 * PATH_MAX];
UMFS_BSS_LARGE static char cfg_log_file[PATH_MAX];
struct shim_config cfg = { .prefix = cfg_paths_small,
			   .prefix_room = sizeof(cfg_paths_small),
			   .log_file = cfg_log_file };
_Atomic mode_t shim_umask = 022;

/* An unknown UMFS_LOG level means the default (warn): a typo must not
 * silence the library, nor stop the program. */
static int parse_level(const char *s)
{
	int level = umfs_log_level_parse(s);

	return level < 0 ? LOG_WARN : level;
}

/* Copies s without "//", "/./" and trailing '/'; false when it is not a
 * usable absolute prefix. */
static bool normalise_prefix(const char *s, char *out, size_t size)
{
	size_t len = 0;

	if (!s || s[0] != '/')
		return false;
	while (*s) {
		while (*s == '/')
			s++;
		if (s[0] == '.' && (s[1] == '/' || s[1] == '\0')) {
			s++;
			continue;
		}
		if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
			return false;
		if (!*s)
			break;
		if (len + 2 >= size)
			return false;
		out[len++] = '/';
		while (*s && *s != '/' && len + 1 < size)
			out[len++] = *s++;
	}
	out[len] = '\0';
	return len > 0; /* "/" itself cannot be the prefix */
}

/* The pool's path, made absolute, after the prefix in cfg.prefix: false
 * when it does not fit. */
static bool config_pool(const char *pool)
{
	char *out = cfg.prefix + cfg.prefix_len + 1;
	size_t room = cfg.prefix_room - cfg.prefix_len - 1, pl = strlen(pool);

	if (pool[0] == '/') {
		if (pl >= room || pl >= PATH_MAX)
			return false;
		memcpy(out, pool, pl + 1);
	} else {
		/* relative pool path: made absolute (getcwd is not ours yet) */
		char cwd[PATH_MAX];
		size_t cl;

		if (!SYS(getcwd)(cwd, sizeof(cwd)) || (cl = strlen(cwd)) + 1 + pl >= room ||
		    cl + 1 + pl >= PATH_MAX)
			return false;
		memcpy(out, cwd, cl);
		out[cl] = '/';
		memcpy(out + cl + 1, pool, pl + 1);
	}
	cfg.pool = out;
	return true;
}

/* The names of enum shim_env_var, in its order. */
static const char env_names[SHIM_ENV_COUNT][24] = {
	[SHIM_ENV_LOG] = "UMFS_LOG",
	[SHIM_ENV_LOG_FILE] = "UMFS_LOG_FILE",
	[SHIM_ENV_STATS] = "UMFS_STATS",
	[SHIM_ENV_RDONLY] = "UMFS_RDONLY",
	[SHIM_ENV_POOL] = "UMFS_POOL",
	[SHIM_ENV_MOUNT] = "UMFS_MOUNT",
	[SHIM_ENV_ADOPT] = SHIM_ADOPT_ENV,
	[SHIM_ENV_NO_POOL_SAID] = NO_POOL_SAID_ENV,
	[SHIM_ENV_FDS] = SHIM_FDS_ENV,
	[SHIM_ENV_HELD] = SHIM_HELD_ENV,
	[SHIM_ENV_CWD] = "UMFS_CWD",
};
static const char *env_values[SHIM_ENV_COUNT];

/* The value of entry e ("NAME=value") when NAME is name, else NULL. */
static const char *env_match(const char *e, const char *name)
{
	while (*name && *e == *name)
		e++, name++;
	return !*name && *e == '=' ? e + 1 : NULL;
}

/* Every name of env_names, its first entry as getenv finds it. */
static void env_scan(void)
{
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "UMFS_", 5) != 0)
			continue;
		for (int v = 0; v < SHIM_ENV_COUNT; v++) {
			const char *val = env_match(*e, env_names[v]);

			if (val) {
				if (!env_values[v])
					env_values[v] = val;
				break;
			}
		}
	}
}

const char *shim_env(enum shim_env_var v)
{
	return env_values[v];
}

void shim_config_init(void)
{
	int expected = 0;
	const char *pool, *mount, *s;

	if (!atomic_compare_exchange_strong(&cfg.state, &expected, 1)) {
		/* being read by another thread (or by us, re-entered: then the
		 * caller sees the defaults, i.e. nothing is UMFS's yet) */
		return;
	}
	env_scan();
	cfg.base = "";
	cfg.pool = "";
	cfg.log_level = parse_level(shim_env(SHIM_ENV_LOG));
	s = shim_env(SHIM_ENV_LOG_FILE);
	if (s && *s && strlen(s) < PATH_MAX) {
		strcpy(cfg.log_file, s);
		cfg.log_to_file = true;
	}
	s = shim_env(SHIM_ENV_STATS);
	cfg.stats = s && *s && strcmp(s, "0") != 0;
	s = shim_env(SHIM_ENV_RDONLY);
	cfg.readonly = s && *s && strcmp(s, "0") != 0;
	pool = shim_env(SHIM_ENV_POOL);
	mount = shim_env(SHIM_ENV_MOUNT);
	cfg.no_pool = (!pool || !*pool) && mount && *mount;
	if (!mount || !*mount)
		mount = "/umfs";
	if (pool && *pool) {
		/* a relative pool path is made absolute: its length is not known */
		if (pool[0] != '/' || strlen(mount) + strlen(pool) + 2 > cfg.prefix_room) {
			cfg.prefix = cfg_paths_large;
			cfg.prefix_room = sizeof(cfg_paths_large);
		}
		if (!normalise_prefix(mount, cfg.prefix,
				      cfg.prefix_room < PATH_MAX ? cfg.prefix_room : PATH_MAX)) {
			cfg.prefix[0] = '\0';
			cfg.bad_mount = true;
			cfg.log_level = cfg.log_level ? cfg.log_level : LOG_ERROR;
		} else {
			cfg.prefix_len = strlen(cfg.prefix);
			cfg.base = strrchr(cfg.prefix, '/') + 1;
			cfg.base_len = strlen(cfg.base);
			cfg.enabled = config_pool(pool);
		}
		/* the pool must not be a UMFS path itself */
		if (cfg.enabled && strncmp(cfg.pool, cfg.prefix, cfg.prefix_len) == 0 &&
		    (cfg.pool[cfg.prefix_len] == '/' || cfg.pool[cfg.prefix_len] == '\0'))
			cfg.enabled = false;
	}
	atomic_store_explicit(&cfg.state, 2, memory_order_release);
}

/* ------------------------------------------------------------------ */
/* fork                                                                 */
/* ------------------------------------------------------------------ */

/* The process whose library state this memory is: set as the image
 * starts and in each child the fork hooks saw. A child started by a clone
 * the library did not see (an inline system call) holds a copy of the
 * parent's state, or shares it (CLONE_VM): what it holds is the parent's,
 * which it must leave alone at exit and exec. */
static _Atomic pid_t shim_owner;

bool shim_state_ours(void)
{
	pid_t owner = atomic_load_explicit(&shim_owner, memory_order_relaxed);

	/* 0: started before the constructor ran, when there was no state */
	return owner == 0 || owner == getpid();
}

/* glibc's flag, where it says so; it never does again once a thread was
 * started, nor in the fork child of such a process, which has one. The
 * kernel's count then: /proc/self/task has two links plus one per thread
 * (no /proc: not alone). A thread that has just ended may be counted a
 * little longer. */
bool shim_one_thread(void)
{
	int saved_errno = errno;
	struct stat st;
	bool one;

	if (__libc_single_threaded)
		return true;
	one = SYS(stat)("/proc/self/task", &st) == 0 && st.st_nlink == 3;
	errno = saved_errno;
	return one;
}

/* What a forked child of a process on the pool calls on its way to exec
 * (its gate descriptions, the check of the new image, the environment it
 * is given), bound here in the parent, once: bound in each child, every
 * one is a symbol search and a copied page of the library's table or its
 * GOT. The C library's are bound by calling them, with sizes the compiler
 * cannot see, so that the calls go through the PLT. */
static void fork_child_calls_bind(void)
{
	static bool bound;
	static pthread_mutex_t unused;
	char buf[4], *none = NULL;
	const char *empty = "";
	void *volatile sink;
	size_t n = 1;

	if (bound)
		return;
	bound = true;
	(void)SYS(execve);
	(void)SYS(dup2);
	(void)SYS(dup3);
	(void)SYS(getrlimit);
	(void)SYS(setrlimit);
	(void)SYS(fstat);
	/* the check of the new image reads it through the core's table */
	(void)OS(open);
	(void)OS(pread);
	(void)OS(close);
	/* a child's chdir before its exec (find -exec), and execvp's search
	 * of PATH (xargs) */
	(void)SYS(fchdir);
	(void)SYS(chdir);
	(void)SYS(stat);
	(void)SYS(access);
	__asm__("" : "+r"(n), "+r"(none), "+r"(empty));
	memset(buf, 0, n);
	sink = memmem(buf, n, buf, n);
	sink = strcpy(buf, empty);
	sink = strchr(empty, (int)n);
	/* the exec's look at the environment, the handlers' fresh locks */
	sink = getenv(empty);
	(void)sink;
	snprintf(none, 0, "%zu", n);
	pthread_mutex_init(&unused, NULL);
}

void shim_fork_prepare(void)
{
	struct umfs_fs *fs;

	shim_vfork_own_memory(); /* the handlers below change the parent's state */
	fork_child_calls_bind();
	fallback_fork_prepare(); /* first: a swap under way takes the locks below */
	shim_busy_enter(); /* the locks below are held across the fork */
	mmap_registry_all(1); /* the child holds the mapped files too */
	devnode_fork_prepare(); /* and the device nodes its descriptors stand for */
	cwd_fork_prepare();
	ofd_fork_prepare();
	fs = shim_fs_peek();
	if (fs)
		umfs_fork_prepare(fs);
	mount_fork_prepare();
	inherit_fork_prepare();
}

void shim_fork_parent(void)
{
	struct umfs_fs *fs = shim_fs_peek();

	mount_fork_parent();
	if (fs)
		umfs_fork_parent(fs);
	ofd_fork_parent();
	shim_busy_leave();
	fallback_fork_parent();
}

long shim_fork_done(long r)
{
	int e = errno;

	if (r == 0) {
		shim_fork_child();
		return 0;
	}
	shim_fork_parent();
	errno = e;
	return r;
}

void shim_fork_child(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct nofile_raise r = { .raised = false };

	atomic_store_explicit(&shim_owner, getpid(), memory_order_relaxed);
	shim_fdguard_fork_child(); /* before the opens below wait on other threads' */
	devnode_fork_child();
	/* The lock region's and the shared area's new descriptions take the
	 * numbers of the parent's, in the library's range: one raise of the
	 * limit for both instead of a refused dup and a raise each. */
	if (fs) {
		sys_nofile_raise_high(&r);
		umfs_fork_child(fs);
	}
	mount_fork_child();
	sys_nofile_restore(&r);
	inherit_fork_child();
	ofd_fork_child();
	held_fork_child();
	reclock_fork_child();
	sig_fork_child();
	shim_busy_leave();
	fallback_fork_child();
}

/* ------------------------------------------------------------------ */
/* Constructor and destructor                                           */
/* ------------------------------------------------------------------ */

__attribute__((constructor)) static void shim_init(void)
{
	mode_t m;
	int saved = errno;
	bool adopt;

	atomic_store_explicit(&shim_owner, getpid(), memory_order_relaxed);
	umfs_os_hooks = (struct umfs_os_hooks){ shim_fdguard_own, shim_fdguard_call_end };
	/* a thread another library's constructor started may dup2 already */
	shim_fdguard_enter();
	sig_init();
	shim_config_init();
	log_init();
	fsize_init();
	stats_init();
	m = OS(umask)(022);
	OS(umask)(m);
	atomic_store(&shim_umask, m);
	adopt = shim_env(SHIM_ENV_ADOPT) != NULL;
	if (adopt)
		unsetenv(SHIM_ADOPT_ENV); /* the library says it again to whom it concerns */
	if (cfg.enabled) {
		nofile_init();
		inherit_init();
		if (adopt) {
			int n = ofd_adopt_inherited();

			if (n)
				SHIM_LOG(LOG_INFO, "adopted %d inherited UMFS descriptor(s)", n);
		}
		held_take_over(); /* after the adoption, which counts what it keeps */
		cwd_from_env();
		log_adopted();
	} else {
		unsetenv("UMFS_CWD");
	}
	if (cfg.bad_mount)
		SHIM_LOG(LOG_ERROR, "UMFS_MOUNT=%s: the prefix must be an absolute path other "
			 "than / without \"..\"; UMFS serves no path", shim_env(SHIM_ENV_MOUNT));
	if (cfg.no_pool && !shim_env(SHIM_ENV_NO_POOL_SAID)) {
		SHIM_LOG(LOG_WARN, "UMFS_MOUNT=%s is set but UMFS_POOL is not: UMFS serves no path "
			 "(set UMFS_POOL to the pool, or run the program with umfs-run --pool POOL)",
			 shim_env(SHIM_ENV_MOUNT));
		setenv(NO_POOL_SAID_ENV, "1", 1); /* once for the children too */
	}
	stdio_init();
	pthread_atfork(shim_fork_prepare, shim_fork_parent, shim_fork_child);
	shim_fdguard_leave();
	errno = saved;
}

/* What the process does as it leaves: mapped stores back to their files,
 * its descriptions and cwd let go, and, as the pool's last user, the pool
 * unmounted (recovered, marked clean) and the runtime directory removed. */
static void shim_leave(void)
{
	/* handlers wait from here on, for good: one must not find the pool
	 * half let go, nor mount it again as the process ends */
	shim_busy_enter();
	shim_fdguard_enter(); /* also for good: its descriptors stay low */
	mmap_shutdown(); /* mapped stores back to the files; mappings counted out */
	stats_report();
	cwd_exit();
	ofd_exit();
	devnode_registry_all(-1);
	mount_exit();
}

__attribute__((destructor)) static void shim_fini(void)
{
	int saved = errno;

	if (!cfg.enabled) {
		shim_fdguard_enter();
		stats_report();
		shim_fdguard_leave();
		return;
	}
	if (!shim_state_ours())
		return; /* the parent's to leave */
	fflush(NULL); /* stdio buffers on UMFS files, while the pool is up */
	shim_leave();
	errno = saved;
}

/* _exit skips exit handlers, and programs end that way (dash always
 * does): without this they would leave the pool for the next user to
 * recover. The process leaves as at exit, without what exit does for the
 * program (stdio), and only when no lock of the library is held: a signal
 * handler's _exit while this thread is inside the library must not wait
 * for itself (the pool is then left to the next user, as before). */
static void shim_leave_quick(void)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (cfg.enabled && fs && shim_state_ours() && mount_idle() && cwd_idle() && ofd_idle() &&
	    mmap_idle() && umfs_fs_idle(fs))
		shim_leave();
}

SHIM_API void _exit(int status)
{
	shim_leave_quick();
	SYS(_exit)(status);
}

SHIM_API void _Exit(int status)
{
	shim_leave_quick();
	SYS(_exit)(status);
}
