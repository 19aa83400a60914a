/* SPDX-License-Identifier: MIT */
/*
 * multi_lockfuzz.c - advisory locks of three processes in lockstep, from a
 * seed: POSIX record locks on two descriptors of each process, OFD locks
 * and flock on each descriptor, F_GETLK and F_OFD_GETLK, closes and
 * reopens. Only calls that never wait, one at a time, so that the
 * transcript depends on the seed alone: run on tmpfs without the library
 * (the kernel) and on the system under test, the two transcripts must be
 * the same line for line (tests/multi/locks.sh compares them).
 *
 *   multi_lockfuzz FILE SEED OPS [FILE2]
 *
 * With FILE2, the second and third processes reach the file by that path:
 * the same file through another front end (umfs-fuse beside the library).
 *
 * A description reached through FUSE drops its OFD locks and its flock
 * with explicit unlocks before a reopen closes it: the kernel sends the
 * file's release, which drops them in umfs-fuse, after close returns
 * (docs/sharing.md), so the next step could still meet them, and the
 * transcript would depend on the daemon's pace. On the kernel's own file
 * systems the unlocks change nothing that the close does not.
 *
 * Each line: the step, the worker and descriptor, the call, its answer
 * (0 or the errno's name) and, for a GETLK, what it reports: the type,
 * the range and whose lock (a worker's number for a POSIX lock, "ofd"
 * for l_pid -1, "?" for another pid).
 */
#include <signal.h>
#include <stdbool.h>
#include <sys/file.h>

#include "multi_common.h"

enum { WORKERS = 3, FDS = 2, SPAN = 24 };

struct op {
	int kind; /* OP_* */
	int fd;   /* 0 or 1: the worker's descriptor */
	int type; /* F_RDLCK, F_WRLCK, F_UNLCK; flock: LOCK_SH, LOCK_EX, LOCK_UN */
	long start, len;
};
enum { OP_POSIX, OP_GETLK, OP_OFD, OP_OFD_GETLK, OP_FLOCK, OP_REOPEN, OP_KINDS };

static const char *kind_name[] = { "setlk", "getlk", "ofd-setlk", "ofd-getlk", "flock", "reopen" };
static pid_t workers[WORKERS];

static const char *err_name(int e)
{
	switch (e) {
	case 0:
		return "0";
	case EAGAIN:
		return "EAGAIN";
	case EBADF:
		return "EBADF";
	case EINVAL:
		return "EINVAL";
	default:
		return strerror(e);
	}
}

static const char *type_name(int t)
{
	return t == F_RDLCK ? "R" : t == F_WRLCK ? "W" : t == F_UNLCK ? "U" : "?";
}

/* Whose lock a GETLK reported, by l_pid. */
static void owner_name(pid_t pid, char *buf, size_t n)
{
	if (pid == -1) {
		snprintf(buf, n, "ofd");
		return;
	}
	for (int w = 0; w < WORKERS; w++)
		if (workers[w] == pid) {
			snprintf(buf, n, "w%d", w);
			return;
		}
	snprintf(buf, n, "?%d", (int)pid);
}

/* One call in the worker; the answer line goes back through out. */
static void worker_do(const char *file, int fds[FDS], const struct op *o, FILE *out)
{
	struct flock fl = { .l_type = (short)o->type, .l_whence = SEEK_SET, .l_start = o->start,
			    .l_len = o->len };
	int fd = fds[o->fd], r = 0;

	switch (o->kind) {
	case OP_POSIX:
	case OP_OFD:
		r = fcntl(fd, o->kind == OP_POSIX ? F_SETLK : F_OFD_SETLK, &fl) == 0 ? 0 : errno;
		/* POSIX lets a conflict say EACCES or EAGAIN */
		fprintf(out, "%s\n", err_name(r == EACCES ? EAGAIN : r));
		break;
	case OP_GETLK:
	case OP_OFD_GETLK:
		r = fcntl(fd, o->kind == OP_GETLK ? F_GETLK : F_OFD_GETLK, &fl) == 0 ? 0 : errno;
		if (r == 0 && fl.l_type != F_UNLCK)
			fprintf(out, "%s %s %ld %ld pid %d\n", err_name(r), type_name(fl.l_type),
				(long)fl.l_start, (long)fl.l_len, (int)fl.l_pid);
		else
			fprintf(out, "%s %s\n", err_name(r), r ? "" : type_name(fl.l_type));
		break;
	case OP_FLOCK:
		r = flock(fd, o->type | LOCK_NB) == 0 ? 0 : errno;
		fprintf(out, "%s\n", err_name(r));
		break;
	case OP_REOPEN:
		if (on_fuse(fd)) {
			struct flock all = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

			fcntl(fd, F_OFD_SETLK, &all);
			flock(fd, LOCK_UN);
		}
		close(fd);
		fds[o->fd] = open(file, O_RDWR);
		fprintf(out, "%s\n", fds[o->fd] < 0 ? strerror(errno) : "0");
		break;
	}
	fflush(out);
}

static int worker_main(const char *file, int in, int outfd)
{
	FILE *out = fdopen(outfd, "w");
	int fds[FDS];
	struct op o;

	for (int i = 0; i < FDS; i++)
		fds[i] = open(file, O_RDWR);
	while (read(in, &o, sizeof(o)) == (ssize_t)sizeof(o))
		worker_do(file, fds, &o, out);
	return 0;
}

static struct op random_op(uint64_t *s)
{
	struct op o = { .kind = (int)(mrand(s) % OP_KINDS), .fd = (int)(mrand(s) % FDS) };
	static const int types[] = { F_RDLCK, F_WRLCK, F_UNLCK, F_WRLCK };
	static const int flocks[] = { LOCK_SH, LOCK_EX, LOCK_UN };

	/* reopens are rare: each drops the process's POSIX locks on the file */
	if (o.kind == OP_REOPEN && mrand(s) % 4)
		o.kind = OP_POSIX;
	o.type = o.kind == OP_FLOCK ? flocks[mrand(s) % 3] : types[mrand(s) % 4];
	if ((o.kind == OP_GETLK || o.kind == OP_OFD_GETLK) && o.type == F_UNLCK)
		o.type = F_WRLCK;
	o.start = (long)(mrand(s) % SPAN);
	/* a length of 0 runs to the end of the file, a negative one back */
	o.len = (long)(mrand(s) % 7) - (mrand(s) % 8 == 0 ? (long)(mrand(s) % 4) + 1 : 0);
	if (o.start + o.len < 0)
		o.len = -o.start;
	return o;
}

int main(int argc, char **argv)
{
	int to[WORKERS][2], from[WORKERS][2];
	FILE *in[WORKERS];
	uint64_t seed;
	long ops;
	int fd;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s FILE SEED OPS [FILE2]\n", argv[0]);
		return 2;
	}
	seed = strtoull(argv[2], NULL, 0);
	ops = atol(argv[3]);
	signal(SIGPIPE, SIG_IGN);
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	close(fd);
	for (int w = 0; w < WORKERS; w++) {
		if (pipe(to[w]) < 0 || pipe(from[w]) < 0)
			return 1;
		workers[w] = fork();
		if (workers[w] == 0) {
			for (int v = 0; v <= w; v++) {
				close(to[v][1]);
				close(from[v][0]);
			}
			_exit(worker_main(w && argc == 5 ? argv[4] : argv[1], to[w][0], from[w][1]));
		}
		close(to[w][0]);
		close(from[w][1]);
		in[w] = fdopen(from[w][0], "r");
	}
	for (long step = 0; step < ops; step++) {
		int w = (int)(mrand(&seed) % WORKERS);
		struct op o = random_op(&seed);
		char line[256], who[32] = "", *pid;

		if (write(to[w][1], &o, sizeof(o)) != (ssize_t)sizeof(o) || !fgets(line, sizeof(line), in[w])) {
			printf("%ld: worker %d is gone\n", step, w);
			return 1;
		}
		line[strcspn(line, "\n")] = '\0';
		pid = strstr(line, " pid ");
		if (pid) {
			owner_name((pid_t)atoi(pid + 5), who, sizeof(who));
			*pid = '\0';
		}
		printf("%ld: w%d fd%d %s %s %ld %ld -> %s%s%s\n", step, w, o.fd, kind_name[o.kind],
		       o.kind == OP_FLOCK ? (o.type == LOCK_SH ? "SH" : o.type == LOCK_EX ? "EX" : "UN")
					  : type_name(o.type),
		       o.start, o.len, line, *who ? " by " : "", who);
	}
	for (int w = 0; w < WORKERS; w++) {
		int st;

		close(to[w][1]);
		waitpid(workers[w], &st, 0);
	}
	unlink(argv[1]);
	return 0;
}
