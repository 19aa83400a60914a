/* SPDX-License-Identifier: MIT */
/*
 * shim_fork.c - descriptors across fork and exec.
 *
 *   shim_fork offset FILE   parent and child share the file offset
 *   shim_fork exec FILE     a descriptor without close-on-exec survives exec
 *                           (with its offset), one with it does not
 *   shim_fork ebadf FD      (run without the shim) read/write on an inherited
 *                           UMFS descriptor fail with EBADF
 *   shim_fork unlinked FILE an unlinked file stays readable by a child that
 *                           inherited it after the parent closed it
 *   shim_fork mapshare FILE MAP_SHARED is coherent between two programs that
 *                           map the file independently (the second one exec'd)
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "shim_fork: %s (errno %d %s)\n", what, errno, strerror(errno));
	return 1;
}

static int wait_ok(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int t_offset(const char *file)
{
	char buf[64] = { 0 };
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	pid_t pid;

	if (fd < 0)
		return fail("open");
	if (write(fd, "parent1", 7) != 7)
		return fail("write");
	pid = fork();
	if (pid == 0)
		_exit(write(fd, "child", 5) == 5 && lseek(fd, 0, SEEK_CUR) == 12 ? 0 : 1);
	if (!wait_ok(pid))
		return fail("child write");
	if (lseek(fd, 0, SEEK_CUR) != 12)
		return fail("parent does not see the child's offset");
	if (write(fd, "parent2", 7) != 7)
		return fail("write 2");
	if (pread(fd, buf, sizeof(buf), 0) != 19 || strcmp(buf, "parent1childparent2") != 0)
		return fail("content");
	/* the child moves the offset back; the parent's read follows */
	pid = fork();
	if (pid == 0)
		_exit(lseek(fd, 7, SEEK_SET) == 7 ? 0 : 1);
	if (!wait_ok(pid))
		return fail("child lseek");
	memset(buf, 0, sizeof(buf));
	if (read(fd, buf, 5) != 5 || strcmp(buf, "child") != 0)
		return fail("read after child lseek");
	/* F_SETFL in the child is the description's */
	pid = fork();
	if (pid == 0)
		_exit(fcntl(fd, F_SETFL, O_APPEND) == 0 ? 0 : 1);
	if (!wait_ok(pid) || !(fcntl(fd, F_GETFL) & O_APPEND))
		return fail("F_SETFL not shared");
	close(fd);
	printf("offset: ok\n");
	return 0;
}

static int t_exec(const char *self, const char *file)
{
	char a[16], b[16], buf[64] = { 0 };
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int fd2 = open(file, O_RDONLY | O_CLOEXEC);
	pid_t pid;

	if (fd < 0 || fd2 < 0)
		return fail("open");
	if (write(fd, "before ", 7) != 7)
		return fail("write");
	snprintf(a, sizeof(a), "%d", fd);
	snprintf(b, sizeof(b), "%d", fd2);
	pid = fork();
	if (pid == 0) {
		execl(self, self, "child", a, b, (char *)NULL);
		_exit(127);
	}
	if (!wait_ok(pid))
		return fail("exec child");
	if (lseek(fd, 0, SEEK_CUR) != 17)
		return fail("offset after the exec'd child wrote");
	if (pread(fd, buf, sizeof(buf), 0) != 17 || strcmp(buf, "before from-exec") != 0)
		return fail("content");
	printf("exec: ok\n");
	return 0;
}

static int t_child(int fd, int fd2)
{
	char c;

	if (lseek(fd, 0, SEEK_CUR) != 7)
		return fail("inherited offset");
	if (write(fd, "from-exec", 10) != 10) /* with the NUL: 17 bytes in all */
		return fail("write on inherited fd");
	errno = 0;
	if (read(fd2, &c, 1) != -1 || errno != EBADF)
		return fail("close-on-exec descriptor survived");
	return 0;
}

static int t_ebadf(int fd)
{
	char c;

	/* the token is a directory descriptor: read says EISDIR, never data */
	errno = 0;
	if (read(fd, &c, 1) != -1 || (errno != EBADF && errno != EISDIR))
		return fail("read did not fail with EBADF or EISDIR");
	errno = 0;
	if (write(fd, "x", 1) != -1 || errno != EBADF)
		return fail("write did not fail with EBADF");
	printf("ebadf: ok\n");
	return 0;
}

static int t_unlinked(const char *file)
{
	char buf[16] = { 0 };
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	pid_t pid;
	int p[2];

	if (fd < 0 || pipe(p) < 0)
		return fail("open");
	if (write(fd, "still here", 10) != 10 || unlink(file) < 0)
		return fail("write/unlink");
	pid = fork();
	if (pid == 0) {
		char c;

		close(p[1]);
		if (read(p[0], &c, 1) != 1) /* wait until the parent closed */
			_exit(2);
		_exit(pread(fd, buf, 10, 0) == 10 && strcmp(buf, "still here") == 0 ? 0 : 1);
	}
	close(p[0]);
	close(fd);
	if (write(p[1], "g", 1) != 1)
		return fail("pipe");
	if (!wait_ok(pid))
		return fail("the child lost the unlinked file");
	printf("unlinked: ok\n");
	return 0;
}

/* The exec'd half: waits for the first's store in its own mapping, checks
 * read() agrees, then write()s for the first to see in its mapping. */
static int t_mapshare_b(const char *file)
{
	int fd = open(file, O_RDWR);
	char *p, b[8] = { 0 };

	if (fd < 0)
		return fail("open b");
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap b");
	for (int i = 0; i < 500 && memcmp(p, "from-A", 6) != 0; i++)
		usleep(10000);
	if (memcmp(p, "from-A", 6) != 0)
		return fail("the other program's store is not in this mapping");
	if (pread(fd, b, 6, 0) != 6 || strcmp(b, "from-A") != 0)
		return fail("read() does not see the other program's mapped store");
	if (pwrite(fd, "B-wrote", 7, 4096 + 100) != 7)
		return fail("pwrite b");
	munmap(p, 8192);
	close(fd);
	return 0;
}

static int t_mapshare(const char *self, const char *file)
{
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *p, b[8] = { 0 };
	pid_t pid;

	if (fd < 0 || ftruncate(fd, 8192) < 0)
		return fail("open a");
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap a");
	memcpy(p, "from-A", 6);
	pid = fork();
	if (pid == 0) {
		execl(self, self, "mapshare-b", file, (char *)NULL);
		_exit(127);
	}
	if (!wait_ok(pid))
		return fail("the exec'd program failed");
	if (memcmp(p + 4096 + 100, "B-wrote", 7) != 0)
		return fail("the other program's write() is not in this mapping");
	munmap(p, 8192);
	if (pread(fd, b, 6, 0) != 6 || strcmp(b, "from-A") != 0)
		return fail("the store did not reach the file");
	close(fd);
	printf("mapshare: ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "offset") == 0)
		return t_offset(argv[2]);
	if (argc == 3 && strcmp(argv[1], "exec") == 0)
		return t_exec(argv[0], argv[2]);
	if (argc == 4 && strcmp(argv[1], "child") == 0)
		return t_child(atoi(argv[2]), atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "ebadf") == 0)
		return t_ebadf(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "unlinked") == 0)
		return t_unlinked(argv[2]);
	if (argc == 3 && strcmp(argv[1], "mapshare") == 0)
		return t_mapshare(argv[0], argv[2]);
	if (argc == 3 && strcmp(argv[1], "mapshare-b") == 0)
		return t_mapshare_b(argv[2]);
	fprintf(stderr, "usage: shim_fork offset|exec|ebadf|unlinked|mapshare ARG\n");
	return 2;
}
