/* SPDX-License-Identifier: MIT */
/*
 * gate.c - open file description locks on the runtime directory's files,
 * waited for with a bound, and the process that holds one, for the log.
 *
 * The kernel drops an OFD lock when the last descriptor of its description
 * closes, so a dead process never holds one; a live one might hold one for
 * good (stopped, or hostile, though only users of the pool can open these
 * files). So no wait here is unbounded: after UMFS_GATE_REPORT_MS the log
 * names the holder, after UMFS_GATE_TIMEOUT_MS the caller gets -ETIMEDOUT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "os.h"
#include "procfs.h"
#include "rundir.h"
#include "testhooks.h"

#define GATE_REPORT_MS 5000
#define GATE_TIMEOUT_MS 120000
#define GATE_USERS 0 /* the byte every user holds */
#define GATE_LEAVE 1 /* the byte leavers take in turn */

/* Whether /proc/<pid>/fdinfo/<fd> shows an OFD lock on the file "maj:min:ino". */
static bool gate_fdinfo_locks(int dfd, const char *name, const char *id)
{
	char buf[4096];

	if (umfs_proc_read(dfd, name, buf, sizeof(buf)) <= 0)
		return false;
	for (char *p = strstr(buf, "OFDLCK"); p; p = strstr(p + 1, "OFDLCK")) {
		char *eol = strchr(p, '\n');
		char *hit = strstr(p, id);

		if (hit && (!eol || hit < eol) && hit[strlen(id)] == ' ')
			return true;
	}
	return false;
}

void umfs_gate_holder(int fd, char *buf, size_t size)
{
	char id[64], path[64];
	struct dirent *p, *f;
	struct stat st;
	DIR *procs, *fds;

	snprintf(buf, size, "a process this user cannot see");
	if (OS(fstat)(fd, &st) < 0)
		return;
	snprintf(id, sizeof(id), "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long)st.st_ino);
	procs = umfs_os_opendir("/proc");
	if (!procs)
		return;
	while ((p = OS(readdir)(procs)) != NULL) {
		long pid = strtol(p->d_name, NULL, 10);
		bool found = false;

		if (pid <= 0 || pid == OS(getpid)())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fdinfo", pid);
		fds = umfs_os_opendir(path);
		if (!fds)
			continue;
		while (!found && (f = OS(readdir)(fds)) != NULL)
			found = f->d_name[0] != '.' && gate_fdinfo_locks(OS(dirfd)(fds), f->d_name, id);
		OS(closedir)(fds);
		if (found) {
			char comm[32];

			snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
			if (umfs_proc_read(AT_FDCWD, path, comm, sizeof(comm)) <= 0)
				strcpy(comm, "?");
			comm[strcspn(comm, "\n")] = '\0';
			snprintf(buf, size, "process %ld (%s)", pid, comm);
			break;
		}
	}
	OS(closedir)(procs);
}

static void gate_sleep(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (OS(nanosleep)(&ts, &ts) < 0 && errno == EINTR)
		;
}

int umfs_gate_lock(int fd, unsigned byte, short type, bool wait, const char *what)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	unsigned waited = 0, step = 1;
	int saved = errno, err = 0;
	bool named = false;
	char who[96];

	while (OS(fcntl)(fd, F_OFD_SETLK, &fl) < 0) {
		err = -errno;
		if (err == -EINTR)
			continue;
		if ((err != -EAGAIN && err != -EACCES) || !wait)
			break;
		if (err == -EACCES)
			err = -EAGAIN;
		if (!named && waited >= GATE_REPORT_MS) {
			umfs_gate_holder(fd, who, sizeof(who));
			umfs_log(UMFS_LOG_WARN, "%s: waiting for %s, which holds it", what, who);
			named = true;
		}
		if (waited >= UMFS_GATE_TIMEOUT(GATE_TIMEOUT_MS)) {
			umfs_gate_holder(fd, who, sizeof(who));
			umfs_log(UMFS_LOG_ERROR, "%s: %s has held it for %us; giving up", what, who,
				 waited / 1000);
			err = -ETIMEDOUT;
			break;
		}
		gate_sleep(step);
		waited += step;
		step = step < 100 ? step * 2 : 100;
		err = 0;
	}
	errno = saved;
	return err == -EACCES ? -EAGAIN : err;
}

void umfs_gate_unlock(int fd, unsigned byte)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1 };
	int saved = errno;

	OS(fcntl)(fd, F_OFD_SETLK, &fl);
	errno = saved;
}

/* The gate taken on fd: for writing when no one holds it (*first), else
 * for reading, waited for. */
static int gate_take(int fd, const char *what, bool *first)
{
	int err = umfs_gate_lock(fd, GATE_USERS, F_WRLCK, false, what);

	*first = err == 0;
	if (err == -EAGAIN) /* the first user may still be setting it up */
		err = umfs_gate_lock(fd, GATE_USERS, F_RDLCK, true, what);
	return err;
}

/* After gate_take's err on fd, name in dfd; opened: fd's fstat from before
 * the lock (its identity), or NULL. *size: the file's size under the
 * gate. fd, or an error with fd closed. */
static int gate_checked(int fd, int dfd, const char *name, const struct stat *opened,
			off_t *size, int err)
{
	struct stat st, now;

	/* the last user removes the file as it leaves: a lock on a file no
	 * longer at the name counts for nothing. The name still naming the
	 * file says it is linked, and gives its size now; one who may no
	 * longer look the name up goes by the link count. */
	if (!err && !opened) {
		if (OS(fstat)(fd, &st) < 0)
			err = -ENOENT;
		opened = &st;
	}
	if (!err) {
		if (OS(fstatat)(dfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0) {
			if (now.st_ino != opened->st_ino || now.st_dev != opened->st_dev)
				err = -ENOENT;
		} else if (errno != EACCES) {
			err = -ENOENT;
		} else if (opened == &st) {
			now = st;
		} else if (OS(fstat)(fd, &now) < 0) {
			err = -ENOENT;
		}
		if (!err && now.st_nlink == 0)
			err = -ENOENT;
		*size = now.st_size;
	}
	if (err) {
		OS(close)(fd);
		return err;
	}
	return fd;
}

static int gate_enter(int fd, int dfd, const char *name, const char *what, bool *first,
		      const struct stat *opened, off_t *size)
{
	return gate_checked(fd, dfd, name, opened, size, gate_take(fd, what, first));
}

int umfs_gate_enter(const struct umfs_fs *fs, int dfd, const char *name, const char *what,
		    bool *first, off_t *size)
{
	struct stat opened;
	int fd = umfs_rundir_openat_stat(fs, dfd, name, O_RDWR | O_CREAT, S_IFREG, UMFS_GATE_MODE,
					 &opened);

	return fd < 0 ? fd : gate_enter(fd, dfd, name, what, first, &opened, size);
}

int umfs_gate_enter_fd(int fd, int dfd, const char *name, const char *what, bool *first,
		       off_t *size)
{
	return gate_enter(fd, dfd, name, what, first, NULL, size);
}

/*
 * Every joiner that finds the area parked or retired holds the gate for
 * reading while it looks, and so keeps each other one from coming in
 * first: trying again at once, a few of them can go on finding one another
 * there while more join them. So each lets go of the gate and waits for
 * its turn on the leavers' byte; the one whose turn it is tries to come in
 * first a few times over 0.6 ms, for those who look at the area now to let
 * go too (they then wait for the byte), and otherwise joins whoever made
 * it, or finds it parked still and takes another turn. Leavers take the
 * same byte, and its holder waits only for a writer of the gate (a first
 * or last user), who never waits for that byte: no cycle.
 */
#define GATE_AGAIN_STEP_US 20
#define GATE_AGAIN_LAST_US 320

int umfs_gate_enter_again(int fd, int dfd, const char *name, const char *what, bool *first,
			  off_t *size)
{
	unsigned step;
	int err;

	umfs_gate_unlock(fd, GATE_USERS);
	err = umfs_gate_lock(fd, GATE_LEAVE, F_WRLCK, true, what);
	if (err) {
		OS(close)(fd);
		return err;
	}
	for (step = 0;; step = step ? step * 2 : GATE_AGAIN_STEP_US) {
		if (step)
			OS(usleep)(step);
		err = umfs_gate_lock(fd, GATE_USERS, F_WRLCK, false, what);
		*first = err == 0;
		if (err != -EAGAIN || step >= GATE_AGAIN_LAST_US)
			break;
	}
	if (err == -EAGAIN)
		err = umfs_gate_lock(fd, GATE_USERS, F_RDLCK, true, what);
	fd = gate_checked(fd, dfd, name, NULL, size, err);
	if (fd >= 0)
		umfs_gate_unlock(fd, GATE_LEAVE);
	return fd;
}

void umfs_gate_ready(int fd, const char *what)
{
	umfs_gate_lock(fd, GATE_USERS, F_RDLCK, false, what);
}

/* A new description of held's file through its /proc/self/fd link, for a
 * process that changed credentials since it opened held and may no longer
 * search the directory: the link leads to the file itself, whose mode
 * (UMFS_GATE_MODE) lets whoever holds a descriptor of it open another. */
static int gate_reopen(int held)
{
	char link[32];
	struct stat a, b;
	int fd;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", held);
	fd = OS(open)(link, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (OS(fstat)(fd, &a) < 0 || OS(fstat)(held, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		OS(close)(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

int umfs_gate_join(int dfd, const char *name, int held, const char *what)
{
	int fd = OS(openat)(dfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == EACCES && held >= 0)
		fd = gate_reopen(held);

	if (fd >= 0 && umfs_gate_lock(fd, GATE_USERS, F_RDLCK, true, what) < 0) {
		OS(close)(fd);
		fd = -1;
	}
	return fd;
}

int umfs_gate_fork_child(int fresh, int fd)
{
	if (umfs_os_dup_onto(fresh, fd) == 0) {
		OS(close)(fresh);
		return fd;
	}
	OS(close)(fd); /* its number cannot be had (past the hard limit) */
	return fresh;
}

bool umfs_gate_last(int fd, const char *what, struct umfs_fs *also)
{
	bool last;

	if (umfs_gate_lock(fd, GATE_LEAVE, F_WRLCK, true, what) < 0)
		return false;
	last = umfs_gate_lock(fd, GATE_USERS, F_WRLCK, false, what) == 0;
	if (!last) {
		umfs_gate_leave(fd);
		if (also)
			umfs_fs_leave(also);
	}
	umfs_gate_unlock(fd, GATE_LEAVE);
	return last;
}

bool umfs_gate_alone(int fd, const char *what)
{
	bool alone;

	/* not waited for: a leaver deciding now may be last itself */
	if (umfs_gate_lock(fd, GATE_LEAVE, F_WRLCK, false, what) < 0)
		return false;
	alone = umfs_gate_lock(fd, GATE_USERS, F_WRLCK, false, what) == 0;
	if (!alone)
		umfs_gate_unlock(fd, GATE_LEAVE);
	return alone;
}

void umfs_gate_alone_end(int fd, const char *what)
{
	umfs_gate_ready(fd, what); /* a write lock of this description turns to reading */
	umfs_gate_unlock(fd, GATE_LEAVE);
}

void umfs_gate_leave(int fd)
{
	umfs_gate_unlock(fd, GATE_USERS);
}

int umfs_gate_area_size(int fd, bool first, off_t len, off_t was, const char *what)
{
	int err;

	if (!first)
		return 0;
	if (was != 0 && OS(ftruncate)(fd, 0) < 0)
		return -errno;
	err = umfs_os_ftruncate_own(fd, len);
	/* its pages reserved now: a first touch on a full file system would
	 * be SIGBUS in whichever process came to it */
	if (!err)
		err = -OS(posix_fallocate)(fd, 0, len);
	if (err) /* empty again: the next first user makes it anew */
		(void)OS(ftruncate)(fd, 0);
	if (err == -ENOSPC)
		umfs_log(UMFS_LOG_ERROR, "%s: no room for its %lld bytes: the file system it is on "
			 "is full", what, (long long)len);
	return err;
}

void umfs_gate_area_backoff(off_t was, int restarts)
{
	if (was != 0)
		OS(usleep)(2000 + (unsigned)(OS(getpid)() * 7919 + restarts * 104729) % 8000);
}

void umfs_gate_area_park(void *area)
{
	__atomic_store_n((uint64_t *)area, UMFS_GATE_PARKED, __ATOMIC_RELEASE);
}

void umfs_gate_area_retire(int fd)
{
	int saved = errno;

	(void)OS(ftruncate)(fd, 0);
	errno = saved;
}
