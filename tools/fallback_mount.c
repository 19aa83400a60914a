/* SPDX-License-Identifier: MIT */
/*
 * fallback_mount.c - the kernel fallback's mount: a private mount namespace
 * (a user namespace first for a user other than root), the FUSE mount made
 * here on the prefix, and umfs-fuse started on its descriptor.
 *
 * The daemon leaves for a namespace of its own and detaches its copy of the
 * mount there, so that the only mount of the connection is the one the
 * program's namespace holds: when the last process of that namespace ends,
 * the kernel takes the mount down and the daemon's reads end (ENODEV). It
 * needs no signal and outlives no user of the mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fallback.h"
#include "pathtrust.h"

/* How long umfs-fuse may take to map the pool and answer its first call:
 * a pool in recovery or a loaded machine take seconds, never this long. */
#define FALLBACK_READY_MS 20000

int umfs_fallback_parse(const char *s, enum umfs_fallback_when *when)
{
	if (strcmp(s, "auto") == 0)
		*when = UMFS_FALLBACK_AUTO;
	else if (strcmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*when = UMFS_FALLBACK_ON;
	else if (strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*when = UMFS_FALLBACK_OFF;
	else
		return -EINVAL;
	return 0;
}

/*
 * The prefix must be a directory reached without symlinks, through
 * directories root's or ours that no other user may change (or sticky):
 * else another user could move the mount, in our namespace, over a path
 * the program trusts.
 */
static int prefix_check(const char *prefix, char *why, size_t whysize)
{
	char real[PATH_MAX], walk[PATH_MAX];
	bool ancestor = false;
	struct stat st;
	char *slash;

	if (!realpath(prefix, real)) {
		int err = errno;

		snprintf(why, whysize, "%s: %s (the fallback mounts on an existing directory)",
			 prefix, strerror(err));
		return -err;
	}
	if (strcmp(real, prefix) != 0) {
		snprintf(why, whysize, "%s leads through a symlink (to %s): give the prefix "
			 "without one", prefix, real);
		return -ELOOP;
	}
	memcpy(walk, real, strlen(real) + 1);
	for (;;) {
		if (lstat(walk, &st) < 0) {
			int err = errno;

			snprintf(why, whysize, "%s: %s", walk, strerror(err));
			return -err;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(why, whysize, "%s is not a directory", walk);
			return -ENOTDIR;
		}
		if (!umfs_uid_trusted(st.st_uid, geteuid())) {
			snprintf(why, whysize, "%s belongs to uid %u, another user", walk,
				 (unsigned)st.st_uid);
			return -EPERM;
		}
		/* the prefix itself may be writable: its entries are not
		 * reached, the mount covers them */
		if (ancestor && (st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
			snprintf(why, whysize, "%s may be changed by other users", walk);
			return -EPERM;
		}
		if (strcmp(walk, "/") == 0)
			return 0;
		slash = strrchr(walk, '/');
		slash[slash == walk] = '\0';
		ancestor = true;
	}
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/* A user namespace mapping only this user (not root: the program keeps
 * its own identity and no capability), then the mount namespace. */
static int enter_userns(char *why, size_t whysize)
{
	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int err;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		err = errno;
		snprintf(why, whysize, "cannot make a user namespace: %s%s", strerror(err),
			 err == EPERM || err == ENOSPC ? " (user.max_user_namespaces, "
			 "kernel.unprivileged_userns_clone)" : "");
		return -err;
	}
	err = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (!err)
		err = write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (!err)
		err = write_file("/proc/self/gid_map", map);
	if (err)
		snprintf(why, whysize, "cannot map uid %u in a user namespace: %s",
			 (unsigned)uid, strerror(-err));
	return err;
}

static int enter_namespaces(struct umfs_fallback *fb, char *why, size_t whysize)
{
	int err;

	if (geteuid() != 0) {
		err = enter_userns(why, whysize);
		if (err)
			return err;
	} else {
		/* root may come back here if the fallback fails */
		fb->old_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
		if (unshare(CLONE_NEWNS) < 0) {
			err = errno;
			snprintf(why, whysize, "cannot make a mount namespace: %s",
				 strerror(err));
			return -err;
		}
	}
	/* nothing done in here may reach the host's mounts */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		err = errno;
		snprintf(why, whysize, "cannot make the mount namespace private: %s",
			 strerror(err));
		return -err;
	}
	return 0;
}

static int fuse_mount_at(const char *pool, const char *prefix, bool readonly, int *fusefd,
			 char *why, size_t whysize)
{
	char target[64], opts[192];
	int dirfd, fd, err = 0;

	/* mount on the directory checked, whatever its path leads to now */
	dirfd = open(prefix, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0) {
		err = errno;
		snprintf(why, whysize, "%s: %s", prefix, strerror(err));
		return -err;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, whysize, "/dev/fuse: %s", strerror(err));
		close(dirfd);
		return -err;
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", dirfd);
	/* allow_other: a program that changes its user still reaches the
	 * mount; default_permissions: the kernel checks modes, as umfs-fuse
	 * asks for its own mounts */
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u,"
		 "allow_other,default_permissions", fd, (unsigned)geteuid(), (unsigned)getegid());
	if (mount(pool, target, "fuse.umfs", MS_NOSUID | MS_NODEV | (readonly ? MS_RDONLY : 0),
		  opts) < 0) {
		err = errno;
		snprintf(why, whysize, "cannot mount FUSE at %s: %s", prefix, strerror(err));
		close(fd);
	} else {
		*fusefd = fd;
	}
	close(dirfd);
	return -err;
}

/* The daemon, two forks down (no child of the program, nor of this
 * process, so that nobody's wait() meets it), in its own session (no
 * terminal signals) and its own mount namespace. */
static void daemon_exec(const char *fuse_bin, const char *pool, const char *prefix,
			bool readonly, int fusefd, int life_w)
{
	char dev[32];
	sigset_t none;
	int null;

	setsid();
	if (fork() != 0)
		_exit(0);
	if (unshare(CLONE_NEWNS) < 0 || umount2(prefix, MNT_DETACH) < 0) {
		fprintf(stderr, "umfs-run: fallback daemon: cannot leave the program's "
			"mount namespace: %s\n", strerror(errno));
		_exit(1);
	}
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	/* the program's descriptors stay the program's: a pipe held here
	 * would keep its reader waiting */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	fcntl(fusefd, F_SETFD, 0);
	fcntl(life_w, F_SETFD, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	snprintf(dev, sizeof(dev), "/dev/fd/%d", fusefd);
	if (readonly)
		execl(fuse_bin, "umfs-fuse", "-f", "-o", "ro", pool, dev, (char *)NULL);
	else
		execl(fuse_bin, "umfs-fuse", "-f", pool, dev, (char *)NULL);
	fprintf(stderr, "umfs-run: %s: %s\n", fuse_bin, strerror(errno));
	_exit(127);
}

/* Whether the mount answers, asked by a child that may be killed: a
 * request to a daemon that never answers waits for a fatal signal only. */
static int probe(const char *prefix, int life_r, char *why, size_t whysize)
{
	struct pollfd pfd[2];
	int pipefd[2], status, err, left = FALLBACK_READY_MS;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		struct stat st;
		unsigned char e = stat(prefix, &st) < 0 ? (unsigned char)errno : 0;

		if (write(pipefd[1], &e, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	pfd[0] = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = life_r, .events = POLLIN };
	err = -ETIMEDOUT;
	while (left > 0) {
		int n = poll(pfd, 2, 100);
		unsigned char e;

		left -= 100;
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			err = read(pipefd[0], &e, 1) == 1 ? -(int)e : -EIO;
			break;
		}
		if (pfd[1].revents) { /* the daemon ended: its stderr says why */
			err = -ENOTCONN;
			break;
		}
	}
	if (err == -ETIMEDOUT || err == -ENOTCONN)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	if (err == -ETIMEDOUT)
		snprintf(why, whysize, "umfs-fuse did not answer at %s within %d s", prefix,
			 FALLBACK_READY_MS / 1000);
	else if (err == -ENOTCONN)
		snprintf(why, whysize, "umfs-fuse ended before serving %s", prefix);
	else if (err)
		snprintf(why, whysize, "%s through umfs-fuse: %s", prefix, strerror(-err));
	return err;
}

static void undo(struct umfs_fallback *fb)
{
	if (fb->mounted)
		umount2(fb->prefix, MNT_DETACH);
	fb->mounted = false;
	if (fb->life_fd >= 0)
		close(fb->life_fd);
	fb->life_fd = -1;
	/* root goes back to the host's namespace; a user namespace cannot
	 * be left, which is why a user's failure is final (umfs-run.c) */
	if (fb->old_mntns >= 0) {
		if (setns(fb->old_mntns, CLONE_NEWNS) < 0)
			fprintf(stderr, "umfs-run: warning: staying in a private mount "
				"namespace: %s\n", strerror(errno));
		close(fb->old_mntns);
	}
	fb->old_mntns = -1;
}

int umfs_fallback_start(struct umfs_fallback *fb, const char *pool, const char *prefix,
			bool readonly, const char *fuse_bin, char *why, size_t whysize)
{
	int life[2], fusefd = -1, status, err;
	pid_t pid;

	*fb = (struct umfs_fallback){ .prefix = prefix, .life_fd = -1, .old_mntns = -1 };
	err = prefix_check(prefix, why, whysize);
	if (err)
		return err;
	if (access(fuse_bin, X_OK) < 0) {
		err = errno;
		snprintf(why, whysize, "umfs-fuse not found (%s: %s)", fuse_bin, strerror(err));
		return -err;
	}
	err = enter_namespaces(fb, why, whysize);
	if (!err)
		err = fuse_mount_at(pool, prefix, readonly, &fusefd, why, whysize);
	if (err) {
		undo(fb);
		return err;
	}
	fb->mounted = true;
	if (pipe2(life, O_CLOEXEC) < 0) {
		err = -errno;
		snprintf(why, whysize, "pipe: %s", strerror(-err));
		close(fusefd);
		undo(fb);
		return err;
	}
	pid = fork();
	if (pid == 0)
		daemon_exec(fuse_bin, pool, prefix, readonly, fusefd, life[1]);
	err = pid < 0 ? -errno : 0;
	/* only the daemon may hold the device: its end must end the mount */
	close(fusefd);
	close(life[1]);
	fb->life_fd = life[0];
	if (err) {
		snprintf(why, whysize, "fork: %s", strerror(-err));
		undo(fb);
		return err;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	err = probe(prefix, fb->life_fd, why, whysize);
	if (err) {
		undo(fb);
		return err;
	}
	if (fb->old_mntns >= 0)
		close(fb->old_mntns);
	fb->old_mntns = -1;
	return 0;
}
