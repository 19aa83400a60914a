/* SPDX-License-Identifier: MIT */
/*
 * close_order DIR ROUNDS - what a close or unlink has done by the time it
 * returns: the space and inode of a file removed, and of a file or
 * directory removed while open and then closed, are free at the next
 * statfs, and the flock and OFD locks of the file are gone for
 * the next lock. An O_PATH descriptor keeps a removed file's space until
 * it is closed. Prints a line per kind of round, with how many rounds
 * found what a local file system shows; test_closes.sh runs it on tmpfs
 * and on a umfs-fuse mount, and the transcripts must be the same.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *dir;
static char buf[64 << 10];

static void fs_free(unsigned long *blocks, unsigned long *inodes)
{
	struct statvfs sv;

	if (statvfs(dir, &sv)) {
		perror("statvfs");
		exit(2);
	}
	*blocks = sv.f_bfree;
	*inodes = sv.f_ffree;
}

static int must(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(errno));
		exit(2);
	}
	return r;
}

static char *at(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

/* A file written and closed, then unlinked: back to what was free. */
static int round_unlink(int unused)
{
	unsigned long b0, i0, b2, i2;
	int fd;

	(void)unused;
	fs_free(&b0, &i0);
	fd = must(open(at("u"), O_CREAT | O_RDWR | O_TRUNC, 0644), "create u");
	must((int)write(fd, buf, sizeof(buf)), "write u");
	close(fd);
	must(unlink(at("u")), "unlink u");
	fs_free(&b2, &i2);
	return b2 == b0 && i2 == i0;
}

/* A file written, unlinked while open, closed: back to what was free. */
static int round_file(int unused)
{
	unsigned long b0, i0, b1, i1, b2, i2;
	int fd;

	(void)unused;
	fs_free(&b0, &i0);
	fd = must(open(at("f"), O_CREAT | O_RDWR | O_TRUNC, 0644), "create f");
	must((int)write(fd, buf, sizeof(buf)), "write f");
	must(unlink(at("f")), "unlink f");
	fs_free(&b1, &i1);
	close(fd);
	fs_free(&b2, &i2);
	return b1 < b0 && b2 == b0 && i2 == i0;
}

/* A directory removed while open, closed: its inode is free again. */
static int round_dir(int unused)
{
	unsigned long b0, i0, b2, i2;
	DIR *d;

	(void)unused;
	fs_free(&b0, &i0);
	must(mkdir(at("d"), 0755), "mkdir d");
	d = opendir(at("d"));
	if (!d)
		must(-1, "opendir d");
	must(rmdir(at("d")), "rmdir d");
	closedir(d);
	fs_free(&b2, &i2);
	return b2 == b0 && i2 == i0;
}

/* A lock of one open file, closed: another open file takes it at once. */
static int round_lock(int ofd)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, ok;

	fd = must(open(at("l"), O_CREAT | O_RDWR, 0644), "open l");
	must(ofd ? fcntl(fd, F_OFD_SETLK, &l) : flock(fd, LOCK_EX), "lock l");
	close(fd);
	fd = must(open(at("l"), O_RDWR), "open l again");
	ok = (ofd ? fcntl(fd, F_OFD_SETLK, &l) : flock(fd, LOCK_EX | LOCK_NB)) == 0;
	close(fd);
	return ok;
}

/* An O_PATH descriptor of the file, kept past its unlink and last close,
 * keeps its space; its own close frees it. */
static int round_opath(int unused)
{
	unsigned long b0, i0, b1, i1, b2, i2;
	int fd, p;

	(void)unused;
	fs_free(&b0, &i0);
	fd = must(open(at("p"), O_CREAT | O_RDWR | O_TRUNC, 0644), "create p");
	must((int)write(fd, buf, sizeof(buf)), "write p");
	p = must(open(at("p"), O_PATH), "O_PATH p");
	must(unlink(at("p")), "unlink p");
	close(fd);
	fs_free(&b1, &i1);
	close(p);
	fs_free(&b2, &i2);
	return b1 < b0 && i1 < i0 && b2 == b0 && i2 == i0;
}

/* Each kind of round, in order: rounds 0 runs ROUNDS of it. */
static const struct {
	const char *what;
	int (*round)(int arg);
	int arg, rounds;
} kinds[] = {
	{ "file unlinked: space and inode free", round_unlink, 0, 0 },
	{ "file removed while open, closed: space and inode free", round_file, 0, 0 },
	{ "directory removed while open, closed: inode free", round_dir, 0, 0 },
	{ "flock of a closed file: taken by the next open", round_lock, 0, 0 },
	{ "OFD lock of a closed file: taken by the next open", round_lock, 1, 0 },
	{ "O_PATH of a removed file: space kept, then free", round_opath, 0, 3 },
};

int main(int argc, char **argv)
{
	int rounds;

	if (argc != 3) {
		fprintf(stderr, "usage: close_order DIR ROUNDS\n");
		return 2;
	}
	dir = argv[1];
	rounds = atoi(argv[2]);
	memset(buf, 0x5a, sizeof(buf));
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		int n = kinds[k].rounds ? kinds[k].rounds : rounds, ok = 0;

		for (int i = 0; i < n; i++)
			ok += kinds[k].round(kinds[k].arg);
		printf("%s: %d of %d\n", kinds[k].what, ok, n);
	}
	unlink(at("l"));
	return 0;
}
