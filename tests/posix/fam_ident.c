// SPDX-License-Identifier: MIT
/*
 * fam_ident.c - the "ident" family: every permission check follows the
 * credentials the process has now. Root prepares files, then changes who
 * it is (setfsuid/setfsgid, seteuid/setegid and back, setgroups with
 * setresgid/setresuid for good in a child) and checks access, open,
 * create, chmod, chown, unlink and the owner of what it creates; programs
 * started after a change (fork and exec of posix_test itself, system())
 * and one that changes before its first call on the directory check the
 * same. Needs root (as the perm family).
 */
#include <sys/fsuid.h>

#include "posix.h"

#define IDENT_GROUP 4242

/* "ident/TAG-what", kept for the check-name registry. */
static const char *tn(const char *tag, const char *what)
{
	char *s;

	if (asprintf(&s, "ident/%s-%s", tag, what) < 0)
		abort();
	return s;
}

static void ident_fsuid(void)
{
	R("ident/fsuid-setfsgid", setfsgid(NOBODY) >= 0);
	R("ident/fsuid-setfsuid", setfsuid(NOBODY) >= 0);
	RFDC("ident/fsuid-read-0600", open(P("ident/root600"), O_RDONLY));
	RFDC("ident/fsuid-read-0644", open(P("ident/root644"), O_RDONLY));
	RFDC("ident/fsuid-write-0644", open(P("ident/root644"), O_WRONLY));
	R("ident/fsuid-access-real", access(P("ident/root600"), R_OK));
	R("ident/fsuid-eaccess", faccessat(AT_FDCWD, P("ident/root600"), R_OK, AT_EACCESS));
	RFDC("ident/fsuid-create-in-0755", open(P("ident/denied"), O_WRONLY | O_CREAT, 0644));
	R("ident/fsuid-create-in-pub", close(open(P("ident/pub/fs-new"), O_WRONLY | O_CREAT, 0644)));
	ST("ident/fsuid-create-owner", stat(P("ident/pub/fs-new"), &S));
	R("ident/fsuid-chmod-other", chmod(P("ident/root644"), 0666));
	R("ident/fsuid-chmod-own", chmod(P("ident/pub/fs-new"), 0640));
	R("ident/fsuid-chown-own-away", chown(P("ident/pub/fs-new"), 0, (gid_t)-1));
	R("ident/fsuid-unlink-sticky-other", unlink(P("ident/pub/rootfile")));
	R("ident/fsuid-mknod-device", mknod(P("ident/pub/dev"), S_IFCHR | 0600, makedev(1, 3)));
	R("ident/fsuid-back-setfsuid", setfsuid(0) == NOBODY);
	R("ident/fsuid-back-setfsgid", setfsgid(0) == NOBODY);
	RFDC("ident/fsuid-back-read-0600", open(P("ident/root600"), O_RDONLY));
	R("ident/fsuid-back-chown", chown(P("ident/pub/fs-new"), 0, 0));
	ST("ident/fsuid-back-chown-stat", stat(P("ident/pub/fs-new"), &S));
}

static void ident_euid(void)
{
	R("ident/euid-setegid", setegid(NOBODY));
	R("ident/euid-seteuid", seteuid(NOBODY));
	RFDC("ident/euid-read-0600", open(P("ident/root600"), O_RDONLY));
	R("ident/euid-access-real", access(P("ident/root600"), R_OK));
	R("ident/euid-euidaccess", euidaccess(P("ident/root600"), R_OK));
	R("ident/euid-mkdir-in-0755", mkdir(P("ident/denied"), 0755));
	R("ident/euid-create-in-pub", close(open(P("ident/pub/eu-new"), O_WRONLY | O_CREAT, 0666)));
	ST("ident/euid-create-owner", stat(P("ident/pub/eu-new"), &S));
	R("ident/euid-utimes-other", utimensat(AT_FDCWD, P("ident/root644"), NULL, 0));
	R("ident/euid-rename-sticky-other", rename(P("ident/pub/rootfile"), P("ident/pub/x")));
	R("ident/euid-back-seteuid", seteuid(0));
	R("ident/euid-back-setegid", setegid(0));
	RFDC("ident/euid-back-read-0600", open(P("ident/root600"), O_RDONLY));
	R("ident/euid-back-create", close(open(P("ident/pub/root-new"), O_WRONLY | O_CREAT, 0644)));
	ST("ident/euid-back-create-owner", stat(P("ident/pub/root-new"), &S));
	R("ident/euid-back-unlink-other", unlink(P("ident/pub/eu-new")));
}

/* What a program started as (or turned into) uid 65534 sees. */
static void ident_as_nobody(const char *tag)
{
	char path[64];

	emit(tn(tag, "ids"), "uid=%u euid=%u gid=%u egid=%u", (unsigned)getuid(),
	     (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid());
	RFDC(tn(tag, "read-0644"), open(P("ident/root644"), O_RDONLY));
	content(tn(tag, "content-0644"), "ident/root644");
	RFDC(tn(tag, "read-0600"), open(P("ident/root600"), O_RDONLY));
	R(tn(tag, "access-0600"), access(P("ident/root600"), R_OK));
	RFDC(tn(tag, "read-group"), open(P("ident/grp640"), O_RDONLY));
	snprintf(path, sizeof(path), "ident/pub/%s-new", tag);
	R(tn(tag, "create-in-pub"), close(open(P(path), O_WRONLY | O_CREAT, 0644)));
	ST(tn(tag, "create-owner"), stat(P(path), &S));
	R(tn(tag, "unlink-sticky-other"), unlink(P("ident/pub/rootfile")));
	R(tn(tag, "unlink-in-0755"), unlink(P("ident/root644")));
	R(tn(tag, "chmod-other"), chmod(P("ident/root644"), 0666));
	/* "d/." needs d searched, also where realpath would drop the dot */
	snprintf(path, sizeof(path), "ident/pub/%s-link", tag);
	R(tn(tag, "stat-dot-0700"), stat(P("ident/priv/."), &S));
	R(tn(tag, "link-dot-0700"), linkat(AT_FDCWD, P("ident/priv/."), AT_FDCWD, P(path), 0));
	R(tn(tag, "link-follow-dot-0700"),
	  linkat(AT_FDCWD, P("ident/priv/."), AT_FDCWD, P(path), AT_SYMLINK_FOLLOW));
	R(tn(tag, "link-follow-dot-exists"),
	  linkat(AT_FDCWD, P("ident/priv/."), AT_FDCWD, P("ident/root644"), AT_SYMLINK_FOLLOW));
	R(tn(tag, "setuid-back"), setuid(0));
}

/* posix_test --ident-exec DIR TAG: a program started by the family. */
int ident_exec(const char *dir, const char *tag)
{
	top = dir;
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	if (!strcmp(tag, "fresh")) {
		/* changes who it is before its first call on DIR */
		gid_t g = IDENT_GROUP;

		if (setgroups(1, &g) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			setup_fail("setresuid", "", errno);
	}
	ident_as_nobody(tag);
	return 0;
}

static void run_self(const char *name, const char *tag)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(self_exe, self_exe, "--ident-exec", top, tag, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		st = -1;
	emit(name, "exec'd child = %s", how_ended(st));
}

/* In a child: for good, as a daemon drops root. */
static void ident_dropped(void)
{
	gid_t g = IDENT_GROUP;
	char cmd[3 * PATH_MAX], buf[16] = "";
	int st, fd;
	pid_t pid;
	char *m;

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	/* a file a daemon opened as root: it keeps it, as the kernel keeps
	 * an open file across setuid */
	fd = RFD("ident/drop-kept-open", open(P("ident/kept600"), O_RDWR | O_CREAT, 0600));
	R("ident/drop-setgroups", setgroups(1, &g));
	R("ident/drop-setresgid", setresgid(NOBODY, NOBODY, NOBODY));
	R("ident/drop-setresuid", setresuid(NOBODY, NOBODY, NOBODY));
	ident_as_nobody("drop");
	R("ident/drop-create-sgid-dir", close(open(P("ident/sgid/f"), O_WRONLY | O_CREAT, 02755)));
	ST("ident/drop-create-sgid-dir-stat", stat(P("ident/sgid/f"), &S));
	R("ident/drop-mkdir-sgid-dir", mkdir(P("ident/sgid/d"), 0755));
	ST("ident/drop-mkdir-sgid-dir-stat", stat(P("ident/sgid/d"), &S));
	R("ident/drop-chgrp-member", chown(P("ident/sgid/f"), (uid_t)-1, IDENT_GROUP));
	R("ident/drop-chgrp-not-member", chown(P("ident/sgid/f"), (uid_t)-1, 0));
	R("ident/drop-chown-give-away", chown(P("ident/sgid/f"), 0, (gid_t)-1));
	R("ident/drop-chmod-sgid-own", chmod(P("ident/sgid/f"), 02750));
	ST("ident/drop-chmod-sgid-own-stat", stat(P("ident/sgid/f"), &S));
	R("ident/drop-rename-in-sgid-dir", rename(P("ident/sgid/f"), P("ident/sgid/g")));
	/* the kept file: mapped shared, written by a forked child */
	R("ident/drop-kept-write", pwrite(fd, "kept file.", 10, 0));
	m = RMAP("ident/drop-kept-mmap", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
	if (m) {
		m[0] = 'K';
		R("ident/drop-kept-munmap", munmap(m, 4096));
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(pwrite(fd, "F", 1, 5) == 1 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		st = -1;
	emit("ident/drop-kept-fork", "child = %s", how_ended(st));
	R("ident/drop-kept-read", pread(fd, buf, 10, 0));
	emit("ident/drop-kept-bytes", "%s", esc(buf, 10));
	R("ident/drop-kept-close", close(fd));
	/* programs started after the change */
	run_self("ident/drop-exec", "exec");
	snprintf(cmd, sizeof(cmd), "exec '%s' --ident-exec '%s' system", self_exe, top);
	fflush(stdout);
	st = system(cmd);
	emit("ident/drop-system", "system = %s", how_ended(st));
}

void t_ident(void)
{
	if (geteuid() != 0) {
		emit("ident/root", "not root: skipped");
		return;
	}
	mk("ident");
	put("ident/root600", "secret");
	chmod(P("ident/root600"), 0600);
	put("ident/root644", "public");
	put("ident/grp640", "group");
	chown(P("ident/grp640"), 0, IDENT_GROUP);
	chmod(P("ident/grp640"), 0640);
	mk("ident/pub");
	chmod(P("ident/pub"), 01777);
	mk("ident/priv");
	chmod(P("ident/priv"), 0700);
	put("ident/pub/rootfile", "r");
	chmod(P("ident/pub/rootfile"), 0666);
	mk("ident/sgid");
	chown(P("ident/sgid"), 0, IDENT_GROUP);
	chmod(P("ident/sgid"), 02775);

	ident_fsuid();
	ident_euid();
	as_user(0, 0, NULL, 0, ident_dropped);
	run_self("ident/fresh", "fresh");

	list("ident/after-pub", "ident/pub");
	list("ident/after-sgid", "ident/sgid");
	ST("ident/after-drop-new", stat(P("ident/pub/drop-new"), &S));
	ST("ident/after-exec-new", stat(P("ident/pub/exec-new"), &S));
	ST("ident/after-system-new", stat(P("ident/pub/system-new"), &S));
	ST("ident/after-fresh-new", stat(P("ident/pub/fresh-new"), &S));
	ST("ident/after-sgid-g", stat(P("ident/sgid/g"), &S));
	RFDC("ident/after-root-read-0600", open(P("ident/root600"), O_RDONLY));
}
