/* SPDX-License-Identifier: MIT */
/*
 * main.c - umfs-fuse's command line: umfs-fuse POOL MOUNTPOINT [options].
 *
 * Order matters: the pool is mounted (exclusively) before the kernel mount,
 * so that a missing, foreign or busy pool is refused before anything appears
 * at the mountpoint, and before daemonizing, so that errors reach the
 * terminal and the exit code. The pool's lock is a flock on its descriptor,
 * which the daemon child inherits.
 *
 * mount.fuse3 runs "TYPE SOURCE MOUNTPOINT -o OPTIONS" for `mount -t
 * fuse.TYPE`, so the same program is also installed as "umfs".
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "umfs_fuse.h" /* first: it sets FUSE_USE_VERSION */
#include "cli.h"
#include "mountinfo.h"

static const char *prog = "umfs-fuse";
static const char *log_pool;
static bool log_syslog;

/* What the core has to say (damage met while serving, a lock taken over,
 * a long wait): on stderr, and in the background, where stderr is
 * /dev/null, to syslog. */
static void uf_log(int level, const char *msg)
{
	if (!log_syslog) {
		fprintf(stderr, "%s: pool %s: %s\n", prog, log_pool, msg);
		return;
	}
	syslog(level == UMFS_LOG_ERROR ? LOG_ERR : level == UMFS_LOG_WARN ? LOG_WARNING : LOG_INFO,
	       "pool %s: %s", log_pool, msg);
}

struct uf_opts {
	char *pool;
	char *mountpoint;
	int rdonly;
	int show_help;
	int show_version;
	double entry_timeout; /* < 0: not given */
	double attr_timeout;
	double negative_timeout;
};

#define UF_OPT(t, field) { t, offsetof(struct uf_opts, field), 0 }

enum { KEY_HELP, KEY_VERSION, KEY_RO, KEY_RW };

static const struct fuse_opt uf_opt_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	UF_OPT("entry_timeout=%lf", entry_timeout),
	UF_OPT("attr_timeout=%lf", attr_timeout),
	UF_OPT("negative_timeout=%lf", negative_timeout),
	FUSE_OPT_END
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s POOL MOUNTPOINT [-o option[,option...]] [-f] [-d] [-s]\n"
		"       mount -t fuse.umfs POOL MOUNTPOINT [-o option[,option...]]\n"
		"\n"
		"Serves the UMFS pool POOL at MOUNTPOINT through FUSE.\n"
		"\n"
		"  -f              stay in the foreground\n"
		"  -d              debug: print every request (implies -f)\n"
		"  -s              serve with a single thread\n"
		"  -o ro           mount the pool and the file system read-only\n"
		"  -o allow_other  let other users in (non-root: user_allow_other in /etc/fuse.conf)\n"
		"  -o entry_timeout=T, -o attr_timeout=T   kernel cache timeouts (0: other\n"
		"                  processes change the pool too; 1 s with -o ro)\n"
		"  -o negative_timeout=T   how long the kernel keeps a name's absence (0)\n"
		"  -h, --help      this help, then libfuse's options\n"
		"  -V, --version   print versions\n"
		"\n"
		"Unmount with: fusermount3 -u MOUNTPOINT (or umount as root).\n"
		"See umfs-fuse(8).\n", prog);
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct uf_opts *o = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!o->pool) {
			o->pool = strdup(arg);
			return o->pool ? 0 : -1;
		}
		if (!o->mountpoint) {
			o->mountpoint = strdup(arg);
			return o->mountpoint ? 0 : -1;
		}
		fprintf(stderr, "%s: unexpected argument '%s' (one pool, one mountpoint)\n",
			prog, arg);
		return -1;
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case KEY_RO:
		o->rdonly = 1;
		return 1; /* kept: the kernel mount is read-only too */
	case KEY_RW:
		o->rdonly = 0;
		return 1;
	default:
		/* -o options (no dash) are libfuse's, checked by it later; of the
		 * dash options it knows, these are the ones umfs-fuse documents */
		if (arg[0] == '-' && strcmp(arg, "-f") && strcmp(arg, "-d") && strcmp(arg, "-s"))
			umfs_cli_refuse(prog, UF_EXIT_USAGE, "unknown option '%s'", arg);
		return 1;
	}
}

/* Whether a umfs-fuse mount sits on abs already: mounting again would
 * stack a second daemon over the first, hiding it. */
static bool mounted_here(const char *abs)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	struct umfs_mountinfo m;
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && umfs_mountinfo_next(f, &line, &cap, &m))
		found = strcmp(m.mountpoint, abs) == 0 && strcmp(m.type, "fuse.umfs") == 0;
	free(line);
	fclose(f);
	return found;
}

/* Resolves and checks the mountpoint; returns a malloc'd absolute path. */
/* libfuse's /dev/fd/N: a /dev/fuse descriptor the caller mounted already
 * (umfs-run's kernel fallback mounts it in its own mount namespace). */
static bool premounted_fd(const char *mnt)
{
	struct stat st;
	char *end;
	long fd;

	if (strncmp(mnt, "/dev/fd/", 8) != 0)
		return false;
	errno = 0;
	fd = strtol(mnt + 8, &end, 10);
	return !errno && end != mnt + 8 && !*end && fd >= 0 && fd <= INT_MAX &&
	       fstat((int)fd, &st) == 0 && S_ISCHR(st.st_mode);
}

static char *check_mountpoint(const char *mnt)
{
	struct stat st;
	char *abs;

	if (premounted_fd(mnt))
		return strdup(mnt);
	if (stat(mnt, &st) < 0) {
		int err = errno;

		fprintf(stderr, "%s: mountpoint %s: %s%s\n", prog, mnt, strerror(err),
			err == ENOTCONN ? " (a FUSE daemon died there: fusermount3 -u -z it first)" : "");
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: mountpoint %s: not a directory\n", prog, mnt);
		return NULL;
	}
	abs = realpath(mnt, NULL);
	if (!abs) {
		fprintf(stderr, "%s: mountpoint %s: %s\n", prog, mnt, strerror(errno));
		return NULL;
	}
	if (mounted_here(abs)) {
		fprintf(stderr, "%s: mountpoint %s: a UMFS pool is mounted there already "
			"(fusermount3 -u %s first)\n", prog, abs, abs);
		free(abs);
		return NULL;
	}
	return abs;
}

static bool pool_is_dir(const char *pool)
{
	struct stat st;

	return stat(pool, &st) == 0 && S_ISDIR(st.st_mode);
}

static int mount_pool(struct umfs_fuse *uf)
{
	/* shared with programs running on libumfs (and other daemons); a
	 * read-only mount maps the pool read-only and takes no locks */
	unsigned flags = uf->rdonly ? UMFS_MOUNT_RDONLY : UMFS_MOUNT_SHARED;
	const char *why;
	int err;

	err = umfs_mount(uf->pool, flags, &uf->fs);
	if ((err == -EROFS || err == -EACCES || err == -EPERM) && !uf->rdonly &&
	    access(uf->pool, R_OK) == 0) {
		/* write-protected: read-only, as mount(8) falls back */
		int ro_err = umfs_mount(uf->pool, UMFS_MOUNT_RDONLY, &uf->fs);

		if (!ro_err) {
			fprintf(stderr, "%s: warning: pool %s is write-protected (%s): mounted "
				"read-only (-o ro)\n", prog, uf->pool, umfs_strerror(err));
			uf->rdonly = 1;
			return 0;
		}
		fprintf(stderr, "%s: pool %s is write-protected (%s) and cannot be mounted "
			"read-only either: %s\n", prog, uf->pool, umfs_strerror(err),
			*umfs_mount_error() ? umfs_mount_error() : umfs_strerror(ro_err));
		uf->fs = NULL;
		return ro_err;
	}
	if (!err)
		return 0;
	why = umfs_mount_error();
	if (err == -EBUSY)
		fprintf(stderr, "%s: pool %s is held exclusively by another process "
			"(fsck.umfs repairing it?)\n", prog, uf->pool);
	else if (err == -ENOENT)
		fprintf(stderr, "%s: cannot open pool %s: %s; make one with mkfs.umfs -s SIZE %s\n",
			prog, uf->pool, umfs_strerror(err), uf->pool);
	else if (err == -EISDIR || (err == -ENODEV && pool_is_dir(uf->pool)))
		fprintf(stderr, "%s: pool %s is a directory: give the pool file or device "
			"(mkfs.umfs makes one)\n", prog, uf->pool);
	else if (err == -EACCES)
		fprintf(stderr, "%s: cannot open pool %s: %s\n", prog, uf->pool,
			umfs_strerror(err));
	else
		fprintf(stderr, "%s: cannot mount pool %s: %s (%s)%s\n", prog, uf->pool,
			*why ? why : umfs_strerror(err), umfs_strerror(err),
			err == -EINVAL && !strstr(why, "UMFS") ?
				"; is it a UMFS pool? (mkfs.umfs makes one)" :
			err == -EUCLEAN && !strstr(why, "fsck") ? "; run fsck.umfs" : "");
	uf->fs = NULL;
	return err;
}

/* default_permissions: the kernel checks access as for any file system (the
 * core checks again with the caller's ids); fsname and subtype make the mount
 * show as "POOL on MOUNTPOINT type fuse.umfs". Inserted first so that the
 * user's own -o options come later and win. */
static int add_default_options(struct fuse_args *args, const char *pool)
{
	char *abs = realpath(pool, NULL), *fsname = NULL, *opts = NULL;
	int err = -1;

	if (asprintf(&fsname, "fsname=%s", abs ? abs : pool) < 0) {
		fsname = NULL;
		goto out;
	}
	if (fuse_opt_add_opt(&opts, "default_permissions") ||
	    fuse_opt_add_opt(&opts, "subtype=umfs") ||
	    fuse_opt_add_opt_escaped(&opts, fsname) ||
	    fuse_opt_insert_arg(args, 1, "-o") || fuse_opt_insert_arg(args, 2, opts))
		goto out;
	err = 0;
out:
	free(abs);
	free(fsname);
	free(opts);
	return err;
}

/* The kernel's cache timeouts: what was given, else none on a writable
 * mount (programs on libumfs change the pool behind the kernel's back)
 * and a second on a read-only one. */
static void set_timeouts(struct umfs_fuse *uf, const struct uf_opts *o)
{
	double dflt = uf->rdonly ? 1.0 : 0.0;

	uf->entry_timeout = o->entry_timeout >= 0 ? o->entry_timeout : dflt;
	uf->attr_timeout = o->attr_timeout >= 0 ? o->attr_timeout : dflt;
	uf->negative_timeout = o->negative_timeout >= 0 ? o->negative_timeout : 0.0;
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *co)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (co->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, co->clone_fd);
	if (co->max_idle_threads != UINT_MAX) /* UINT_MAX: not given, libfuse would warn */
		fuse_loop_cfg_set_idle_threads(cfg, co->max_idle_threads);
	fuse_loop_cfg_set_max_threads(cfg, co->max_threads);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co = { 0 };
	struct umfs_fuse uf = { 0 };
	struct uf_opts o = { .entry_timeout = -1, .attr_timeout = -1, .negative_timeout = -1 };
	struct fuse_session *se = NULL;
	char *mnt = NULL;
	int ret = UF_EXIT_USAGE, loop;

	if (argc > 0 && argv[0] && argv[0][0])
		prog = basename(argv[0]);
	if (fuse_opt_parse(&args, &o, uf_opt_spec, opt_proc) < 0)
		goto out;
	if (o.show_help) {
		usage(stdout);
		printf("\nlibfuse options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = UF_EXIT_OK;
		goto out;
	}
	if (o.show_version) {
		umfs_cli_version("umfs-fuse");
		fflush(stdout); /* libfuse's lines come from a child process */
		fuse_lowlevel_version();
		ret = UF_EXIT_OK;
		goto out;
	}
	if (!o.pool || !o.mountpoint)
		umfs_cli_refuse(prog, UF_EXIT_USAGE, "give a POOL and a MOUNTPOINT");
	ret = UF_EXIT_MOUNT;
	mnt = check_mountpoint(o.mountpoint);
	if (!mnt)
		goto out;
	ret = UF_EXIT_USAGE;
	if (add_default_options(&args, o.pool) || fuse_opt_add_arg(&args, mnt)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	if (fuse_parse_cmdline(&args, &co) < 0)
		goto out; /* libfuse said why */

	uf.pool = o.pool;
	uf.rdonly = o.rdonly;
	uf.debug = co.debug;
	log_pool = o.pool;
	umfs_log_set(uf_log, UMFS_LOG_INFO);
	if (mount_pool(&uf)) {
		ret = UF_EXIT_POOL;
		goto out;
	}
	loop = uf_node_check_pool(uf.fs);
	if (loop) {
		fprintf(stderr, "%s: pool %s: %s\n", prog, o.pool,
			loop == -EOVERFLOW ? "more than 2^32 inodes: FUSE node ids cannot name them"
					   : umfs_strerror(loop));
		ret = UF_EXIT_POOL;
		goto out_pool;
	}
	set_timeouts(&uf, &o);
	if (uf.rdonly && !o.rdonly && fuse_opt_add_arg(&args, "-oro")) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out_pool;
	}
	se = fuse_session_new(&args, &umfs_fuse_ops, sizeof(umfs_fuse_ops), &uf);
	if (!se)
		goto out_pool; /* bad option: libfuse said which */
	ret = UF_EXIT_MOUNT;
	if (fuse_session_mount(se, co.mountpoint)) {
		fprintf(stderr, "%s: cannot mount %s at %s (is /dev/fuse usable? is fusermount3 "
			"installed?)\n", prog, o.pool, co.mountpoint);
		goto out_session;
	}
	if (uf_releases_install(se, co.singlethread || co.max_threads == 1)) {
		fprintf(stderr, "%s: cannot set up reading the kernel's requests\n", prog);
		goto out_unmount;
	}
	if (fuse_daemonize(co.foreground)) {
		fprintf(stderr, "%s: cannot become a daemon\n", prog);
		goto out_unmount;
	}
	if (!co.foreground) {
		openlog(prog, LOG_PID, LOG_DAEMON);
		log_syslog = true;
	}
	ret = UF_EXIT_SERVE;
	if (fuse_set_signal_handlers(se)) {
		fprintf(stderr, "%s: cannot set signal handlers\n", prog);
		goto out_unmount;
	}
	loop = serve(se, &co);
	fuse_remove_signal_handlers(se);
	/* > 0: stopped by a signal (SIGTERM, SIGINT, SIGHUP), a normal end */
	ret = loop < 0 ? UF_EXIT_SERVE : UF_EXIT_OK;
	if (loop < 0)
		fprintf(stderr, "%s: serving %s failed: %s\n", prog, o.pool, strerror(-loop));
out_unmount:
	fuse_session_unmount(se);
out_session:
	fuse_session_destroy(se); /* runs uf_destroy, which unmounts the pool, if init ran */
out_pool:
	uf_unmount_pool(&uf);
	if (uf.unmount_err && ret == UF_EXIT_OK)
		ret = UF_EXIT_SERVE;
out:
	fuse_opt_free_args(&args);
	free(co.mountpoint);
	free(mnt);
	free(o.pool);
	free(o.mountpoint);
	return ret;
}
