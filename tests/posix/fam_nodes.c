// SPDX-License-Identifier: MIT
/*
 * fam_nodes.c - the "nodes" family: FIFOs and sockets as a user other
 * than their owner. Opening a FIFO checks the owner's, the group's or the
 * others' bits (one class, the first that matches) for each access mode,
 * blocking or not, before ENXIO for a writer nobody reads; renaming or
 * removing a FIFO or a socket in a sticky directory follows the rule for
 * regular files; a setgid directory hands its group (and, to directories,
 * its bit) to what is created in it, and a creator outside the group loses
 * a requested S_ISGID. Each runs as uid 65534 twice: in a child that
 * changed its ids (setgroups, setgid, setuid) and in a program that
 * setpriv started as that user (posix_test --nodes-exec DIR TAG), as su
 * or a daemon's launcher would. Needs root (as the perm family).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include "posix.h"

#define NODES_GROUP 4343
#define SETPRIV "/usr/bin/setpriv"

/* The FIFOs of nodes/fifo: owner, group and mode, named for who may do
 * what. The owner's class decides for the owner even when the group's or
 * the others' bits would allow more, and the group's for a member. */
static const struct fifo_case {
	const char *name;
	uid_t uid;
	gid_t gid;
	mode_t mode;
} fifo_cases[] = {
	{ "own-rw", NOBODY, 0, 0600 },
	{ "own-r", NOBODY, 0, 0400 },
	{ "own-w", NOBODY, 0, 0200 },
	{ "own-none-others-rw", NOBODY, 0, 0066 },
	{ "grp-rw", 0, NOBODY, 0060 },
	{ "grp-r", 0, NOBODY, 0040 },
	{ "grp-w", 0, NOBODY, 0020 },
	{ "grp-none-others-rw", 0, NOBODY, 0606 },
	{ "supp-rw", 0, NODES_GROUP, 0060 },
	{ "oth-rw", 0, 0, 0006 },
	{ "oth-r", 0, 0, 0004 },
	{ "oth-w", 0, 0, 0002 },
	{ "oth-none", 0, 0, 0660 },
	{ "none", NOBODY, NOBODY, 0000 },
};

static const struct {
	const char *name;
	int flags;
} fifo_modes[] = {
	{ "rdonly-nonblock", O_RDONLY | O_NONBLOCK },
	{ "rdonly", O_RDONLY },
	{ "wronly-nonblock", O_WRONLY | O_NONBLOCK },
	{ "wronly", O_WRONLY },
	{ "rdwr", O_RDWR },
	{ "rdwr-nonblock", O_RDWR | O_NONBLOCK },
	{ "wronly-trunc", O_WRONLY | O_TRUNC },
	{ "creat-wronly", O_WRONLY | O_CREAT },
	{ "path", O_PATH },
};

/* "nodes/TAG-what", kept for the check-name registry. */
static const char *tn(const char *tag, const char *what, const char *more)
{
	char *s;

	if (asprintf(&s, "nodes/%s-%s%s%s", tag, what, more ? "-" : "", more ? more : "") < 0)
		abort();
	return s;
}

static void node_as(const char *rel, mode_t type, uid_t uid, gid_t gid, mode_t mode)
{
	if (mknod(P(rel), type | 0600, 0))
		setup_fail("mknod", rel, errno);
	else if (chown(P(rel), uid, gid) || chmod(P(rel), mode))
		setup_fail("chown/chmod", rel, errno);
}

/* A socket bound at rel (the name stays after the close). */
static int bind_at(const char *rel)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0), r;

	if (s < 0)
		return -1;
	if (strlen(P(rel)) >= sizeof(a.sun_path)) {
		close(s);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, P(rel));
	r = bind(s, (struct sockaddr *)&a, sizeof(a));
	close(s);
	return r;
}

static void mode_is(const char *name, const char *rel)
{
	if (lstat(P(rel), &S))
		emit(name, "lstat(\"%s\") = -1 %s", rel, ename(errno));
	else
		emit(name, "lstat(\"%s\") = %s", rel, fmt_stat(&S));
}

static void nodes_fifos(const char *tag)
{
	char rel[128];

	for (size_t i = 0; i < ARRAY_SIZE(fifo_cases); i++) {
		snprintf(rel, sizeof(rel), "nodes/fifo/%s", fifo_cases[i].name);
		for (size_t m = 0; m < ARRAY_SIZE(fifo_modes); m++)
			RFDC(tn(tag, fifo_cases[i].name, fifo_modes[m].name),
			     open(P(rel), fifo_modes[m].flags));
	}
	/* nobody reads: ENXIO, but only after the permission check */
	RFDC(tn(tag, "alone-writer-allowed", NULL),
	     open(P("nodes/alone/own-rw"), O_WRONLY | O_NONBLOCK));
	RFDC(tn(tag, "alone-writer-denied", NULL),
	     open(P("nodes/alone/own-r"), O_WRONLY | O_NONBLOCK));
	RFDC(tn(tag, "alone-reader", NULL), open(P("nodes/alone/own-r"), O_RDONLY | O_NONBLOCK));
	RFDC(tn(tag, "no-search", NULL), open(P("nodes/closed/fifo"), O_RDONLY | O_NONBLOCK));
	R(tn(tag, "access-r", NULL), access(P("nodes/fifo/own-r"), R_OK));
	R(tn(tag, "access-w", NULL), access(P("nodes/fifo/own-r"), W_OK));
}

static void nodes_sticky(const char *tag)
{
	char mine[64], mine2[64], sock[64], sock2[64], bound[64], bound2[64];

	snprintf(mine, sizeof(mine), "nodes/sticky/%s-fifo", tag);
	snprintf(mine2, sizeof(mine2), "nodes/sticky/%s-fifo2", tag);
	snprintf(sock, sizeof(sock), "nodes/sticky/%s-sock", tag);
	snprintf(sock2, sizeof(sock2), "nodes/sticky/%s-sock2", tag);
	snprintf(bound, sizeof(bound), "nodes/sticky/%s-bound", tag);
	snprintf(bound2, sizeof(bound2), "nodes/sticky/%s-bound2", tag);
	R(tn(tag, "sticky-mkfifo-own", NULL), mkfifo(P(mine), 0644));
	R(tn(tag, "sticky-mknod-sock-own", NULL), mknod(P(sock), S_IFSOCK | 0644, 0));
	R(tn(tag, "sticky-bind-own", NULL), bind_at(bound));
	R(tn(tag, "sticky-rename-own-bound", NULL), rename(P(bound), P(bound2)));
	R(tn(tag, "sticky-rename-own-bound-over-other", NULL),
	  rename(P(bound2), P("nodes/sticky/root-bound")));
	R(tn(tag, "sticky-rename-other-fifo", NULL),
	  rename(P("nodes/sticky/root-fifo"), P("nodes/sticky/x")));
	R(tn(tag, "sticky-rename-other-sock", NULL),
	  rename(P("nodes/sticky/root-sock"), P("nodes/sticky/x")));
	R(tn(tag, "sticky-rename-other-bound", NULL),
	  rename(P("nodes/sticky/root-bound"), P("nodes/sticky/x")));
	R(tn(tag, "sticky-rename-over-other-fifo", NULL),
	  rename(P(mine), P("nodes/sticky/root-fifo")));
	R(tn(tag, "sticky-rename-over-other-sock", NULL),
	  rename(P(sock), P("nodes/sticky/root-sock")));
	R(tn(tag, "sticky-rename-into-over-other", NULL),
	  rename(P("nodes/pub/nobody-fifo"), P("nodes/sticky/root-fifo")));
	R(tn(tag, "sticky-exchange-other-fifo", NULL),
	  renameat2(AT_FDCWD, P(mine), AT_FDCWD, P("nodes/sticky/root-fifo"), RENAME_EXCHANGE));
	R(tn(tag, "sticky-unlink-other-fifo", NULL), unlink(P("nodes/sticky/root-fifo")));
	R(tn(tag, "sticky-unlink-other-sock", NULL), unlink(P("nodes/sticky/root-sock")));
	R(tn(tag, "sticky-rename-own-fifo", NULL), rename(P(mine), P(mine2)));
	R(tn(tag, "sticky-rename-own-sock", NULL), rename(P(sock), P(sock2)));
	R(tn(tag, "sticky-rename-own-over-own", NULL), rename(P(mine2), P(sock2)));
	ST(tn(tag, "sticky-rename-own-over-own-stat", NULL), lstat(P(sock2), &S));
	/* the directory's owner may, whoever owns the node */
	R(tn(tag, "dir-owner-rename-fifo", NULL),
	  rename(P("nodes/nsticky/root-fifo"), P("nodes/nsticky/moved-fifo")));
	R(tn(tag, "dir-owner-rename-sock", NULL),
	  rename(P("nodes/nsticky/root-sock"), P("nodes/nsticky/moved-sock")));
	R(tn(tag, "dir-owner-unlink-sock", NULL), unlink(P("nodes/nsticky/moved-sock")));
	/* put back for the next run */
	R(tn(tag, "dir-owner-rename-back", NULL),
	  rename(P("nodes/nsticky/moved-fifo"), P("nodes/nsticky/root-fifo")));
}

static void nodes_sgid(const char *tag)
{
	char rel[64];
	int fd;

	snprintf(rel, sizeof(rel), "nodes/sgid/%s-f", tag);
	R(tn(tag, "sgid-create", NULL), close(open(P(rel), O_WRONLY | O_CREAT, 02755)));
	mode_is(tn(tag, "sgid-create-stat", NULL), rel);
	snprintf(rel, sizeof(rel), "nodes/sgid/%s-f-nogx", tag);
	R(tn(tag, "sgid-create-no-gx", NULL), close(open(P(rel), O_WRONLY | O_CREAT, 02745)));
	mode_is(tn(tag, "sgid-create-no-gx-stat", NULL), rel);
	snprintf(rel, sizeof(rel), "nodes/sgid/%s-fifo", tag);
	R(tn(tag, "sgid-mknod-fifo", NULL), mknod(P(rel), S_IFIFO | 02755, 0));
	mode_is(tn(tag, "sgid-mknod-fifo-stat", NULL), rel);
	snprintf(rel, sizeof(rel), "nodes/sgid/%s-d", tag);
	R(tn(tag, "sgid-mkdir", NULL), mkdir(P(rel), 0700));
	mode_is(tn(tag, "sgid-mkdir-stat", NULL), rel);
	snprintf(rel, sizeof(rel), "nodes/sgid/%s-d/sub", tag);
	R(tn(tag, "sgid-mkdir-nested", NULL), mkdir(P(rel), 02700));
	mode_is(tn(tag, "sgid-mkdir-nested-stat", NULL), rel);
	snprintf(rel, sizeof(rel), "nodes/sgid/%s-d/sub/f", tag);
	R(tn(tag, "sgid-create-nested", NULL), close(open(P(rel), O_WRONLY | O_CREAT, 0640)));
	mode_is(tn(tag, "sgid-create-nested-stat", NULL), rel);
	fd = open(P("nodes/sgid"), O_TMPFILE | O_WRONLY, 02755);
	if (fd < 0) {
		emit(tn(tag, "sgid-tmpfile", NULL), "open(O_TMPFILE, 02755) = -1 %s", ename(errno));
	} else {
		if (fstat(fd, &S))
			emit(tn(tag, "sgid-tmpfile", NULL), "fstat = -1 %s", ename(errno));
		else
			emit(tn(tag, "sgid-tmpfile", NULL), "open(O_TMPFILE, 02755): %s", fmt_stat(&S));
		close(fd);
	}
	/* a rename into the directory keeps the file's group */
	snprintf(rel, sizeof(rel), "nodes/sgid/%s-moved", tag);
	R(tn(tag, "sgid-rename-in", NULL), rename(P("nodes/pub/nobody-file"), P(rel)));
	mode_is(tn(tag, "sgid-rename-in-stat", NULL), rel);
}

/* What uid 65534 sees: tag names the way it became that user. */
static void nodes_as_nobody(const char *tag)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	alarm(20); /* a FIFO open that waits for good must not hang the run */
	emit(tn(tag, "ids", NULL), "uid=%u euid=%u gid=%u egid=%u groups=%d", (unsigned)getuid(),
	     (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid(), getgroups(0, NULL));
	nodes_fifos(tag);
	nodes_sticky(tag);
	nodes_sgid(tag);
}

static void nodes_child(void)
{
	nodes_as_nobody("child");
}

/* posix_test --nodes-exec DIR TAG: the program setpriv started. */
int nodes_exec(const char *dir, const char *tag)
{
	top = dir;
	nodes_as_nobody(tag);
	return 0;
}

/* Per run: what the runs before it moved or removed, made again. */
static void nodes_prepare_run(void)
{
	unlink(P("nodes/pub/nobody-fifo"));
	unlink(P("nodes/pub/nobody-file"));
	node_as("nodes/pub/nobody-fifo", S_IFIFO, NOBODY, NOBODY, 0644);
	node_as("nodes/pub/nobody-file", S_IFREG, NOBODY, NOBODY, 0644);
}

static void run_setpriv(const char *tag)
{
	pid_t pid;
	int st;

	if (access(SETPRIV, X_OK)) {
		emit(tn(tag, "run", NULL), "%s: not there, skipped", SETPRIV);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(SETPRIV, SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
		      self_exe, "--nodes-exec", top, tag, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		st = -1;
	emit(tn(tag, "run", NULL), "setpriv = %s", how_ended(st));
}

void t_nodes(void)
{
	gid_t grp = NODES_GROUP;
	int held[ARRAY_SIZE(fifo_cases)];
	char rel[128];

	if (geteuid() != 0) {
		emit("nodes/root", "not root: skipped");
		return;
	}
	mk("nodes");
	mk("nodes/fifo");
	mk("nodes/alone");
	mk("nodes/closed");
	mk("nodes/pub");
	chmod(P("nodes/pub"), 0777);
	for (size_t i = 0; i < ARRAY_SIZE(fifo_cases); i++) {
		const struct fifo_case *c = &fifo_cases[i];

		snprintf(rel, sizeof(rel), "nodes/fifo/%s", c->name);
		node_as(rel, S_IFIFO, c->uid, c->gid, c->mode);
		/* a reader and a writer: no open of it waits */
		held[i] = open(P(rel), O_RDWR | O_NONBLOCK);
		if (held[i] < 0)
			setup_fail("open", rel, errno);
	}
	node_as("nodes/alone/own-rw", S_IFIFO, NOBODY, 0, 0600);
	node_as("nodes/alone/own-r", S_IFIFO, NOBODY, 0, 0400);
	node_as("nodes/closed/fifo", S_IFIFO, NOBODY, NOBODY, 0666);
	chmod(P("nodes/closed"), 0700);
	/* root opens what nobody may */
	RFDC("nodes/root-open-none-rdwr", open(P("nodes/fifo/none"), O_RDWR));
	RFDC("nodes/root-open-none-wronly-nonblock",
	     open(P("nodes/alone/own-r"), O_WRONLY | O_NONBLOCK));

	mk("nodes/sticky");
	chmod(P("nodes/sticky"), 01777);
	node_as("nodes/sticky/root-fifo", S_IFIFO, 0, 0, 0666);
	node_as("nodes/sticky/root-sock", S_IFSOCK, 0, 0, 0666);
	R("nodes/root-bind-in-sticky", bind_at("nodes/sticky/root-bound"));
	mk("nodes/nsticky");
	chown(P("nodes/nsticky"), NOBODY, NOBODY);
	chmod(P("nodes/nsticky"), 01777);
	node_as("nodes/nsticky/root-fifo", S_IFIFO, 0, 0, 0644);
	node_as("nodes/nsticky/root-sock", S_IFSOCK, 0, 0, 0644);

	mk("nodes/sgid");
	chown(P("nodes/sgid"), 0, NODES_GROUP);
	chmod(P("nodes/sgid"), 02777);

	nodes_prepare_run();
	as_user(NOBODY, NOBODY, &grp, 1, nodes_child);
	node_as("nodes/nsticky/root-sock", S_IFSOCK, 0, 0, 0644);
	nodes_prepare_run();
	run_setpriv("setpriv");

	for (size_t i = 0; i < ARRAY_SIZE(fifo_cases); i++)
		if (held[i] >= 0)
			close(held[i]);
	list("nodes/after-sticky", "nodes/sticky");
	list("nodes/after-nsticky", "nodes/nsticky");
	list("nodes/after-sgid", "nodes/sgid");
}
