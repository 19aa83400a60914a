// SPDX-License-Identifier: MIT
/*
 * posix_lib.c - check lines and preparation helpers shared by the families
 * of posix_test (declared in posix.h).
 */
#include <linux/capability.h>
#include <stdatomic.h>

#include "posix.h"

/* In the C library, without a header of its own. */
extern int capget(cap_user_header_t header, cap_user_data_t data);
extern int capset(cap_user_header_t header, const cap_user_data_t data);

const char *top;
int topfd = -1;
char toprp[PATH_MAX];
char self_exe[PATH_MAX];
struct stat S;

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static const char *seen[4096];
static unsigned int nseen;

/* Every check name is used once; a second use is a bug in this program. */
void claim(const char *name)
{
	unsigned int i;

	for (i = 0; i < nseen; i++) {
		if (!strcmp(seen[i], name)) {
			fprintf(stderr, "posix_test: check name %s used twice\n", name);
			abort();
		}
	}
	if (nseen < ARRAY_SIZE(seen))
		seen[nseen++] = name;
}

const char *ename(int e)
{
	static char buf[32];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E#%d", e);
	return buf;
}

void emit(const char *name, const char *fmt, ...)
{
	va_list ap;

	claim(name);
	printf("%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A preparation step failed: not a check, but it must show in the diff. */
void setup_fail(const char *what, const char *rel, int e)
{
	printf("setup: %s(\"%s\") = -1 %s\n", what, rel, ename(e));
}


long report(const char *name, const char *call, long r, int e, enum how how)
{
	char res[64];

	if (how == AS_ERRRET)
		snprintf(res, sizeof(res), "%s", r ? ename((int)r) : "0");
	else if (r < 0)
		snprintf(res, sizeof(res), "%ld %s", r, ename(e));
	else if (how == AS_FD)
		snprintf(res, sizeof(res), "fd");
	else
		snprintf(res, sizeof(res), "%ld", r);
	emit(name, "%s = %s", call, res);
	return r;
}

/* DIR/rel, in one of a ring of buffers; the ring's index is atomic, as
 * the thread checks build paths from four threads at once. */
char *P(const char *rel)
{
	static char buf[16][2 * PATH_MAX + 1024];
	static _Atomic unsigned int n;
	char *b = buf[atomic_fetch_add(&n, 1) % 16];

	snprintf(b, sizeof(buf[0]), "%s/%s", top, rel);
	return b;
}

/* An absolute path inside DIR, as a path relative to DIR. */
const char *relpath(const char *abs)
{
	size_t n = strlen(toprp);

	if (!strcmp(abs, toprp))
		return ".";
	if (!strncmp(abs, toprp, n) && abs[n] == '/')
		return abs + n + 1;
	return "<outside DIR>";
}

uint64_t fnv(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Data as a quoted string when short, else its length and hash. */
const char *esc(const void *buf, size_t n)
{
	static char out[4][512];
	static unsigned int k;
	char *o = out[k++ % 4];
	const unsigned char *p = buf;
	size_t i, j = 0;

	if (n > 64) {
		snprintf(o, 512, "len=%zu fnv=%016llx", n, (unsigned long long)fnv(buf, n));
		return o;
	}
	o[j++] = '"';
	for (i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			o[j++] = (char)p[i];
		else
			j += (size_t)sprintf(o + j, "\\x%02x", p[i]);
	}
	o[j++] = '"';
	o[j] = 0;
	return o;
}

int all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFIFO: return "fifo";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFSOCK: return "sock";
	}
	return "?";
}

/* What may be compared of a struct stat. Directory sizes are left out. */
const char *fmt_stat(const struct stat *st)
{
	static char b[2][160];
	static unsigned int k;
	char *o = b[k++ % 2];
	int n;

	n = snprintf(o, 160, "%s mode=%04o nlink=%lu uid=%u gid=%u", ftype(st->st_mode),
		     (unsigned int)(st->st_mode & 07777), (unsigned long)st->st_nlink,
		     (unsigned int)st->st_uid, (unsigned int)st->st_gid);
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))
		snprintf(o + n, 160 - (size_t)n, " size=%lld", (long long)st->st_size);
	else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		snprintf(o + n, 160 - (size_t)n, " rdev=%u,%u", major(st->st_rdev),
			 minor(st->st_rdev));
	return o;
}

void show_stat(const char *name, const char *call, int r, int e)
{
	if (r)
		emit(name, "%s = %d %s", call, r, ename(e));
	else
		emit(name, "%s = %s", call, fmt_stat(&S));
}


/* Times as seconds.nanoseconds, or "now" when within a minute of now. */
const char *fmt_ts(const struct timespec *ts)
{
	static char b[4][48];
	static unsigned int k;
	char *o = b[k++ % 4];
	time_t now = time(NULL);

	if (ts->tv_sec > now - 60 && ts->tv_sec < now + 60)
		return "now";
	snprintf(o, 48, "%lld.%09ld", (long long)ts->tv_sec, ts->tv_nsec);
	return o;
}

void show_times(const char *name, const char *rel, int nofollow)
{
	struct stat st;
	int r = nofollow ? lstat(P(rel), &st) : stat(P(rel), &st);

	if (r)
		emit(name, "%s(\"%s\") = -1 %s", nofollow ? "lstat" : "stat", rel, ename(errno));
	else
		emit(name, "%s(\"%s\") atime=%s mtime=%s", nofollow ? "lstat" : "stat", rel,
		     fmt_ts(&st.st_atim), fmt_ts(&st.st_mtim));
}

/* ------------------------------------------------------------------ */
/* Preparation (no check lines unless something fails)                 */
/* ------------------------------------------------------------------ */

int mk(const char *rel)
{
	if (mkdir(P(rel), 0755)) {
		setup_fail("mkdir", rel, errno);
		return -1;
	}
	return 0;
}

int putn(const char *rel, const void *buf, size_t n)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t w;

	if (fd < 0) {
		setup_fail("open", rel, errno);
		return -1;
	}
	w = write(fd, buf, n);
	if (w != (ssize_t)n) {
		setup_fail("write", rel, w < 0 ? errno : EIO);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int put(const char *rel, const char *s)
{
	return putn(rel, s, strlen(s));
}

int sl(const char *target, const char *rel)
{
	if (symlink(target, P(rel))) {
		setup_fail("symlink", rel, errno);
		return -1;
	}
	return 0;
}

int openp(const char *rel, int flags)
{
	int fd = open(P(rel), flags, 0644);

	if (fd < 0)
		setup_fail("open", rel, errno);
	return fd;
}

/* A buffer of n bytes of a pattern that depends on seed. */
char *pattern(size_t n, unsigned int seed)
{
	char *b = malloc(n ? n : 1);
	size_t i;

	if (!b)
		abort();
	for (i = 0; i < n; i++)
		b[i] = (char)('a' + (i * 7 + seed + i / 4096) % 26);
	return b;
}

/* The whole file, read through a descriptor of its own. */
char *slurp(const char *rel, size_t *len, int *err)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	int fd = open(P(rel), O_RDONLY);
	ssize_t r;

	*err = 0;
	if (fd < 0) {
		*err = errno;
		free(b);
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap);
			if (!b)
				abort();
		}
		r = read(fd, b + n, cap - n);
		if (r < 0) {
			*err = errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return b;
}

/* content: the file's bytes (or their hash). */
void content(const char *name, const char *rel)
{
	size_t n = 0;
	int err;
	char *b = slurp(rel, &n, &err);

	if (!b || err)
		emit(name, "content(\"%s\") = -1 %s", rel, ename(err));
	else
		emit(name, "content(\"%s\") = %s", rel, esc(b, n));
	free(b);
}

/* The file's bytes compared with an expected buffer. */
void content_is(const char *name, const char *rel, const char *exp, size_t explen)
{
	size_t n = 0;
	int err;
	char *b = slurp(rel, &n, &err);

	if (!b || err)
		emit(name, "content(\"%s\") = -1 %s", rel, ename(err));
	else if (n == explen && !memcmp(b, exp, n))
		emit(name, "content(\"%s\") = as expected (%zu bytes)", rel, n);
	else
		emit(name, "content(\"%s\") = DIFFERENT (%zu bytes, expected %zu)", rel, n, explen);
	free(b);
}

void rd(const char *name, int fd, size_t n)
{
	char buf[256];
	ssize_t r;

	if (n > sizeof(buf))
		n = sizeof(buf);
	errno = 0;
	r = read(fd, buf, n);
	if (r < 0)
		emit(name, "read(fd, %zu) = -1 %s", n, ename(errno));
	else
		emit(name, "read(fd, %zu) = %zd %s", n, r, esc(buf, (size_t)r));
}

void prd(const char *name, int fd, size_t n, off_t off)
{
	char buf[256];
	ssize_t r;

	if (n > sizeof(buf))
		n = sizeof(buf);
	errno = 0;
	r = pread(fd, buf, n, off);
	if (r < 0)
		emit(name, "pread(fd, %zu, %lld) = -1 %s", n, (long long)off, ename(errno));
	else
		emit(name, "pread(fd, %zu, %lld) = %zd %s", n, (long long)off, r,
		     esc(buf, (size_t)r));
}

void offset(const char *name, int fd)
{
	off_t o = lseek(fd, 0, SEEK_CUR);

	if (o < 0)
		emit(name, "lseek(fd, 0, SEEK_CUR) = -1 %s", ename(errno));
	else
		emit(name, "lseek(fd, 0, SEEK_CUR) = %lld", (long long)o);
}

void cloexec(const char *name, int fd)
{
	int r = fcntl(fd, F_GETFD);

	if (r < 0)
		emit(name, "fcntl(fd, F_GETFD) = -1 %s", ename(errno));
	else
		emit(name, "fcntl(fd, F_GETFD) = %s", r & FD_CLOEXEC ? "FD_CLOEXEC" : "0");
}

const char *dtype(unsigned char t)
{
	switch (t) {
	case DT_REG: return "f";
	case DT_DIR: return "d";
	case DT_LNK: return "l";
	case DT_FIFO: return "p";
	case DT_CHR: return "c";
	case DT_BLK: return "b";
	case DT_SOCK: return "s";
	case DT_UNKNOWN: return "?";
	}
	return "!";
}

int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strs_add(struct strs *s, const char *fmt, ...)
{
	va_list ap;
	char *str;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			abort();
	}
	va_start(ap, fmt);
	if (vasprintf(&str, fmt, ap) < 0)
		abort();
	va_end(ap);
	s->v[s->n++] = str;
}

void strs_sort(struct strs *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmpstr);
}

/* The sorted, joined list (freed with the next call). */
const char *strs_join(struct strs *s, int sort)
{
	static char *out;
	size_t len = 1, i;

	if (sort)
		strs_sort(s);
	for (i = 0; i < s->n; i++)
		len += strlen(s->v[i]) + 1;
	free(out);
	out = malloc(len);
	if (!out)
		abort();
	out[0] = 0;
	for (i = 0; i < s->n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, s->v[i]);
	}
	return out;
}

void strs_free(struct strs *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* list: the sorted names and d_types of a directory, through readdir. */
void list(const char *name, const char *rel)
{
	struct strs s = { 0 };
	struct dirent *de;
	DIR *d = opendir(P(rel));

	if (!d) {
		emit(name, "list(\"%s\") = -1 %s", rel, ename(errno));
		return;
	}
	errno = 0;
	while ((de = readdir(d)))
		strs_add(&s, "%s:%s", de->d_name, dtype(de->d_type));
	if (errno)
		strs_add(&s, "<readdir error %s>", ename(errno));
	closedir(d);
	emit(name, "list(\"%s\") = %s", rel, strs_join(&s, 1));
	strs_free(&s);
}

void same_ino(const char *name, const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(P(a), &sa) || stat(P(b), &sb))
		emit(name, "ino(\"%s\") vs ino(\"%s\") = -1 %s", a, b, ename(errno));
	else
		emit(name, "ino(\"%s\") vs ino(\"%s\") = %s", a, b,
		     sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev ? "same" : "different");
}

void cwd_is(const char *name)
{
	char buf[PATH_MAX];

	if (getcwd(buf, sizeof(buf)))
		emit(name, "getcwd() = %s", relpath(buf));
	else
		emit(name, "getcwd() = NULL %s", ename(errno));
}

/* Runs fn in a child that become() made someone else first (NULL, or
 * the name of the call that failed); the child prints. */
static void child_as(const char *(*become)(const void *how), const void *how,
		     void (*fn)(void))
{
	const char *failed;
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		setup_fail("fork", "", errno);
		return;
	}
	if (pid == 0) {
		failed = become(how);
		if (failed) {
			setup_fail(failed, "", errno);
			fflush(stdout);
			_exit(1);
		}
		fn();
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
}

struct user_ids {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	int ngroups;
};

static const char *become_user(const void *how)
{
	const struct user_ids *u = how;

	return setgroups((size_t)u->ngroups, u->groups) || setgid(u->gid) || setuid(u->uid)
		       ? "setuid"
		       : NULL;
}

/* Runs fn in a child with the given credentials. */
void as_user(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, void (*fn)(void))
{
	struct user_ids u = { uid, gid, groups, ngroups };

	child_as(become_user, &u, fn);
}

static const char *become_uncapable(const void *how)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int cap = *(const int *)how;

	if (capget(&h, d))
		return "capget";
	d[cap / 32].effective &= ~(1u << (cap % 32));
	return capset(&h, d) ? "capset" : NULL;
}

/* Runs fn in a child whose effective set lacks cap, the ids kept: root
 * without one capability. */
void without_cap(int cap, void (*fn)(void))
{
	child_as(become_uncapable, &cap, fn);
}

/* How a child ended: "exit 0", "SIGBUS"... */
const char *how_ended(int st)
{
	static char b[32];

	if (WIFEXITED(st))
		snprintf(b, sizeof(b), "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(b, sizeof(b), "%s", sigabbrev_np(WTERMSIG(st)) ?: "signal");
	else
		snprintf(b, sizeof(b), "status %#x", st);
	return b;
}

/* Runs fn in a child (no output of its own expected); reports how it ended. */
void in_child(const char *name, const char *what, void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		emit(name, "%s: fork = -1 %s", what, ename(errno));
		return;
	}
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		fn();
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st))
		emit(name, "%s = killed by SIG%s", what, sigabbrev_np(WTERMSIG(st)) ?: "?");
	else
		emit(name, "%s = %s", what, how_ended(st));
}

