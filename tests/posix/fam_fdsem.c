// SPDX-License-Identifier: MIT
/*
 * fam_fdsem.c - what an open file description carries and where it leads:
 * "fdsem" checks F_CREATED_QUERY (did the open create the file), the
 * names /proc/self/fd gives (O_TMPFILE's "#INO (deleted)", an unlinked
 * file's " (deleted)"), flock locks owned by the description across fork,
 * msync on ranges no longer mapped, and device nodes that reach their
 * driver.
 */
#include "posix.h"

#ifndef F_CREATED_QUERY
#define F_CREATED_QUERY 1028 /* F_LINUX_SPECIFIC_BASE + 4, Linux 6.12 */
#endif

static int qfd; /* the descriptor the child checks */

static void created_child(void)
{
	R("fdsem/created-child", fcntl(qfd, F_CREATED_QUERY, 0));
}

static void created(void)
{
	int fd, d;

	fd = RFD("fdsem/created-open", open(P("fdsem/c"), O_RDWR | O_CREAT | O_EXCL, 0644));
	if (fd < 0)
		return;
	R("fdsem/created-new", fcntl(fd, F_CREATED_QUERY, 0));
	d = dup(fd);
	R("fdsem/created-dup", fcntl(d, F_CREATED_QUERY, 0));
	close(d);
	qfd = fd;
	in_child("fdsem/created-in-child", "the child's check", created_child);
	R("fdsem/created-arg", fcntl(fd, F_CREATED_QUERY, 1));
	close(fd);
	fd = open(P("fdsem/c"), O_RDWR | O_CREAT, 0644);
	R("fdsem/created-exists", fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	fd = open(P("fdsem/c"), O_RDONLY);
	R("fdsem/created-plain", fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	fd = open(P("fdsem/t"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	R("fdsem/created-trunc-new", fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	fd = open(P("fdsem/t"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	R("fdsem/created-trunc-old", fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	fd = open(P("fdsem/c"), O_PATH);
	R("fdsem/created-path", fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	RFDC("fdsem/path-creat-missing", open(P("fdsem/p"), O_PATH | O_CREAT, 0644));
	fd = open(P("fdsem"), O_RDONLY | O_DIRECTORY);
	R("fdsem/created-dir", fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	fd = open(P("fdsem"), O_TMPFILE | O_RDWR, 0600);
	R("fdsem/created-tmpfile", fd < 0 ? fd : fcntl(fd, F_CREATED_QUERY, 0));
	close(fd);
	R("fdsem/created-bad-fd", fcntl(BADFD, F_CREATED_QUERY, 0));
}

/* readlink of /proc/self/fd/N, relative to DIR, with "#" and fd's inode
 * number written "#INO" (numbers differ between file systems) */
static void fdname(const char *name, int fd)
{
	char link[64], buf[PATH_MAX + 32], out[PATH_MAX + 32], ino[32], *at;
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0 || fstat(fd, &st)) {
		emit(name, "readlink = -1 %s", ename(errno));
		return;
	}
	buf[n] = 0;
	snprintf(ino, sizeof(ino), "/#%llu", (unsigned long long)st.st_ino);
	at = strstr(buf, ino);
	if (at) {
		strcpy(out, at + strlen(ino));
		strcpy(at, "/#INO");
		strcat(buf, out);
	}
	emit(name, "readlink = %s", relpath(buf));
}

static void names(void)
{
	char link[64];
	int fd, r;

	mk("fdsem/d");
	fd = open(P("fdsem/d"), O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0) {
		fdname("fdsem/name-tmpfile", fd);
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		r = open(link, O_RDONLY);
		fdname("fdsem/name-tmpfile-reopened", r);
		close(r);
		R("fdsem/name-tmpfile-linkat", linkat(AT_FDCWD, link, AT_FDCWD, P("fdsem/d/named"),
						       AT_SYMLINK_FOLLOW));
		fdname("fdsem/name-tmpfile-linked", fd);
		close(fd);
	} else {
		emit("fdsem/name-tmpfile", "open O_TMPFILE = -1 %s", ename(errno));
	}
	fd = open(P("fdsem/d/f"), O_RDWR | O_CREAT, 0644);
	fdname("fdsem/name-file", fd);
	unlink(P("fdsem/d/f"));
	fdname("fdsem/name-unlinked", fd);
	close(fd);
}

/* flock belongs to the description: a lock the parent takes after the
 * fork is released by the child's unlock through the inherited descriptor */
static void flock_fork(void)
{
	int fd = openp("fdsem/c", O_RDWR), go[2], done[2], other, st;
	pid_t pid;
	char c;

	if (fd < 0 || pipe(go) || pipe(done))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(flock(fd, LOCK_UN) == 0 && write(done[1], "u", 1) == 1 ? 0 : 2);
	}
	R("fdsem/flock-parent-after-fork", flock(fd, LOCK_EX));
	if (write(go[1], "g", 1) != 1 || read(done[0], &c, 1) != 1)
		emit("fdsem/flock-child-unlock", "child failed");
	waitpid(pid, &st, 0);
	other = openp("fdsem/c", O_RDWR);
	R("fdsem/flock-released-by-child", flock(other, LOCK_EX | LOCK_NB));
	flock(other, LOCK_UN);
	/* the other way: the child locks, its exit keeps the parent's
	 * description (and the lock) alive, the parent unlocks */
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(flock(fd, LOCK_EX) ? 1 : 0);
	waitpid(pid, &st, 0);
	R("fdsem/flock-child-lock-kept", flock(other, LOCK_EX | LOCK_NB));
	R("fdsem/flock-parent-unlocks", flock(fd, LOCK_UN));
	R("fdsem/flock-released-by-parent", flock(other, LOCK_EX | LOCK_NB));
	close(other);
	close(fd);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
}

static void msync_unmapped(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	int fd = openp("fdsem/c", O_RDWR);
	char *p, buf[4] = "";

	if (fd < 0 || ftruncate(fd, pg))
		return;
	p = RMAP("fdsem/msync-map", mmap(NULL, (size_t)pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	if (p) {
		memcpy(p, "msyn", 4);
		R("fdsem/msync-mapped", msync(p, (size_t)pg, MS_SYNC));
		R("fdsem/msync-mapped-read", pread(fd, buf, 4, 0) == 4 && !memcmp(buf, "msyn", 4));
		munmap(p, (size_t)pg);
		R("fdsem/msync-after-munmap", msync(p, (size_t)pg, MS_SYNC));
		R("fdsem/msync-after-munmap-async", msync(p, (size_t)pg, MS_ASYNC));
	}
	close(fd);
}

/* A device node's descriptor reaches the driver, but its attributes are
 * the node's: fstat, fchmod, fchown and futimens through it, or through a
 * dup of it, are the node's in this file system, never the host's
 * /dev/null (whose mode and owner must stay as they were). */
static void device_attrs(void)
{
	struct timespec ts[2] = { { 1000, 0 }, { 2000, 0 } };
	struct stat host, node, after;
	int fd, fd2, fd3;

	if (mknod(P("fdsem/anull"), S_IFCHR | 0666, makedev(1, 3)) || stat("/dev/null", &host))
		return;
	fd = RFD("fdsem/dev-attr-open", open(P("fdsem/anull"), O_RDWR));
	if (fd < 0)
		return;
	R("fdsem/dev-attr-fstat-is-node",
	  fstat(fd, &S) || stat(P("fdsem/anull"), &node) ? -1 : S.st_ino == node.st_ino);
	R("fdsem/dev-attr-fchmod", fchmod(fd, 0604));
	R("fdsem/dev-attr-fchown", fchown(fd, 65534, 65534));
	R("fdsem/dev-attr-futimens", futimens(fd, ts));
	fd2 = dup(fd);
	fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 40);
	R("fdsem/dev-attr-dup-fchmod", fchmod(fd2, 0640));
	R("fdsem/dev-attr-dupfd-fstat", fstat(fd3, &S) ? -1 : (long)(S.st_mode & 07777));
	close(fd);
	R("fdsem/dev-attr-dup-after-close", fchmod(fd2, 0644));
	close(fd2);
	close(fd3);
	/* removed while open: the node lives on in its descriptors, in a
	 * forked child too */
	fd = open(P("fdsem/anull"), O_RDONLY);
	if (fd >= 0 && mknod(P("fdsem/bnull"), S_IFCHR | 0600, makedev(1, 3)) == 0) {
		int fdb = open(P("fdsem/bnull"), O_WRONLY), st = -1;
		pid_t pid;

		R("fdsem/dev-attr-removed-unlink", unlink(P("fdsem/bnull")));
		R("fdsem/dev-attr-removed-fchmod", fchmod(fdb, 0620));
		R("fdsem/dev-attr-removed-fstat",
		  fstat(fdb, &S) ? -1 : (long)(S.st_nlink * 10000 + (S.st_mode & 07777)));
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(fstat(fdb, &S) == 0 && S.st_nlink == 0 && (S.st_mode & 07777) == 0620 &&
				      fchmod(fdb, 0600) == 0
			      ? 0 : 1);
		if (pid > 0)
			waitpid(pid, &st, 0);
		emit("fdsem/dev-attr-removed-child", "%s", how_ended(st));
		R("fdsem/dev-attr-removed-after-child",
		  fstat(fdb, &S) ? -1 : (long)(S.st_mode & 07777));
		R("fdsem/dev-attr-removed-link", linkat(fdb, "", AT_FDCWD, P("fdsem/cnull"), AT_EMPTY_PATH));
		close(fdb);
	}
	if (fd >= 0)
		close(fd);
	ST("fdsem/dev-attr-node-stat", stat(P("fdsem/anull"), &S));
	emit("fdsem/dev-attr-node-owner", "%u:%u mtime %ld", (unsigned)S.st_uid,
	     (unsigned)S.st_gid, (long)S.st_mtim.tv_sec);
	if (R("fdsem/dev-attr-host-untouched",
	      stat("/dev/null", &after) ? -1
					: after.st_mode == host.st_mode && after.st_uid == host.st_uid &&
						  after.st_mtim.tv_sec == host.st_mtim.tv_sec) != 1) {
		/* a library that got it wrong changed the host's node: put it
		 * back, for the tests after this one */
		ts[0] = host.st_atim;
		ts[1] = host.st_mtim;
		if (chmod("/dev/null", host.st_mode & 07777) || chown("/dev/null", host.st_uid, host.st_gid) ||
		    utimensat(AT_FDCWD, "/dev/null", ts, 0))
			emit("fdsem/dev-attr-host-restore", "failed: %s", ename(errno));
	}
}

/* mknod'ed devices reach their driver */
static void devices(void)
{
	char buf[8] = "xxxxxxx";
	int fd;

	R("fdsem/dev-mknod-null", mknod(P("fdsem/null"), S_IFCHR | 0666, makedev(1, 3)));
	R("fdsem/dev-mknod-zero", mknod(P("fdsem/zero"), S_IFCHR | 0666, makedev(1, 5)));
	R("fdsem/dev-mknod-none", mknod(P("fdsem/none"), S_IFCHR | 0666, makedev(300, 70000)));
	fd = RFD("fdsem/dev-null-open", open(P("fdsem/null"), O_RDWR));
	if (fd >= 0) {
		R("fdsem/dev-null-write", write(fd, "abc", 3));
		R("fdsem/dev-null-read", read(fd, buf, sizeof(buf)));
		R("fdsem/dev-null-rdev", fstat(fd, &S) ? -1 : (long)S.st_rdev == (long)makedev(1, 3));
		close(fd);
	}
	fd = RFD("fdsem/dev-zero-open", open(P("fdsem/zero"), O_RDONLY | O_CLOEXEC));
	if (fd >= 0) {
		R("fdsem/dev-zero-read", read(fd, buf, 4));
		emit("fdsem/dev-zero-bytes", "%s", esc(buf, 4));
		R("fdsem/dev-zero-cloexec", fcntl(fd, F_GETFD));
		R("fdsem/dev-zero-write-rdonly", write(fd, "a", 1));
		close(fd);
	}
	RFDC("fdsem/dev-none-open", open(P("fdsem/none"), O_RDONLY));
	RFDC("fdsem/dev-null-excl", open(P("fdsem/null"), O_RDWR | O_CREAT | O_EXCL, 0644));
	RFDC("fdsem/dev-null-directory", open(P("fdsem/null"), O_RDONLY | O_DIRECTORY));
	fd = RFD("fdsem/dev-null-path", open(P("fdsem/null"), O_PATH));
	if (fd >= 0) {
		R("fdsem/dev-null-path-read", read(fd, buf, 1));
		close(fd);
	}
	device_attrs();
}

void t_fdsem(void)
{
	if (mkdir(P("fdsem"), 0755))
		return;
	created();
	names();
	flock_fork();
	msync_unmapped();
	devices();
}
