/* SPDX-License-Identifier: MIT */
/*
 * calls_socket.c - Unix socket addresses that are UMFS paths: bind,
 * connect, sendto, sendmsg and sendmmsg take them; getsockname,
 * getpeername, accept, accept4, recvfrom, recvmsg and recvmmsg give them
 * back. The host sockets standing for them are sock.c's.
 *
 * bind makes the UMFS name (S_IFSOCK, the socket's mode less the umask,
 * as the kernel's) and then binds the host socket; connect and a send with
 * a destination find the UMFS inode (following symlinks, needing write
 * permission on it, as the kernel) and then use its host socket. Abstract
 * addresses, unnamed ones, other families and paths outside UMFS go to the
 * kernel untouched; a UMFS path never reaches the kernel, so nothing is
 * made in the process's kernel working directory.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define MMSG_MAX 1024 /* the kernel's cap on one sendmmsg/recvmmsg (UIO_MAXIOV) */

struct sock_arg {
	int fd;
	const char *path;           /* sun_path as given, NUL-terminated */
	mode_t mode;                /* bind: the new name's mode */
	uint64_t ino;               /* the UMFS inode served */
	uint32_t gen;
	bool served;
	struct sockaddr_un host;    /* the address the kernel gets */
	socklen_t host_len;
	char pool_path[PATH_MAX];   /* bind: the name made, undone on failure */
};

/* Whether results may need their addresses translated. */
static inline bool sock_translating(void)
{
	shim_config_ready();
	return cfg.enabled;
}

/* A host path for the kernel: the original address when the path is the
 * one given, else one built from it (a UMFS path that led outside). */
static long sock_kernel_path(int dirfd, const char *kpath, void *arg)
{
	struct sock_arg *a = arg;
	size_t n = strlen(kpath);

	(void)dirfd; /* AT_FDCWD: socket paths are relative to the cwd */
	if (strcmp(kpath, a->path) == 0)
		return 0;
	if (n >= sizeof(a->host.sun_path))
		return -ENAMETOOLONG;
	memset(&a->host, 0, sizeof(a->host));
	a->host.sun_family = AF_UNIX;
	memcpy(a->host.sun_path, kpath, n);
	a->host_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 1;
}

/* The socket must be an AF_UNIX one: 1 if so (*bound says whether it has
 * an address), 0 for another family (the kernel judges the call), or
 * -errno (EBADF, ENOTSOCK). */
static int sock_unix(int fd, bool *bound)
{
	struct sockaddr_un cur;
	socklen_t len = sizeof(cur);

	if (SYS(getsockname)(fd, (struct sockaddr *)&cur, &len) < 0)
		return -errno;
	if (cur.sun_family != AF_UNIX)
		return 0;
	*bound = len > sizeof(sa_family_t);
	return 1;
}

/* ------------------------------------------------------------------ */
/* bind                                                                 */
/* ------------------------------------------------------------------ */

static long bind_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct sock_arg *a = arg;
	struct stat st;
	int err;

	err = umfs_mknod(fs, path, S_IFSOCK | a->mode, 0);
	if (err == -EEXIST)
		return -EADDRINUSE; /* as the kernel's bind: the name is taken */
	if (err)
		return err;
	err = umfs_stat_id(fs, path, &st, AT_SYMLINK_NOFOLLOW, &a->gen);
	if (!err && strlen(path) >= sizeof(a->pool_path))
		err = -ENAMETOOLONG;
	if (err) {
		umfs_unlink(fs, path);
		return err;
	}
	a->ino = (uint64_t)st.st_ino;
	strcpy(a->pool_path, path);
	a->served = true;
	return 0;
}

static long bind_byfd(int fd, void *arg)
{
	(void)fd;
	(void)arg;
	return -EADDRINUSE; /* a UMFS descriptor's own name: it exists */
}

static const struct path_ops bind_ops = { bind_umfs, sock_kernel_path, bind_byfd, true, false };

static int sock_bind(int fd, const struct sockaddr *addr, socklen_t len, const char *path)
{
	struct sock_arg a = { .fd = fd, .path = path };
	struct umfs_fs *fs;
	struct stat st;
	bool bound = false;
	long r;
	int err;

	err = sock_unix(fd, &bound);
	if (err <= 0)
		return err < 0 ? err : (SYS(bind)(fd, addr, len) < 0 ? -errno : 0);
	if (bound)
		return -EINVAL;
	/* the kernel gives the name the socket inode's mode (0777 unless
	 * fchmod changed it) less the umask */
	if (SYS(fstat)(fd, &st) < 0)
		return -errno;
	a.mode = st.st_mode & 0777 & ~atomic_load(&shim_umask);
	r = path_run(AT_FDCWD, path, &bind_ops, &a);
	if (r < 0)
		return (int)r;
	if (!a.served) {
		const struct sockaddr *k = r ? (struct sockaddr *)&a.host : addr;

		return SYS(bind)(fd, k, r ? a.host_len : len) < 0 ? -errno : 0;
	}
	err = sock_bind_host(fd, a.ino, a.gen, path);
	if (err) {
		fs = shim_fs_peek();
		if (fs) {
			pool_lock();
			umfs_unlink(fs, a.pool_path);
			pool_unlock();
		}
	}
	return err;
}

SHIM_API int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	uint64_t t0;
	int r;

	if (likely(!sock_path_of(addr, len, path) || !path_maybe_umfs(AT_FDCWD, path))) {
		TRACE_PASS(bind, "%d", fd);
		return SYS(bind)(fd, addr, len);
	}
	SHIM_SERVE();
	t0 = stats_t0();
	r = sock_bind(fd, addr, len, path);
	TRACE_SERVED(bind, r, t0, "%d, \"%s\"", fd, path);
	return (int)shim_ret(r);
}

/* ------------------------------------------------------------------ */
/* connect and sends with a destination                                 */
/* ------------------------------------------------------------------ */

static long dest_umfs(struct umfs_fs *fs, const char *path, void *arg)
{
	struct sock_arg *a = arg;
	struct stat st;
	int err;

	err = umfs_stat_id(fs, path, &st, 0, &a->gen);
	if (err)
		return err;
	if (!S_ISSOCK(st.st_mode))
		return -ECONNREFUSED; /* as the kernel: a name, but no socket */
	err = umfs_access(fs, path, W_OK);
	if (err && err != -EROFS) /* EROFS: permitted, on a read-only pool */
		return err;
	a->ino = (uint64_t)st.st_ino;
	a->served = true;
	return 0;
}

static long dest_byfd(int fd, void *arg)
{
	(void)fd;
	(void)arg;
	return -ECONNREFUSED; /* a UMFS file or directory: no socket */
}

static const struct path_ops dest_ops = { dest_umfs, sock_kernel_path, dest_byfd, false, false };

/* The address the kernel gets for destination addr: 0 when it is addr
 * itself, 1 when it is a->host, or -errno. */
static int sock_dest(int fd, const struct sockaddr *addr, socklen_t len, struct sock_arg *a)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	bool bound;
	long r;
	int err;

	if (likely(!sock_path_of(addr, len, path) || !path_maybe_umfs(AT_FDCWD, path)))
		return 0;
	SHIM_SERVE();
	err = sock_unix(fd, &bound);
	if (err <= 0)
		return err;
	a->path = path;
	r = path_run(AT_FDCWD, path, &dest_ops, a);
	a->path = NULL;
	if (r < 0 || !a->served)
		return (int)r;
	err = sock_connect_addr(a->ino, a->gen, &a->host, &a->host_len);
	return err ? err : 1;
}

/* A served destination whose inode has no host socket: nobody listens. */
static inline void sock_refused(const struct sock_arg *a)
{
	if (errno == ENOENT && a->served)
		errno = ECONNREFUSED;
}

SHIM_API int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sock_arg a = { .fd = fd };
	int r = sock_dest(fd, addr, len, &a);

	if (likely(r == 0)) {
		TRACE_PASS(connect, "%d", fd);
		return SYS(connect)(fd, addr, len);
	}
	if (r > 0 && SYS(connect)(fd, (struct sockaddr *)&a.host, a.host_len) < 0) {
		sock_refused(&a);
		r = -errno;
	} else if (r > 0) {
		r = 0;
	}
	TRACE_SERVED(connect, r, 0, "%d", fd);
	return (int)shim_ret(r);
}

SHIM_API ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			const struct sockaddr *addr, socklen_t len)
{
	struct sock_arg a = { .fd = fd };
	int r = sock_dest(fd, addr, len, &a);
	ssize_t sent;

	if (likely(r == 0))
		return SYS(sendto)(fd, buf, n, flags, addr, len);
	if (r < 0)
		return shim_ret(r);
	sent = SYS(sendto)(fd, buf, n, flags, (struct sockaddr *)&a.host, a.host_len);
	if (sent < 0)
		sock_refused(&a);
	return sent;
}

SHIM_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sock_arg a = { .fd = fd };
	struct msghdr m;
	int r = msg && !user_readable(msg, sizeof(*msg)) ?
			sock_dest(fd, msg->msg_name, msg->msg_namelen, &a) : 0;
	ssize_t sent;

	if (likely(r == 0))
		return unlikely(uinfo_tokens()) &&
				       fallback_rights_carry_umfs(msg)
			       ? fallback_sendmsg(fd, msg, flags)
			       : SYS(sendmsg)(fd, msg, flags);
	if (r < 0)
		return shim_ret(r);
	m = *msg;
	m.msg_name = &a.host;
	m.msg_namelen = a.host_len;
	sent = uinfo_tokens() &&
		       fallback_rights_carry_umfs(&m)
		       ? fallback_sendmsg(fd, &m, flags)
		       : SYS(sendmsg)(fd, &m, flags);
	if (sent < 0)
		sock_refused(&a);
	return sent;
}

/* sendmmsg's messages as the kernel gets them, copied at the first that
 * differs: destinations translated, rights carrying the fallback mount's
 * files (fallback.c, as sendmsg's). */
struct mmsg_copy {
	struct mmsghdr *kvec;
	struct sockaddr_un *hosts;
	struct fallback_rights *rights;
	unsigned int vlen;
};

static void mmsg_copy_free(struct mmsg_copy *mc)
{
	for (unsigned int i = 0; mc->rights && i < mc->vlen; i++)
		fallback_rights_drop(&mc->rights[i]);
	free(mc->kvec);
	free(mc->hosts);
	free(mc->rights);
	*mc = (struct mmsg_copy){ 0 };
}

static int mmsg_copy_make(struct mmsg_copy *mc, const struct mmsghdr *vec, unsigned int vlen)
{
	if (mc->kvec)
		return 0;
	mc->kvec = malloc(vlen * sizeof(*mc->kvec));
	mc->hosts = malloc(vlen * sizeof(*mc->hosts));
	mc->rights = calloc(vlen, sizeof(*mc->rights));
	mc->vlen = vlen;
	if (!mc->kvec || !mc->hosts || !mc->rights) {
		mmsg_copy_free(mc);
		return -ENOMEM;
	}
	memcpy(mc->kvec, vec, vlen * sizeof(*mc->kvec));
	return 0;
}

/* Message i of vec into mc when the kernel must get it otherwise: 0 or
 * -errno (the message is not sent). */
static int mmsg_one(int fd, struct mmsghdr *vec, unsigned int vlen, unsigned int i,
		    struct mmsg_copy *mc, bool *served)
{
	struct msghdr *h = &vec[i].msg_hdr;
	struct sock_arg a = { .fd = fd };
	bool rights = uinfo_tokens() &&
		      fallback_rights_carry_umfs(h);
	int dest = sock_dest(fd, h->msg_name, h->msg_namelen, &a), err;

	if (dest < 0 || (dest == 0 && !rights))
		return dest;
	if ((err = mmsg_copy_make(mc, vec, vlen)) < 0)
		return err;
	if (dest > 0) {
		*served |= a.served;
		mc->hosts[i] = a.host;
		mc->kvec[i].msg_hdr.msg_name = &mc->hosts[i];
		mc->kvec[i].msg_hdr.msg_namelen = a.host_len;
	}
	return rights ? fallback_rights_take(&mc->kvec[i].msg_hdr, &mc->rights[i]) : 0;
}

SHIM_API int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct mmsg_copy mc = { 0 };
	bool served = false;
	int r, saved;

	if (vec && vlen > MMSG_MAX)
		vlen = MMSG_MAX;
	if (vec && user_writable(vec, vlen * sizeof(*vec)))
		return SYS(sendmmsg)(fd, vec, vlen, flags); /* the kernel's EFAULT */
	for (unsigned int i = 0; vec && i < vlen; i++) {
		r = mmsg_one(fd, vec, vlen, i, &mc, &served);
		if (r < 0 && i == 0) {
			mmsg_copy_free(&mc);
			return (int)shim_ret(r);
		}
		if (r < 0) {
			vlen = i; /* as the kernel: the messages before the failing one */
			break;
		}
	}
	if (!mc.kvec)
		return SYS(sendmmsg)(fd, vec, vlen, flags);
	r = SYS(sendmmsg)(fd, mc.kvec, vlen, flags);
	saved = errno;
	for (int i = 0; i < r; i++)
		vec[i].msg_len = mc.kvec[i].msg_len;
	mmsg_copy_free(&mc);
	if (r < 0)
		errno = saved == ENOENT && served ? ECONNREFUSED : saved;
	return r;
}

/* ------------------------------------------------------------------ */
/* Addresses given back                                                 */
/* ------------------------------------------------------------------ */

/* The kernel fills our buffer; the program's gets it translated. A
 * negative length or memory the caller cannot hand over is the kernel's
 * to refuse (EINVAL, EFAULT). */
static inline bool sock_out_wanted(struct sockaddr *addr, socklen_t *lenp)
{
	return addr && lenp && sock_translating() && !user_writable(lenp, sizeof(*lenp)) &&
	       (int)*lenp >= 0 && !user_writable(addr, *lenp);
}

SHIM_API int getsockname(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (likely(!sock_out_wanted(addr, lenp)))
		return SYS(getsockname)(fd, addr, lenp);
	if (SYS(getsockname)(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	sock_addr_out((struct sockaddr *)&ss, sl, addr, lenp);
	return 0;
}

SHIM_API int getpeername(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (likely(!sock_out_wanted(addr, lenp)))
		return SYS(getpeername)(fd, addr, lenp);
	if (SYS(getpeername)(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	sock_addr_out((struct sockaddr *)&ss, sl, addr, lenp);
	return 0;
}

SHIM_API int accept4(int fd, struct sockaddr *addr, socklen_t *lenp, int flags)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int r;

	fd_unpark_all();
	if (likely(!sock_out_wanted(addr, lenp)))
		return SYS(accept4)(fd, addr, lenp, flags);
	r = SYS(accept4)(fd, (struct sockaddr *)&ss, &sl, flags);
	if (r >= 0)
		sock_addr_out((struct sockaddr *)&ss, sl, addr, lenp);
	return r;
}

SHIM_API int accept(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int r;

	fd_unpark_all();
	if (likely(!sock_out_wanted(addr, lenp)))
		return SYS(accept)(fd, addr, lenp);
	r = SYS(accept)(fd, (struct sockaddr *)&ss, &sl);
	if (r >= 0)
		sock_addr_out((struct sockaddr *)&ss, sl, addr, lenp);
	return r;
}

SHIM_API ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
			  socklen_t *lenp)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t r;

	if (likely(!sock_out_wanted(addr, lenp)))
		return SYS(recvfrom)(fd, buf, n, flags, addr, lenp);
	r = SYS(recvfrom)(fd, buf, n, flags, (struct sockaddr *)&ss, &sl);
	if (r >= 0)
		sock_addr_out((struct sockaddr *)&ss, sl, addr, lenp);
	return r;
}

SHIM_API ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				struct sockaddr *addr, socklen_t *lenp)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, addr, lenp);
}

SHIM_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct sockaddr_storage ss;
	struct msghdr m;
	ssize_t r;

	if (likely(!msg || user_writable(msg, sizeof(*msg)) ||
		   !sock_out_wanted(msg->msg_name, &msg->msg_namelen)))
		return SYS(recvmsg)(fd, msg, flags);
	m = *msg;
	m.msg_name = &ss;
	m.msg_namelen = sizeof(ss);
	r = SYS(recvmsg)(fd, &m, flags);
	if (r >= 0) {
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = m.msg_flags;
		sock_addr_out((struct sockaddr *)&ss, m.msg_namelen, msg->msg_name,
			      &msg->msg_namelen);
	}
	return r;
}

SHIM_API int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		      struct timespec *timeout)
{
	struct sockaddr_storage *names;
	struct mmsghdr *kvec;
	int r, saved;

	if (likely(!vec || !sock_translating()))
		return SYS(recvmmsg)(fd, vec, vlen, flags, timeout);
	if (vlen > MMSG_MAX)
		vlen = MMSG_MAX;
	if (user_writable(vec, vlen * sizeof(*vec)))
		return SYS(recvmmsg)(fd, vec, vlen, flags, timeout); /* the kernel's EFAULT */
	kvec = malloc(vlen * sizeof(*kvec) + 1);
	names = malloc(vlen * sizeof(*names) + 1);
	if (!kvec || !names) {
		free(kvec);
		free(names);
		return (int)shim_ret(-ENOMEM);
	}
	memcpy(kvec, vec, vlen * sizeof(*kvec));
	for (unsigned int i = 0; i < vlen; i++) {
		if (vec[i].msg_hdr.msg_name && (int)vec[i].msg_hdr.msg_namelen >= 0) {
			kvec[i].msg_hdr.msg_name = &names[i];
			kvec[i].msg_hdr.msg_namelen = sizeof(names[i]);
		}
	}
	r = SYS(recvmmsg)(fd, kvec, vlen, flags, timeout);
	saved = errno;
	for (int i = 0; i < r; i++) {
		struct msghdr *h = &vec[i].msg_hdr;

		vec[i].msg_len = kvec[i].msg_len;
		h->msg_controllen = kvec[i].msg_hdr.msg_controllen;
		h->msg_flags = kvec[i].msg_hdr.msg_flags;
		if (kvec[i].msg_hdr.msg_name == &names[i])
			sock_addr_out((struct sockaddr *)&names[i], kvec[i].msg_hdr.msg_namelen,
				      h->msg_name, &h->msg_namelen);
	}
	free(kvec);
	free(names);
	if (r < 0)
		errno = saved;
	return r;
}

/* socket and socketpair make descriptors: the lowest free numbers, which a
 * parked one (ofd_slot.c) must not hold. */
SHIM_API int socket(int domain, int type, int protocol)
{
	fd_unpark_all();
	return SYS(socket)(domain, type, protocol);
}

SHIM_API int socketpair(int domain, int type, int protocol, int sv[2])
{
	fd_unpark_all();
	return SYS(socketpair)(domain, type, protocol, sv);
}
