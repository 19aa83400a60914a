// SPDX-License-Identifier: MIT
/*
 * fam_fortify.c - the "fortify" family: calls as a _FORTIFY_SOURCE build
 * makes them. Debian builds its packages with _FORTIFY_SOURCE=2, which
 * turns read, pread, readlink, readlinkat, getcwd, getwd, realpath,
 * dprintf, vdprintf, recv, poll, ppoll, ttyname_r and fgets into their
 * checked variants (__read_chk...): other entry points of the C library,
 * each of which a library that serves the plain call must serve too. This
 * file alone is compiled so (meson.build); a length the compiler cannot
 * see (room()) makes it call the checked variant rather than prove the
 * call safe. Each call runs on a UMFS file (or directory), and the
 * descriptor calls again on its number just closed.
 */
#if !defined(_FORTIFY_SOURCE) || _FORTIFY_SOURCE < 2
#error "fam_fortify.c is compiled with _FORTIFY_SOURCE=2"
#endif
#include <sys/socket.h>

#include "posix.h"

/* n, hidden from the compiler: the checked variant is called */
static size_t room(size_t n)
{
	static volatile size_t v;

	v = n;
	return v;
}

static int vdprintf_of(int fd, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vdprintf(fd, fmt, ap);
	va_end(ap);
	return r;
}

/* The number of a UMFS file just closed: the library may keep it open
 * (parked), which the calls must not see. */
static int closed_number(void)
{
	int fd = openp("fortify/f", O_RDONLY);

	close(fd);
	return fd;
}

static void fortify_descriptor_calls(int fd)
{
	char b[64] = { 0 };
	struct pollfd pf[2] = { { fd, POLLIN | POLLOUT, 0 }, { -1, 0, 0 } };
	struct timespec zero = { 0, 0 };

	R("fortify/dprintf", dprintf(fd, "%s-%d\n", "dprintf", 42));
	R("fortify/vdprintf", vdprintf_of(fd, "%s-%d\n", "vdprintf", 7));
	R("fortify/pread", pread(fd, b, room(8), 0));
	emit("fortify/pread-bytes", "%s", esc(b, 8));
	R("fortify/lseek", lseek(fd, 0, SEEK_SET));
	R("fortify/read", read(fd, b, room(sizeof(b))));
	emit("fortify/read-bytes", "%s", esc(b, 18));
	R("fortify/recv", recv(fd, b, room(4), 0));
	RE("fortify/ttyname_r", ttyname_r(fd, b, room(sizeof(b))));
	R("fortify/poll", poll(pf, room(2), 0));
	emit("fortify/poll-revents", "%#x", (unsigned)pf[0].revents);
	pf[0].revents = 0;
	R("fortify/ppoll", ppoll(pf, room(2), &zero, NULL));
	emit("fortify/ppoll-revents", "%#x", (unsigned)pf[0].revents);
}

static void fortify_closed_calls(void)
{
	char b[16];
	struct pollfd pf = { closed_number(), POLLIN, 0 };

	R("fortify/closed-dprintf", dprintf(closed_number(), "x"));
	R("fortify/closed-read", read(closed_number(), b, room(sizeof(b))));
	R("fortify/closed-pread", pread(closed_number(), b, room(sizeof(b)), 0));
	R("fortify/closed-recv", recv(closed_number(), b, room(sizeof(b)), 0));
	RE("fortify/closed-ttyname_r", ttyname_r(closed_number(), b, room(sizeof(b))));
	R("fortify/closed-poll", poll(&pf, room(1), 0));
	emit("fortify/closed-poll-revents", "%#x", (unsigned)pf.revents);
}

static void fortify_path_calls(void)
{
	char b[PATH_MAX], line[32] = "";
	ssize_t n;
	FILE *f;

	n = R("fortify/readlink", readlink(P("fortify/l"), b, room(sizeof(b))));
	emit("fortify/readlink-target", "%.*s", n > 0 ? (int)n : 0, b);
	n = R("fortify/readlinkat", readlinkat(topfd, "fortify/l", b, room(sizeof(b))));
	emit("fortify/readlinkat-target", "%.*s", n > 0 ? (int)n : 0, b);
	RP("fortify/realpath", realpath(P("fortify/l"), b));
	emit("fortify/realpath-is", "%s", relpath(b));
	f = fopen(P("fortify/f"), "r");
	RP("fortify/fgets", f ? fgets(line, (int)room(sizeof(line)), f) : NULL);
	emit("fortify/fgets-line", "%s", esc(line, strlen(line)));
	if (f)
		fclose(f);
	/* last: the cwd moves into DIR/fortify */
	if (chdir(P("fortify")) != 0) {
		setup_fail("chdir", "fortify", errno);
		return;
	}
	RP("fortify/getcwd", getcwd(b, room(sizeof(b))));
	emit("fortify/getcwd-is", "%s", relpath(b));
	RP("fortify/getcwd-short", getcwd(b, room(2)));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	RP("fortify/getwd", getwd(b));
#pragma GCC diagnostic pop
	emit("fortify/getwd-is", "%s", relpath(b));
}

void t_fortify(void)
{
	int fd;

	if (mk("fortify") || sl("f", "fortify/l"))
		return;
	fd = openp("fortify/f", O_CREAT | O_RDWR);
	if (fd < 0)
		return;
	fortify_descriptor_calls(fd);
	close(fd);
	fortify_closed_calls();
	fortify_path_calls();
}
