/* SPDX-License-Identifier: MIT */
/*
 * map_beside.c - a file mapped MAP_SHARED by one front end and written
 * by another: the stores of the mapping and the other's writes, to other
 * bytes, must all be in the file at the end, as when one kernel file
 * system serves both. test_frontends.sh runs it on tmpfs (both
 * directories the same) and on one pool, the mapper through libumfs and
 * the writer through umfs-fuse.
 *
 *   map_beside sync MAPDIR WRITEDIR   map, store, the other writes, msync,
 *                                     store, the other writes, unmap
 *   map_beside kill MAPDIR WRITEDIR   a child maps and stores and is
 *                                     killed (SIGKILL); the other writes
 *   map_beside join MAPDIR WRITEDIR   a read-only mapping, the other
 *                                     writes, a writable one joins and
 *                                     stores, the other writes, both go
 *   map_beside protect MAPDIR WRITEDIR  read-only mappings through a
 *                                     descriptor open for writing, the
 *                                     other writes, mprotect,
 *                                     pkey_mprotect and the raw system
 *                                     call add PROT_WRITE, each stores,
 *                                     the other writes, all go
 *   map_beside read MAPDIR WRITEDIR   a writable mapping stores, the other
 *                                     writes, the mapper reads the file
 *                                     (read, a private mapping), the
 *                                     mapping after msync and the file
 *                                     through WRITEDIR then; the same
 *                                     beside a read-only mapping; prints
 *                                     what each saw
 *   map_beside fsync MAPDIR WRITEDIR  a read-only mapping; this process
 *                                     and the other write, each followed
 *                                     by fsync, then this process opens
 *                                     with O_TRUNC and writes around a
 *                                     hole; prints what the mapping shows
 *                                     after each fsync
 *   map_beside show FILE              the file's bytes of interest and a
 *                                     checksum of all of it
 *   map_beside write FILE OFF TEXT    (the other front end's writer)
 *
 * The writer runs without LD_PRELOAD, so that its write goes through
 * WRITEDIR's file system (umfs-fuse), not through libumfs.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_SIZE 8192

static const char *self;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* The other front end writes text at off of dir/name, as a process of
 * its own without the library. */
static void other_write(const char *dir, const char *name, long off, const char *text)
{
	char path[4096], offs[32];
	int st;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(offs, sizeof(offs), "%ld", off);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		unsetenv("LD_PRELOAD");
		execl(self, self, "write", path, offs, text, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "map_beside: the writer of %s failed\n", path);
		exit(1);
	}
}

static int make_file(const char *dir, const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, FILE_SIZE) < 0)
		die(path);
	return fd;
}

static char *map_file(int fd)
{
	char *m = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		die("mmap");
	return m;
}

/* Makes dir/name and maps it read-only through a read-only descriptor,
 * returned in *rfd. */
static char *map_new_read_only(const char *dir, const char *name, int *rfd)
{
	char path[4096], *r;

	close(make_file(dir, name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*rfd = open(path, O_RDONLY);
	if (*rfd < 0)
		die(path);
	r = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, *rfd, 0);
	if (r == MAP_FAILED)
		die("mmap read-only");
	return r;
}

static int run_sync(const char *mapdir, const char *writedir)
{
	int fd = make_file(mapdir, "s");
	char *m = map_file(fd);

	m[100] = 'M';
	m[5000] = 'M';
	other_write(writedir, "s", 0, "FUSE");
	other_write(writedir, "s", 4200, "FUSE");
	if (msync(m, FILE_SIZE, MS_SYNC) < 0)
		die("msync");
	m[6000] = 'N';
	other_write(writedir, "s", 7000, "AGAIN");
	if (munmap(m, FILE_SIZE) < 0)
		die("munmap");
	close(fd);
	return 0;
}

static int run_kill(const char *mapdir, const char *writedir)
{
	int fd = make_file(mapdir, "k"), p[2], st;
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char *m = map_file(fd);

		m[100] = 'K';
		m[5000] = 'K';
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(p[0], &c, 1) != 1)
		die("read");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	other_write(writedir, "k", 0, "FUSE");
	other_write(writedir, "k", 4200, "FUSE");
	close(fd);
	return 0;
}

static int run_join(const char *mapdir, const char *writedir)
{
	char path[4096], *r, *w;
	int rfd, wfd;

	r = map_new_read_only(mapdir, "j", &rfd);
	snprintf(path, sizeof(path), "%s/j", mapdir);
	other_write(writedir, "j", 0, "FUSE");
	wfd = open(path, O_RDWR);
	if (wfd < 0)
		die(path);
	w = map_file(wfd);
	w[300] = 'W';
	other_write(writedir, "j", 4000, "MORE");
	if (munmap(w, FILE_SIZE) < 0 || munmap(r, FILE_SIZE) < 0)
		die("munmap");
	close(wfd);
	close(rfd);
	return 0;
}

/* Mappings made read-only through a descriptor open for writing, turned
 * writable by mprotect, pkey_mprotect and syscall(SYS_mprotect), store;
 * the other writes before and between. */
static int run_protect(const char *mapdir, const char *writedir)
{
	int fd = make_file(mapdir, "p");
	char *a = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	char *b = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	char *c = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);

	if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED)
		die("mmap read-only");
	other_write(writedir, "p", 0, "FUSE");
	if (mprotect(a, FILE_SIZE, PROT_READ | PROT_WRITE) < 0)
		die("mprotect");
	a[100] = 'P';
	other_write(writedir, "p", 4200, "MORE");
	if (pkey_mprotect(b, FILE_SIZE, PROT_READ | PROT_WRITE, -1) < 0)
		die("pkey_mprotect");
	b[5000] = 'Q';
	if (syscall(SYS_mprotect, c, FILE_SIZE, PROT_READ | PROT_WRITE) < 0)
		die("syscall(SYS_mprotect)");
	c[6000] = 'R';
	if (munmap(a, FILE_SIZE) < 0 || munmap(b, FILE_SIZE) < 0 || munmap(c, FILE_SIZE) < 0)
		die("munmap");
	close(fd);
	return 0;
}

/* The bytes of interest of buf (n bytes) and a checksum of all of it. */
static void show_buf(const char *name, const unsigned char *buf, ssize_t n)
{
	static const int at[] = { 0, 100, 300, 4000, 4200, 5000, 6000, 7000 };
	uint32_t sum = 2166136261u;

	printf("%s: %zd bytes", name, n);
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		printf(" @%d:", at[i]);
		for (int k = 0; k < 5 && at[i] + k < n; k++) {
			unsigned char c = buf[at[i] + k];

			putchar(c >= 0x20 && c < 0x7f ? c : '.');
		}
	}
	for (ssize_t i = 0; i < n; i++)
		sum = (sum ^ buf[i]) * 16777619u;
	printf(" fnv1a %08x\n", sum);
}

/* What a read of the file through fd sees, and a private mapping of it. */
static void show_reads(const char *what, int fd)
{
	unsigned char buf[FILE_SIZE];
	char name[64];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	void *p;

	if (n < 0)
		die("pread");
	snprintf(name, sizeof(name), "%s, read", what);
	show_buf(name, buf, n);
	p = mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap private");
	snprintf(name, sizeof(name), "%s, private mapping", what);
	show_buf(name, p, FILE_SIZE);
	munmap(p, FILE_SIZE);
}

static int run_show(const char *path);

/* What mapping m of the whole of dir/name shows after msync, and what a
 * read of the file through dir (the other front end) finds then, from
 * this process: a child would write the stores back at its exec. Then
 * the mapping goes. */
static void show_msynced(const char *what, char *m, const char *dir, const char *name)
{
	char path[4096];

	if (msync(m, FILE_SIZE, MS_SYNC) < 0)
		die("msync");
	show_buf(what, (unsigned char *)m, FILE_SIZE);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	run_show(path);
	if (munmap(m, FILE_SIZE) < 0)
		die("munmap");
}

static int run_read(const char *mapdir, const char *writedir)
{
	char *m, *r;
	int fd = make_file(mapdir, "r"), rfd;

	m = map_file(fd);
	m[100] = 'M';
	m[5000] = 'M';
	other_write(writedir, "r", 0, "FUSE");
	other_write(writedir, "r", 4200, "FUSE");
	show_reads("stores and writes", fd);
	m[4202] = 'Z'; /* a store over a write */
	other_write(writedir, "r", 6000, "LATER");
	show_reads("then a store over a write", fd);
	show_msynced("the mapping after msync", m, writedir, "r");
	close(fd);

	/* read-only mappings alone: nothing could store */
	r = map_new_read_only(mapdir, "q", &rfd);
	other_write(writedir, "q", 300, "RO");
	show_reads("beside a read-only mapping", rfd);
	other_write(writedir, "q", 4000, "NEXT");
	show_msynced("a read-only mapping after msync", r, writedir, "q");
	close(rfd);
	return 0;
}

/* pwrite of text at off through fd (this process's front end), then
 * fsync. */
static void write_fsynced(int fd, long off, const char *text)
{
	size_t len = strlen(text);

	if (pwrite(fd, text, len, off) != (ssize_t)len)
		die("pwrite");
	if (fsync(fd) < 0)
		die("fsync");
}

static int run_fsync(const char *mapdir, const char *writedir)
{
	char path[4096], *r;
	int rfd, wfd;

	r = map_new_read_only(mapdir, "y", &rfd);
	snprintf(path, sizeof(path), "%s/y", mapdir);
	wfd = open(path, O_RDWR);
	if (wfd < 0)
		die(path);
	write_fsynced(wfd, 100, "LIB");
	show_buf("a write of this process, fsync", (unsigned char *)r, FILE_SIZE);
	other_write(writedir, "y", 300, "FUSE");
	if (fsync(wfd) < 0)
		die("fsync");
	show_buf("the other's write, fsync", (unsigned char *)r, FILE_SIZE);
	write_fsynced(wfd, 4000, "AGAIN");
	show_buf("this process again, fsync", (unsigned char *)r, FILE_SIZE);
	close(wfd);
	/* the old bytes must not show through the hole */
	wfd = open(path, O_RDWR | O_TRUNC);
	if (wfd < 0)
		die(path);
	if (pwrite(wfd, "NEW", 3, 0) != 3)
		die("pwrite");
	write_fsynced(wfd, 6000, "END");
	show_buf("truncated at open, written, fsync", (unsigned char *)r, FILE_SIZE);
	close(wfd);
	if (munmap(r, FILE_SIZE) < 0)
		die("munmap");
	close(rfd);
	return 0;
}

static int run_show(const char *path)
{
	unsigned char buf[FILE_SIZE];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		die(path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		die("read");
	show_buf(strrchr(path, '/') ? strrchr(path, '/') + 1 : path, buf, n);
	return 0;
}

static int run_write(const char *path, long off, const char *text)
{
	int fd = open(path, O_WRONLY);
	size_t len = strlen(text);

	if (fd < 0)
		die(path);
	if (pwrite(fd, text, len, off) != (ssize_t)len)
		die("pwrite");
	return close(fd) < 0;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 4 && strcmp(argv[1], "sync") == 0)
		return run_sync(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "kill") == 0)
		return run_kill(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "protect") == 0)
		return run_protect(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "join") == 0)
		return run_join(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "read") == 0)
		return run_read(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "fsync") == 0)
		return run_fsync(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return run_show(argv[2]);
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return run_write(argv[2], atol(argv[3]), argv[4]);
	fprintf(stderr, "usage: map_beside sync|kill|join|read|fsync MAPDIR WRITEDIR | show FILE | "
			"write FILE OFF TEXT\n");
	return 2;
}
