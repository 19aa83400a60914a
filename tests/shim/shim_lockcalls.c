// SPDX-License-Identifier: MIT
/*
 * shim_lockcalls.c FILE N - the record locks of N SQLite-like transactions
 * (shared lock through the PENDING byte, RESERVED, PENDING, EXCLUSIVE,
 * back to shared, unlock), an F_GETLK, an OFD lock and a flock pair each,
 * between two marker writes to descriptor 9 (/dev/null), so that a trace
 * of system calls can count those the locks made (tests/shim/lockcalls.sh).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#define PENDING 0x40000000
#define RESERVED (PENDING + 1)
#define SHARED_FIRST (PENDING + 2)
#define SHARED_SIZE 510

static int lk(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

static int txn(int fd, int ofd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = RESERVED, .l_len = 1 };
	int bad = 0;

	bad |= lk(fd, F_SETLK, F_RDLCK, PENDING, 1);
	bad |= lk(fd, F_SETLK, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
	bad |= lk(fd, F_SETLK, F_UNLCK, PENDING, 1);
	bad |= fcntl(fd, F_GETLK, &fl) | (fl.l_type != F_UNLCK);
	bad |= lk(fd, F_SETLK, F_WRLCK, RESERVED, 1);
	bad |= lk(fd, F_SETLK, F_WRLCK, PENDING, 1);
	bad |= lk(fd, F_SETLK, F_WRLCK, SHARED_FIRST, SHARED_SIZE);
	bad |= lk(fd, F_SETLK, F_RDLCK, SHARED_FIRST, SHARED_SIZE);
	bad |= lk(fd, F_SETLK, F_UNLCK, PENDING, 2);
	bad |= lk(fd, F_SETLK, F_UNLCK, 0, 0);
	bad |= lk(ofd, F_OFD_SETLK, F_WRLCK, 0, 1);
	bad |= lk(ofd, F_OFD_SETLK, F_UNLCK, 0, 1);
	bad |= flock(ofd, LOCK_EX | LOCK_NB);
	bad |= flock(ofd, LOCK_UN);
	return bad;
}

int main(int argc, char **argv)
{
	int fd, ofd, n, bad = 0;

	if (argc != 3)
		return 2;
	n = atoi(argv[2]);
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	ofd = open(argv[1], O_RDWR);
	if (fd < 0 || ofd < 0 || dup2(open("/dev/null", O_WRONLY), 9) != 9)
		return 2;
	bad |= txn(fd, ofd); /* the first use learns who this process is */
	write(9, "begin", 5);
	for (int i = 0; i < n; i++)
		bad |= txn(fd, ofd);
	write(9, "end", 3);
	printf("%d transactions: %s\n", n, bad ? "a lock call failed" : "ok");
	return bad;
}
