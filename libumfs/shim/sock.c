/* SPDX-License-Identifier: MIT */
/*
 * sock.c - the host sockets standing for Unix socket names inside UMFS.
 *
 * A socket bound to a UMFS path is two things: the UMFS inode of type
 * S_IFSOCK that stat, readdir and unlink see, and a host socket the kernel
 * binds and connects, "sock-INO-GEN" (the inode's number and generation)
 * in the "sock" subdirectory of the helper directory. The kernel is given
 * it as /proc/self/fd/N/sock-INO-GEN, N being that subdirectory's
 * descriptor: the address fits sun_path whatever the directory's path, and
 * the kernel checks permissions from the subdirectory on. The directories
 * above it are the pool's users' alone, so nobody else reaches it; like
 * ofd/ it is 01733, and opened at its first use or before the process
 * changes its credentials (and passed across exec, inherit.c), so that a
 * process that dropped its privileges after mounting, or a program
 * started as another user that inherited the pool, still binds and
 * connects through that descriptor.
 * The kernel's bind does not follow a symlink in the last component (it
 * fails with EADDRINUSE), so nothing can redirect it.
 *
 * A connect finds the host socket by the inode alone: an inode made by
 * mknod, or bound in an earlier boot, has none, and is refused; a later
 * inode of the same number has another generation, so it never reaches
 * an old listener.
 *
 * Beside the socket, "sock-INO.id", a symbolic link whose target is never
 * followed, only read: "GEN:ADDRESS", the address as the program gave it
 * to bind, which getsockname, getpeername, accept and recvfrom show in
 * place of the host one, in any process, as the kernel shows the address
 * given to bind. It also tells a bind of inode number INO which host socket
 * an earlier inode of that number left (its UMFS name is gone): that one is
 * removed, so host names do not pile up. The last process to leave the
 * pool removes the subdirectory (sock_shutdown).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define SOCK_SUBDIR_MODE 01733 /* as ofd/: anyone holding it may bind, nobody remove another's */
#define SOCK_PREFIX "sock-"
#define PROC_FD "/proc/self/fd/"

static _Atomic int sock_dfd = -1; /* the subdirectory, from its first use */

int sock_dir_get(struct umfs_fs *fs)
{
	return shim_helper_subdir_get(fs, &sock_dfd, INH_SOCK, SOCK_SUBDIR, SOCK_SUBDIR_MODE);
}

int sock_dir_fd(void)
{
	return atomic_load_explicit(&sock_dfd, memory_order_acquire);
}

void sock_dir_close(void)
{
	shim_helper_subdir_close(&sock_dfd);
}

/* The subdirectory, the pool mounted first (a process may meet a host
 * address before it used any UMFS path: an inherited listener). */
static int sock_dir(void)
{
	int fd = atomic_load_explicit(&sock_dfd, memory_order_acquire), err = 0;
	struct umfs_fs *fs;

	if (likely(fd >= 0))
		return fd;
	fs = shim_fs(&err);
	return fs ? sock_dir_get(fs) : err;
}

void sock_shutdown(bool named)
{
	shim_helper_subdir_remove(shim_fs_peek(), &sock_dfd, named, SOCK_SUBDIR, SOCK_SUBDIR_MODE,
				  SOCK_PREFIX);
}

/* The host address of the socket bound to inode ino, generation gen. */
static int sock_host_addr(int dfd, uint64_t ino, uint32_t gen, struct sockaddr_un *sa,
			  socklen_t *len)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path, sizeof(sa->sun_path), PROC_FD "%d/" SOCK_PREFIX "%llu-%u",
		     dfd, (unsigned long long)ino, gen);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

/* The record of inode number ino: the generation last bound and the
 * address given to bind. */
static int sock_record(int dfd, uint64_t ino, uint32_t *gen, char *given, size_t size)
{
	char name[64], buf[32 + sizeof(((struct sockaddr_un *)0)->sun_path)], *end;
	unsigned long long g;
	ssize_t n;

	snprintf(name, sizeof(name), SOCK_PREFIX "%llu.id", (unsigned long long)ino);
	n = SYS(readlinkat)(dfd, name, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	g = strtoull(buf, &end, 10);
	if (*end != ':' || g > UINT32_MAX || strlen(end + 1) >= size)
		return -EPROTO;
	*gen = (uint32_t)g;
	strcpy(given, end + 1);
	return 0;
}

int sock_bind_host(int fd, uint64_t ino, uint32_t gen, const char *given)
{
	char id[64], old[64], rec[32 + sizeof(((struct sockaddr_un *)0)->sun_path)];
	char old_given[sizeof(rec)];
	int dfd = sock_dir(), err;
	struct sockaddr_un sa;
	uint32_t old_gen;
	socklen_t len;

	if (dfd < 0)
		return dfd;
	err = sock_host_addr(dfd, ino, gen, &sa, &len);
	if (err)
		return err;
	snprintf(id, sizeof(id), SOCK_PREFIX "%llu.id", (unsigned long long)ino);
	/* what an earlier inode of this number left: its UMFS name is gone */
	if (sock_record(dfd, ino, &old_gen, old_given, sizeof(old_given)) == 0) {
		snprintf(old, sizeof(old), SOCK_PREFIX "%llu-%u", (unsigned long long)ino, old_gen);
		SYS(unlinkat)(dfd, old, 0);
	}
	SYS(unlinkat)(dfd, id, 0);
	SYS(unlinkat)(dfd, strrchr(sa.sun_path, '/') + 1, 0);
	snprintf(rec, sizeof(rec), "%u:%s", gen, given);
	if (SYS(symlinkat)(rec, dfd, id) < 0)
		return -errno;
	if (SYS(bind)(fd, (struct sockaddr *)&sa, len) < 0) {
		err = -errno;
		SYS(unlinkat)(dfd, id, 0);
		return err;
	}
	/* who may connect is the UMFS inode's to say, checked before */
	SYS(fchmodat)(dfd, strrchr(sa.sun_path, '/') + 1, 0666, 0);
	return 0;
}

int sock_connect_addr(uint64_t ino, uint32_t gen, struct sockaddr_un *sa, socklen_t *len)
{
	int dfd = sock_dir();

	return dfd < 0 ? dfd : sock_host_addr(dfd, ino, gen, sa, len);
}

/* Whether the kernel's address names one of our host sockets:
 * "/proc/self/fd/DIGITS/sock-INO-GEN" as sock_host_addr makes it (in
 * whichever process bound it). */
static bool sock_addr_host_id(const struct sockaddr_un *sa, socklen_t len, uint64_t *ino,
			      uint32_t *gen)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(sa->sun_path) + 1], *p, *end;
	unsigned long long g;
	size_t n;

	if (len <= off + sizeof(PROC_FD) - 1 || sa->sun_family != AF_UNIX ||
	    memcmp(sa->sun_path, PROC_FD, sizeof(PROC_FD) - 1) != 0)
		return false;
	n = len - off;
	if (n > sizeof(sa->sun_path))
		n = sizeof(sa->sun_path);
	memcpy(path, sa->sun_path, n);
	path[n] = '\0';
	p = path + sizeof(PROC_FD) - 1;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, "/" SOCK_PREFIX, sizeof(SOCK_PREFIX)) != 0)
		return false;
	p += sizeof(SOCK_PREFIX);
	if (*p < '0' || *p > '9')
		return false;
	*ino = strtoull(p, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return false;
	g = strtoull(end + 1, &end, 10);
	*gen = (uint32_t)g;
	return *end == '\0' && g <= UINT32_MAX;
}

/* Addresses given to bind, by inode and generation: a pair is bound once,
 * so an entry never goes stale. Per thread: no lock, nothing to mend
 * after fork. It spares recvfrom on a datagram socket a readlinkat for
 * each message. */
#define GIVEN_CACHE 4
static __thread struct given_entry {
	uint64_t ino; /* 0: empty */
	uint32_t gen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} given_cache[GIVEN_CACHE];
static __thread unsigned given_next;

/* The address inode ino (generation gen) was bound to, into path. */
static bool sock_given(uint64_t ino, uint32_t gen, char *path, size_t size)
{
	struct given_entry *e;
	uint32_t rec_gen;
	int dfd;

	for (unsigned i = 0; i < GIVEN_CACHE; i++) {
		e = &given_cache[i];
		if (e->ino == ino && e->gen == gen) {
			strcpy(path, e->path);
			return true;
		}
	}
	dfd = sock_dir();
	if (dfd < 0 || sock_record(dfd, ino, &rec_gen, path, size) != 0 || rec_gen != gen)
		return false; /* the inode of that number was bound again since */
	e = &given_cache[given_next++ % GIVEN_CACHE];
	e->ino = ino;
	e->gen = gen;
	strcpy(e->path, path);
	return true;
}

int sock_addr_out(const struct sockaddr *kaddr, socklen_t klen, struct sockaddr *addr,
		  socklen_t *lenp)
{
	const struct sockaddr_un *sa = (const struct sockaddr_un *)kaddr;
	struct sockaddr_un given_sa;
	uint64_t ino;
	uint32_t gen;

	if (sock_addr_host_id(sa, klen, &ino, &gen)) {
		memset(&given_sa, 0, sizeof(given_sa));
		given_sa.sun_family = AF_UNIX;
		if (sock_given(ino, gen, given_sa.sun_path, sizeof(given_sa.sun_path))) {
			kaddr = (const struct sockaddr *)&given_sa;
			klen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
					   strlen(given_sa.sun_path) + 1);
		}
	}
	/* as the kernel: as much as fits, and the whole length */
	if (addr && lenp) {
		memcpy(addr, kaddr, klen < *lenp ? klen : *lenp);
		*lenp = klen;
	}
	return 0;
}

bool sock_path_of(const struct sockaddr *addr, socklen_t len, char *path)
{
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	const struct sockaddr_un *sa = (const struct sockaddr_un *)addr;
	size_t n;

	if (!addr || len <= off || len > sizeof(struct sockaddr_un) || user_readable(addr, len) ||
	    addr->sa_family != AF_UNIX || sa->sun_path[0] == '\0')
		return false; /* not a path: the kernel's (abstract, unnamed, errors) */
	n = len - off;
	memcpy(path, sa->sun_path, n);
	path[n] = '\0';
	return true;
}
