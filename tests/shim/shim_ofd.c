/* SPDX-License-Identifier: MIT */
/*
 * shim_ofd.c - open file descriptions and their slots (ofd_slot.c).
 *
 *   shim_ofd tree DIR N     creates N files in DIR (each holding its name),
 *                           lists DIR, stats and reads every file, removes
 *                           every other one, lists again: a transcript
 *                           without file-system-dependent values, compared
 *                           between tmpfs and UMFS by ofd.sh
 *   shim_ofd reuse DIR      a description a forked child still holds is not
 *                           reused by the parent's next opens, and a reused
 *                           slot starts with a fresh offset and flags
 *   shim_ofd popen DIR      the same for a child started by popen(), which
 *                           runs no fork handlers
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("FAIL %s (errno %d %s)\n", what, errno, strerror(errno));
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of DIR, one line, with their count. */
static int list(const char *dir)
{
	size_t n = 0, cap = 1024;
	char **names = malloc(cap * sizeof(*names));
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d || !names)
		return fail("opendir");
	while ((e = readdir(d)) != NULL) {
		if (n == cap)
			names = realloc(names, (cap *= 2) * sizeof(*names));
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	printf("list %zu:", n);
	for (size_t i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
	free(names);
	return 0;
}

static int t_tree(const char *dir, int n)
{
	char path[4096], buf[64];
	unsigned long sum = 0;
	struct stat st;

	if (mkdir(dir, 0755) < 0)
		return fail("mkdir");
	for (int i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf), "f%d", i), fd;

		snprintf(path, sizeof(path), "%s/%s", dir, buf);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0640);
		if (fd < 0 || write(fd, buf, (size_t)len) != len || close(fd) < 0)
			return fail("create");
	}
	if (list(dir))
		return 1;
	for (int i = 0; i < n; i++) {
		int fd, len = snprintf(buf, sizeof(buf), "f%d", i);
		char got[64];

		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != len ||
		    (st.st_mode & 0777) != 0640 || st.st_nlink != 1)
			return fail("stat");
		fd = open(path, O_RDONLY);
		if (fd < 0 || read(fd, got, sizeof(got)) != len || memcmp(got, buf, (size_t)len) ||
		    close(fd) < 0)
			return fail("read back");
		sum += (unsigned long)st.st_size;
	}
	printf("stat %d files, %lu bytes\n", n, sum);
	for (int i = 0; i < n; i += 2) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (unlink(path) < 0)
			return fail("unlink");
	}
	snprintf(path, sizeof(path), "%s/f0", dir);
	printf("stat removed: %s\n", stat(path, &st) < 0 && errno == ENOENT ? "ENOENT" : "exists");
	return list(dir);
}

static int write_str(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

static int contents(const char *path, const char *want)
{
	char got[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, got, sizeof(got) - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return fail(path);
	got[n] = '\0';
	if (strcmp(got, want) != 0) {
		printf("FAIL %s holds \"%s\", not \"%s\"\n", path, got, want);
		return 1;
	}
	return 0;
}

static int t_reuse(const char *dir)
{
	char a[4096], b[4096], c[4096];
	int fd, go[2], status;
	pid_t pid;

	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	/* a reused slot starts fresh: offset 0, the new flags */
	fd = open(a, O_CREAT | O_WRONLY | O_APPEND, 0644);
	if (fd < 0 || write_str(fd, "aaaa") || close(fd) < 0)
		return fail("open a");
	fd = open(b, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || lseek(fd, 0, SEEK_CUR) != 0 || (fcntl(fd, F_GETFL) & O_APPEND))
		return fail("fresh offset and flags");
	if (write_str(fd, "bb") || close(fd) < 0)
		return fail("write b");

	/* a description shared with a child stays the child's after our close */
	fd = open(a, O_WRONLY | O_TRUNC);
	if (fd < 0 || write_str(fd, "0123456789") || pipe(go) < 0)
		return fail("open a again");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		char x;

		close(go[1]);
		if (read(go[0], &x, 1) != 1)
			_exit(2);
		if (lseek(fd, 0, SEEK_CUR) != 10)
			_exit(3); /* our offset was changed by someone else's open */
		_exit(write_str(fd, "X") ? 4 : 0);
	}
	close(go[0]);
	close(fd);
	for (int i = 0; i < 4; i++) { /* opens that must not take the child's slot */
		fd = open(c, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write_str(fd, "cccccccc") || close(fd) < 0)
			return fail("open c");
	}
	fd = open(c, O_WRONLY | O_APPEND);
	if (fd < 0 || write_str(fd, "-") || write(go[1], "g", 1) != 1)
		return fail("signal child");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("FAIL child status %#x\n", status);
		return 1;
	}
	close(fd);
	close(go[1]);
	if (contents(a, "0123456789X") || contents(b, "bb") || contents(c, "cccccccc-"))
		return 1;
	printf("reuse: ok\n");
	return 0;
}

static int t_popen(const char *dir)
{
	char a[4096], c[4096], cmd[128];
	FILE *p;
	int fd;

	snprintf(a, sizeof(a), "%s/pa", dir);
	snprintf(c, sizeof(c), "%s/pc", dir);
	fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write_str(fd, "ab"))
		return fail("open pa");
	/* the child writes at the shared offset (2) once we have moved on */
	snprintf(cmd, sizeof(cmd), "read x; printf Y >&%d", fd);
	p = popen(cmd, "w");
	if (!p)
		return fail("popen");
	close(fd);
	for (int i = 0; i < 4; i++) {
		fd = open(c, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write_str(fd, "zzzzzzz") || close(fd) < 0)
			return fail("open pc");
	}
	fd = open(c, O_WRONLY);
	if (fd < 0 || lseek(fd, 7, SEEK_SET) != 7)
		return fail("hold pc");
	fputs("go\n", p);
	if (pclose(p) != 0)
		return fail("pclose");
	close(fd);
	if (contents(a, "abY") || contents(c, "zzzzzzz"))
		return 1;
	printf("popen: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "tree") == 0)
		return t_tree(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "reuse") == 0)
		return t_reuse(argv[2]);
	if (argc == 3 && strcmp(argv[1], "popen") == 0)
		return t_popen(argv[2]);
	fprintf(stderr, "usage: shim_ofd tree DIR N | reuse DIR | popen DIR\n");
	return 2;
}
