/* SPDX-License-Identifier: MIT */
/*
 * crash_kill.c - writers killed with SIGKILL, over many rounds.
 *
 * A child process mounts the pool and appends, overwrites (small, large,
 * across EOF) and truncates one file through the C API. Around each call it
 * appends a record to its own checksum log on /dev/shm: an intent (what it
 * is about to do, with the CRC-32C of the bytes) before the call, a "done"
 * after the call returned. The parent kills it at a random moment, checks
 * with fsck -n that the pool holds crash state only (what the next mount
 * repairs, no damage), mounts it (recovery), checks it with fsck -n -f
 * (clean, not even crash state left), and compares the
 * file with the writes the log acknowledges: every "done" write must be
 * there, and the one in flight must be there entirely or not at all. Every
 * third round the parent leaves recovery to the next child, which may be
 * killed in the middle of it. Every fifth round the parent plays a process
 * of a shared pool that finds the writer dead: it mounts without recovery
 * and undoes only the journal and the U-Log records (umfs_ulog_undo_all),
 * leaving the rest to the next full recovery.
 *
 * With -L LIBUMFS the writer is a plain POSIX program (this binary
 * re-executed) under the LD_PRELOAD shim, killed the same way; the next
 * writer's shim then finds the pool lock of a dead holder. Every fourth
 * round, a shell under the shim first writes a file and executes `sleep`
 * in place of itself: as the pool's only user it marks the pool clean
 * before that exec (umfs_exec_last), and the killed writer, joining while
 * `sleep` still holds the gate, must have marked it in use again, or
 * recovery would not run and the checks below fail.
 *
 *   crash_kill [-r ROUNDS] [-s SEED] [-v] [-L libumfs.so]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "crash_lib.h"
#include "umfs_tools.h"

#define POOL_SIZE (48ull << 20)
#define MAX_FILE (8ull << 20)
#define LOG_MAGIC 0x4B4C4C4Bu

enum { OP_WRITE = 1, OP_TRUNC = 2, OP_DONE = 3 };

/* A record never straddles a page of the log: a write that does can be
 * cut short between its two pages by the SIGKILL (the kernel checks for
 * a fatal signal before each page it copies), and the next writer's
 * records would then follow a torn one. */
struct logrec {
	uint32_t magic, kind;
	uint64_t seq;
	uint64_t off, len; /* write: bytes at off; truncate: off is the new size */
	uint64_t seed;
	uint32_t crc, pad;
	uint64_t pad2[2];
};
_Static_assert(4096 % sizeof(struct logrec) == 0, "log records within pages");

static bool verbose;

/* ------------------------------------------------------------------ */
/* The writer                                                           */
/* ------------------------------------------------------------------ */

static void log_put(int fd, const struct logrec *r)
{
	if (write(fd, r, sizeof(*r)) != sizeof(*r))
		_exit(3);
}

/* The file the writer works on: through the C API, or through POSIX calls
 * of a process running under the LD_PRELOAD shim. */
struct wfile {
	struct umfs_file *f; /* C API */
	int fd;              /* POSIX */
};

static uint64_t wfile_size(const struct wfile *w)
{
	struct stat st;

	if (w->f ? umfs_fstat(w->f, &st) : fstat(w->fd, &st))
		_exit(7);
	return (uint64_t)st.st_size;
}

static bool wfile_truncate(const struct wfile *w, uint64_t size)
{
	return w->f ? umfs_ftruncate(w->f, (off_t)size) == 0 : ftruncate(w->fd, (off_t)size) == 0;
}

static bool wfile_pwrite(const struct wfile *w, const void *buf, uint64_t len, uint64_t off)
{
	ssize_t n = w->f ? umfs_pwrite(w->f, buf, len, (off_t)off) : pwrite(w->fd, buf, len, (off_t)off);

	return n == (ssize_t)len;
}

static void writer_loop(const struct wfile *w, int logfd, uint64_t seq, uint64_t seed)
{
	static uint8_t buf[3 << 20];
	uint64_t rnd = seed | 1;

	for (;; seq++) {
		struct logrec r = { .magic = LOG_MAGIC, .seq = seq };
		uint64_t size = wfile_size(w), pick = xrand(&rnd) % 100;

		if (size > MAX_FILE || pick < 4) {
			r.kind = OP_TRUNC;
			r.off = size ? xrand(&rnd) % size : 0;
		} else {
			static const uint64_t lens[] = { 64, 3000, 9000, 70000, 400000, 3 << 20 };

			r.kind = OP_WRITE;
			r.len = 1 + xrand(&rnd) % lens[xrand(&rnd) % UMFS_ARRAY_SIZE(lens)];
			r.off = pick < 30 ? size : xrand(&rnd) % (size + 1);
			r.seed = xrand(&rnd);
			fill_pattern(buf, r.len, r.seed);
			r.crc = umfs_crc32c(0, buf, r.len);
		}
		log_put(logfd, &r);
		if (r.kind == OP_TRUNC) {
			if (!wfile_truncate(w, r.off))
				_exit(5);
		} else if (!wfile_pwrite(w, buf, r.len, r.off)) {
			_exit(6);
		}
		r.kind = OP_DONE;
		log_put(logfd, &r);
	}
}

static void writer(const char *pool, const char *logpath, uint64_t seq, uint64_t seed)
{
	struct wfile w = { .fd = -1 };
	struct umfs_fs *fs;
	int fd = open(logpath, O_WRONLY | O_APPEND | O_CREAT, 0600);

	if (fd < 0 || umfs_mount(pool, 0, &fs) ||
	    umfs_open(fs, "/data", O_CREAT | O_RDWR, 0644, &w.f))
		_exit(4);
	writer_loop(&w, fd, seq, seed);
}

/* An unmodified-program writer: this binary re-executed under the shim,
 * doing plain open/pwrite/ftruncate on a path inside the UMFS prefix. */
#define SHIM_PREFIX "/umfs-kill"

static int posix_writer_main(char **argv)
{
	struct wfile w = { .fd = open(SHIM_PREFIX "/data", O_CREAT | O_RDWR, 0644) };
	int logfd = open(argv[0], O_WRONLY | O_APPEND | O_CREAT, 0600);

	if (w.fd < 0 || logfd < 0)
		_exit(4);
	writer_loop(&w, logfd, strtoull(argv[1], NULL, 0), strtoull(argv[2], NULL, 0));
	return 0;
}

static void shim_writer(const char *shim, const char *pool, const char *logpath, uint64_t seq,
			uint64_t seed)
{
	char s_seq[32], s_seed[32];

	snprintf(s_seq, sizeof(s_seq), "%llu", (unsigned long long)seq);
	snprintf(s_seed, sizeof(s_seed), "%llu", (unsigned long long)seed);
	setenv("LD_PRELOAD", shim, 1);
	setenv("UMFS_POOL", pool, 1);
	setenv("UMFS_MOUNT", SHIM_PREFIX, 1);
	execl("/proc/self/exe", "crash_kill", "--posix-writer", logpath, s_seq, s_seed, (char *)NULL);
	_exit(8);
}

/* The state word of the pool's state page. */
static uint64_t pool_state_word(const char *pool)
{
	struct umfs_state st = { 0 };
	int fd = open(pool, O_RDONLY);

	if (fd >= 0 && pread(fd, &st, sizeof(st), UMFS_PAGE_SIZE) != (ssize_t)sizeof(st))
		st.state = 0;
	if (fd >= 0)
		close(fd);
	return st.state;
}

/* A shell under the shim that writes a file and then runs `sleep` in place
 * of itself, once it is sleeping; 0 on failure. */
static pid_t exec_leaver(const char *shim, const char *pool)
{
	char comm[32] = "", path[64];
	pid_t pid = fork();

	if (pid == 0) {
		setenv("LD_PRELOAD", shim, 1);
		setenv("UMFS_POOL", pool, 1);
		setenv("UMFS_MOUNT", SHIM_PREFIX, 1);
		execl("/bin/sh", "sh", "-c", "echo mark >" SHIM_PREFIX "/mark; exec sleep 30",
		      (char *)NULL);
		_exit(8);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (int tries = 0; pid > 0 && tries < 2000 && strncmp(comm, "sleep", 5); tries++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;

		if (fd >= 0)
			close(fd);
		comm[n > 0 ? n : 0] = '\0';
		if (strncmp(comm, "sleep", 5))
			usleep(1000);
	}
	if (pid > 0 && strncmp(comm, "sleep", 5)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 0;
	}
	return pid;
}

/* ------------------------------------------------------------------ */
/* The checker                                                          */
/* ------------------------------------------------------------------ */

struct model {
	uint8_t *data;
	uint64_t size;
};

static void model_apply(struct model *m, const struct logrec *r)
{
	if (r->kind == OP_TRUNC) {
		if (r->off > m->size)
			memset(m->data + m->size, 0, r->off - m->size);
		m->size = r->off;
		return;
	}
	if (r->off > m->size)
		memset(m->data + m->size, 0, r->off - m->size);
	fill_pattern(m->data + r->off, r->len, r->seed);
	if (r->off + r->len > m->size)
		m->size = r->off + r->len;
}

/* Reads the log from *pos: applies the acknowledged operations, leaves
 * the one in flight (if any) in *pending. false on a malformed log. */
static bool log_read(const char *path, off_t *pos, struct model *m, struct logrec *pending,
		     bool *has_pending, uint64_t *seq, unsigned long *acked)
{
	int fd = open(path, O_RDONLY);
	struct logrec r;
	uint8_t *buf = NULL;

	if (fd < 0)
		return errno == ENOENT;
	while (pread(fd, &r, sizeof(r), *pos) == sizeof(r)) {
		*pos += (off_t)sizeof(r);
		if (r.magic != LOG_MAGIC || r.seq != *seq) {
			fprintf(stderr, "kill: bad log record (seq %llu, wanted %llu)\n",
				(unsigned long long)r.seq, (unsigned long long)*seq);
			close(fd);
			return false;
		}
		if (r.kind == OP_DONE) {
			if (!*has_pending)
				return close(fd), false;
			model_apply(m, pending);
			*has_pending = false;
			(*seq)++;
			(*acked)++;
			continue;
		}
		if (r.kind == OP_WRITE) {
			/* the log describes the bytes the writer wrote */
			buf = realloc(buf, r.len);
			fill_pattern(buf, r.len, r.seed);
			if (umfs_crc32c(0, buf, r.len) != r.crc) {
				fprintf(stderr, "kill: log CRC mismatch at seq %llu\n",
					(unsigned long long)r.seq);
				return close(fd), false;
			}
		}
		*pending = r;
		*has_pending = true;
	}
	free(buf);
	close(fd);
	return true;
}

static bool file_is(struct umfs_fs *fs, const struct model *m, uint8_t *tmp, uint64_t *bad)
{
	struct umfs_file *f;
	struct stat st;
	ssize_t n;

	*bad = UINT64_MAX;
	if (umfs_open(fs, "/data", O_RDONLY, 0, &f))
		return m->size == 0;
	umfs_fstat(f, &st);
	n = umfs_pread(f, tmp, (size_t)st.st_size, 0);
	umfs_close(f);
	if ((uint64_t)st.st_size != m->size || n != st.st_size)
		return false;
	for (uint64_t i = 0; i < m->size; i++)
		if (tmp[i] != m->data[i]) {
			*bad = i;
			return false;
		}
	return true;
}

/* fsck -n of the pool the kill left, in private memory: crash state only. */
static bool fsck_crash_only(const char *pool, char *why, size_t len)
{
	struct umfs_pmem pm;
	int err = umfs_pmem_map_private(pool, &pm);

	if (err) {
		snprintf(why, len, "cannot map the pool");
		return false;
	}
	err = check_crash_only(pm.base, pm.len, why, len);
	umfs_pmem_unmap(&pm);
	return err == 0;
}

static bool fsck_clean(const char *pool, char *why, size_t len)
{
	struct umfs_pmem pm;
	struct umfs_fs *fs;
	int err = umfs_pmem_map_private(pool, &pm);

	if (err) {
		snprintf(why, len, "cannot map the pool");
		return false;
	}
	/* mounting the recovered pool changes nothing; fsck then checks it */
	if (check_mount(pm.base, pm.len, 0, &fs, why, len) ||
	    check_finish(fs, pm.base, pm.len, why, len)) {
		umfs_pmem_unmap(&pm);
		return false;
	}
	umfs_pmem_unmap(&pm);
	return true;
}

/* The writers were killed: their runtime directory stays as they left it
 * until the next user of the pool, who rebuilds its region (and the shim's
 * shared area, shim being its library) and, the last to leave, with
 * everyone gone cleanly, parks them. */
/* Whether dir/name is there and parked by its last user. */
static bool file_parked(const char *dir, const char *name)
{
	char path[512];
	uint64_t magic = 0;
	struct stat st;
	int fd;
	bool parked;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	parked = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		 pread(fd, &magic, sizeof(magic), 0) == sizeof(magic) && magic == UMFS_GATE_PARKED;
	if (fd >= 0)
		close(fd);
	return parked;
}

static bool rundir_cleared(const char *pool, const char *shim)
{
	char path[256] = "", cmd[1024];
	struct umfs_fs *fs;

	if (shim) {
		snprintf(cmd, sizeof(cmd), "LD_PRELOAD='%s' UMFS_POOL='%s' UMFS_MOUNT=/umfs "
			 "ls /umfs >/dev/null", shim, pool);
		if (system(cmd) != 0)
			return false;
	}
	if (umfs_mount(pool, UMFS_MOUNT_SHARED, &fs))
		return false;
	snprintf(path, sizeof(path), "%s", umfs_fs_rundir_path(fs));
	umfs_unmount(fs);
	return path[0] && file_parked(path, "lock") && (!shim || file_parked(path, "shim/shared"));
}

int main(int argc, char **argv)
{
	char pool[256], logpath[300], why[1024];
	unsigned rounds = 60, failed = 0, recovered_by_child = 0, survivor = 0;
	unsigned inflight_new = 0, inflight_old = 0, exec_noted = 0;
	unsigned long acked = 0;
	uint64_t seed = 1, rnd, seq = 1;
	struct model m = { 0 }, alt;
	struct logrec pending;
	bool has_pending = false;
	off_t logpos = 0;
	uint8_t *tmp;
	double t0 = now_sec();
	const char *shim = NULL; /* -L: the writer is a program under LD_PRELOAD */
	int c;

	if (argc == 5 && strcmp(argv[1], "--posix-writer") == 0)
		return posix_writer_main(argv + 2);
	while ((c = getopt(argc, argv, "r:s:vL:")) != -1) {
		if (c == 'L')
			shim = optarg;
		else if (c == 'r')
			rounds = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 0);
		else if (c == 'v')
			verbose = true;
		else {
			fprintf(stderr, "usage: crash_kill [-r rounds] [-s seed] [-v] [-L libumfs.so]\n");
			return 2;
		}
	}
	rnd = seed * 0x9E3779B97F4A7C15ull | 1;
	if (pool_create(pool, sizeof(pool), "kill", POOL_SIZE, 0)) {
		fprintf(stderr, "kill: cannot make the pool\n");
		return 2;
	}
	snprintf(logpath, sizeof(logpath), "%s.log", pool);
	unlink(logpath);
	m.data = calloc(1, 2 * MAX_FILE + (8 << 20));
	alt.data = malloc(2 * MAX_FILE + (8 << 20));
	tmp = malloc(2 * MAX_FILE + (8 << 20));

	for (unsigned round = 0; round < rounds; round++) {
		struct timespec ts = { 0, (long)(xrand(&rnd) % 40000000) };
		bool verify = round % 3 != 2 || round == rounds - 1;
		struct umfs_fs *fs;
		uint64_t bad;
		int status, err;
		pid_t pid, leaver = 0;

		if (shim && round % 4 == 1) {
			leaver = exec_leaver(shim, pool);
			if (!leaver || pool_state_word(pool) != UMFS_STATE_CLEAN) {
				fprintf(stderr, "FAIL: kill: round %u: a shell executing in place of "
					"itself as the only user did not leave the pool clean\n",
					round);
				failed++;
				break;
			}
			exec_noted++;
		}
		pid = fork();
		if (pid == 0 && shim)
			shim_writer(shim, pool, logpath, seq, xrand(&rnd) ^ round);
		if (pid == 0)
			writer(pool, logpath, seq, xrand(&rnd) ^ round);
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (leaver) {
			kill(leaver, SIGKILL);
			waitpid(leaver, NULL, 0);
		}
		if (!WIFSIGNALED(status)) {
			fprintf(stderr, "FAIL: kill: round %u: the writer exited with %d\n", round,
				WEXITSTATUS(status));
			failed++;
			break;
		}
		if (!log_read(logpath, &logpos, &m, &pending, &has_pending, &seq, &acked)) {
			failed++;
			break;
		}
		/* an unverified round must leave no doubt for the next child */
		if (!verify && !has_pending) {
			recovered_by_child++;
			continue;
		}
		bool live = round % 5 == 4; /* as a surviving process of a shared pool */

		if (!fsck_crash_only(pool, why, sizeof(why))) {
			fprintf(stderr, "FAIL: kill: round %u: before recovery: %s\n", round, why);
			failed++;
			break;
		}
		err = umfs_mount(pool, live ? UMFS_MOUNT_NORECOVER : 0, &fs);
		if (!err && live) {
			survivor++;
			err = umfs_journal_recover(fs, NULL, NULL);
			umfs_alloc_init(fs);
			if (!err)
				err = umfs_ulog_undo_all(fs, NULL);
		}
		if (err) {
			fprintf(stderr, "FAIL: kill: round %u: mount (recovery): %s\n", round,
				umfs_mount_error());
			failed++;
			break;
		}
		if (file_is(fs, &m, tmp, &bad)) {
			if (has_pending)
				inflight_old++;
		} else if (has_pending) {
			uint64_t bad2;

			memcpy(alt.data, m.data, m.size + 1);
			alt.size = m.size;
			model_apply(&alt, &pending);
			if (file_is(fs, &alt, tmp, &bad2)) {
				model_apply(&m, &pending);
				inflight_new++;
			} else {
				fprintf(stderr,
					"FAIL: kill: round %u: the file is neither before nor "
					"after operation %llu (kind %u, %llu bytes at %llu): "
					"first difference at %llu / %llu\n",
					round, (unsigned long long)pending.seq, pending.kind,
					(unsigned long long)pending.len,
					(unsigned long long)pending.off, (unsigned long long)bad,
					(unsigned long long)bad2);
				failed++;
			}
		} else {
			fprintf(stderr, "FAIL: kill: round %u: an acknowledged write is missing: "
					"first difference at %llu\n",
				round, (unsigned long long)bad);
			failed++;
		}
		if (has_pending) {
			has_pending = false;
			seq++;
			/* the next writer starts after the operation in flight */
			if (verbose)
				printf("kill: round %u: operation %llu in flight\n", round,
				       (unsigned long long)pending.seq);
		}
		umfs_unmount(fs);
		if (live)
			continue; /* orphans and U-Logs stay for the next recovery */
		if (!fsck_clean(pool, why, sizeof(why))) {
			fprintf(stderr, "FAIL: kill: round %u: %s\n", round, why);
			failed++;
		}
		if (failed)
			break;
	}
	printf("kill: %u rounds in %.1f s: %lu acknowledged operations checked, in flight at the "
	       "kill: %u absent, %u complete; %u recoveries left to a writer, %u by a survivor; "
	       "%u after a last user's exec; %u failed\n",
	       rounds, now_sec() - t0, acked, inflight_old, inflight_new, recovered_by_child,
	       survivor, exec_noted, failed);
	if (!failed && !rundir_cleared(pool, shim)) {
		fprintf(stderr, "FAIL: kill: the next user did not leave the killed writers' "
				"runtime directory idle\n");
		failed++;
	}
	{
		uint8_t uuid[16]; /* the runtime directory outlives its users */

		if (umfs_pool_uuid(pool, uuid) == 0)
			(void)umfs_rundir_sweep(uuid, 0, NULL, NULL);
	}
	unlink(pool);
	unlink(logpath);
	free(m.data);
	free(alt.data);
	free(tmp);
	return failed ? 1 : 0;
}
