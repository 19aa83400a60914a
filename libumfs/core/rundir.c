/* SPDX-License-Identifier: MIT */
/*
 * rundir.c - the pool's runtime directory: what the processes sharing a
 * pool keep outside it, in DRAM, while they use it (the lock region, and
 * the front ends' own files in subdirectories).
 *
 * It is /dev/shm/umfs-<uuid>-<run id>/ (/tmp/... when its maker may not
 * write /dev/shm). The run id is a random 64-bit number in the pool's state page,
 * replaced by whoever finds no usable directory under the current one: so
 * nobody who cannot read the pool knows the name before the directory
 * exists, and no name outlives its directory. The directory outlives its
 * last user, so that the next first user finds it made (a short process
 * then pays no mkdir, create or removal); the region in it is parked or
 * retired (share.c), and a directory made for the pool's former owner or
 * permissions is removed when nobody uses it, and made again.
 * What is found at the name is
 * checked on its descriptor, never by path: a directory (not a symlink),
 * made by a user of the pool, no more open than the pool. Everything in it
 * is opened relative to that descriptor, with O_NOFOLLOW, and checked the
 * same way. Another local user therefore can neither plant, redirect nor
 * replace anything here, nor read it when the pool is private.
 *
 * The users of a pool are those who may write it: its owner, root, and,
 * when the pool file is group- or world-writable, that group or everyone.
 * The directory and its files get the pool's owner and group (when the
 * creator may give them away) and the pool's write permissions; what is
 * inside may be opened wider on purpose (the extra bits of
 * umfs_rundir_openat), for processes holding its directory's descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rundir.h"
#include "fs.h"
#include "log.h"
#include "os.h"
#include "persist.h"

#define RUNDIR_TRIES 16

/* Bit 63 of the run id says where the directory is: /dev/shm, or /tmp
 * where this user may not write /dev/shm (its users may still reach a
 * directory there that someone else made). */
#define RUNDIR_IN_TMP (1ull << 63)

static const char *rundir_base(uint64_t id)
{
	return id & RUNDIR_IN_TMP ? "/tmp" : "/dev/shm";
}

bool umfs_rundir_outlives_boot(uint64_t run_id)
{
	return (run_id & RUNDIR_IN_TMP) != 0; /* /dev/shm is a tmpfs; /tmp may be a disk */
}

static uint64_t rundir_base_bit(void)
{
	return OS(access)("/dev/shm", W_OK | X_OK) == 0 ? 0 : RUNDIR_IN_TMP;
}

int umfs_rundir_name(const uint8_t uuid[16], uint64_t id, char *buf, size_t size)
{
	char hex[33], idhex[17];

	umfs_str_hex(hex, uuid, 16);
	umfs_str_hex64(idhex, id);
	return umfs_str_join(buf, size, rundir_base(id), "/umfs-", hex, "-", idhex, NULL);
}

int umfs_rundir_path_of(int pool_fd, char *buf, size_t size)
{
	struct umfs_superblock sb;
	struct umfs_state st;
	const char *why;
	uint64_t id;

	if (umfs_pmem_peek_fd(pool_fd, &sb, sizeof(sb), 0) != 0 ||
	    umfs_sb_check(&sb, umfs_le64_to_cpu(sb.pool_size), 1, &why) != 0 ||
	    umfs_pmem_peek_fd(pool_fd, &st, sizeof(st), umfs_le64_to_cpu(sb.state_off)) != 0 ||
	    umfs_le64_to_cpu(st.magic) != UMFS_STATE_MAGIC)
		return -EUCLEAN;
	id = umfs_le64_to_cpu(st.run_id);
	return id ? umfs_rundir_name(sb.uuid, id, buf, size) : -EUCLEAN;
}

static int rundir_name(const struct umfs_fs *fs, uint64_t id, char *buf, size_t size)
{
	return umfs_rundir_name(fs->sb.uuid, id, buf, size);
}

/* The permissions of what is made here: the pool's write permissions. */
static mode_t rundir_perm(const struct umfs_fs *fs, mode_t type)
{
	mode_t pool = fs->pm.st.st_mode, m = type == S_IFDIR ? 0700 : 0600;

	if (pool & S_IWGRP)
		m |= type == S_IFDIR ? 02070 : 0060;
	if (pool & S_IWOTH)
		m |= type == S_IFDIR ? 0007 : 0006;
	return m;
}

/* Whether st was made by a user of the pool. An entry opened to whoever
 * holds its directory's descriptor (extra bits) may be made by any of
 * them, one that dropped its privileges too: only the pool's users reach
 * the directory, through the runtime directory, whose own maker is
 * checked. */
static bool rundir_owner_ok(const struct umfs_fs *fs, const struct stat *st, mode_t extra)
{
	const struct stat *pool = &fs->pm.st;

	if (extra || st->st_uid == 0 || st->st_uid == pool->st_uid || st->st_uid == OS(geteuid)())
		return true;
	if (pool->st_mode & S_IWOTH)
		return true;
	/* only a member of the group (or root) makes a file of that group */
	return (pool->st_mode & S_IWGRP) && st->st_gid == pool->st_gid;
}

/* Checks what was opened: type, maker, links, permissions no wider than
 * the pool's and the extra bits the caller asked for. Fills why. */
static int rundir_check(const struct umfs_fs *fs, const struct stat *st, mode_t type,
			mode_t extra, char *why, size_t size)
{
	if ((st->st_mode & S_IFMT) != type) {
		snprintf(why, size, "not a %s", type == S_IFDIR ? "directory" :
					       type == S_IFIFO ? "FIFO" : "regular file");
		return -EPERM;
	}
	if (!rundir_owner_ok(fs, st, extra)) {
		snprintf(why, size, "owned by uid %u, who does not use the pool", (unsigned)st->st_uid);
		return -EPERM;
	}
	if (st->st_nlink == 0)
		return -ENOENT; /* removed since it was opened: its users start over */
	if (type != S_IFDIR && st->st_nlink != 1) {
		snprintf(why, size, "has %lu links", (unsigned long)st->st_nlink);
		return -EPERM;
	}
	if (st->st_mode & 07777 & ~(rundir_perm(fs, type) | extra | S_ISGID)) {
		snprintf(why, size, "mode %04o is more open than the pool's",
			 (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* The check of what fd is (its type, maker, links and permissions); *st
 * is its fstat. */
static int rundir_check_fd(const struct umfs_fs *fs, int fd, mode_t type, mode_t extra,
			   struct stat *st, char *why, size_t size)
{
	if (OS(fstat)(fd, st) < 0)
		return -errno;
	return rundir_check(fs, st, type, extra, why, size);
}

/* A new entry gets the pool's owner and group where this process may give
 * them (root, or a member of the group), and its permissions (not the
 * umask's). *st is what fd is afterwards. Only what differs is changed:
 * a first user makes eight entries, and most need nothing. */
static int rundir_adopt(const struct umfs_fs *fs, int fd, mode_t type, mode_t extra,
			struct stat *st)
{
	const struct stat *pool = &fs->pm.st;
	mode_t perm = rundir_perm(fs, type) | extra;

	if (OS(fstat)(fd, st) < 0)
		return -errno;
	/* a creator outside the pool's group keeps the entry its own */
	if (pool->st_mode && (st->st_uid != pool->st_uid || st->st_gid != pool->st_gid)) {
		uid_t uid = OS(geteuid)() == 0 ? pool->st_uid : (uid_t)-1;

		if (OS(fchown)(fd, uid, pool->st_gid) == 0) {
			if (uid != (uid_t)-1)
				st->st_uid = uid;
			st->st_gid = pool->st_gid;
			if (type != S_IFDIR)
				st->st_mode &= ~(mode_t)(S_ISUID | S_ISGID);
		}
	}
	if ((st->st_mode & 07777) != perm && OS(fchmod)(fd, perm) == 0)
		st->st_mode = (st->st_mode & S_IFMT) | perm;
	return 0;
}

/* Names what failed its check, in the log: apart, so that the paths it
 * needs take no room on the stack of every open. */
static __attribute__((noinline, cold)) void rundir_refuse(int dfd, const char *name,
							  const char *why)
{
	char link[40], dir[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dfd);
	n = OS(readlink)(link, dir, sizeof(dir) - 1);
	dir[n > 0 ? n : 0] = '\0';
	umfs_log(UMFS_LOG_ERROR, "%s/%s: %s; refusing to use it", dir, name, why);
}

int umfs_rundir_openat(const struct umfs_fs *fs, int dfd, const char *name, int flags,
		       mode_t type, mode_t extra)
{
	struct stat st;

	return umfs_rundir_openat_stat(fs, dfd, name, flags, type, extra, &st);
}

/* A FIFO's open that waits for its other end does as the kernel's open
 * through the C library: a signal's handler without SA_RESTART ends it
 * with EINTR (one with SA_RESTART, the kernel restarts), and it is a
 * cancellation point, in asynchronous mode for the system call alone:
 * nothing is held around it here, and its caller holds nothing either. */
static int rundir_fifo_wait_open(int dfd, const char *name, int flags)
{
	int type, fd;

	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
	fd = OS(openat)(dfd, name, flags);
	pthread_setcanceltype(type, NULL);
	return fd;
}

int umfs_rundir_openat_stat(const struct umfs_fs *fs, int dfd, const char *name, int flags,
			    mode_t type, mode_t extra, struct stat *st)
{
	bool create = flags & O_CREAT, made = false;
	char why[96];
	int fd, err;

	flags = (flags & ~(O_CREAT | O_EXCL)) | O_NOFOLLOW | O_CLOEXEC;
	if (type == S_IFDIR) {
		flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
		/* the directory outlives its users: most find it made */
		if (create) {
			fd = OS(openat)(dfd, name, flags);
			if (fd >= 0 || errno != ENOENT)
				goto opened;
		}
		made = create && OS(mkdirat)(dfd, name, 0700) == 0;
	} else if (type == S_IFIFO) {
		made = create && OS(mkfifoat)(dfd, name, 0600) == 0;
	}
	if (create && !made && errno != EEXIST && type != S_IFREG)
		return -errno;
	if (made && type == S_IFIFO) {
		/* its owner and mode now: the open below may fail (ENXIO, a
		 * writer nobody reads), and the next opener needs them */
		fd = OS(openat)(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			(void)rundir_adopt(fs, fd, type, extra, st);
			OS(close)(fd);
		}
		made = false;
	}
	/* a file that is there is opened; one that is not, made (and one
	 * made meanwhile by another user of the pool, opened) */
	if (type == S_IFIFO && !(flags & O_NONBLOCK)) {
		fd = rundir_fifo_wait_open(dfd, name, flags);
		goto opened;
	}
	for (int tries = 0; tries < RUNDIR_TRIES; tries++) {
		fd = OS(openat)(dfd, name, flags);
		if (fd < 0 && errno == ENOENT && type == S_IFREG && create) {
			fd = OS(openat)(dfd, name, flags | O_CREAT | O_EXCL, 0600);
			made = fd >= 0;
		}
		if (fd >= 0 || (errno != EINTR && errno != EEXIST))
			break;
	}
opened:
	if (fd < 0)
		return -errno;
	if (made) {
		err = rundir_adopt(fs, fd, type, extra, st);
		if (!err)
			err = rundir_check(fs, st, type, extra, why, sizeof(why));
	} else {
		err = rundir_check_fd(fs, fd, type, extra, st, why, sizeof(why));
		/* made before its extra bits were asked for: they are added
		 * where this process may (its maker's, or root) */
		if (!err && (st->st_mode & extra) != extra &&
		    OS(fchmod)(fd, (st->st_mode & 07777) | extra) == 0)
			st->st_mode |= extra;
	}
	if (err && err != -ENOENT)
		rundir_refuse(dfd, name, why);
	if (err)
		OS(close)(fd);
	return err ? err : fd;
}

/* Whether directory st, of this user, lacks the permissions or the group
 * a directory made now would get: the pool's were changed since. */
static bool rundir_outdated(const struct umfs_fs *fs, const struct stat *st)
{
	const struct stat *pool = &fs->pm.st;

	if (st->st_uid != OS(geteuid)())
		return false;
	return (st->st_mode & 0777) != (rundir_perm(fs, S_IFDIR) & 0777) ||
	       ((pool->st_mode & S_IWGRP) && st->st_gid != pool->st_gid);
}

/* Opens the directory of run id at its name; -ENOENT when nothing is there. */
static int rundir_try(struct umfs_fs *fs, uint64_t id)
{
	char path[sizeof(fs->run_path)], why[96];
	struct stat st;
	int fd, err;

	err = rundir_name(fs, id, path, sizeof(path));
	if (err)
		return err;
	fd = OS(open)(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
		if (err == -EPERM)
			umfs_log(UMFS_LOG_WARN, "%s: not a directory (a symlink or a file); "
				 "ignoring it and making a new one", path);
		return err;
	}
	if (OS(fstat)(fd, &st) < 0) {
		err = -errno;
		OS(close)(fd);
		return err;
	}
	/* Made for the pool as it was: one of ours that nobody uses goes,
	 * and a new one gets the pool's owner and permissions of now. */
	if (rundir_outdated(fs, &st) && umfs_rundir_remove_unused(AT_FDCWD, path) == 0) {
		OS(close)(fd);
		return -ENOENT;
	}
	err = rundir_check(fs, &st, S_IFDIR, 0, why, sizeof(why));
	if (err == -ENOENT) {
		OS(close)(fd);
		return err;
	}
	if (err) {
		umfs_log(UMFS_LOG_WARN, "%s: %s; ignoring it and making a new one", path, why);
		OS(close)(fd);
		return err;
	}
	fs->run_dfd = fd;
	fs->run_id = id;
	memcpy(fs->run_path, path, sizeof(path));
	return 0;
}

/* Makes a directory under a new run id and names it in the state page,
 * unless another process named one first (then *raced). */
static int rundir_make(struct umfs_fs *fs, uint64_t old, bool *raced)
{
	uint64_t id = 0, base = rundir_base_bit();
	int err = -EEXIST;

	*raced = false;
	for (int tries = 0; tries < RUNDIR_TRIES && err == -EEXIST; tries++) {
		if (OS(getrandom)(&id, sizeof(id), 0) != sizeof(id))
			continue;
		id = (id & ~RUNDIR_IN_TMP) | base;
		if (id == 0 || id == old)
			continue;
		err = rundir_name(fs, id, fs->run_path, sizeof(fs->run_path));
		if (!err && OS(mkdir)(fs->run_path, 0700) < 0)
			err = -errno;
	}
	if (err)
		return err;
	/* a directory we just made under a name nobody could foresee */
	fs->run_dfd = OS(open)(fs->run_path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->run_dfd < 0) {
		err = -errno;
		OS(rmdir)(fs->run_path);
		return err;
	}
	{
		struct stat st;

		(void)rundir_adopt(fs, fs->run_dfd, S_IFDIR, 0, &st);
	}
	if (!__atomic_compare_exchange_n(&fs->state->run_id, &old, id, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		OS(close)(fs->run_dfd);
		fs->run_dfd = -1;
		OS(rmdir)(fs->run_path);
		*raced = true;
		return 0;
	}
	umfs_persist(&fs->state->run_id, sizeof(fs->state->run_id));
	fs->run_id = id;
	return 0;
}

int umfs_rundir_open(struct umfs_fs *fs)
{
	bool raced = true;
	int err = 0;

	for (int tries = 0; raced && tries < RUNDIR_TRIES; tries++) {
		uint64_t id = __atomic_load_n(&fs->state->run_id, __ATOMIC_ACQUIRE);

		if (id && rundir_try(fs, id) == 0)
			return 0;
		err = rundir_make(fs, id, &raced);
		if (err)
			break;
	}
	if (!err && raced)
		err = -EAGAIN;
	if (err)
		snprintf(fs->run_path, sizeof(fs->run_path), "%s/umfs-*", rundir_base(rundir_base_bit()));
	return err;
}

int umfs_rundir_adopt(struct umfs_fs *fs, int dfd)
{
	uint64_t id = __atomic_load_n(&fs->state->run_id, __ATOMIC_ACQUIRE);
	char path[sizeof(fs->run_path)], link[sizeof(fs->run_path) + 16], proc[40], why[96];
	struct stat st;
	ssize_t n;
	int fd, err;

	if (id == 0)
		return -ENOENT;
	err = rundir_name(fs, id, path, sizeof(path));
	if (err)
		return err;
	/* the directory the pool names now, not one a previous run left */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dfd);
	n = OS(readlink)(proc, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (strcmp(link, path) != 0)
		return -ESTALE;
	fd = OS(fcntl)(dfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = rundir_check_fd(fs, fd, S_IFDIR, 0, &st, why, sizeof(why));
	if (err) {
		if (err != -ENOENT)
			umfs_log(UMFS_LOG_ERROR, "%s: %s; refusing to use it", path, why);
		OS(close)(fd);
		return err;
	}
	fs->run_dfd = fd;
	fs->run_id = id;
	memcpy(fs->run_path, path, sizeof(path));
	return 0;
}

void umfs_rundir_close(struct umfs_fs *fs)
{
	if (fs->run_dfd < 0)
		return;
	OS(close)(fs->run_dfd);
	fs->run_dfd = -1;
}
