// SPDX-License-Identifier: MIT
/*
 * fam_args.c - the "args" family: the kernel's argument checks, in the
 * kernel's order: O_NOATIME by a non-owner, what an O_PATH descriptor may
 * and may not do, futimesat against a directory descriptor, linkat's
 * ENOTDIR cases, the argument checks of mmap and msync and of the xattr
 * calls, and the calls made through syscall(2) by number.
 */
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <utime.h>

#include "posix.h"

#define PG 4096

/* ------------------------------------------------------------------ */
/* O_NOATIME: only the owner (or CAP_FOWNER) may ask for it             */
/* ------------------------------------------------------------------ */

static void noatime_nobody(void)
{
	int fd, dfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	RFDC("args/noatime-other-open", open(P("args/rootfile"), O_RDONLY | O_NOATIME));
	dfd = open(P("args"), O_RDONLY | O_DIRECTORY);
	RFDC("args/noatime-other-openat", openat(dfd, "rootfile", O_RDONLY | O_NOATIME));
	RFDC("args/noatime-other-dir", openat(dfd, ".", O_RDONLY | O_NOATIME));
	RFDC("args/noatime-own", open(P("args/nobodyfile"), O_RDONLY | O_NOATIME));
	RFDC("args/noatime-other-path", open(P("args/rootfile"), O_PATH | O_NOATIME));
	fd = open(P("args/rootfile"), O_RDONLY);
	R("args/noatime-other-setfl", fcntl(fd, F_SETFL, O_NOATIME));
	R("args/noatime-other-setfl-getfl", fcntl(fd, F_GETFL) & O_NOATIME);
	R("args/noatime-other-setfl-append", fcntl(fd, F_SETFL, O_APPEND));
	close(fd);
	fd = open(P("args/nobodyfile"), O_RDONLY);
	R("args/noatime-own-setfl", fcntl(fd, F_SETFL, O_NOATIME));
	R("args/noatime-own-setfl-getfl", fcntl(fd, F_GETFL) & O_NOATIME);
	close(fd);
	close(dfd);
}

static void t_noatime(void)
{
	int fd;

	put("args/rootfile", "root");
	chmod(P("args/rootfile"), 0644);
	put("args/nobodyfile", "nobody");
	chown(P("args/nobodyfile"), NOBODY, NOBODY);
	RFDC("args/noatime-root-open", open(P("args/nobodyfile"), O_RDONLY | O_NOATIME));
	fd = open(P("args/nobodyfile"), O_RDONLY);
	R("args/noatime-root-setfl", fcntl(fd, F_SETFL, O_NOATIME));
	close(fd);
	as_user(NOBODY, NOBODY, NULL, 0, noatime_nobody);
}

/* ------------------------------------------------------------------ */
/* O_PATH descriptors                                                   */
/* ------------------------------------------------------------------ */

static void t_opath(void)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct iovec iov;
	struct statfs sfs;
	struct statvfs svfs;
	char b[64];
	void *m;
	int fd, dfd, nfd;

	put("args/pf", "o_path file");
	mk("args/pd");
	put("args/pd/x", "x");
	iov.iov_base = b;
	iov.iov_len = sizeof(b);

	fd = RFD("args/opath-open", open(P("args/pf"), O_PATH));
	if (fd < 0)
		return;
	R("args/opath-read", read(fd, b, sizeof(b)));
	R("args/opath-write", write(fd, "x", 1));
	R("args/opath-pread", pread(fd, b, sizeof(b), 0));
	R("args/opath-pwrite", pwrite(fd, "x", 1, 0));
	R("args/opath-readv", readv(fd, &iov, 1));
	R("args/opath-lseek", lseek(fd, 0, SEEK_SET));
	R("args/opath-fgetxattr", fgetxattr(fd, "user.x", b, sizeof(b)));
	R("args/opath-fsetxattr", fsetxattr(fd, "user.x", "v", 1, 0));
	R("args/opath-flistxattr", flistxattr(fd, b, sizeof(b)));
	R("args/opath-fremovexattr", fremovexattr(fd, "user.x"));
	R("args/opath-fchmod", fchmod(fd, 0600));
	R("args/opath-fchown", fchown(fd, 0, 0));
	R("args/opath-ftruncate", ftruncate(fd, 0));
	R("args/opath-fallocate", fallocate(fd, 0, 0, PG));
	RE("args/opath-posix-fallocate", posix_fallocate(fd, 0, PG));
	RE("args/opath-fadvise", posix_fadvise(fd, 0, 0, POSIX_FADV_NORMAL));
	/* the descriptor is refused before the advice and the length are read */
	RE("args/opath-fadvise-bad", posix_fadvise(fd, 0, 0, 99));
	RE("args/opath-fadvise-neglen", posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL));
	R("args/opath-fsync", fsync(fd));
	R("args/opath-fdatasync", fdatasync(fd));
	R("args/opath-syncfs", syncfs(fd));
	R("args/opath-futimens", futimens(fd, ts));
	R("args/opath-futimes", futimes(fd, tv));
	R("args/opath-flock", flock(fd, LOCK_SH));
	R("args/opath-ioctl", ioctl(fd, FIONREAD, &nfd));
	R("args/opath-ioctl-fioclex", ioctl(fd, FIOCLEX));
	R("args/opath-setfl", fcntl(fd, F_SETFL, O_APPEND));
	R("args/opath-getfl", fcntl(fd, F_GETFL) & (O_PATH | O_ACCMODE));
	R("args/opath-getfd", fcntl(fd, F_GETFD));
	R("args/opath-setfd", fcntl(fd, F_SETFD, FD_CLOEXEC));
	m = RMAP("args/opath-mmap", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0));
	if (m)
		munmap(m, PG);
	ST("args/opath-fstat", fstat(fd, &S));
	ST("args/opath-fstatat-empty", fstatat(fd, "", &S, AT_EMPTY_PATH));
	R("args/opath-fstatfs", fstatfs(fd, &sfs));
	R("args/opath-fstatvfs", fstatvfs(fd, &svfs));
	nfd = RFD("args/opath-dup", dup(fd));
	if (nfd >= 0) {
		R("args/opath-dup-getfl", fcntl(nfd, F_GETFL) & (O_PATH | O_ACCMODE));
		close(nfd);
	}
	RFDC("args/opath-dupfd", fcntl(fd, F_DUPFD_CLOEXEC, 0));
	R("args/opath-fchdir-file", fchdir(fd));
	R("args/opath-linkat-empty", linkat(fd, "", AT_FDCWD, P("args/pf-link"), AT_EMPTY_PATH));
	close(fd);

	dfd = RFD("args/opath-dir-open", open(P("args/pd"), O_PATH | O_DIRECTORY));
	if (dfd < 0)
		return;
	R("args/opath-dir-getdents", syscall(SYS_getdents64, dfd, b, sizeof(b)));
	RP("args/opath-dir-fdopendir", fdopendir(dfd));
	RFDC("args/opath-dir-openat", openat(dfd, "x", O_RDONLY));
	ST("args/opath-dir-fstatat", fstatat(dfd, "x", &S, 0));
	R("args/opath-dir-fsync", fsync(dfd));
	R("args/opath-dir-fchmod", fchmod(dfd, 0700));
	R("args/opath-dir-fchdir", fchdir(dfd));
	ST("args/opath-dir-fchdir-stat", stat("x", &S));
	close(dfd);
}

/* ------------------------------------------------------------------ */
/* futimesat against a directory descriptor                            */
/* ------------------------------------------------------------------ */

static void t_futimesat(void)
{
	struct timeval tv[2] = { { 1000000000, 0 }, { 1100000000, 500000 } };
	struct timeval bad[2] = { { 1000000000, 1000000 }, { 1000000000, 0 } };
	int dfd, ffd;

	mk("args/ut");
	put("args/ut/f", "f");
	put("args/ut/g", "g");
	dfd = open(P("args/ut"), O_RDONLY | O_DIRECTORY);
	ffd = open(P("args/ut/f"), O_RDONLY);
	R("args/futimesat-rel", futimesat(dfd, "f", tv));
	show_times("args/futimesat-rel-times", "args/ut/f", 0);
	R("args/futimesat-abs", futimesat(dfd, P("args/ut/g"), tv));
	show_times("args/futimesat-abs-times", "args/ut/g", 0);
	R("args/futimesat-now", futimesat(dfd, "g", NULL));
	show_times("args/futimesat-now-times", "args/ut/g", 0);
	R("args/futimesat-noent", futimesat(dfd, "missing", tv));
	R("args/futimesat-notdir-dirfd", futimesat(ffd, "f", tv));
	R("args/futimesat-badfd", futimesat(BADFD, "f", tv));
	R("args/futimesat-bad-usec", futimesat(dfd, "f", bad));
	R("args/futimesat-dotdot", futimesat(dfd, "../ut/f", NULL));
	close(ffd);
	close(dfd);
}

/* ------------------------------------------------------------------ */
/* linkat: ENOTDIR and EBADF                                            */
/* ------------------------------------------------------------------ */

static void t_linkat(void)
{
	int dfd, ffd;

	mk("args/ln");
	put("args/ln/f", "f");
	dfd = open(P("args/ln"), O_RDONLY | O_DIRECTORY);
	ffd = open(P("args/ln/f"), O_RDONLY);
	R("args/linkat-olddirfd-file", linkat(ffd, "f", dfd, "n1", 0));
	R("args/linkat-newdirfd-file", linkat(dfd, "f", ffd, "n2", 0));
	R("args/linkat-old-component-file", linkat(dfd, "f/x", dfd, "n3", 0));
	R("args/linkat-new-component-file", linkat(dfd, "f", dfd, "f/n4", 0));
	R("args/linkat-old-trailing-slash", linkat(dfd, "f/", dfd, "n5", 0));
	R("args/linkat-new-trailing-slash", linkat(dfd, "f", dfd, "n6/", 0));
	R("args/linkat-olddirfd-bad", linkat(BADFD, "f", dfd, "n7", 0));
	R("args/linkat-newdirfd-bad", linkat(dfd, "f", BADFD, "n8", 0));
	R("args/linkat-olddirfd-file-abs", linkat(ffd, P("args/ln/f"), dfd, "n9", 0));
	R("args/linkat-bad-flags", linkat(dfd, "f", dfd, "n10", 0x1));
	R("args/linkat-dir", linkat(AT_FDCWD, P("args/ln"), dfd, "n11", 0));
	list("args/linkat-list", "args/ln");
	close(ffd);
	close(dfd);
}

/* ------------------------------------------------------------------ */
/* mmap and msync: the argument checks, in the kernel's order          */
/* ------------------------------------------------------------------ */

static void t_mmap_args(void)
{
	char *p, *q;
	int fd, ro, wo, pfd, dfd;

	putn("args/m", pattern(3 * PG, 7), 3 * PG);
	fd = open(P("args/m"), O_RDWR);
	ro = open(P("args/m"), O_RDONLY);
	wo = open(P("args/m"), O_WRONLY);
	pfd = open(P("args/m"), O_PATH);
	dfd = open(P("args"), O_RDONLY | O_DIRECTORY);

	RMAP("args/mmap-len0", mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0));
	RMAP("args/mmap-len0-badfd", mmap(NULL, 0, PROT_READ, MAP_SHARED, BADFD, 0));
	RMAP("args/mmap-len0-unaligned-off", mmap(NULL, 0, PROT_READ, MAP_SHARED, BADFD, 1));
	RMAP("args/mmap-unaligned-off", mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 1));
	RMAP("args/mmap-no-type", mmap(NULL, PG, PROT_READ, 0, fd, 0));
	RMAP("args/mmap-no-type-wronly", mmap(NULL, PG, PROT_READ, 0, wo, 0));
	RMAP("args/mmap-shared-validate-bad", mmap(NULL, PG, PROT_READ, MAP_SHARED_VALIDATE | 0x800000, fd, 0));
	RMAP("args/mmap-shared-write-rdonly", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
	RMAP("args/mmap-shared-read-wronly", mmap(NULL, PG, PROT_READ, MAP_SHARED, wo, 0));
	RMAP("args/mmap-private-read-wronly", mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0));
	RMAP("args/mmap-len0-wronly", mmap(NULL, 0, PROT_READ, MAP_SHARED, wo, 0));
	RMAP("args/mmap-opath", mmap(NULL, PG, PROT_READ, MAP_SHARED, pfd, 0));
	RMAP("args/mmap-dir", mmap(NULL, PG, PROT_READ, MAP_SHARED, dfd, 0));
	RMAP("args/mmap-fixed-unaligned", mmap((void *)0x10001, PG, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0));
	q = RMAP("args/mmap-private-write-rdonly", mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0));
	if (q)
		munmap(q, PG);
	q = RMAP("args/mmap-shared-read-rdonly", mmap(NULL, PG, PROT_READ, MAP_SHARED, ro, 0));
	if (q) {
		R("args/mprotect-write-rdonly-shared", mprotect(q, PG, PROT_READ | PROT_WRITE));
		munmap(q, PG);
	}

	/* three pages reserved; the file's first two mapped over them, the
	 * third unmapped: a hole right after the mapping */
	p = mmap(NULL, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		setup_fail("mmap", "anonymous", errno);
		return;
	}
	q = RMAP("args/mmap-fixed", mmap(p, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0));
	munmap(p + 2 * PG, PG);
	if (q) {
		q[0] = 'M';
		R("args/msync-unaligned", msync(p + 1, PG, MS_SYNC));
		R("args/msync-bad-flags", msync(p, PG, 0x100));
		R("args/msync-async-sync", msync(p, PG, MS_ASYNC | MS_SYNC));
		R("args/msync-unaligned-bad-flags", msync(p + 1, PG, 0x100));
		R("args/msync-len0", msync(p, 0, MS_SYNC));
		R("args/msync-len0-unmapped", msync(p + 2 * PG, 0, MS_SYNC));
		R("args/msync-past-end", msync(p, 3 * PG, MS_SYNC));
		R("args/msync-unmapped", msync(p + 2 * PG, PG, MS_SYNC));
		R("args/msync-unmapped-async", msync(p + 2 * PG, PG, MS_ASYNC));
		R("args/msync-unmapped-bad-flags", msync(p + 2 * PG, PG, 0x100));
		R("args/msync-invalidate", msync(p, PG, MS_INVALIDATE));
		R("args/msync-partial-len", msync(p, 100, MS_SYNC));
		R("args/msync-huge-len", msync(p, (size_t)-PG, MS_SYNC));
		R("args/munmap-unaligned", munmap(p + 1, PG));
		R("args/munmap-len0", munmap(p, 0));
		R("args/mprotect-unaligned", mprotect(p + 1, PG, PROT_READ));
		R("args/mprotect-bad-prot", mprotect(p, PG, 0x100));
		R("args/mprotect-unmapped", mprotect(p + PG, 2 * PG, PROT_READ));
		munmap(p, 2 * PG);
		content("args/mmap-content", "args/m");
	}
	close(fd);
	close(ro);
	close(wo);
	close(pfd);
	close(dfd);
}

/* Extended attributes, as far as a file system without them answers as
 * tmpfs does for a file that has none: the arguments' checks come before
 * the lookup, and the list is empty. */
static void t_xattr_args(void)
{
	static char big[65537], longname[300];
	char b[64];
	int fd;

	put("args/xa", "x");
	sl("xa", "args/xal");
	memset(longname, 'n', sizeof(longname) - 1);
	memcpy(longname, "user.", 5);
	R("args/xattr-list", listxattr(P("args/xa"), b, sizeof(b)));
	R("args/xattr-list-size", listxattr(P("args/xa"), NULL, 0));
	R("args/xattr-llist-link", llistxattr(P("args/xal"), b, sizeof(b)));
	R("args/xattr-list-missing", listxattr(P("args/missing"), b, sizeof(b)));
	R("args/xattr-set-bad-flags", setxattr(P("args/xa"), "user.a", "v", 1, 4));
	R("args/xattr-set-bad-flags-missing", setxattr(P("args/missing"), "user.a", "v", 1, 4));
	R("args/xattr-set-empty-name", setxattr(P("args/xa"), "", "v", 1, 0));
	R("args/xattr-get-empty-name", getxattr(P("args/xa"), "", b, sizeof(b)));
	R("args/xattr-get-empty-name-missing", getxattr(P("args/missing"), "", b, sizeof(b)));
	R("args/xattr-get-long-name", getxattr(P("args/xa"), longname, b, sizeof(b)));
	R("args/xattr-remove-long-name", removexattr(P("args/xa"), longname));
	R("args/xattr-set-too-big", setxattr(P("args/xa"), "user.a", big, sizeof(big), 0));
	fd = openp("args/xa", O_RDONLY);
	if (fd >= 0) {
		R("args/xattr-flist", flistxattr(fd, b, sizeof(b)));
		R("args/xattr-fset-bad-flags", fsetxattr(fd, "user.a", "v", 1, 4));
		R("args/xattr-fget-empty-name", fgetxattr(fd, "", b, sizeof(b)));
		close(fd);
	}
}

/* The system calls where the kernel takes more than glibc's functions:
 * a NULL path (statx and fstatat with AT_EMPTY_PATH, utimensat), an
 * O_PATH descriptor as the file with AT_EMPTY_PATH, and fchmodat2. */
static void t_raw_paths(void)
{
	struct statx sx;
	int fd, pfd;

	put("args/raw", "12345");
	sl("raw", "args/rawl");
	fd = openp("args/raw", O_RDWR);
	pfd = open(P("args/raw"), O_PATH);
	if (fd < 0 || pfd < 0)
		return;
	ST("args/raw-fstatat-null", (int)syscall(SYS_newfstatat, fd, NULL, &S, AT_EMPTY_PATH));
	ST("args/raw-fstatat-null-opath",
	   (int)syscall(SYS_newfstatat, pfd, NULL, &S, AT_EMPTY_PATH));
	R("args/raw-fstatat-null-no-flag", syscall(SYS_newfstatat, fd, NULL, &S, 0));
	memset(&sx, 0, sizeof(sx));
	R("args/raw-statx-null", syscall(SYS_statx, fd, NULL, AT_EMPTY_PATH, STATX_SIZE, &sx));
	emit("args/raw-statx-null-size", "size %llu", (unsigned long long)sx.stx_size);
	R("args/raw-utimensat-null", syscall(SYS_utimensat, fd, NULL, NULL, 0));
	R("args/raw-utimensat-null-opath", syscall(SYS_utimensat, pfd, NULL, NULL, 0));
	R("args/raw-utimensat-null-flags", syscall(SYS_utimensat, fd, NULL, NULL, AT_EMPTY_PATH));
	R("args/utimensat-empty-opath", utimensat(pfd, "", NULL, AT_EMPTY_PATH));
	R("args/fchownat-empty-opath", fchownat(pfd, "", (uid_t)-1, (gid_t)-1, AT_EMPTY_PATH));
	R("args/raw-fchmodat2-nofollow-file",
	  syscall(452, AT_FDCWD, P("args/raw"), 0600, AT_SYMLINK_NOFOLLOW));
	R("args/raw-fchmodat2-nofollow-link",
	  syscall(452, AT_FDCWD, P("args/rawl"), 0600, AT_SYMLINK_NOFOLLOW));
	R("args/raw-fchmodat2-empty-opath", syscall(452, pfd, "", 0640, AT_EMPTY_PATH));
	ST("args/raw-fchmodat2-empty-opath-stat", stat(P("args/raw"), &S));
	R("args/raw-fchmodat2-empty-no-flag", syscall(452, fd, "", 0600, 0));
	R("args/raw-fchmodat2-null", syscall(452, fd, NULL, 0600, AT_EMPTY_PATH));
	R("args/raw-fchmodat2-bad-flag", syscall(452, AT_FDCWD, P("args/raw"), 0600, 0x2));
	close(fd);
	close(pfd);
}

/* The descriptor and path calls made through syscall(2) by their numbers,
 * the older ones included: each reaches the file the program named. */
static void t_raw_numbers(void)
{
	char b[64] = "", sub[PATH_MAX];
	struct iovec io = { b, 5 };
	struct timeval tv[2] = { { 300, 0 }, { 400, 0 } };
	struct utimbuf ub = { 100, 200 };
	struct statfs sf;
	int fd, dfd, p[2];

	mk("args/num");
	fd = (int)syscall(SYS_creat, P("args/num/f"), 0644);
	R("args/num-creat", fd >= 0);
	R("args/num-write", syscall(SYS_write, fd, "hello world", 11));
	R("args/num-fchmod", syscall(SYS_fchmod, fd, 0600));
	ST("args/num-stat", (int)syscall(SYS_stat, P("args/num/f"), &S));
	R("args/num-fchown", syscall(SYS_fchown, fd, -1, -1));
	R("args/num-pwritev", syscall(SYS_pwritev, fd, &io, 1, 2, 0));
	R("args/num-preadv", syscall(SYS_preadv, fd, &io, 1, 0, 0));
	emit("args/num-preadv-data", "%.5s", b);
	R("args/num-readv", (lseek(fd, 6, SEEK_SET), syscall(SYS_readv, fd, &io, 1)));
	R("args/num-writev", syscall(SYS_writev, fd, &io, 1));
	R("args/num-preadv2", syscall(SYS_preadv2, fd, &io, 1, 0, 0, 0));
	R("args/num-pwritev2-append", syscall(SYS_pwritev2, fd, &io, 1, 0, 0, RWF_APPEND));
	R("args/num-fadvise-bad", syscall(SYS_fadvise64, fd, 0, 0, 99));
	R("args/num-fadvise", syscall(SYS_fadvise64, fd, 0, 0, 0));
	R("args/num-sync-file-range", syscall(SYS_sync_file_range, fd, 0, 0, 2));
	R("args/num-readahead", syscall(SYS_readahead, fd, 0, 10));
	R("args/num-syncfs", syscall(SYS_syncfs, fd));
	R("args/num-fstatfs", syscall(SYS_fstatfs, fd, &sf));
	R("args/num-statfs", syscall(SYS_statfs, P("args/num/f"), &sf));
	R("args/num-dup2", syscall(SYS_dup2, fd, 50) == 50);
	R("args/num-dup2-read", (lseek(50, 0, SEEK_SET), syscall(SYS_read, 50, b, 5)));
	close(50);
	R("args/num-truncate", syscall(SYS_truncate, P("args/num/f"), 4));
	ST("args/num-lstat", (int)syscall(SYS_lstat, P("args/num/f"), &S));
	R("args/num-access", syscall(SYS_access, P("args/num/f"), W_OK));
	R("args/num-faccessat", syscall(SYS_faccessat, AT_FDCWD, P("args/num/f"), R_OK));
	R("args/num-chmod", syscall(SYS_chmod, P("args/num/f"), 0640));
	R("args/num-fchmodat", syscall(SYS_fchmodat, AT_FDCWD, P("args/num/f"), 0644));
	R("args/num-chown", syscall(SYS_chown, P("args/num/f"), -1, -1));
	R("args/num-mkdir", syscall(SYS_mkdir, P("args/num/d"), 0755));
	snprintf(sub, sizeof(sub), "%s", P("args/num/d"));
	dfd = open(sub, O_RDONLY | O_DIRECTORY);
	R("args/num-chdir", syscall(SYS_chdir, sub));
	R("args/num-chdir-create", close(open("here", O_WRONLY | O_CREAT, 0644)));
	R("args/num-fchdir", syscall(SYS_fchdir, topfd));
	close(dfd);
	R("args/num-symlink", syscall(SYS_symlink, "f", P("args/num/l")));
	R("args/num-readlink", syscall(SYS_readlink, P("args/num/l"), b, sizeof(b) - 1));
	R("args/num-lchown", syscall(SYS_lchown, P("args/num/l"), -1, -1));
	R("args/num-link", syscall(SYS_link, P("args/num/f"), P("args/num/h")));
	R("args/num-rename", syscall(SYS_rename, P("args/num/h"), P("args/num/h2")));
	R("args/num-unlink", syscall(SYS_unlink, P("args/num/h2")));
	R("args/num-mknod-fifo", syscall(SYS_mknod, P("args/num/fifo"), S_IFIFO | 0600, 0));
	R("args/num-mknodat-reg", syscall(SYS_mknodat, AT_FDCWD, P("args/num/reg"), S_IFREG | 0600, 0));
	R("args/num-utime", syscall(SYS_utime, P("args/num/f"), &ub));
	ST("args/num-utime-stat", (int)syscall(SYS_stat, P("args/num/f"), &S));
	R("args/num-utimes", syscall(SYS_utimes, P("args/num/f"), tv));
	R("args/num-futimesat", syscall(SYS_futimesat, AT_FDCWD, P("args/num/f"), tv));
	R("args/num-listxattr", syscall(SYS_listxattr, P("args/num/f"), b, sizeof(b)));
	R("args/num-flistxattr", syscall(SYS_flistxattr, fd, b, sizeof(b)));
	R("args/num-getxattr-empty-name", syscall(SYS_getxattr, P("args/num/f"), "", b, sizeof(b)));
	R("args/num-rmdir-nonempty", syscall(SYS_rmdir, P("args/num/d")));
	if (pipe(p) == 0) {
		R("args/num-sendfile", syscall(SYS_sendfile, p[1], fd, NULL, 3));
		R("args/num-splice", (lseek(fd, 0, SEEK_SET), syscall(SYS_splice, fd, NULL, p[1], NULL, 2, 0)));
		close(p[0]);
		close(p[1]);
	}
	close(fd);
	fd = openp("args/num/f", O_RDWR);
	if (fd >= 0) {
		char *m, *m2;
		int n = 0;

		R("args/num-lseek", syscall(SYS_lseek, fd, 1, SEEK_SET));
		R("args/num-ioctl-fionread", syscall(SYS_ioctl, fd, FIONREAD, &n));
		emit("args/num-ioctl-fionread-bytes", "%d", n);
		m = (char *)syscall(SYS_mmap, NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		R("args/num-mmap", m == MAP_FAILED ? -1 : 0);
		if (m != MAP_FAILED) {
			emit("args/num-mmap-bytes", "%.4s", m);
			m[0] = 'J';
			R("args/num-msync", syscall(SYS_msync, m, PG, MS_SYNC));
			R("args/num-msync-pread", pread(fd, b, 4, 0));
			emit("args/num-msync-file", "%.4s", b);
			m2 = (char *)syscall(SYS_mremap, m, PG, 2 * PG, MREMAP_MAYMOVE, NULL);
			R("args/num-mremap", m2 == MAP_FAILED ? -1 : 0);
			if (m2 != MAP_FAILED)
				m = m2;
			R("args/num-munmap", syscall(SYS_munmap, m, m2 == MAP_FAILED ? PG : 2 * PG));
		}
		close(fd);
	}
	list("args/num-list", "args/num");
	list("args/num-list-d", "args/num/d");
}

void t_args(void)
{
	mk("args");
	chmod(P("args"), 0755);
	t_noatime();
	t_opath();
	t_futimesat();
	t_linkat();
	t_mmap_args();
	t_xattr_args();
	t_raw_paths();
	t_raw_numbers();
}
