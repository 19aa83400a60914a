/* SPDX-License-Identifier: MIT */
/*
 * envpath.c - host paths the library takes from the environment
 * (UMFS_LOG_FILE, UMFS_STATS_FILE, UMFS_RDONLY_DIR), opened so that no
 * other user can lead them elsewhere.
 *
 * A path is resolved without following any symlink (openat2 with
 * RESOLVE_NO_SYMLINKS; where the kernel lacks it, or a symlink is met, one
 * component at a time with O_PATH | O_NOFOLLOW from / or the working
 * directory). A symlink is followed only when no other user can have made
 * it or can change it: it and its directory are root's or this user's, and
 * nobody else may write the directory, or the directory is sticky (then
 * only an entry's owner and the directory's may remove or rename it). That
 * is the kernel's fs.protected_symlinks rule, applied whatever the sysctl
 * says, and it keeps /var/run -> /run or /dev/stderr working. Empty
 * components, "." and trailing slashes change nothing: the last component
 * is always a name in the directory before it. Callers then work only
 * through the descriptors: the last component's directory (dfd) and name.
 */
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pathtrust.h"
#include "shim.h"

#define ENVPATH_HOPS 40 /* symlinks followed at most, as the kernel */

static int why_set(struct envpath *ep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_set(struct envpath *ep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ep->why, sizeof(ep->why), fmt, ap);
	va_end(ap);
	return err;
}

/* Refuses, with the reason, a symlink at name in directory dfd (path[0..end)
 * as the walk spells it) that another user may control; 0 when it may be
 * followed. */
static int link_check(int dfd, const char *name, const char *path, size_t end,
		      struct envpath *ep)
{
	struct stat dst, lst;
	const char *why;
	char what[96];
	unsigned uid;

	if (SYS(fstat)(dfd, &dst) < 0 || SYS(fstatat)(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) < 0)
		return why_set(ep, -errno, "%.*s: %s", (int)end, path, strerror(errno));
	why = umfs_link_distrust(&dst, &lst, geteuid(), &uid);
	if (!why)
		return 0;
	snprintf(what, sizeof(what), why, uid);
	return why_set(ep, -ELOOP, "%.*s is %s: not followed (it may have been planted)",
		       (int)end, path, what);
}

/* Replaces path[0..end) with the target of the symlink at name in dfd:
 * path becomes TARGET/REST. */
static int link_splice(int dfd, const char *name, char *path, size_t end, struct envpath *ep)
{
	char target[PATH_MAX];
	ssize_t n = SYS(readlinkat)(dfd, name, target, sizeof(target) - 1);
	size_t rest = strlen(path + end);

	if (n < 0)
		return why_set(ep, -errno, "%.*s: %s", (int)end, path, strerror(errno));
	if ((size_t)n + 1 + rest >= PATH_MAX)
		return why_set(ep, -ENAMETOOLONG, "%.*s: %s", (int)end, path,
			       strerror(ENAMETOOLONG));
	memmove(path + n + 1, path + end, rest + 1);
	memcpy(path, target, (size_t)n);
	path[n] = '/';
	return 0;
}

/* Where a walk of path starts: / or the working directory, replacing
 * *fd. */
static int walk_start(int *fd, const char *path)
{
	int nfd = SYS(openat)(AT_FDCWD, path[0] == '/' ? "/" : ".",
			      O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (nfd < 0)
		return -errno;
	sys_close_quiet(*fd);
	*fd = nfd;
	return 0;
}

/* One component, name, ending at path[end]: a directory moves *fd on (0);
 * a trusted symlink is spliced into path (1); anything else is -errno. */
static int walk_step(int *fd, const char *name, char *path, size_t end, int *hops,
		     struct envpath *ep)
{
	int nfd = SYS(openat)(*fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), err;
	struct stat st;

	if (nfd < 0 || SYS(fstat)(nfd, &st) < 0) {
		err = -errno;
		sys_close_quiet(nfd);
		return why_set(ep, err, "%.*s: %s", (int)end, path, strerror(-err));
	}
	if (S_ISDIR(st.st_mode)) {
		sys_close_quiet(*fd);
		*fd = nfd;
		return 0;
	}
	sys_close_quiet(nfd);
	if (!S_ISLNK(st.st_mode))
		return why_set(ep, -ENOTDIR, "%.*s: %s", (int)end, path, strerror(ENOTDIR));
	if (++*hops > ENVPATH_HOPS)
		return why_set(ep, -ELOOP, "%.*s: %s", (int)end, path, strerror(ELOOP));
	err = link_check(*fd, name, path, end, ep);
	if (!err)
		err = link_splice(*fd, name, path, end, ep);
	return err ? err : 1;
}

/* Walks dir one component at a time, following only trusted symlinks: its
 * descriptor (O_PATH) or -errno. Where openat2 is missing, or met a
 * symlink. */
static int walk_dir(const char *dir, struct envpath *ep)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	size_t pos = 0, len;
	int fd = -1, hops = 0, err;

	snprintf(path, sizeof(path), "%s", dir);
	err = walk_start(&fd, path);
	while (!err) {
		while (path[pos] == '/')
			pos++;
		if (!path[pos])
			return fd;
		len = strcspn(path + pos, "/");
		if (len > NAME_MAX) {
			err = why_set(ep, -ENAMETOOLONG, "%s: %s", dir, strerror(ENAMETOOLONG));
			break;
		}
		memcpy(name, path + pos, len);
		name[len] = '\0';
		pos += len;
		err = walk_step(&fd, name, path, pos, &hops, ep);
		if (err == 1) {
			pos = 0;
			err = path[0] == '/' ? walk_start(&fd, path) : 0;
		}
	}
	sys_close_quiet(fd);
	return err;
}

/* path's length without its trailing slashes ("/" keeps its own). */
static size_t path_len(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return len;
}

/* Splits path into its directory (dir, PATH_MAX bytes) and last component
 * (ep->name), as if its empty components and trailing slashes were not
 * there. */
static int path_split(const char *path, char *dir, struct envpath *ep)
{
	size_t len = path_len(path), n;
	const char *slash, *name;

	if (!len)
		return why_set(ep, -ENOENT, "an empty path");
	if (len >= PATH_MAX)
		return why_set(ep, -ENAMETOOLONG, "%s", strerror(ENAMETOOLONG));
	slash = memrchr(path, '/', len);
	name = slash ? slash + 1 : path;
	n = (size_t)(path + len - name);
	if (n == 0 || n > NAME_MAX)
		return why_set(ep, n ? -ENAMETOOLONG : -EISDIR, "names no file");
	memcpy(ep->name, name, n);
	ep->name[n] = '\0';
	if (!strcmp(ep->name, ".") || !strcmp(ep->name, ".."))
		return why_set(ep, -EINVAL, "ends in \"%s\": name the file itself", ep->name);
	if (!slash)
		strcpy(dir, ".");
	else
		snprintf(dir, PATH_MAX, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return 0;
}

/* Opens the directory that holds path's last component into ep. */
static int parent_open(const char *path, struct envpath *ep)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	char dir[PATH_MAX];
	int fd, err;

	err = path_split(path, dir, ep);
	if (err)
		return err;
	fd = (int)SYS(syscall)(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0 && (errno == ELOOP || errno == ENOSYS || errno == EPERM))
		fd = walk_dir(dir, ep); /* a symlink on the way, or no openat2 */
	else if (fd < 0)
		fd = why_set(ep, -errno, "%s: %s", dir, strerror(errno));
	if (fd < 0)
		return fd;
	ep->dfd = fd;
	return 0;
}

/* Whether the last open failed on a symlink at ep->name (O_NOFOLLOW gives
 * ELOOP; ENOTDIR with O_DIRECTORY; EACCES with O_CREAT for another user's
 * link in a sticky directory). */
static bool last_is_link(const struct envpath *ep, int err)
{
	struct stat st;

	return (err == ELOOP || err == ENOTDIR || err == EACCES) &&
	       SYS(fstatat)(ep->dfd, ep->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISLNK(st.st_mode);
}

/* cur, whose last component is a trusted symlink (at ep->name in
 * ep->dfd), becomes the link's target: as it stands when absolute, else
 * in place of that component. */
static int link_follow(char *cur, struct envpath *ep)
{
	char target[PATH_MAX];
	ssize_t n = SYS(readlinkat)(ep->dfd, ep->name, target, sizeof(target) - 1);
	size_t len = path_len(cur), at;
	const char *slash;

	if (n < 0)
		return why_set(ep, -errno, "%s: %s", cur, strerror(errno));
	target[n] = '\0';
	slash = memrchr(cur, '/', len);
	at = target[0] == '/' ? 0 : slash ? (size_t)(slash + 1 - cur) : 0;
	if (at + (size_t)n >= PATH_MAX)
		return why_set(ep, -ENAMETOOLONG, "%s: %s", cur, strerror(ENAMETOOLONG));
	memcpy(cur + at, target, (size_t)n + 1);
	return 0;
}

int envpath_open(const char *path, int flags, mode_t mode, struct envpath *ep)
{
	char cur[PATH_MAX];
	int fd, err, hops = 0;

	shim_fdguard_own(); /* the walk's descriptors sit low while it runs */
	ep->dfd = -1;
	ep->copy_of = -1;
	ep->why[0] = '\0';
	if (strlen(path) >= sizeof(cur))
		return why_set(ep, -ENAMETOOLONG, "%s", strerror(ENAMETOOLONG));
	strcpy(cur, path);
	for (;;) {
		err = parent_open(cur, ep);
		if (err)
			return err;
		fd = SYS(openat)(ep->dfd, ep->name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		err = errno;
		if (!last_is_link(ep, err))
			return why_set(ep, -err, "%s", strerror(err));
		if (++hops > ENVPATH_HOPS)
			return why_set(ep, -ELOOP, "%s", strerror(ELOOP));
		err = link_check(ep->dfd, ep->name, cur, path_len(cur), ep);
		if (!err)
			err = link_follow(cur, ep);
		envpath_done(ep);
		if (err)
			return err;
	}
}

void envpath_done(struct envpath *ep)
{
	sys_close_quiet(ep->dfd);
	ep->dfd = -1;
}

/* "/dev/stdout", "/dev/stderr", "/dev/fd/N" or "/proc/self/fd/N", empty
 * components and trailing slashes aside: the descriptor it names, or -1. */
static int fd_named(const char *path)
{
	char norm[32];
	size_t len = 0, n;
	const char *num;
	char *end;
	long fd;

	if (path[0] != '/')
		return -1;
	while (*path) {
		while (*path == '/')
			path++;
		n = strcspn(path, "/");
		if (n == 1 && path[0] == '.') {
			path++;
			continue;
		}
		if (n && len + 1 + n >= sizeof(norm))
			return -1;
		if (n)
			len += (size_t)snprintf(norm + len, sizeof(norm) - len, "/%.*s", (int)n,
						path);
		path += n;
	}
	norm[len] = '\0';
	if (!strcmp(norm, "/dev/stdout"))
		return 1;
	if (!strcmp(norm, "/dev/stderr"))
		return 2;
	num = !strncmp(norm, "/dev/fd/", 8) ? norm + 8 :
	      !strncmp(norm, "/proc/self/fd/", 14) ? norm + 14 : NULL;
	if (!num || *num < '0' || *num > '9')
		return -1;
	fd = strtol(num, &end, 10);
	return *end || fd > INT_MAX ? -1 : (int)fd;
}

/*
 * What a log or statistics file may be: a regular file or FIFO of this
 * user with one link (no other user can have made it, or linked it
 * there), or a character device (only root makes those: /dev/null, a
 * terminal).
 */
static int output_judge(const struct stat *st, struct envpath *ep)
{
	const char *what = S_ISREG(st->st_mode) ? "file" : S_ISFIFO(st->st_mode) ? "FIFO" : NULL;

	if (S_ISCHR(st->st_mode))
		return 0;
	if (!what)
		return why_set(ep, -EPERM, "not a regular file, FIFO or character device");
	if (st->st_uid != geteuid())
		return why_set(ep, -EPERM,
			       "a %s of uid %u, another user (it may have been planted)", what,
			       (unsigned)st->st_uid);
	if (st->st_nlink != 1)
		return why_set(ep, -EPERM, "a %s with %lu links (another may have been planted)",
			       what, (unsigned long)st->st_nlink);
	return 0;
}

int envpath_output(const char *path, struct envpath *ep)
{
	int n = fd_named(path), fd, err;
	struct stat st;

	ep->dfd = -1;
	ep->copy_of = n;
	ep->why[0] = '\0';
	if (n >= 0) {
		/* the process's own descriptor, as the default copy of stderr */
		fd = SYS(fcntl)(n, F_DUPFD_CLOEXEC, 0);
		return fd >= 0 ? fd : why_set(ep, -errno, "descriptor %d: %s", n, strerror(errno));
	}
	/* O_NONBLOCK: neither this open nor a write waits for a FIFO's reader */
	fd = envpath_open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_NONBLOCK, 0600, ep);
	if (fd == -ENXIO && SYS(fstatat)(ep->dfd, ep->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		err = output_judge(&st, ep);
		return err ? err : why_set(ep, -ENXIO, "a FIFO nobody reads");
	}
	if (fd < 0)
		return fd;
	err = SYS(fstat)(fd, &st) < 0 ? -errno : output_judge(&st, ep);
	/* a device the user named is waited on, as stderr is: O_APPEND alone */
	if (!err && S_ISCHR(st.st_mode))
		SYS(fcntl)(fd, F_SETFL, O_APPEND);
	if (err)
		sys_close_quiet(fd);
	return err ? err : fd;
}
