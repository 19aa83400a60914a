/* SPDX-License-Identifier: MIT */
/*
 * umfs-run - runs a program with its UMFS paths served by libumfs.so.
 *
 *   umfs-run [--pool POOL] [--mount PREFIX] [--stats] [--log LEVEL] [--readonly]
 *            [--mode] [--kmod auto|on|off] [--fallback auto|on|off]
 *            [--] PROGRAM [ARGS...]
 *
 * Checks that the pool exists and is a UMFS pool (saying why not), finds
 * libumfs.so (UMFS_LIB, next to this program, in the build tree, or in the
 * install libdir), sets LD_PRELOAD, UMFS_POOL, UMFS_MOUNT (and UMFS_STATS,
 * UMFS_LOG) and executes PROGRAM. --mode (and --stats) say whether the
 * pool is used through the kernel module or by the software walk.
 * With the kernel fallback (fallback.h), the pool's umfs-fuse is also
 * mounted at PREFIX in a private mount namespace and PROGRAM runs as a
 * child; without it, a static PROGRAM gets one line saying what serves it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "elfinterp.h"
#include "fallback.h"
#include "umfs_frontend.h"

#ifndef UMFS_LIBDIR
#define UMFS_LIBDIR "/usr/local/lib"
#endif
#ifndef UMFS_LIBDIR_REL
#define UMFS_LIBDIR_REL "lib"
#endif
#ifndef UMFS_SBINDIR
#define UMFS_SBINDIR "/usr/local/sbin"
#endif
#ifndef UMFS_SBINDIR_REL
#define UMFS_SBINDIR_REL "sbin"
#endif

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: umfs-run [OPTION]... [--] PROGRAM [ARGS...]\n"
		"Run PROGRAM with the paths under PREFIX served from a UMFS pool by libumfs.so.\n"
		"\n"
		"  -p, --pool=POOL      the UMFS pool (default: $UMFS_POOL)\n"
		"  -m, --mount=PREFIX   where UMFS paths live (default: $UMFS_MOUNT or /umfs)\n"
		"  -s, --stats          print per-call statistics when each process exits\n"
		"  -l, --log=LEVEL      none, error, warn, info, debug or trace (UMFS_LOG)\n"
		"  -r, --readonly       mount the pool read-only\n"
		"      --mode           say whether the kernel module (/dev/umfs) is used\n"
		"      --kmod=WHEN      use the kernel module: auto (default: when it works),\n"
		"                       on (or fail), off (UMFS_KMOD=try, 1, 0)\n"
		"      --fallback=WHEN  mount the pool's umfs-fuse at PREFIX in a private mount\n"
		"                       namespace, for what bypasses the library: auto\n"
		"                       (default: as root, when PREFIX is a directory), on\n"
		"                       (or fail), off (UMFS_FALLBACK)\n"
		"  -V, --version        print the version and exit\n"
		"  -h, --help           print this help and exit\n"
		"Exit status: PROGRAM's; 1 when the pool or the library is not usable, 2 for\n"
		"a usage error, 127 when PROGRAM cannot be run.\n");
}

static bool readable(const char *path)
{
	return path && access(path, R_OK) == 0;
}

/* dir(path of this program)/rel, if that library exists. */
static bool beside_self(const char *rel, char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(out, size, "%s/%s", self, rel) >= size)
		return false;
	if (!readable(out))
		return false;
	/* LD_PRELOAD gets the canonical path: no ".." for every child to resolve */
	if (size >= PATH_MAX && realpath(out, self))
		snprintf(out, size, "%s", self);
	return true;
}

static bool find_lib(char *out, size_t size)
{
	const char *env = getenv("UMFS_LIB");

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return readable(out);
	}
	return beside_self("libumfs.so", out, size) ||                 /* installed side by side */
	       beside_self("../libumfs/libumfs.so", out, size) ||      /* build/tools -> build/libumfs */
	       beside_self("../build/libumfs/libumfs.so", out, size) || /* tools/ of a source tree */
	       beside_self("../" UMFS_LIBDIR_REL "/libumfs.so", out, size) || /* bin -> libdir, moved */
	       ((size_t)snprintf(out, size, "%s/libumfs.so", UMFS_LIBDIR) < size && readable(out));
}

static bool find_fuse(char *out, size_t size)
{
	const char *env = getenv("UMFS_FUSE");

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return access(out, X_OK) == 0;
	}
	return beside_self("umfs-fuse", out, size) ||
	       beside_self("../fuse/umfs-fuse", out, size) ||            /* build tree */
	       beside_self("../" UMFS_SBINDIR_REL "/umfs-fuse", out, size) ||
	       ((size_t)snprintf(out, size, "%s/umfs-fuse", UMFS_SBINDIR) < size &&
		access(out, X_OK) == 0);
}

/* "POOL:PREFIX:NS", NS this mount namespace: what UMFS_FALLBACK_AT says
 * in the programs a fallback serves. The namespace tells, not the prefix
 * (the library, loaded here in such a program, answers for the prefix);
 * the daemon serves as long as the namespace lives. */
static bool fallback_tag(const char *abspool, const char *mount, char *out, size_t size)
{
	char ns[64];
	ssize_t n = readlink("/proc/self/ns/mnt", ns, sizeof(ns) - 1);

	if (n <= 0)
		return false;
	ns[n] = '\0';
	return (size_t)snprintf(out, size, "%s:%s:%s", abspool, mount, ns) < size;
}

/* A umfs-run under the fallback of the same pool and prefix: its mount is
 * in this namespace already. */
static bool fallback_inherited(const char *abspool, const char *mount)
{
	const char *at = getenv(UMFS_FALLBACK_AT_ENV);
	char tag[2 * PATH_MAX + 80];

	return at && fallback_tag(abspool, mount, tag, sizeof(tag)) && strcmp(at, tag) == 0;
}

/* The program's end as this process's own: its exit code, or its signal. */
static int __attribute__((noreturn)) exit_as(int status)
{
	if (WIFSIGNALED(status)) {
		struct rlimit nocore = { 0, 0 };
		sigset_t set;

		setrlimit(RLIMIT_CORE, &nocore); /* the program dumped its own */
		signal(WTERMSIG(status), SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, WTERMSIG(status));
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(WTERMSIG(status));
		exit(128 + WTERMSIG(status));
	}
	exit(WEXITSTATUS(status));
}

/*
 * Mounts the fallback when asked (or, by default, for root when the prefix
 * is a directory) and runs the program under it; returns (without a mount)
 * when the program is to be executed directly. why says why not.
 */
static void run_fallback(enum umfs_fallback_when when, const char *abspool, const char *mount,
			 bool readonly, char **argv, char *why, size_t whysize)
{
	struct umfs_fallback fb;
	char fuse[PATH_MAX], at[2 * PATH_MAX + 80];
	struct stat st;
	int err;

	if (when == UMFS_FALLBACK_OFF) {
		snprintf(why, whysize, "the kernel fallback is off");
		return;
	}
	if (fallback_inherited(abspool, mount)) {
		why[0] = '\0';
		return;
	}
	if (when == UMFS_FALLBACK_AUTO && geteuid() != 0) {
		snprintf(why, whysize, "the kernel fallback is used for users other than root "
			 "only with --fallback=on");
		return;
	}
	if (when == UMFS_FALLBACK_AUTO && (stat(mount, &st) < 0 || !S_ISDIR(st.st_mode))) {
		snprintf(why, whysize, "the kernel fallback mounts on %s, which is no directory "
			 "here", mount);
		return;
	}
	if (!find_fuse(fuse, sizeof(fuse))) {
		snprintf(why, whysize, "umfs-fuse not found (beside umfs-run, in the build tree, "
			 "or in %s; set UMFS_FUSE)", UMFS_SBINDIR);
		/* auto: a machine without umfs-fuse installed is a choice, not
		 * a fault to repeat at every start */
		if (when == UMFS_FALLBACK_AUTO)
			return;
		err = -ENOENT;
	} else {
		err = umfs_fallback_start(&fb, abspool, mount, readonly, fuse, why, whysize);
	}
	if (err) {
		if (when == UMFS_FALLBACK_ON) {
			fprintf(stderr, "umfs-run: kernel fallback: %s\n", why);
			exit(1);
		}
		fprintf(stderr, "umfs-run: warning: kernel fallback not mounted: %s; running "
			"without it\n", why);
		return;
	}
	if (fallback_tag(abspool, mount, at, sizeof(at)))
		setenv(UMFS_FALLBACK_AT_ENV, at, 1);
	exit_as(umfs_fallback_run(&fb, argv));
}

/* Once, when nothing will serve a program that cannot load the library
 * (a static one, or one of another class such as a 32-bit program): what
 * would. */
static void say_if_static(const char *name, const char *mount, const char *why)
{
	char path[PATH_MAX];
	int kind;

	if (!why[0] || !umfs_program_find(name, path, sizeof(path)))
		return;
	kind = umfs_program_elf_kind(path);
	if (kind != UMFS_ELF_STATIC && kind != UMFS_ELF_FOREIGN)
		return;
	fprintf(stderr, "umfs-run: warning: %s is a %s program: libumfs.so cannot be "
		"loaded into it, so it does not see %s (%s); --fallback=on or umfs-fuse(8) "
		"would serve it\n", name,
		kind == UMFS_ELF_STATIC ? "static" : "32-bit or foreign", mount, why);
}

/* What a name that is no pool is, said before the mount's bare errno. */
static bool pool_refused(const char *pool, const char *abspool, int err)
{
	struct stat st;

	if (err == ENOENT) {
		fprintf(stderr, "umfs-run: %s: no such pool; make one with mkfs.umfs -s SIZE %s\n",
			pool, pool);
		return true;
	}
	if (err) {
		fprintf(stderr, "umfs-run: %s: %s\n", pool, strerror(err));
		return true;
	}
	if (stat(abspool, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) &&
	    !S_ISCHR(st.st_mode)) {
		fprintf(stderr, "umfs-run: %s is %s, not a pool: give the pool file or device "
			"(mkfs.umfs makes one)\n", pool, S_ISDIR(st.st_mode) ? "a directory" :
			"neither a file nor a device");
		return true;
	}
	return false;
}

/*
 * As mount(8) does for a write-protected device: a pool this process may
 * not write (a read-only file system, a file without write permission) is
 * served read-only, with a warning, rather than failing in every program.
 */
static bool pool_write_protected(const char *abspool)
{
	int err;

	if (faccessat(AT_FDCWD, abspool, W_OK, AT_EACCESS) == 0)
		return false;
	err = errno;
	if (err != EROFS && err != EACCES && err != EPERM)
		return false;
	fprintf(stderr, "umfs-run: warning: %s is write-protected (%s): serving it read-only, "
		"as with --readonly\n", abspool, strerror(err));
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pool", required_argument, NULL, 'p' },
		{ "mount", required_argument, NULL, 'm' },
		{ "stats", no_argument, NULL, 's' },
		{ "log", required_argument, NULL, 'l' },
		{ "readonly", no_argument, NULL, 'r' },
		{ "mode", no_argument, NULL, 'M' },
		{ "kmod", required_argument, NULL, 'k' },
		{ "fallback", required_argument, NULL, 'F' },
		UMFS_CLI_STD_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *pool = getenv("UMFS_POOL"), *mount = getenv("UMFS_MOUNT");
	const char *fallback = getenv("UMFS_FALLBACK");
	char lib[PATH_MAX], abspool[PATH_MAX], msg[PATH_MAX + 256], *preload;
	enum umfs_fallback_when when = UMFS_FALLBACK_AUTO;
	const char *old;
	struct umfs_fs *fs;
	bool readonly = false, show_mode = false;
	int c, err;

	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, "+:p:m:sl:rhV", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pool = optarg;
			break;
		case 'm':
			mount = optarg;
			break;
		case 's':
			setenv("UMFS_STATS", "1", 1);
			show_mode = true;
			break;
		case 'M':
			show_mode = true;
			break;
		case 'k':
			if (strcmp(optarg, "auto") == 0) {
				setenv("UMFS_KMOD", "try", 1);
			} else if (strcmp(optarg, "on") == 0 || strcmp(optarg, "off") == 0) {
				setenv("UMFS_KMOD", optarg[1] == 'n' ? "1" : "0", 1);
			} else {
				umfs_cli_refuse("umfs-run", 2, "--kmod '%s': expected auto, on or off",
						optarg);
			}
			break;
		case 'F':
			if (umfs_fallback_parse(optarg, &when) < 0)
				umfs_cli_refuse("umfs-run", 2, "--fallback '%s': expected auto, on "
						"or off", optarg);
			fallback = NULL;
			break;
		case 'l':
			if (umfs_log_level_parse(optarg) < 0 || !*optarg)
				umfs_cli_refuse("umfs-run", 2,
						"--log '%s': expected none, error, warn, info, debug "
						"or trace", optarg);
			setenv("UMFS_LOG", optarg, 1);
			break;
		case 'r':
			readonly = true;
			break;
		case 'V':
			umfs_cli_version("umfs-run");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			umfs_cli_bad_option("umfs-run", 2, c, argv);
		}
	}
	if (optind >= argc)
		umfs_cli_refuse("umfs-run", 2, "no PROGRAM given");
	if (!pool || !*pool)
		umfs_cli_refuse("umfs-run", 2, "no pool: give --pool POOL or set UMFS_POOL");
	if (fallback && *fallback && umfs_fallback_parse(fallback, &when) < 0)
		umfs_cli_refuse("umfs-run", 2, "UMFS_FALLBACK '%s': expected auto, on or off",
				fallback);
	if (!mount || !*mount)
		mount = "/umfs";
	if (mount[0] != '/' || strcmp(mount, "/") == 0)
		umfs_cli_refuse("umfs-run", 2, "--mount '%s': give an absolute path other than /",
				mount);
	if (pool_refused(pool, abspool, realpath(pool, abspool) ? 0 : errno))
		return 1;
	if (!readonly)
		readonly = pool_write_protected(abspool);
	/* by default the module is used when it works for this pool
	 * (a pmem block device, /dev/umfs, root): the check mount tries it */
	if (!getenv("UMFS_KMOD"))
		setenv("UMFS_KMOD", "try", 1);
	/* a read-only look at the pool, just to say clearly what is wrong */
	/* read-only programs cannot recover the pool: then neither may this */
	err = umfs_mount(abspool, UMFS_MOUNT_RDONLY | (readonly ? 0 : UMFS_MOUNT_NORECOVER), &fs);
	if (err) {
		fprintf(stderr, "umfs-run: %s is not a usable UMFS pool: %s%s\n", abspool,
			umfs_mount_error()[0] ? umfs_mount_error() : strerror(-err),
			readonly && err == -EUCLEAN ? " (read-only; fsck.umfs -y recovers it where "
						      "it can be written)" : "");
		return 1;
	}
	/* the programs use the pool as this mount did: a process in software
	 * mode next to one in module mode would see another copy (page cache) */
	if (!umfs_fs_kmod(fs) && strcmp(getenv("UMFS_KMOD"), "try") == 0)
		setenv("UMFS_KMOD", "0", 1);
	if (show_mode)
		fprintf(stderr, "umfs-run: mode: %s\n",
			umfs_fs_kmod(fs) ? "kernel module (attach)" : "user space (software walk)");
	if (!getenv(UMFS_EXPOSURE_SAID_ENV) && umfs_fs_exposure(fs, abspool, msg, sizeof(msg))) {
		fprintf(stderr, "umfs-run: warning: %s\n", msg);
		setenv(UMFS_EXPOSURE_SAID_ENV, "1", 1);
	}
	umfs_unmount(fs);
	if (!find_lib(lib, sizeof(lib))) {
		fprintf(stderr, "umfs-run: libumfs.so not found (beside %s, in the build tree, "
			"or in %s); set UMFS_LIB\n", argv[0], UMFS_LIBDIR);
		return 1;
	}
	old = getenv("LD_PRELOAD");
	if (old && *old) {
		preload = malloc(strlen(lib) + 1 + strlen(old) + 1);
		if (!preload)
			return 1;
		sprintf(preload, "%s:%s", lib, old);
	} else {
		preload = lib;
	}
	setenv("LD_PRELOAD", preload, 1);
	setenv("UMFS_POOL", abspool, 1);
	setenv("UMFS_MOUNT", mount, 1);
	if (readonly)
		setenv("UMFS_RDONLY", "1", 1);
	unsetenv("UMFS_CWD");
	run_fallback(when, abspool, mount, readonly, argv + optind, msg, sizeof(msg));
	say_if_static(argv[optind], mount, msg);
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "umfs-run: %s: %s\n", argv[optind], strerror(errno));
	return 127;
}
