/* SPDX-License-Identifier: MIT */
/*
 * mem_claim.c - shared mappings of one file through two front ends that
 * share no memory (test_memclaim.sh).
 *
 *   mem_claim hold FILE    opens FILE for writing, maps its first page
 *                          MAP_SHARED and stores through it, prints
 *                          "holding", and keeps both until its standard
 *                          input ends
 *   mem_claim hold-exec FILE  as hold, but before it prints, an execve
 *                          of a program that is not there fails, and it
 *                          stores 'E' at byte 1
 *   mem_claim direct FILE  opens FILE for writing with O_DIRECT, prints
 *                          "holding", and keeps it until its standard
 *                          input ends
 *   mem_claim try FILE     what a second mapper gets: prints one line per
 *                          attempt, "NAME ok" or "NAME ERRNO-NAME":
 *                          shared (O_RDWR, MAP_SHARED, PROT_WRITE),
 *                          private (MAP_PRIVATE), ro-shared (O_RDONLY,
 *                          MAP_SHARED, PROT_READ), write (write(2) of a
 *                          byte through an O_RDWR descriptor)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LEN 4096

static const char *err_name(int e)
{
	switch (e) {
	case ENODEV: return "ENODEV";
	case EACCES: return "EACCES";
	case ENOMEM: return "ENOMEM";
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

static void attempt(const char *name, const char *path, int flags, int prot, int mflags)
{
	int fd = open(path, flags);
	void *p;

	if (fd < 0) {
		printf("%s open %s\n", name, err_name(errno));
		return;
	}
	p = mmap(NULL, LEN, prot, mflags, fd, 0);
	if (p == MAP_FAILED) {
		printf("%s %s\n", name, err_name(errno));
	} else {
		printf("%s ok\n", name);
		munmap(p, LEN);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	char c;

	if (argc != 3)
		goto usage;
	if (!strcmp(argv[1], "hold") || !strcmp(argv[1], "hold-exec")) {
		int fd = open(argv[2], O_RDWR);
		char *p;

		if (fd < 0) {
			perror("open");
			return 1;
		}
		p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			printf("hold %s\n", err_name(errno));
			return 1;
		}
		p[0] = 'H';
		if (!strcmp(argv[1], "hold-exec")) {
			char *none[] = { "/nonexistent/mem_claim", NULL };

			execv(none[0], none);
			p[1] = 'E'; /* the mapping outlived the exec that failed */
		}
		printf("holding\n");
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		munmap(p, LEN);
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "direct")) {
		int fd = open(argv[2], O_WRONLY | O_DIRECT);

		if (fd < 0) {
			perror("open O_DIRECT");
			return 1;
		}
		printf("holding\n");
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		close(fd);
		return 0;
	}
	if (!strcmp(argv[1], "try")) {
		int fd;

		attempt("shared", argv[2], O_RDWR, PROT_READ | PROT_WRITE, MAP_SHARED);
		attempt("private", argv[2], O_RDWR, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		attempt("ro-shared", argv[2], O_RDONLY, PROT_READ, MAP_SHARED);
		fd = open(argv[2], O_RDWR);
		printf("write %s\n", fd >= 0 && pwrite(fd, "w", 1, 100) == 1 ? "ok" : err_name(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
usage:
	fprintf(stderr, "usage: mem_claim hold|hold-exec|direct|try FILE\n");
	return 2;
}
