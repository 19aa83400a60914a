/* SPDX-License-Identifier: MIT */
/*
 * fam_longpath.c - relative paths of up to PATH_MAX - 1 bytes from a
 * directory whose own path is longer than PATH_MAX: the kernel walks them
 * from the cwd's or the dirfd's dentry, so only their own length counts.
 *
 * A chain of LP_DEPTH directories with names of LP_NAME bytes is made
 * under longpath/, the first half with mkdirat on dirfds, the second with
 * mkdir and chdir. At the bottom (its path from DIR is about 5 KiB):
 * getcwd, then open, stat, mkdir, rename, link, symlink, readlink, unlink
 * and rmdir with relative paths of exactly PATH_MAX - 1 bytes ("././...",
 * "a/../a/../...", "../NAME/../NAME/..."), from the cwd and from dirfds,
 * the same at PATH_MAX bytes (ENAMETOOLONG), a symlink with an absolute
 * target, a directory nobody may search, a directory above the cwd
 * renamed, a child started there, chdir with a long relative path. The tree is removed at the
 * end, from the bottom, with dirfds.
 */
#include "posix.h"

#define LP_DEPTH 20
#define LP_NAME 250

static char lp_name[LP_NAME + 1];
static int lp_fd[LP_DEPTH + 1]; /* [0] longpath/, [i] level i */

/* unit repeated, padded with '/' (units end in '/'), then tail: exactly
 * len bytes. */
static char *lp_build(const char *unit, const char *tail, size_t len)
{
	size_t ul = strlen(unit), tl = strlen(tail), n = 0;
	char *s = malloc(len + 1);

	if (!s)
		abort();
	while (n + ul + tl <= len) {
		memcpy(s + n, unit, ul);
		n += ul;
	}
	while (n + tl < len)
		s[n++] = '/';
	memcpy(s + n, tail, tl + 1);
	return s;
}

/* "." with PATH_MAX - 1 bytes of "./" in front of tail, or PATH_MAX */
static char *lp_dots(const char *tail, size_t len)
{
	return lp_build("./", tail, len);
}

static void lp_readlink(const char *name, int dfd, const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dfd, path, buf, sizeof(buf));

	emit(name, "readlinkat(%s, path) = %zd %s", dfd == AT_FDCWD ? "AT_FDCWD" : "dfd", n,
	     n >= 0 ? esc(buf, (size_t)n) : ename(errno));
}

/* getcwd into a PATH_MAX buffer (check nbuf) and allocated (nalloc) */
static void lp_getcwd(const char *nbuf, const char *nalloc)
{
	char buf[PATH_MAX], *p;

	p = getcwd(buf, sizeof(buf));
	emit(nbuf, "getcwd(buf, PATH_MAX) = %s", p ? "ok" : ename(errno));
	p = getcwd(NULL, 0);
	if (p && strncmp(p, toprp, strlen(toprp)) == 0)
		emit(nalloc, "getcwd(NULL, 0) = DIR + %zu bytes", strlen(p) - strlen(toprp));
	else
		emit(nalloc, "getcwd(NULL, 0) = %s", p ? "elsewhere" : ename(errno));
	free(p);
}

static char *lp_denied;

static void lp_as_nobody(void)
{
	R("longpath/perm-stat", fstatat(AT_FDCWD, lp_denied, &S, 0));
	R("longpath/perm-creat", open(lp_dots("new", PATH_MAX - 1), O_WRONLY | O_CREAT, 0644));
	R("longpath/perm-dotdot-mkdir", mkdir(lp_dots("m", PATH_MAX - 1), 0755));
}

static int lp_make_chain(void)
{
	int i;

	memset(lp_name, 'd', LP_NAME);
	lp_name[LP_NAME] = '\0';
	if (mk("longpath") < 0)
		return -1;
	lp_fd[0] = open(P("longpath"), O_RDONLY | O_DIRECTORY);
	if (lp_fd[0] < 0) {
		setup_fail("open", "longpath", errno);
		return -1;
	}
	/* the first half on dirfds */
	for (i = 1; i <= LP_DEPTH / 2; i++) {
		if (mkdirat(lp_fd[i - 1], lp_name, 0755) < 0 ||
		    (lp_fd[i] = openat(lp_fd[i - 1], lp_name, O_RDONLY | O_DIRECTORY)) < 0) {
			setup_fail("mkdirat", "longpath/...", errno);
			return -1;
		}
	}
	/* the second half through the cwd */
	if (fchdir(lp_fd[LP_DEPTH / 2]) < 0) {
		setup_fail("fchdir", "longpath/...", errno);
		return -1;
	}
	for (; i <= LP_DEPTH; i++) {
		if (mkdir(lp_name, 0755) < 0 || chdir(lp_name) < 0 ||
		    (lp_fd[i] = open(".", O_RDONLY | O_DIRECTORY)) < 0) {
			setup_fail("mkdir/chdir", "longpath/...", errno);
			return -1;
		}
	}
	return 0;
}

/* Paths of PATH_MAX - 1 bytes from the cwd (the bottom). */
static void lp_from_cwd(void)
{
	char *f = lp_dots("f", PATH_MAX - 1), *g = lp_dots("g", PATH_MAX - 1);
	char *d = lp_dots("d", PATH_MAX - 1), *s = lp_dots("s", PATH_MAX - 1);
	char *h = lp_dots("h", PATH_MAX - 1), *dd = lp_dots("d/", PATH_MAX - 1);
	char *f_over = lp_dots("f", PATH_MAX), *d_over = lp_dots("x", PATH_MAX);
	char *aa = lp_build("a/../", "f", PATH_MAX - 1);
	char *up, *unit;
	int fd;

	fd = RFD("longpath/creat", open(f, O_WRONLY | O_CREAT | O_EXCL, 0644));
	if (fd >= 0) {
		R("longpath/write", write(fd, "long", 4));
		close(fd);
	}
	ST("longpath/stat", stat(f, &S));
	ST("longpath/lstat", lstat(f, &S));
	R("longpath/access", access(f, R_OK | W_OK));
	R("longpath/mkdir", mkdir(d, 0755));
	ST("longpath/mkdir-stat", stat(dd, &S));
	R("longpath/mkdir-again", mkdir(d, 0755));
	R("longpath/mkdir-a", mkdir("a", 0755));
	ST("longpath/dotdot-stat", stat(aa, &S));
	RFDC("longpath/dotdot-open", open(aa, O_RDONLY));
	/* up to the chain's middle and down again */
	unit = malloc(LP_NAME + 5);
	snprintf(unit, LP_NAME + 5, "../%s/", lp_name);
	up = lp_build(unit, "f", PATH_MAX - 1);
	ST("longpath/up-down-stat", stat(up, &S));
	R("longpath/rename", rename(f, g));
	ST("longpath/rename-old", stat("f", &S));
	ST("longpath/rename-new", stat("g", &S));
	R("longpath/link", link(g, h));
	ST("longpath/link-stat", stat(h, &S));
	R("longpath/symlink", symlink("g", s));
	lp_readlink("longpath/readlink", AT_FDCWD, s);
	ST("longpath/symlink-stat", stat(s, &S));
	R("longpath/unlink-link", unlink(h));
	R("longpath/unlink-symlink", unlink(s));
	/* an absolute target starts at the root again */
	R("longpath/symlink-abs", symlink(P("longpath/abs"), s));
	put("longpath/abs", "abs");
	ST("longpath/symlink-abs-stat", stat(s, &S));
	R("longpath/symlink-abs-unlink", unlink(s));
	/* PATH_MAX bytes: too long, whatever the path leads to */
	R("longpath/over-open", open(f_over, O_RDONLY));
	R("longpath/over-creat", open(d_over, O_WRONLY | O_CREAT, 0644));
	R("longpath/over-stat", stat(f_over, &S));
	R("longpath/over-mkdir", mkdir(d_over, 0755));
	R("longpath/over-unlink", unlink(f_over));
	R("longpath/over-rename", rename(g, d_over));
	R("longpath/over-symlink", symlink("g", d_over));
	R("longpath/over-chdir", chdir(d_over));
	/* nobody may not search p */
	R("longpath/mkdir-p", mkdir("p", 0700));
	lp_denied = lp_dots("p/x", PATH_MAX - 1);
	as_user(NOBODY, NOBODY, NULL, 0, lp_as_nobody);
	R("longpath/rmdir-p", rmdir("p"));
	R("longpath/rmdir-a", rmdir(lp_dots("a", PATH_MAX - 1)));
	R("longpath/rmdir", rmdir(d));
	R("longpath/unlink", unlink(g));
	ST("longpath/unlink-stat", stat(g, &S));
	free(f), free(g), free(d), free(s), free(h), free(dd), free(f_over), free(d_over);
	free(aa), free(up), free(unit);
}

/* The same from dirfds: the bottom's, and the middle's down to the bottom. */
static void lp_from_dirfd(void)
{
	int bfd = lp_fd[LP_DEPTH], mfd = lp_fd[LP_DEPTH / 2], fd, n;
	char *f = lp_dots("f", PATH_MAX - 1), *g = lp_dots("g", PATH_MAX - 1);
	char *d = lp_dots("d", PATH_MAX - 1), *s = lp_dots("s", PATH_MAX - 1);
	char *f_over = lp_dots("f", PATH_MAX);
	char down[PATH_MAX], *mid;

	fd = RFD("longpath/at-creat", openat(bfd, f, O_WRONLY | O_CREAT | O_EXCL, 0644));
	if (fd >= 0)
		close(fd);
	ST("longpath/at-stat", fstatat(bfd, f, &S, 0));
	R("longpath/at-access", faccessat(bfd, f, R_OK, 0));
	R("longpath/at-mkdir", mkdirat(bfd, d, 0755));
	R("longpath/at-rename", renameat(bfd, f, bfd, g));
	R("longpath/at-symlink", symlinkat("g", bfd, s));
	lp_readlink("longpath/at-readlink", bfd, s);
	R("longpath/at-link", linkat(bfd, g, bfd, f, 0));
	R("longpath/at-chmod", fchmodat(bfd, f, 0600, 0));
	ST("longpath/at-chmod-stat", fstatat(bfd, g, &S, 0));
	/* from the middle of the chain, down to the bottom */
	n = 0;
	for (int i = LP_DEPTH / 2 + 1; i <= LP_DEPTH; i++)
		n += snprintf(down + n, sizeof(down) - (size_t)n, "%s/", lp_name);
	snprintf(down + n, sizeof(down) - (size_t)n, "g");
	mid = lp_dots(down, PATH_MAX - 1);
	ST("longpath/at-mid-stat", fstatat(mfd, mid, &S, 0));
	R("longpath/at-mid-rename", renameat(mfd, mid, bfd, "m"));
	R("longpath/at-mid-rename-back", renameat(bfd, "m", mfd, mid));
	R("longpath/at-over-stat", fstatat(bfd, f_over, &S, 0));
	R("longpath/at-over-open", openat(bfd, f_over, O_RDONLY));
	R("longpath/at-unlink-link", unlinkat(bfd, f, 0));
	R("longpath/at-unlink-symlink", unlinkat(bfd, s, 0));
	R("longpath/at-rmdir", unlinkat(bfd, d, AT_REMOVEDIR));
	R("longpath/at-unlink", unlinkat(bfd, g, 0));
	free(f), free(g), free(d), free(s), free(f_over), free(mid);
}

/* A directory above the cwd renamed, and chdir with long relative paths. */
static void lp_cwd_moves(void)
{
	char newname[LP_NAME + 1], cmd[LP_NAME + 64];
	char *a = lp_dots("a", PATH_MAX - 1);

	memcpy(newname, lp_name, sizeof(newname));
	newname[0] = 'e';
	R("longpath/create-x", close(open("x", O_WRONLY | O_CREAT, 0644)));
	/* a child starts in the same deep cwd */
	snprintf(cmd, sizeof(cmd), "test -f x && test -d ../%s", lp_name);
	fflush(stdout);
	R("longpath/child-cwd", system(cmd));
	R("longpath/rename-above", renameat(lp_fd[4], lp_name, lp_fd[4], newname));
	ST("longpath/rename-above-stat", stat("x", &S));
	lp_getcwd("longpath/rename-above-getcwd", "longpath/rename-above-getcwd-alloc");
	R("longpath/rename-above-back", renameat(lp_fd[4], newname, lp_fd[4], lp_name));
	R("longpath/unlink-x", unlink("x"));
	R("longpath/chdir-mkdir", mkdir("a", 0755));
	R("longpath/chdir-long", chdir(a));
	cwd_is("longpath/chdir-long-getcwd");
	R("longpath/chdir-long-creat", close(open("y", O_WRONLY | O_CREAT, 0644)));
	R("longpath/chdir-dotdot", chdir(".."));
	ST("longpath/chdir-dotdot-stat", stat("a/y", &S));
	R("longpath/chdir-unlink", unlink(lp_dots("a/y", PATH_MAX - 1)));
	R("longpath/chdir-rmdir", rmdir("a"));
	/* up the chain by relative steps, back to where getcwd works */
	for (int i = 0; i < LP_DEPTH; i++)
		if (chdir("..") < 0) {
			setup_fail("chdir", "..", errno);
			break;
		}
	cwd_is("longpath/chdir-up-getcwd");
	free(a);
}

void t_longpath(void)
{
	if (lp_make_chain() < 0)
		return;
	lp_getcwd("longpath/getcwd", "longpath/getcwd-alloc");
	R("longpath/fchdir-bottom", fchdir(lp_fd[LP_DEPTH]));
	lp_from_cwd();
	lp_from_dirfd();
	lp_cwd_moves();
	/* the tree goes, from the bottom, with dirfds */
	for (int i = LP_DEPTH; i >= 1; i--) {
		close(lp_fd[i]);
		if (unlinkat(lp_fd[i - 1], lp_name, AT_REMOVEDIR) < 0) {
			setup_fail("unlinkat", "longpath/...", errno);
			break;
		}
	}
	close(lp_fd[0]);
	R("longpath/cleanup-chdir", chdir(top));
	R("longpath/cleanup-unlink", unlink(P("longpath/abs")));
	R("longpath/cleanup-rmdir", rmdir(P("longpath")));
}
