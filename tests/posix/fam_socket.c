/* SPDX-License-Identifier: MIT */
/*
 * fam_socket.c - the "socket" family: Unix socket names in the file
 * system. bind makes the name (type, mode from the umask, owner), it is
 * listed, stat'ed, refused to open, and takes part in EEXIST as any name;
 * connect and sendto reach the socket bound there, from this process and
 * from a child, by absolute and relative path, through a directory
 * descriptor, a rename, a hard link and a symlink; getsockname,
 * getpeername, accept and recvfrom give back the address as bound; what is
 * not a listening socket is refused. Addresses print relative to DIR.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "posix.h"

static socklen_t su(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1);
}

static int usock(int type)
{
	return socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
}

static int bind_to(int s, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = su(&sa, path);

	return bind(s, (struct sockaddr *)&sa, len);
}

static int connect_to(int s, const char *path)
{
	struct sockaddr_un sa;
	socklen_t len = su(&sa, path);

	return connect(s, (struct sockaddr *)&sa, len);
}

/* An address as a check prints it: DIR for the directory, the length
 * beyond the path (the kernel counts the terminating NUL). */
static const char *fmt_addr(const struct sockaddr_un *sa, socklen_t len)
{
	static char b[2][256];
	static unsigned int k;
	char *o = b[k++ % 2];
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t tl = strlen(top);

	if (len < off) {
		snprintf(o, 256, "len=%u", (unsigned int)len);
	} else if (len == off) {
		snprintf(o, 256, "unnamed");
	} else if (sa->sun_path[0] == '\0') {
		snprintf(o, 256, "abstract");
	} else if (!strncmp(sa->sun_path, top, tl) && sa->sun_path[tl] == '/') {
		snprintf(o, 256, "\"DIR%s\" +%ld", sa->sun_path + tl,
			 (long)len - (long)(off + strlen(sa->sun_path)));
	} else {
		snprintf(o, 256, "\"%s\" +%ld", sa->sun_path,
			 (long)len - (long)(off + strlen(sa->sun_path)));
	}
	return o;
}

enum name_call { NAME_SOCK, NAME_PEER };

static void show_name(const char *name, int s, enum name_call which)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int r;

	memset(&sa, 0, sizeof(sa));
	errno = 0;
	r = which == NAME_SOCK ? getsockname(s, (struct sockaddr *)&sa, &len)
			       : getpeername(s, (struct sockaddr *)&sa, &len);
	if (r)
		emit(name, "%s = -1 %s", which == NAME_SOCK ? "getsockname" : "getpeername",
		     ename(errno));
	else
		emit(name, "%s = %s", which == NAME_SOCK ? "getsockname" : "getpeername",
		     fmt_addr(&sa, len));
}

/* A short read from s (poll first: a check never hangs). */
static void recv_show(const char *name, int s)
{
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	char buf[32];
	ssize_t n;

	if (poll(&pfd, 1, 5000) != 1) {
		emit(name, "recv = timeout");
		return;
	}
	n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	emit(name, "recv = %zd %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno));
}

/* Accepts one connection (poll first), shows its addresses and data. */
static void accept_show(const char *name, int ls, const char *what)
{
	struct pollfd pfd = { .fd = ls, .events = POLLIN };
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	char n2[128];
	int a;

	if (poll(&pfd, 1, 5000) != 1) {
		emit(name, "accept = timeout");
		return;
	}
	a = accept4(ls, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
	if (a < 0) {
		emit(name, "accept = -1 %s", ename(errno));
		return;
	}
	emit(name, "accept = fd, peer %s", fmt_addr(&sa, len));
	/* check names are kept by pointer: these must outlive the call */
	snprintf(n2, sizeof(n2), "%s-local", name);
	show_name(strdup(n2), a, NAME_SOCK);
	if (what) {
		snprintf(n2, sizeof(n2), "%s-data", name);
		recv_show(strdup(n2), a);
	}
	close(a);
}

static void child_connects(void)
{
	int c = usock(SOCK_STREAM);

	if (connect_to(c, P("socket/srv")) || send(c, "child", 5, 0) != 5)
		_exit(1);
	close(c);
}

static void child_sends_dgram(void)
{
	int c = usock(SOCK_DGRAM);
	struct sockaddr_un sa;
	socklen_t len = su(&sa, P("socket/dg2"));

	if (sendto(c, "from child", 10, 0, (struct sockaddr *)&sa, len) != 10)
		_exit(1);
	close(c);
}

static void nobody_connects(void)
{
	int c = usock(SOCK_STREAM);

	R("socket/nobody-connect-0755", connect_to(c, P("socket/srv")));
	close(c);
}

static void nobody_connects_open(void)
{
	int c = usock(SOCK_STREAM);

	R("socket/nobody-connect-0777", connect_to(c, P("socket/srv")));
	close(c);
	c = usock(SOCK_STREAM);
	R("socket/nobody-bind-no-write", bind_to(c, P("socket/nobody")));
	close(c);
}

static void t_socket_names(void)
{
	int s, s2, fd;

	/* bind makes the name: S_IFSOCK, the socket's mode less the umask */
	s = usock(SOCK_STREAM);
	R("socket/bind", bind_to(s, P("socket/a")));
	ST("socket/bind-stat", lstat(P("socket/a"), &S));
	R("socket/bind-again", bind_to(s, P("socket/a2")));
	ST("socket/bind-again-no-name", lstat(P("socket/a2"), &S));
	s2 = usock(SOCK_STREAM);
	R("socket/bind-exists", bind_to(s2, P("socket/a")));
	R("socket/bind-exists-then-free", bind_to(s2, P("socket/b")));
	close(s2);
	umask(077);
	s2 = usock(SOCK_DGRAM);
	R("socket/bind-umask-077", bind_to(s2, P("socket/u")));
	ST("socket/bind-umask-077-stat", lstat(P("socket/u"), &S));
	close(s2);
	umask(022);
	s2 = usock(SOCK_STREAM);
	R("socket/fchmod-before-bind", fchmod(s2, 0640));
	R("socket/bind-after-fchmod", bind_to(s2, P("socket/m")));
	ST("socket/bind-after-fchmod-stat", lstat(P("socket/m"), &S));
	close(s2);

	/* where bind cannot make the name */
	s2 = usock(SOCK_STREAM);
	R("socket/bind-noent", bind_to(s2, P("socket/missing/x")));
	R("socket/bind-notdir", bind_to(s2, P("socket/file/x")));
	R("socket/bind-on-file", bind_to(s2, P("socket/file")));
	R("socket/bind-on-dir", bind_to(s2, P("socket/dir")));
	R("socket/bind-on-dangling-symlink", bind_to(s2, P("socket/dangling")));
	ST("socket/bind-on-dangling-symlink-target", lstat(P("socket/nowhere"), &S));
	R("socket/bind-trailing-slash", bind_to(s2, P("socket/ts/")));
	R("socket/bind-not-a-socket", bind_to(topfd, P("socket/nosock")));
	R("socket/bind-badfd", bind_to(BADFD, P("socket/nosock")));
	ST("socket/bind-failed-no-name", lstat(P("socket/nosock"), &S));
	close(s2);

	/* the name is a name like any other */
	list("socket/list", "socket");
	R("socket/mkdir-on", mkdir(P("socket/a"), 0755));
	R("socket/mknod-on", mknod(P("socket/a"), S_IFIFO | 0644, 0));
	R("socket/mkfifo-on", mkfifo(P("socket/a"), 0644));
	R("socket/symlink-on", symlink("x", P("socket/a")));
	R("socket/link-on", link(P("socket/file"), P("socket/a")));
	RFDC("socket/open-excl-on", open(P("socket/a"), O_WRONLY | O_CREAT | O_EXCL, 0644));
	RFDC("socket/open-rdonly", open(P("socket/a"), O_RDONLY));
	RFDC("socket/open-wronly", open(P("socket/a"), O_WRONLY));
	RFDC("socket/open-creat", open(P("socket/a"), O_RDWR | O_CREAT, 0644));
	fd = RFD("socket/open-path", open(P("socket/a"), O_PATH));
	if (fd >= 0) {
		ST("socket/open-path-fstat", fstat(fd, &S));
		close(fd);
	}
	R("socket/access-w", access(P("socket/a"), W_OK));
	R("socket/chmod", chmod(P("socket/a"), 0700));
	ST("socket/chmod-stat", lstat(P("socket/a"), &S));
	R("socket/truncate", truncate(P("socket/a"), 0));
	R("socket/link", link(P("socket/a"), P("socket/a-link")));
	ST("socket/link-stat", lstat(P("socket/a-link"), &S));
	R("socket/rename", rename(P("socket/a-link"), P("socket/a-moved")));
	R("socket/unlink", unlink(P("socket/a-moved")));
	R("socket/rmdir-on", rmdir(P("socket/a")));
	close(s);
	ST("socket/name-outlives-socket", lstat(P("socket/a"), &S));
	R("socket/unlink-after-close", unlink(P("socket/a")));
	ST("socket/unlink-after-close-stat", lstat(P("socket/a"), &S));

	/* a relative name goes where the cwd is; a directory descriptor too */
	if (chdir(P("socket")) == 0) {
		char via[64];

		s = usock(SOCK_STREAM);
		R("socket/bind-relative", bind_to(s, "rel"));
		ST("socket/bind-relative-stat", lstat(P("socket/rel"), &S));
		show_name("socket/bind-relative-name", s, NAME_SOCK);
		R("socket/listen-relative", listen(s, 4));
		s2 = usock(SOCK_STREAM);
		R("socket/connect-relative", connect_to(s2, "rel"));
		show_name("socket/connect-relative-peer", s2, NAME_PEER);
		accept_show("socket/accept-relative", s, NULL);
		close(s2);
		close(s);
		s2 = usock(SOCK_STREAM);
		R("socket/connect-relative-dotdot", connect_to(s2, "../socket/rel"));
		close(s2);
		fd = open(".", O_RDONLY | O_DIRECTORY);
		if (fchdir(topfd))
			setup_fail("fchdir", ".", errno);
		snprintf(via, sizeof(via), "/proc/self/fd/%d/viafd", fd);
		s = usock(SOCK_DGRAM);
		R("socket/bind-through-dirfd", bind_to(s, via));
		ST("socket/bind-through-dirfd-stat", lstat(P("socket/viafd"), &S));
		{
			struct sockaddr_un sa;
			socklen_t len = sizeof(sa);

			getsockname(s, (struct sockaddr *)&sa, &len);
			emit("socket/bind-through-dirfd-name", "getsockname = %s",
			     strcmp(sa.sun_path, via) ? fmt_addr(&sa, len) : "as bound");
		}
		s2 = usock(SOCK_DGRAM);
		R("socket/connect-through-dirfd", connect_to(s2, via));
		R("socket/send-through-dirfd", send(s2, "via", 3, 0));
		recv_show("socket/send-through-dirfd-recv", s);
		close(s2);
		close(s);
		close(fd);
	}
}

static void t_socket_stream(void)
{
	int ls, c, c2;

	ls = usock(SOCK_STREAM);
	R("socket/srv-bind", bind_to(ls, P("socket/srv")));
	c = usock(SOCK_STREAM);
	R("socket/connect-not-listening", connect_to(c, P("socket/srv")));
	close(c);
	R("socket/srv-listen", listen(ls, 8));
	show_name("socket/srv-name", ls, NAME_SOCK);

	c = usock(SOCK_STREAM);
	R("socket/connect", connect_to(c, P("socket/srv")));
	show_name("socket/connect-peer", c, NAME_PEER);
	show_name("socket/connect-local", c, NAME_SOCK);
	R("socket/send", send(c, "ping", 4, 0));
	accept_show("socket/accept", ls, "ping");
	close(c);
	R("socket/connect-again", connect_to(c = usock(SOCK_STREAM), P("socket/srv")));
	R("socket/connect-connected", connect_to(c, P("socket/srv")));
	accept_show("socket/accept-again", ls, NULL);
	close(c);

	/* from another process */
	in_child("socket/child-connect", "child connects and sends \"child\"", child_connects);
	accept_show("socket/accept-child", ls, "child");

	/* a bound client's name reaches the server */
	c = usock(SOCK_STREAM);
	R("socket/client-bind", bind_to(c, P("socket/cli")));
	R("socket/client-connect", connect_to(c, P("socket/srv")));
	accept_show("socket/accept-bound-client", ls, NULL);
	close(c);

	/* the permission to connect is write permission on the name */
	as_user(NOBODY, NOBODY, NULL, 0, nobody_connects);
	{
		struct pollfd pfd = { .fd = ls, .events = POLLIN };

		R("socket/nobody-0755-nothing-queued", poll(&pfd, 1, 0));
	}
	R("socket/chmod-0777", chmod(P("socket/srv"), 0777));
	as_user(NOBODY, NOBODY, NULL, 0, nobody_connects_open);
	accept_show("socket/nobody-accept-0777", ls, NULL);

	/* other names of the same socket */
	R("socket/rename-srv", rename(P("socket/srv"), P("socket/srv2")));
	R("socket/connect-old-name", connect_to(c = usock(SOCK_STREAM), P("socket/srv")));
	close(c);
	if (R("socket/connect-renamed", connect_to(c = usock(SOCK_STREAM), P("socket/srv2"))) == 0)
		accept_show("socket/accept-renamed", ls, NULL);
	close(c);
	show_name("socket/name-after-rename", ls, NAME_SOCK);
	R("socket/hardlink-srv", link(P("socket/srv2"), P("socket/srv3")));
	if (R("socket/connect-hardlink", connect_to(c = usock(SOCK_STREAM), P("socket/srv3"))) == 0)
		accept_show("socket/accept-hardlink", ls, NULL);
	close(c);
	R("socket/symlink-srv", symlink("srv2", P("socket/srv-sl")));
	if (R("socket/connect-symlink", connect_to(c = usock(SOCK_STREAM), P("socket/srv-sl"))) == 0)
		accept_show("socket/accept-symlink", ls, NULL);
	close(c);

	/* unlinked while listening: unreachable by name, connections live on */
	R("socket/connect-before-unlink", connect_to(c = usock(SOCK_STREAM), P("socket/srv2")));
	c2 = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	R("socket/unlink-listening", unlink(P("socket/srv2")));
	R("socket/unlink-listening-link", unlink(P("socket/srv3")));
	R("socket/connect-unlinked", connect_to(c = usock(SOCK_STREAM), P("socket/srv2")));
	close(c);
	R("socket/connect-dangling-symlink", connect_to(c = usock(SOCK_STREAM), P("socket/srv-sl")));
	close(c);
	R("socket/send-after-unlink", send(c2, "live", 4, 0));
	close(c2);
	close(ls);

	/* what is not a listening socket */
	c = usock(SOCK_STREAM);
	R("socket/connect-noent", connect_to(c, P("socket/none")));
	R("socket/connect-file", connect_to(c, P("socket/file")));
	R("socket/connect-dir", connect_to(c, P("socket/dir")));
	R("socket/connect-fifo", connect_to(c, P("socket/fifo")));
	R("socket/connect-notdir", connect_to(c, P("socket/file/x")));
	R("socket/connect-mknod-sock", connect_to(c, P("socket/mknod-sock")));
	R("socket/connect-closed-listener", connect_to(c, P("socket/m")));
	R("socket/connect-trailing-slash", connect_to(c, P("socket/cli/")));
	R("socket/connect-badfd", connect_to(BADFD, P("socket/cli")));
	R("socket/connect-not-a-socket", connect_to(topfd, P("socket/cli")));
	close(c);
	c = usock(SOCK_DGRAM);
	R("socket/connect-dgram-to-stream", connect_to(c, P("socket/cli")));
	close(c);
}

static void t_socket_dgram(void)
{
	struct sockaddr_un sa, from;
	struct msghdr mh;
	struct iovec iov;
	socklen_t len, flen;
	char buf[32];
	int d1, d2, d3;
	ssize_t n;

	d1 = usock(SOCK_DGRAM);
	d2 = usock(SOCK_DGRAM);
	R("socket/dgram-bind-1", bind_to(d1, P("socket/dg1")));
	R("socket/dgram-bind-2", bind_to(d2, P("socket/dg2")));
	len = su(&sa, P("socket/dg2"));
	R("socket/sendto", sendto(d1, "dg", 2, 0, (struct sockaddr *)&sa, len));
	flen = sizeof(from);
	memset(&from, 0, sizeof(from));
	n = recvfrom(d2, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	emit("socket/recvfrom", "recvfrom = %zd %s from %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno),
	     fmt_addr(&from, flen));

	/* the address is cut to the buffer; its whole length comes back */
	R("socket/sendto-again", sendto(d1, "cut", 3, 0, (struct sockaddr *)&sa, len));
	flen = offsetof(struct sockaddr_un, sun_path) + 4;
	memset(&from, 0, sizeof(from));
	n = recvfrom(d2, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	emit("socket/recvfrom-short-buffer", "recvfrom = %zd, len %s, %s", n,
	     flen == su(&sa, P("socket/dg1")) ? "whole" : "other",
	     !strncmp(from.sun_path, top, 4) && from.sun_path[4] == '\0' ? "cut" : "not cut");

	/* sendmsg and recvmsg name the peer in msg_name */
	len = su(&sa, P("socket/dg1"));
	iov.iov_base = "msg";
	iov.iov_len = 3;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &sa;
	mh.msg_namelen = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	R("socket/sendmsg", sendmsg(d2, &mh, 0));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &from;
	mh.msg_namelen = sizeof(from);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	n = recvmsg(d1, &mh, MSG_DONTWAIT);
	emit("socket/recvmsg", "recvmsg = %zd %s from %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno),
	     fmt_addr(&from, mh.msg_namelen));

	/* an unbound sender, and a sender in another process */
	d3 = usock(SOCK_DGRAM);
	len = su(&sa, P("socket/dg2"));
	R("socket/sendto-unbound", sendto(d3, "anon", 4, 0, (struct sockaddr *)&sa, len));
	flen = sizeof(from);
	n = recvfrom(d2, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
	emit("socket/recvfrom-unbound", "recvfrom = %zd %s from %s", n,
	     n >= 0 ? esc(buf, (size_t)n) : ename(errno), fmt_addr(&from, flen));
	in_child("socket/child-sendto", "child sends a datagram", child_sends_dgram);
	n = recv(d2, buf, sizeof(buf), MSG_DONTWAIT);
	emit("socket/child-sendto-recv", "recv = %zd %s", n, n >= 0 ? esc(buf, (size_t)n) : ename(errno));
	R("socket/dgram-connect", connect_to(d3, P("socket/dg1")));
	R("socket/dgram-send-connected", send(d3, "conn", 4, 0));
	recv_show("socket/dgram-recv-connected", d1);
	show_name("socket/dgram-peer", d3, NAME_PEER);
	len = su(&sa, P("socket/none"));
	R("socket/sendto-noent", sendto(d1, "x", 1, 0, (struct sockaddr *)&sa, len));
	len = su(&sa, P("socket/file"));
	R("socket/sendto-file", sendto(d1, "x", 1, 0, (struct sockaddr *)&sa, len));
	len = su(&sa, P("socket/srv-sl"));
	R("socket/sendto-stream-gone", sendto(d1, "x", 1, 0, (struct sockaddr *)&sa, len));
	len = su(&sa, P("socket/mknod-sock"));
	R("socket/sendto-never-bound", sendto(d1, "x", 1, 0, (struct sockaddr *)&sa, len));
	len = su(&sa, P("socket/u"));
	R("socket/sendto-closed", sendto(d1, "x", 1, 0, (struct sockaddr *)&sa, len));

	/* sendmmsg: a destination per message */
	{
		struct sockaddr_un dst[2];
		struct iovec v[2] = { { "m1", 2 }, { "m22", 3 } };
		struct mmsghdr mm[2];

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 2; i++) {
			mm[i].msg_hdr.msg_name = &dst[i];
			mm[i].msg_hdr.msg_namelen = su(&dst[i], P("socket/dg2"));
			mm[i].msg_hdr.msg_iov = &v[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		R("socket/sendmmsg", sendmmsg(d1, mm, 2, 0));
		emit("socket/sendmmsg-lengths", "msg_len = %u %u", mm[0].msg_len, mm[1].msg_len);
		recv_show("socket/sendmmsg-recv-1", d2);
		recv_show("socket/sendmmsg-recv-2", d2);
	}
	close(d1);
	close(d2);
	close(d3);
	list("socket/list-end", "socket");
}

/* Names outside the file system are the kernel's alone. */
static void t_socket_abstract(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	char name[64];
	int s, c;

	snprintf(name, sizeof(name), "umfs-posix-%d", (int)getpid());
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	s = usock(SOCK_STREAM);
	R("socket/abstract-bind", bind(s, (struct sockaddr *)&sa, len));
	R("socket/abstract-listen", listen(s, 1));
	c = usock(SOCK_STREAM);
	R("socket/abstract-connect", connect(c, (struct sockaddr *)&sa, len));
	show_name("socket/abstract-name", s, NAME_SOCK);
	close(c);
	close(s);
	s = usock(SOCK_STREAM);
	len = sizeof(sa_family_t);
	R("socket/autobind", bind(s, (struct sockaddr *)&sa, len));
	close(s);
}

void t_socket(void)
{
	int s;

	mk("socket");
	mk("socket/dir");
	put("socket/file", "f");
	sl("nowhere", "socket/dangling");
	mkfifo(P("socket/fifo"), 0644);
	mknod(P("socket/mknod-sock"), S_IFSOCK | 0644, 0);
	s = usock(SOCK_STREAM);
	if (s < 0) {
		setup_fail("socket", "", errno);
		return;
	}
	close(s);
	t_socket_names();
	t_socket_stream();
	t_socket_dgram();
	t_socket_abstract();
}
