/* SPDX-License-Identifier: MIT */
/*
 * test_share.c - UMFS_MOUNT_SHARED: several mounts of one pool (in this
 * process and in forked children) through the lock region: changes seen
 * everywhere, free-space counts that agree, unlinked-while-open files kept
 * for their holders, first and last user, and writers and transaction
 * holders killed with SIGKILL mid-operation, whose work the next lock
 * taker rolls back (old bytes or new, never torn; counts exact).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

static struct test_pool tp;

static int teardown(void **state)
{
	(void)state;
	test_pool_reset(&tp);
	return 0;
}

/* A formatted pool, unmounted: the tests mount it themselves. */
static void pool_make(const char *tag, uint64_t size)
{
	assert_int_equal(test_pool_make(&tp, tag, size, 0), 0);
	assert_int_equal(umfs_unmount(tp.fs), 0);
	tp.fs = NULL;
}

static struct umfs_fs *mount_shared(void)
{
	struct umfs_fs *fs = NULL;

	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_SHARED, &fs), 0);
	return fs;
}

/* The lock region's path while fs is mounted shared. */
static void region_path(struct umfs_fs *fs, char *buf, size_t size)
{
	assert_true(umfs_fs_rundir_fd(fs) >= 0);
	snprintf(buf, size, "%s/%s", umfs_fs_rundir_path(fs), UMFS_RUNDIR_LOCK);
}

/* Whether the region file at path is as a last user leaves it when every
 * user left cleanly: whole, parked for the next first user. */
static bool region_parked(const char *path)
{
	uint64_t magic = 0;
	struct stat st;
	int fd = open(path, O_RDONLY);
	bool parked = fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 &&
		      pread(fd, &magic, sizeof(magic), 0) == sizeof(magic) &&
		      magic == UMFS_GATE_PARKED;

	if (fd >= 0)
		close(fd);
	return parked;
}

static void put_file(struct umfs_fs *fs, const char *path, const void *buf, size_t len)
{
	struct umfs_file *f;

	assert_int_equal(umfs_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &f), 0);
	assert_int_equal(umfs_pwrite(f, buf, len, 0), (ssize_t)len);
	assert_int_equal(umfs_close(f), 0);
}

/* A fresh pool holding name (content), left by its only user; the path of
 * its lock region into path. */
static void pool_with_file(const char *tag, const char *name, const char *content, char *path,
			   size_t size)
{
	struct umfs_fs *fs;

	pool_make(tag, 64ull << 20);
	fs = mount_shared();
	put_file(fs, name, content, strlen(content));
	region_path(fs, path, size);
	assert_int_equal(umfs_unmount(fs), 0);
}

static void assert_same_free(struct umfs_fs *a, struct umfs_fs *b)
{
	struct statvfs sa, sb;

	assert_int_equal(umfs_statfs(a, &sa), 0);
	assert_int_equal(umfs_statfs(b, &sb), 0);
	assert_int_equal(sa.f_bfree, sb.f_bfree);
	assert_int_equal(sa.f_ffree, sb.f_ffree);
}

/* Two mounts in one process: each sees the other's changes, their counts
 * agree, the last one out recovers, marks clean and removes the region. */
/* Claims on a file's memory across two mounts of one pool, as umfs-fuse's
 * daemon and a libumfs mapper make them: one kind at a time per inode,
 * each kind counted, given back at close (the cache) or on request (the
 * host file), and none without the hold that makes the entry. */
static void test_mem_claims(void **state)
{
	struct umfs_fs *fuse, *shim;
	struct umfs_file *w1, *w2, *r, *m, *other;
	struct stat st;
	uint64_t ino, other_ino;
	int status;
	pid_t child;
	(void)state;

	pool_make("memclaim", 32 << 20);
	fuse = mount_shared();
	shim = mount_shared();
	put_file(fuse, "/f", "x", 1);
	put_file(fuse, "/g", "y", 1);
	put_file(fuse, "/h", "z", 1);
	assert_int_equal(umfs_open(fuse, "/f", O_RDWR, 0, &w1), 0);
	assert_int_equal(umfs_open(fuse, "/f", O_RDWR, 0, &w2), 0);
	assert_int_equal(umfs_open(shim, "/f", O_RDWR, 0, &m), 0);
	assert_int_equal(umfs_open(shim, "/g", O_RDWR, 0, &other), 0);
	assert_int_equal(umfs_fstat(m, &st), 0);
	ino = st.st_ino;
	assert_int_equal(umfs_fstat(other, &st), 0);
	other_ino = st.st_ino;
	/* two cache claims; the host file refused until both are closed */
	assert_int_equal(umfs_file_cache_claim(w1), 0);
	assert_int_equal(umfs_file_cache_claim(w2), 0);
	assert_int_equal(umfs_file_cache_claim(w2), 0); /* once per open file */
	assert_int_equal(umfs_hostmap_claim(shim, ino, true), -EBUSY);
	assert_int_equal(umfs_hostmap_claim(shim, other_ino, true), 0); /* another inode */
	assert_int_equal(umfs_close(w1), 0);
	assert_int_equal(umfs_hostmap_claim(shim, ino, true), -EBUSY);
	assert_int_equal(umfs_close(w2), 0);
	/* another process's cache is another page cache: refused */
	assert_int_equal(umfs_open(fuse, "/f", O_RDWR, 0, &w1), 0);
	assert_int_equal(umfs_file_cache_claim(w1), 0);
	child = fork();
	if (child == 0) {
		struct umfs_fs *other_daemon = NULL;
		struct umfs_file *w;
		/* another inode nobody claims: its cache is this process's */
		int ok = umfs_mount(tp.path, UMFS_MOUNT_SHARED, &other_daemon) == 0 &&
			 umfs_open(other_daemon, "/f", O_RDWR, 0, &w) == 0 &&
			 umfs_file_cache_claim(w) == -EBUSY && umfs_close(w) == 0 &&
			 umfs_open(other_daemon, "/h", O_RDWR, 0, &w) == 0 &&
			 umfs_file_cache_claim(w) == 0 && umfs_close(w) == 0 &&
			 umfs_unmount(other_daemon) == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(umfs_close(w1), 0);
	assert_int_equal(umfs_hostmap_claim(shim, ino, true), 0);
	/* the host file's claim refuses the cache, in either mount */
	assert_int_equal(umfs_open(fuse, "/f", O_RDWR, 0, &r), 0);
	assert_int_equal(umfs_file_cache_claim(r), -EBUSY);
	assert_int_equal(umfs_hostmap_claim(shim, ino, false), 0);
	assert_int_equal(umfs_file_cache_claim(r), 0);
	assert_int_equal(umfs_close(r), 0);
	assert_int_equal(umfs_hostmap_claim(shim, other_ino, false), 0);
	assert_int_equal(umfs_close(m), 0);
	assert_int_equal(umfs_close(other), 0);
	/* no holder, no entry: nothing to claim on */
	assert_int_equal(umfs_hostmap_claim(shim, ino, true), -ENOMEM);
	assert_int_equal(umfs_hostmap_claim(shim, ino, false), 0);
	assert_int_equal(umfs_unmount(shim), 0);
	assert_int_equal(umfs_unmount(fuse), 0);
}

static void test_two_mounts(void **state)
{
	struct umfs_fs *a, *b, *c;
	struct umfs_file *f;
	struct statvfs s0, s1;
	char buf[64] = { 0 }, region[256];
	struct stat st;

	(void)state;
	pool_make("share2", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	region_path(a, region, sizeof(region));
	assert_int_equal(access(region, F_OK), 0);
	/* every page of it reserved: none is first touched on a full /dev/shm */
	assert_int_equal(stat(region, &st), 0);
	assert_true(st.st_blocks * 512 >= st.st_size);
	assert_string_equal(umfs_fs_rundir_path(a), umfs_fs_rundir_path(b));
	/* SHARED with EXCLUSIVE or RDONLY makes no sense */
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_SHARED | UMFS_MOUNT_EXCLUSIVE, &c),
			 -EINVAL);
	/* a pool in use refuses an exclusive mount (fsck's) */
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_EXCLUSIVE, &c), -EBUSY);

	put_file(a, "/x", "from a", 6);
	assert_int_equal(umfs_open(b, "/x", O_RDWR, 0, &f), 0);
	assert_int_equal(umfs_pread(f, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "from a", 6);
	assert_int_equal(umfs_pwrite(f, "B", 1, 0), 1);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(umfs_mkdir(b, "/d", 0755), 0);
	assert_int_equal(umfs_stat(a, "/d", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_same_free(a, b);

	/* unlinked while open in a: kept for a, freed at a's close */
	assert_int_equal(umfs_statfs(a, &s0), 0);
	{
		static uint8_t big[1 << 20];

		memset(big, 0x5a, sizeof(big));
		put_file(b, "/big", big, sizeof(big));
	}
	assert_int_equal(umfs_open(a, "/big", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_unlink(b, "/big"), 0);
	assert_int_equal(umfs_stat(b, "/big", &st, 0), -ENOENT);
	assert_int_equal(umfs_pread(f, buf, 8, 4096), 8);
	assert_memory_equal(buf, "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8);
	assert_int_equal(umfs_statfs(b, &s1), 0);
	assert_true(s1.f_bfree < s0.f_bfree); /* still allocated */
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(umfs_statfs(b, &s1), 0);
	assert_int_equal(s1.f_bfree, s0.f_bfree);
	assert_same_free(a, b);

	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(access(region, F_OK), 0); /* a still uses it */
	assert_int_equal(umfs_unmount(a), 0);
	/* the last user parked the region (its directory stays for the
	 * next) and left the pool clean: an exclusive mount needs no
	 * recovery and sees everything */
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_EXCLUSIVE, &c), 0);
	assert_true(region_parked(region));
	assert_int_equal(umfs_fs_rundir_fd(c), -1);
	assert_int_equal(c->state->state, UMFS_STATE_DIRTY); /* mounted now... */
	assert_int_equal(umfs_stat(c, "/d", &st, 0), 0);
	assert_int_equal(umfs_open(c, "/x", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_pread(f, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "Brom a", 6);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(c->recovery.journal_rolled_back, 0);
	assert_int_equal(umfs_unmount(c), 0);
	/* ...and was clean before: a read-only mount accepts it */
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_RDONLY, &c), 0);
	assert_int_equal(umfs_unmount(c), 0);
}

/*
 * Two users let go of one unlinked file at once, as umfs-fuse closing it
 * beside a program on the library that renamed over it: each may choose to
 * reclaim it, and the second's reclaim may run after the first freed the
 * inode and a create gave its number to a new file. That late reclaim is
 * for the old generation: the new file keeps its name, pages and inode.
 */
static void test_reclaim_after_reuse(void **state)
{
	static uint8_t data[64 << 10];
	struct umfs_fs *a, *b;
	struct umfs_file *f;
	uint64_t ino, ino2;
	uint32_t gen, gen2;
	uint8_t buf[sizeof(data)];
	struct stat st;

	(void)state;
	pool_make("reuse", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	memset(data, 0x11, sizeof(data));
	put_file(b, "/v", data, sizeof(data));
	assert_int_equal(umfs_open(a, "/v", O_RDONLY, 0, &f), 0);
	umfs_file_id(f, &ino, &gen);
	put_file(b, "/w", "w", 1);
	assert_int_equal(umfs_rename(b, "/w", "/v", 0), 0); /* /v's inode: a's orphan */
	assert_int_equal(umfs_close(f), 0);                  /* a reclaims it */

	memset(data, 0x22, sizeof(data));
	put_file(b, "/new", data, sizeof(data));
	assert_int_equal(umfs_open(b, "/new", O_RDONLY, 0, &f), 0);
	umfs_file_id(f, &ino2, &gen2);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(ino2, ino); /* the lowest free number is taken first */
	assert_int_not_equal(gen2, gen);

	/* b's reclaim of the old generation, late */
	assert_int_equal(umfs_inode_reclaim(b, ino, gen), 0);
	assert_true(umfs_inode_live(a, ino));
	assert_int_equal(umfs_stat(a, "/new", &st, 0), 0);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(umfs_open(a, "/new", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_pread(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_memory_equal(buf, data, sizeof(data));
	assert_int_equal(umfs_close(f), 0);
	assert_same_free(a, b);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Fills buf with generation g: every 8 bytes carry g. */
static void fill_gen(uint64_t *buf, size_t len, uint64_t g)
{
	for (size_t i = 0; i < len / 8; i++)
		buf[i] = g;
}

/* The child: its own mount, then overwrites of the whole region with
 * generation after generation, each acknowledged in *acked, until killed. */
static void child_overwrite(size_t len, volatile uint64_t *acked)
{
	uint64_t *buf = malloc(len);
	struct umfs_fs *fs = NULL;
	struct umfs_file *f;

	if (!buf || umfs_mount(tp.path, UMFS_MOUNT_SHARED, &fs) ||
	    umfs_open(fs, "/f", O_RDWR, 0, &f))
		_exit(2);
	for (uint64_t g = *acked + 1;; g++) {
		fill_gen(buf, len, g);
		if (umfs_pwrite(f, buf, len, 0) != (ssize_t)len)
			_exit(3);
		*acked = g;
	}
}

/* Every 8-byte word of the region holds the same generation, and that one
 * is the last acknowledged or the one after it (in flight at the kill). */
static void check_whole(struct umfs_fs *fs, size_t len, uint64_t acked)
{
	uint64_t *buf = malloc(len);
	struct umfs_file *f;

	assert_non_null(buf);
	assert_int_equal(umfs_open(fs, "/f", O_RDONLY, 0, &f), 0);
	assert_int_equal(umfs_pread(f, buf, len, 0), (ssize_t)len);
	for (size_t i = 1; i < len / 8; i++)
		if (buf[i] != buf[0])
			fail_msg("torn at byte %zu: generation %llu after %llu", i * 8,
				 (unsigned long long)buf[i], (unsigned long long)buf[0]);
	if (buf[0] != acked && buf[0] != acked + 1)
		fail_msg("generation %llu, last acknowledged %llu", (unsigned long long)buf[0],
			 (unsigned long long)acked);
	assert_int_equal(umfs_close(f), 0);
	free(buf);
}

static void kill_overwriters(size_t len, int rounds)
{
	volatile uint64_t *acked = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t *zero = calloc(1, len);
	struct umfs_fs *fs;
	unsigned seed = (unsigned)now_us();

	assert_true(acked != MAP_FAILED);
	assert_non_null(zero);
	fs = mount_shared(); /* first: the children never recover */
	put_file(fs, "/f", zero, len);
	for (int r = 0; r < rounds; r++) {
		uint64_t t0, base = *acked;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0)
			child_overwrite(len, acked);
		/* until it has written a few, then at a random moment */
		for (t0 = now_us(); *acked < base + 2 && now_us() - t0 < 5000000;)
			usleep(100);
		usleep(rand_r(&seed) % 3000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* the read meets the dead writer's stripe and repairs it */
		check_whole(fs, len, *acked);
		/* and a writer after it works */
		{
			uint64_t *buf = malloc(len);
			struct umfs_file *f;

			fill_gen(buf, len, *acked + 2);
			assert_int_equal(umfs_open(fs, "/f", O_RDWR, 0, &f), 0);
			assert_int_equal(umfs_pwrite(f, buf, len, 0), (ssize_t)len);
			assert_int_equal(umfs_close(f), 0);
			free(buf);
			*acked += 2;
		}
	}
	assert_int_equal(umfs_unmount(fs), 0);
	munmap((void *)acked, 4096);
	free(zero);
}

/* Small overwrites: the U-Log byte record. */
static void test_kill_writer_bytes(void **state)
{
	(void)state;
	pool_make("sharekb", 64ull << 20);
	kill_overwriters(32 << 10, 25);
}

/* Large overwrites: copy-on-write under a swap record. */
static void test_kill_writer_cow(void **state)
{
	(void)state;
	pool_make("sharekc", 128ull << 20);
	kill_overwriters(1 << 20, 15);
}

/* Children creating and removing files (transactions) killed at random;
 * afterwards the counts every mount keeps agree with a fresh count. */
static void test_kill_meta(void **state)
{
	struct umfs_fs *fs, *c;
	char path[256];
	struct statvfs s1, s2;
	unsigned seed = (unsigned)now_us();

	(void)state;
	pool_make("sharekm", 64ull << 20);
	fs = mount_shared();
	assert_int_equal(umfs_mkdir(fs, "/d", 0755), 0);
	for (int r = 0; r < 20; r++) {
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct umfs_fs *cfs = NULL;
			static uint8_t data[12288];
			char name[64];

			if (umfs_mount(tp.path, UMFS_MOUNT_SHARED, &cfs))
				_exit(2);
			for (unsigned i = 0;; i++) {
				snprintf(name, sizeof(name), "/d/f%u-%u", (unsigned)r, i % 64);
				umfs_unlink(cfs, name);
				put_file(cfs, name, data, (i % 3) * 4096 + 100);
			}
		}
		usleep(2000 + rand_r(&seed) % 20000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* a transaction of ours after the dead one's */
		put_file(fs, "/after", "x", 1);
		/* a new mount counts from the bitmaps: the same figures */
		c = mount_shared();
		assert_same_free(fs, c);
		assert_int_equal(umfs_unmount(c), 0);
	}
	assert_true(umfs_share_takeovers(fs) > 0); /* some died holding a lock */
	assert_int_equal(umfs_statfs(fs, &s1), 0);
	region_path(fs, path, sizeof(path));
	assert_int_equal(umfs_unmount(fs), 0);
	assert_false(region_parked(path)); /* cut: some died in it */
	/* the last one out freed what the dead held (U-Log chains, inodes
	 * whose reclaim they had begun):
	 * a private mount finds a clean pool with at least as much free */
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_RDONLY, &c), 0);
	assert_int_equal(umfs_statfs(c, &s2), 0);
	assert_true(s2.f_bfree >= s1.f_bfree);
	assert_true(s2.f_ffree >= s1.f_ffree); /* an unlink cut short in its reclaim */
	assert_int_equal(umfs_unmount(c), 0);
}

/* A region every user left cleanly is parked whole, and the next first
 * user takes it up in place: the same file, a new making counting from
 * nothing. One that a user left without leaving (killed), or whose parked
 * header is not this pool's library's, is cut and made anew. */
/* A child process of the pool that starts an exec and ends with it (what
 * a successful exec is to the pool: no unmount follows): alone selects
 * umfs_holds_hand's count of the leave, open a file held meanwhile, fail
 * an exec that failed and then the child unmounts. Returns how many holds
 * were listed, or 100 + errno. */
static int exec_child(bool alone, bool open_one, bool fail)
{
	struct umfs_held list[4];
	struct umfs_file *f = NULL;
	struct umfs_fs *c = NULL;
	uint64_t region;
	int n;

	if (umfs_mount(tp.path, UMFS_MOUNT_SHARED, &c))
		return 100;
	if (open_one && umfs_open(c, "/x", O_RDONLY, 0, &f))
		return 101;
	n = umfs_holds_hand(c, alone, &region, list, 4);
	if (n < 0)
		return 100 - n;
	if (fail) {
		umfs_holds_keep(c, list, (size_t)n);
		if (f)
			umfs_close(f);
		if (umfs_unmount(c))
			return 102;
	}
	return n;
}

/* Whether the region is parked after the pool's last user leaves, with one
 * child run by exec_child between (its exit status checked: holds). */
static bool parked_after_exec(bool alone, bool open_one, bool fail, int holds)
{
	struct umfs_fs *a = mount_shared();
	char path[256];
	int status;
	pid_t pid;

	region_path(a, path, sizeof(path));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(exec_child(alone, open_one, fail));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), holds);
	assert_int_equal(umfs_unmount(a), 0);
	return region_parked(path);
}

/* A process that holds nothing and runs no other thread counts its leave
 * as its exec starts (the new image may never mount the pool to count it),
 * and its join again when the exec fails; one that holds a file, or is not
 * alone, counts nothing and hands on. An exec that ended leaves the count
 * matched only in the first case: the last user then parks the region,
 * else takes the child for dead and cuts it. */
static void test_exec_leave(void **state)
{
	char path[256];

	(void)state;
	pool_with_file("sharexl", "/x", "x", path, sizeof(path));
	assert_true(parked_after_exec(true, false, false, 0));
	assert_false(parked_after_exec(false, false, false, 0));
	assert_false(parked_after_exec(true, true, false, 1));
	assert_true(parked_after_exec(true, false, true, 0)); /* failed: one leave */
	assert_true(parked_after_exec(true, true, true, 1));
	assert_true(parked_after_exec(false, false, true, 0));
}

/* The state word of the pool's state page, as the file holds it. */
static uint64_t pool_state_word(void)
{
	struct umfs_state st;
	int fd = open(tp.path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &st, sizeof(st), UMFS_PAGE_SIZE), (ssize_t)sizeof(st));
	close(fd);
	return st.state;
}

/* The pool's last user executes a program, holding nothing: it marks the
 * pool clean and notes it in the region before the exec, so that a new
 * image that never mounts leaves nothing to recover, and the next first
 * user takes region and pool as they are. Whoever joins after the note
 * (the new image, or the same process after a failed exec), or changes
 * the pool before the exec, marks the pool in use again before it goes
 * on, so that its death is recovered. */
/* In a child: mounts, holding nothing starts an exec alone, and does what
 * comes right before the exec system call. The mount, or _exit(1). */
static struct umfs_fs *exec_last_child(void)
{
	struct umfs_held list[1];
	struct umfs_fs *c = NULL;
	uint64_t region;

	if (umfs_mount(tp.path, UMFS_MOUNT_SHARED, &c) ||
	    umfs_holds_hand(c, true, &region, list, 1) != 0)
		_exit(1);
	umfs_exec_last(c);
	return c;
}

/* A child's exec_last_child, then what comes between the note and the
 * exec (change): the pool must read clean after the note and in use after
 * the change. The child's status: 0 when both held. */
static int noted_then(void (*change)(struct umfs_fs *))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct umfs_fs *c = exec_last_child();

		if (pool_state_word() != UMFS_STATE_CLEAN)
			_exit(2);
		change(c);
		_exit(pool_state_word() == UMFS_STATE_DIRTY ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* a signal handler's write between the note and the exec */
static void handler_write(struct umfs_fs *c)
{
	put_file(c, "/h", "handler", 7);
}

/* the exec failed: the process joins again, and dies in it */
static void exec_failed(struct umfs_fs *c)
{
	umfs_holds_keep(c, NULL, 0);
}

static void test_exec_last(void **state)
{
	struct stat st0, st1;
	struct umfs_fs *a;
	char path[256];
	int status, go[2], back[2];
	pid_t pid;

	(void)state;
	pool_with_file("sharexa", "/x", "before", path, sizeof(path));

	/* the only user: the exec leaves pool clean and region noted */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		exec_last_child();
		_exit(0); /* the exec, into a program that never mounts */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(pool_state_word(), UMFS_STATE_CLEAN);
	assert_false(region_parked(path));
	assert_int_equal(stat(path, &st0), 0);
	assert_true(st0.st_size > 0);
	a = mount_shared(); /* first user: taken as it is */
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_ino, st0.st_ino);
	assert_int_equal(st1.st_size, st0.st_size);
	assert_int_equal(pool_state_word(), UMFS_STATE_DIRTY);
	assert_int_equal(umfs_unmount(a), 0);
	assert_true(region_parked(path));

	/* a change between the note and the exec (a signal handler's
	 * write): in use again before it, and the note gone with it */
	assert_int_equal(noted_then(handler_write), 0);
	assert_int_equal(pool_state_word(), UMFS_STATE_DIRTY);
	a = mount_shared();
	assert_int_equal(umfs_stat(a, "/h", &st1, 0), 0);
	assert_int_equal(st1.st_size, 7);
	assert_int_equal(umfs_unmount(a), 0);
	assert_int_equal(pool_state_word(), UMFS_STATE_CLEAN);

	/* a failed exec: in use again, so a death after it is recovered */
	assert_int_equal(noted_then(exec_failed), 0);
	assert_int_equal(pool_state_word(), UMFS_STATE_DIRTY); /* recovered next */
	a = mount_shared();
	assert_int_equal(umfs_unmount(a), 0);
	assert_int_equal(pool_state_word(), UMFS_STATE_CLEAN);

	/* another process joins after the note, while the executed image
	 * still holds the gate: in use again until the last user leaves */
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(back), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char ch = 0;

		exec_last_child();
		if (write(back[1], &ch, 1) != 1 || read(go[0], &ch, 1) != 1)
			_exit(2);
		_exit(0);
	}
	{
		char ch = 0;

		assert_int_equal(read(back[0], &ch, 1), 1);
		assert_int_equal(pool_state_word(), UMFS_STATE_CLEAN);
		a = mount_shared(); /* a later user: the gate is held */
		assert_int_equal(pool_state_word(), UMFS_STATE_DIRTY);
		assert_int_equal(write(go[1], &ch, 1), 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	put_file(a, "/y", "after", 5);
	assert_int_equal(umfs_unmount(a), 0);
	assert_true(region_parked(path));
	assert_int_equal(pool_state_word(), UMFS_STATE_CLEAN);
	a = mount_shared();
	assert_int_equal(umfs_stat(a, "/x", &st1, 0), 0);
	assert_int_equal(st1.st_size, 6);
	assert_int_equal(umfs_stat(a, "/y", &st1, 0), 0);
	assert_int_equal(st1.st_size, 5);
	assert_int_equal(umfs_unmount(a), 0);
	close(go[0]);
	close(go[1]);
	close(back[0]);
	close(back[1]);
}

static void test_parked_region(void **state)
{
	struct umfs_fs *a, *b;
	char path[256];
	struct stat st0, st1;
	uint64_t inst;
	int status, fd;
	pid_t pid;

	(void)state;
	pool_make("sharepk", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	put_file(b, "/p", "parked", 6);
	region_path(a, path, sizeof(path));
	inst = umfs_share_instance(a);
	assert_int_equal(umfs_unmount(b), 0);
	assert_false(region_parked(path)); /* a still uses it */
	assert_int_equal(umfs_unmount(a), 0);
	assert_true(region_parked(path));
	assert_int_equal(stat(path, &st0), 0);

	a = mount_shared();
	assert_false(region_parked(path));
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_ino, st0.st_ino);
	assert_int_equal(st1.st_size, st0.st_size);
	assert_true(umfs_share_instance(a) != inst);
	assert_int_equal(umfs_share_takeovers(a), 0);
	assert_int_equal(umfs_stat(a, "/p", &st1, 0), 0);
	assert_int_equal(st1.st_size, 6);

	/* a user that dies in it: its count says so, the last one out cuts it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct umfs_fs *c = NULL;

		_exit(umfs_mount(tp.path, UMFS_MOUNT_SHARED, &c) ? 2 : 0); /* no unmount */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(umfs_unmount(a), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_size, 0);

	/* a parked header of another version: made anew, usable by two */
	a = mount_shared();
	assert_int_equal(umfs_unmount(a), 0);
	assert_true(region_parked(path));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "\xff\xff\xff\xff", 4, 8), 4); /* the version */
	close(fd);
	a = mount_shared();
	b = mount_shared();
	assert_int_equal(umfs_stat(b, "/p", &st1, 0), 0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
	assert_true(region_parked(path));
}

/* A region left by dead processes (its mutexes owned by threads that no
 * longer exist) or full of garbage is rebuilt by the next first user. */
static void test_stale_region(void **state)
{
	struct umfs_fs *fs;
	char path[256];
	struct stat st;
	int fd;

	(void)state;
	pool_with_file("sharest", "/keep", "kept", path, sizeof(path));
	/* garbage of the right size, nobody holding the gate, in the
	 * directory the state page names (as processes killed together
	 * would leave it) */
	*strrchr(path, '/') = '\0';
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	strcat(path, "/" UMFS_RUNDIR_LOCK);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	{
		static uint8_t junk[1 << 16];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 131 + 7);
		for (int i = 0; i < 40; i++)
			assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	}
	close(fd);
	fs = mount_shared();
	assert_int_equal(umfs_stat(fs, "/keep", &st, 0), 0);
	assert_int_equal(st.st_size, 4);
	put_file(fs, "/new", "n", 1);
	assert_int_equal(umfs_unmount(fs), 0);
}

/* Fills [from, to) of the mapped region file with bytes no process wrote. */
static void region_scribble_at(const char *path, size_t from, size_t to, uint64_t seed)
{
	uint8_t *p;
	struct stat st;
	int fd;

	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	for (size_t i = from; i < to && i < (size_t)st.st_size; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (uint8_t)seed;
	}
	munmap(p, (size_t)st.st_size);
	close(fd);
}

static void region_scribble(struct umfs_fs *fs, size_t from, size_t to, uint64_t seed)
{
	char path[256];

	region_path(fs, path, sizeof(path));
	region_scribble_at(path, from, to, seed);
}

static double mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool desc_alive_always(uint32_t slot, uint64_t id)
{
	(void)slot;
	(void)id;
	return true;
}

static const struct umfs_lock_ops ops_alive = { .desc_alive = desc_alive_always };

/* A write lock on [0, 9] of file number ino: of this process (a POSIX
 * owner), or of a new description (an OFD owner). */
static struct umfs_lock_req wrlock_req(enum umfs_lock_kind kind, uint64_t ino)
{
	struct umfs_lock_req q = { .owner = { .kind = (uint8_t)kind }, .ino = ino, .gen = 1,
				   .type = F_WRLCK, .start = 0, .end = 9 };

	if (kind == UMFS_LOCK_POSIX) {
		q.owner.id = umfs_lock_process_id();
		q.owner.pid = getpid();
	} else {
		q.owner.id = umfs_lock_new_id();
		q.owner.pid = -1;
	}
	return q;
}

/* A record lock of a (this process, a POSIX owner) on a file number no
 * test uses otherwise is seen by b's test (a description's OFD owner), and
 * gone after its release: the lock table, whatever was in it, still
 * serves. */
static void locks_go_on(struct umfs_fs *a, struct umfs_fs *b)
{
	const uint64_t ino = 0x5EED0000ull;
	struct umfs_lock_req set = wrlock_req(UMFS_LOCK_POSIX, ino);
	struct umfs_lock_req probe = wrlock_req(UMFS_LOCK_OFD, ino), seen;

	probe.start = probe.end = 5;
	probe.test = true;

	assert_int_equal(umfs_lock_request(a, &set, &ops_alive, NULL), 0);
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), -EAGAIN);
	assert_int_equal(seen.owner.id, set.owner.id);
	set.type = F_UNLCK;
	assert_int_equal(umfs_lock_request(a, &set, &ops_alive, NULL), 0);
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), 0);
}

/* Two users of a region someone wrote garbage into go on: a's record lock
 * is seen by b and then released (locks_go_on); b makes name, which a then
 * sees; a overwrites the first byte of "/before" ("before") and reads it
 * back; a removes name. */
static void users_go_on(struct umfs_fs *a, struct umfs_fs *b, const char *name)
{
	struct umfs_file *f;
	struct stat st;
	char buf[16];

	locks_go_on(a, b);
	put_file(b, name, "after", 5);
	assert_int_equal(umfs_stat(a, name, &st, 0), 0);
	assert_int_equal(umfs_open(a, "/before", O_RDWR, 0, &f), 0);
	assert_int_equal(umfs_pwrite(f, "B", 1, 0), 1);
	assert_int_equal(umfs_pread(f, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "Before", 6);
	assert_int_equal(umfs_close(f), 0);
	assert_int_equal(umfs_unlink(a, name), 0);
}

/* Garbage in the body of a region in use (every lock word, count, holder,
 * sequence number and record lock), and a metadata lock whose holder was
 * forged by a process now gone: the users go on, within a bound, taking
 * every lock over; nothing they had is lost. */
static void test_region_garbage_in_use(void **state)
{
	struct umfs_fs *a, *b;
	char name[32];
	size_t body;
	struct stat st;
	double t0;
	pid_t pid;

	(void)state;
	pool_make("sharegb", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	put_file(a, "/before", "before", 6);
	body = (size_t)((uint8_t *)umfs_share_meta_plock(a) - (uint8_t *)a->share);
	for (uint64_t round = 1; round <= 3; round++) {
		region_scribble(a, body, SIZE_MAX, round * 0x9E3779B97F4A7C15ull);
		t0 = mono_sec();
		snprintf(name, sizeof(name), "/after%llu", (unsigned long long)round);
		users_go_on(a, b, name);
		assert_true(mono_sec() - t0 < 20.0);
		assert_same_free(a, b);
	}
	/* a holder forged by a process that is gone */
	pid = fork();
	if (pid == 0) {
		umfs_plock_forked();
		umfs_plock_lock(umfs_share_meta_plock(a), "forged");
		_exit(0); /* leaves the word naming itself */
	}
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	t0 = mono_sec();
	assert_int_equal(umfs_mkdir(b, "/dir", 0755), 0);
	assert_true(mono_sec() - t0 < 5.0);
	assert_true(umfs_share_takeovers(a) > 0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
	a = mount_shared();
	assert_int_equal(umfs_stat(a, "/dir", &st, 0), 0);
	assert_int_equal(umfs_stat(a, "/before", &st, 0), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

/* The record of tab's lock on file ino, or NULL. */
static struct umfs_lk_rec *lock_rec_of(struct umfs_locktab *t, uint64_t ino)
{
	for (uint32_t i = 0; i < UMFS_LK_RECS; i++)
		if (t->recs[i].kind && t->recs[i].ino == ino)
			return &t->recs[i];
	return NULL;
}

/* The bucket whose list starts at record idx (index + 1), or -1. */
static long lock_bucket_of(struct umfs_locktab *t, uint32_t idx)
{
	for (uint32_t b = 0; b < UMFS_LK_BUCKETS; b++)
		if (t->buckets[b].head == idx)
			return b;
	return -1;
}

/* A new pool of the name, mounted shared as *a and, if b, *b: its record
 * lock table. */
static struct umfs_locktab *locktab_mounted(const char *name, struct umfs_fs **a,
					    struct umfs_fs **b)
{
	struct umfs_locktab *t;

	pool_make(name, 64ull << 20);
	*a = mount_shared();
	if (b)
		*b = mount_shared();
	t = umfs_share_locktab(*a);
	assert_non_null(t);
	return t;
}

/* A list damaged to lead into another bucket's records is cut there when
 * the table is rebuilt: those records stay their own list's. x's lock is
 * the only one of its bucket; w's, in a bucket walked before x's, is made
 * to link to it; a request on w that w's lock does not stop meets x's
 * record in w's list, and the rebuild it causes must leave x's lock as it
 * was. */
static void test_locktab_crosslinked(void **state)
{
	struct umfs_lock_req set = wrlock_req(UMFS_LOCK_POSIX, 0x5EED4000ull);
	struct umfs_lock_req other = wrlock_req(UMFS_LOCK_OFD, 0), probe, seen;
	struct umfs_locktab *t;
	struct umfs_lk_rec *rx, *rw = NULL;
	long bx, bw = -1;
	struct umfs_fs *a, *b;

	(void)state;
	t = locktab_mounted("sharexl", &a, &b);
	assert_int_equal(umfs_lock_request(a, &set, &ops_alive, NULL), 0);
	rx = lock_rec_of(t, set.ino);
	assert_non_null(rx);
	bx = lock_bucket_of(t, (uint32_t)(rx - t->recs) + 1);
	assert_true(bx > 0);
	/* a file of a bucket before x's, alone in it */
	for (uint64_t w = 1; bw < 0 && w < 100000; w++) {
		long bb;

		other.ino = 0x6EED0000ull + w;
		other.type = F_WRLCK;
		assert_int_equal(umfs_lock_request(b, &other, &ops_alive, NULL), 0);
		rw = lock_rec_of(t, other.ino);
		bb = lock_bucket_of(t, (uint32_t)(rw - t->recs) + 1);
		if (bb >= 0 && bb < bx && rw->next == 0) {
			bw = bb;
			break;
		}
		other.type = F_UNLCK;
		assert_int_equal(umfs_lock_request(b, &other, &ops_alive, NULL), 0);
	}
	assert_true(bw >= 0);
	rw->next = (uint32_t)(rx - t->recs) + 1;
	probe = other;
	probe.owner.id = umfs_lock_new_id();
	probe.test = true;
	probe.start = probe.end = 50; /* past w's lock: the walk goes on to x's */
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), 0);
	probe.start = 0;
	probe.end = 9;
	probe.ino = set.ino;
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), -EAGAIN);
	assert_int_equal(seen.owner.id, set.owner.id);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

/* What another user of the pool writes into the record lock table loses
 * no live lock its record: with the count of records handed out and the
 * free list forged empty, a new lock takes no record a live lock holds
 * (a's lock is still seen); with the free list forged into a loop, a lock
 * does not get one record twice (its record freed as an unused spare). A
 * record forged to name owner 0, which no owner has, is dropped, not
 * waited for. */
static void test_locktab_forged(void **state)
{
	const uint64_t x = 0x5EED1000ull, y = 0x5EED2000ull, z = 0x5EED3000ull;
	struct umfs_lock_req set = wrlock_req(UMFS_LOCK_POSIX, x);
	struct umfs_lock_req other = wrlock_req(UMFS_LOCK_OFD, y);
	struct umfs_lock_req probe = other, seen;
	struct umfs_locktab *t;
	struct umfs_lk_rec *r;
	struct umfs_fs *a, *b;

	(void)state;
	t = locktab_mounted("sharelk", &a, &b);
	assert_int_equal(umfs_lock_request(a, &set, &ops_alive, NULL), 0);
	t->high = 0;
	t->free_head = 0;
	assert_int_equal(umfs_lock_request(b, &other, &ops_alive, NULL), 0);
	probe.ino = x;
	probe.test = true;
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), -EAGAIN);
	assert_int_equal(seen.owner.id, set.owner.id);
	assert_ptr_not_equal(lock_rec_of(t, x), lock_rec_of(t, y));

	assert_int_not_equal(t->high, UMFS_LK_RECS);
	t->recs[t->high].kind = 0; /* the next record, its next itself */
	t->recs[t->high].next = t->high + 1;
	t->free_head = t->high + 1;
	set.ino = z;
	assert_int_equal(umfs_lock_request(a, &set, &ops_alive, NULL), 0);
	probe.ino = z;
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), -EAGAIN);
	assert_int_equal(seen.owner.id, set.owner.id);

	r = lock_rec_of(t, y);
	assert_non_null(r);
	r->owner = 0;
	probe.owner.id = umfs_lock_new_id();
	probe.ino = y;
	assert_int_equal(umfs_lock_request(b, &probe, &ops_alive, &seen), 0);
	assert_null(lock_rec_of(t, y));
	assert_int_not_equal(probe.owner.id, other.owner.id);
	assert_int_not_equal(probe.owner.id, 0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

/* A waiting lock request, made in a thread of its own. */
struct lock_waiter {
	struct umfs_fs *fs;
	struct umfs_lock_req q;
	const struct umfs_lock_ops *ops;
	pthread_t thread;
	_Atomic bool done;
	int ret;
};

static void *lock_waiter_run(void *arg)
{
	struct lock_waiter *w = arg;

	w->ret = umfs_lock_request(w->fs, &w->q, w->ops, NULL);
	atomic_store(&w->done, true);
	return NULL;
}

static void lock_waiter_start(struct lock_waiter *w)
{
	w->q.wait = true;
	assert_int_equal(pthread_create(&w->thread, NULL, lock_waiter_run, w), 0);
}

/* Whether flag is set within sec seconds. */
static bool flag_within(_Atomic bool *flag, double sec)
{
	double end = mono_sec() + sec;

	while (!atomic_load(flag) && mono_sec() < end)
		usleep(1000);
	return atomic_load(flag);
}

/* q made another POSIX owner than this process's own: a client of a
 * umfs-fuse daemon (this process), alive as its host is. */
static void as_daemon_client(struct umfs_lock_req *q)
{
	q->owner.id = umfs_lock_new_id();
	q->owner.host = umfs_lock_process_id();
}

/* A wait_look that holds its wait until let go: the parked waiter neither
 * looks at the table (where it could find a cycle itself) nor changes its
 * entry meanwhile. */
struct park {
	_Atomic bool parked, go;
};

static int park_look(void *arg)
{
	struct park *p = arg;

	atomic_store(&p->parked, true);
	while (!atomic_load(&p->go))
		usleep(1000);
	return 0;
}

/* A waiter entry in use above a count of entries someone lowered is not
 * taken again. A (parked) waits for B's lock, recorded in entry 0; with the
 * count forged to 0, B's wait for A's lock must take another entry and
 * raise the count past it, so that its next look follows A's entry and
 * answers EDEADLK. Had B taken entry 0, A's record would be gone and B
 * would wait for ever. B is a POSIX owner of a umfs-fuse daemon (this
 * process): alive, and another owner than A. */
static void test_locktab_waiter_lowered(void **state)
{
	const uint64_t ino = 0x5EED5000ull;
	struct park park = { false, false };
	const struct umfs_lock_ops ops_park = { .desc_alive = desc_alive_always,
						.wait_look = park_look, .arg = &park };
	struct lock_waiter wa = { .q = wrlock_req(UMFS_LOCK_POSIX, ino), .ops = &ops_park };
	struct lock_waiter wb = { .q = wa.q, .ops = &ops_alive };
	struct umfs_lk_waiter entry0;
	struct umfs_locktab *t;
	uint32_t high;
	bool b_ended;

	(void)state;
	t = locktab_mounted("sharewl", &wa.fs, &wb.fs);
	as_daemon_client(&wb.q);
	wa.q.start = wa.q.end = 0;
	assert_int_equal(umfs_lock_request(wa.fs, &wa.q, &ops_alive, NULL), 0);
	wb.q.start = wb.q.end = 10;
	assert_int_equal(umfs_lock_request(wb.fs, &wb.q, &ops_alive, NULL), 0);

	wa.q.start = wa.q.end = 10;
	lock_waiter_start(&wa);
	assert_true(flag_within(&park.parked, 5.0));
	assert_int_equal(t->waiters[0].owner, wa.q.owner.id);
	t->waiters_high = 0;
	wb.q.start = wb.q.end = 0;
	lock_waiter_start(&wb);
	b_ended = flag_within(&wb.done, 2.0);
	entry0 = t->waiters[0];
	high = t->waiters_high;
	if (!b_ended) /* B waits for a cycle it cannot see: A's lock lets it go */
		umfs_lock_release(wa.fs, ino, wa.q.gen, &wa.q.owner);
	assert_int_equal(pthread_join(wb.thread, NULL), 0);
	umfs_lock_release(wb.fs, ino, wb.q.gen, &wb.q.owner); /* A's wait gets [10, 10] */
	atomic_store(&park.go, true);
	assert_int_equal(pthread_join(wa.thread, NULL), 0);

	assert_true(b_ended);
	assert_int_equal(wb.ret, -EDEADLK);
	assert_int_equal(entry0.owner, wa.q.owner.id);
	assert_int_equal(entry0.host, 0);
	assert_int_equal(entry0.blocker, wb.q.owner.id);
	assert_int_equal(entry0.blocker_host, wb.q.owner.host);
	assert_true(high >= 2);
	assert_int_equal(wa.ret, 0);
	umfs_lock_release(wa.fs, ino, wa.q.gen, &wa.q.owner);
	assert_int_equal(umfs_unmount(wb.fs), 0);
	assert_int_equal(umfs_unmount(wa.fs), 0);
}

/* On a new pool: holder (another owner) takes w's range, and w waits for
 * it in a thread, its looks an hour apart (the caller puts the interval
 * back); returns once w sleeps, with the table. */
static struct umfs_locktab *sleeping_waiter(const char *pool, struct lock_waiter *w,
					    struct umfs_lock_req *holder)
{
	struct umfs_locktab *t;

	t = locktab_mounted(pool, &w->fs, NULL);
	as_daemon_client(holder);
	assert_int_equal(umfs_lock_request(w->fs, holder, &ops_alive, NULL), 0);
	umfs_test_lock_look_ms = 3600 * 1000;
	lock_waiter_start(w);
	for (int i = 0; i < 5000 && t->waiters[0].owner != w->q.owner.id; i++)
		usleep(1000);
	assert_int_equal(t->waiters[0].owner, w->q.owner.id);
	usleep(50 * 1000); /* into its sleep */
	return t;
}

static void count_abandon(void *arg)
{
	atomic_fetch_add((_Atomic int *)arg, 1);
}

/* A cancellable wait (F_SETLKW's) ends at a cancellation sent while it
 * sleeps, as the kernel's wait does, not at its next look at the holder:
 * with looks an hour apart the thread is gone in moments, and has let go
 * of its note and, through wait_abandon, of the front end's part. */
static void test_locktab_wait_cancelled(void **state)
{
	const uint64_t ino = 0x5EED6000ull;
	_Atomic int abandoned = 0;
	const struct umfs_lock_ops ops_cancel = { .desc_alive = desc_alive_always,
						  .wait_abandon = count_abandon,
						  .arg = &abandoned,
						  .cancellable = true };
	struct lock_waiter w = { .q = wrlock_req(UMFS_LOCK_POSIX, ino), .ops = &ops_cancel };
	struct umfs_lock_req holder = w.q;
	struct umfs_locktab *t;
	struct timespec end;
	void *ret = NULL;
	bool ended;

	(void)state;
	t = sleeping_waiter("sharecn", &w, &holder);
	assert_int_equal(pthread_cancel(w.thread), 0);
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 5;
	ended = pthread_timedjoin_np(w.thread, &ret, &end) == 0;
	umfs_test_lock_look_ms = 0;
	if (!ended) { /* asleep for the hour: the holder's release wakes it */
		umfs_lock_release(w.fs, ino, holder.gen, &holder.owner);
		assert_int_equal(pthread_join(w.thread, &ret), 0);
	}
	assert_true(ended);
	assert_ptr_equal(ret, PTHREAD_CANCELED);
	assert_false(atomic_load(&w.done));
	assert_int_equal(atomic_load(&abandoned), 1);
	assert_int_equal(t->waiters[0].owner, 0);
	umfs_lock_release(w.fs, ino, holder.gen, &holder.owner);
	assert_int_equal(umfs_unmount(w.fs), 0);
}

static int interrupted_look(void *arg)
{
	return atomic_load((_Atomic bool *)arg) ? -EINTR : 0;
}

/* An interrupt that comes just after a look, before the wait sleeps. */
struct late_interrupt {
	struct umfs_fs *fs;
	uint64_t ino;
	uint32_t gen;
	_Atomic bool interrupted;
};

static int late_interrupt_look(void *arg)
{
	struct late_interrupt *l = arg;

	if (atomic_exchange(&l->interrupted, true))
		return -EINTR;
	umfs_lock_wake(l->fs, l->ino, l->gen);
	return 0;
}

/* A front end's interrupt (umfs-fuse's, of a request the kernel gave up)
 * wakes the file's waits through umfs_lock_wake: with looks an hour apart,
 * a sleeping wait looks at once and ends with the front end's -EINTR, its
 * note cleared; and a wake that comes between a wait's look and its sleep
 * is not lost. */
static void test_locktab_wait_woken(void **state)
{
	const uint64_t ino = 0x5EED7000ull;
	_Atomic bool interrupted = false;
	const struct umfs_lock_ops ops_intr = { .desc_alive = desc_alive_always,
						.wait_look = interrupted_look,
						.arg = &interrupted };
	struct lock_waiter w = { .q = wrlock_req(UMFS_LOCK_POSIX, ino), .ops = &ops_intr };
	struct umfs_lock_req holder = w.q;
	struct umfs_locktab *t;
	bool woke;

	(void)state;
	t = sleeping_waiter("sharewk", &w, &holder);
	atomic_store(&interrupted, true);
	umfs_lock_wake(w.fs, ino, w.q.gen);
	woke = flag_within(&w.done, 5.0);
	umfs_test_lock_look_ms = 0;
	if (!woke) /* asleep for the hour: the holder's release wakes it */
		umfs_lock_release(w.fs, ino, holder.gen, &holder.owner);
	assert_int_equal(pthread_join(w.thread, NULL), 0);
	assert_true(woke);
	assert_int_equal(w.ret, -EINTR);
	assert_int_equal(t->waiters[0].owner, 0);

	struct late_interrupt late = { .fs = w.fs, .ino = ino, .gen = w.q.gen };
	const struct umfs_lock_ops ops_late = { .desc_alive = desc_alive_always,
						.wait_look = late_interrupt_look,
						.arg = &late };

	w.ops = &ops_late;
	atomic_store(&w.done, false);
	umfs_test_lock_look_ms = 3600 * 1000;
	lock_waiter_start(&w);
	woke = flag_within(&w.done, 5.0);
	umfs_test_lock_look_ms = 0;
	if (!woke)
		umfs_lock_release(w.fs, ino, holder.gen, &holder.owner);
	assert_int_equal(pthread_join(w.thread, NULL), 0);
	assert_true(woke);
	assert_int_equal(w.ret, -EINTR);
	umfs_lock_release(w.fs, ino, holder.gen, &holder.owner);
	assert_int_equal(umfs_unmount(w.fs), 0);
}

/* A parked region is taken as it is, and so is one its last user left
 * noted for an exec (exec_noted: a child that holds nothing executes a
 * program that never mounts), so what another user of the pool wrote into
 * its body while nobody used it (every lock word, count, holder and
 * sequence number) meets the next users: they go on within a bound,
 * taking locks over, and lose nothing. */
static void parked_region_garbage(const char *tag, bool noted)
{
	struct umfs_fs *a, *b;
	char path[256];
	size_t body;
	struct stat st;
	double t0;
	int status;
	pid_t pid;

	pool_make(tag, 64ull << 20);
	a = mount_shared();
	put_file(a, "/before", "before", 6);
	region_path(a, path, sizeof(path));
	body = (size_t)((uint8_t *)umfs_share_meta_plock(a) - (uint8_t *)a->share);
	assert_int_equal(umfs_unmount(a), 0);
	assert_true(region_parked(path));
	if (noted) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			exec_last_child();
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_int_equal(status, 0);
		assert_false(region_parked(path));
		assert_int_equal(pool_state_word(), UMFS_STATE_CLEAN);
	}
	region_scribble_at(path, body, SIZE_MAX, 0x9E3779B97F4A7C15ull);

	t0 = mono_sec();
	a = mount_shared();
	b = mount_shared();
	users_go_on(a, b, "/after");
	assert_int_equal(umfs_mkdir(b, "/dir", 0755), 0);
	assert_same_free(a, b);
	assert_true(mono_sec() - t0 < 20.0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
	a = mount_shared();
	assert_int_equal(umfs_stat(a, "/dir", &st, 0), 0);
	assert_int_equal(umfs_stat(a, "/before", &st, 0), 0);
	assert_int_equal(st.st_size, 6);
	assert_int_equal(umfs_stat(a, "/after", &st, 0), -ENOENT);
	assert_int_equal(umfs_unmount(a), 0);
}

static void test_parked_region_garbage(void **state)
{
	(void)state;
	parked_region_garbage("sharepg", false);
	teardown(state);
	parked_region_garbage("sharepn", true);
}

/* A region whose header is not this library's while a user holds it: a
 * new mount is refused, within a bound, with an error that says so; the
 * user goes on. */
static void test_region_header_in_use(void **state)
{
	struct umfs_fs *a, *b = NULL;
	char path[256];
	double t0;
	struct stat st;

	(void)state;
	pool_make("sharehd", 64ull << 20);
	a = mount_shared();
	region_scribble(a, 0, 16, 7); /* magic and version */
	t0 = mono_sec();
	assert_int_equal(umfs_mount(tp.path, UMFS_MOUNT_SHARED, &b), -EPROTO);
	assert_true(mono_sec() - t0 < 10.0);
	assert_non_null(strstr(umfs_mount_error(), "another version"));
	put_file(a, "/still", "ok", 2);
	assert_int_equal(umfs_stat(a, "/still", &st, 0), 0);
	region_path(a, path, sizeof(path));
	assert_int_equal(umfs_unmount(a), 0);
	/* its last user cut it rather than park a header not its own; the
	 * next one rebuilds it */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	a = mount_shared();
	assert_int_equal(umfs_stat(a, "/still", &st, 0), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

/* The runtime directory: as open as the pool, no more; a name planted
 * where the state page points (a directory of another user, a symlink, a
 * file) is left alone and a new directory made under a new name. */
static void test_rundir_planted(void **state)
{
	char dir[256], sentinel[300], path[300];
	struct umfs_fs *fs;
	struct stat st;
	uint64_t id;

	(void)state;
	if (geteuid() != 0)
		skip(); /* planting another user's directory needs chown */
	pool_make("sharerd", 64ull << 20);
	assert_int_equal(chmod(tp.path, 0600), 0);
	fs = mount_shared();
	assert_int_equal(stat(umfs_fs_rundir_path(fs), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* the region is open to whoever holds a descriptor of it (a
	 * process that dropped its privileges opens another), and reached
	 * by name only through the 0700 directory */
	region_path(fs, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	snprintf(dir, sizeof(dir), "%s", umfs_fs_rundir_path(fs));
	assert_int_equal(umfs_unmount(fs), 0);
	/* it stays for the next user, its region parked */
	assert_true(region_parked(path));

	snprintf(sentinel, sizeof(sentinel), "%s.sentinel", tp.path);
	assert_int_equal(mkdir(sentinel, 0700), 0);
	for (int kind = 0; kind < 3; kind++) {
		const char *what[] = { "another user's directory", "a symlink", "a file" };

		/* gone (umfs-pool clean, a reboot) before someone plants */
		snprintf(path, sizeof(path), "%s/%s", dir, UMFS_RUNDIR_LOCK);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(rmdir(dir), 0);
		if (kind == 0) {
			assert_int_equal(mkdir(dir, 0777), 0);
			assert_int_equal(chown(dir, 65534, 65534), 0);
		} else if (kind == 1) {
			assert_int_equal(symlink(sentinel, dir), 0);
		} else {
			int fd = open(dir, O_CREAT | O_WRONLY, 0666);

			assert_true(fd >= 0);
			close(fd);
		}
		fs = mount_shared();
		id = fs->run_id;
		print_message("planted %s: using %s\n", what[kind], umfs_fs_rundir_path(fs));
		assert_string_not_equal(umfs_fs_rundir_path(fs), dir);
		put_file(fs, "/x", "x", 1);
		assert_int_equal(umfs_unmount(fs), 0);
		/* the planted name is as it was, the sentinel empty */
		assert_int_equal(lstat(dir, &st), 0);
		assert_true(kind == 0 ? S_ISDIR(st.st_mode) && st.st_uid == 65534 :
			    kind == 1 ? S_ISLNK(st.st_mode) : S_ISREG(st.st_mode) && st.st_size == 0);
		assert_int_equal(rmdir(sentinel), 0); /* empty */
		assert_int_equal(mkdir(sentinel, 0700), 0);
		if (kind == 0)
			assert_int_equal(rmdir(dir), 0);
		else
			assert_int_equal(unlink(dir), 0);
		/* the new directory stays, and the next user takes it up:
		 * the next round plants at its name */
		fs = mount_shared();
		assert_true(fs->run_id == id);
		snprintf(dir, sizeof(dir), "%s", umfs_fs_rundir_path(fs));
		assert_int_equal(umfs_unmount(fs), 0);
	}
	rmdir(sentinel);

	/* a group-writable pool: the group may use the directory too; the
	 * one made while the pool was private, unused, is replaced */
	assert_int_equal(chown(tp.path, 0, 65534), 0);
	assert_int_equal(chmod(tp.path, 0660), 0);
	fs = mount_shared();
	assert_string_not_equal(umfs_fs_rundir_path(fs), dir);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(stat(umfs_fs_rundir_path(fs), &st), 0);
	assert_int_equal(st.st_mode & 07777, 02770);
	assert_int_equal(st.st_gid, 65534);
	region_path(fs, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(st.st_gid, 65534);
	assert_int_equal(umfs_unmount(fs), 0);
}

/*
 * A reader in another process never sees a page of another file, nor a
 * torn page, while whole-page overwrites swap pages under it: the old page
 * becomes the U-Log's spare and, once the writer closes the file, a free
 * page that writes to another file take. Pages of /a hold one byte value
 * in 0x01-0x7f each, pages of /b values from 0x80 up. Two hot pages make
 * the next write refill the very page a reader may still be copying: with
 * the read's retry taken out, this test fails.
 */
#define SWAP_FILE (1u << 20)
#define SWAP_HOT 2 /* pages of /a the writer changes and the reader reads */
static void test_page_swap_readers(void **state)
{
	volatile uint64_t *stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static uint8_t buf[SWAP_FILE];
	struct umfs_file *a, *b;
	struct umfs_fs *fs;
	uint64_t swaps0, t0;
	unsigned seed = 1;
	int status;
	pid_t pid;

	(void)state;
	assert_true(stop != MAP_FAILED);
	pool_make("shareswap", 64ull << 20);
	fs = mount_shared();
	memset(buf, 0x01, sizeof(buf));
	put_file(fs, "/a", buf, sizeof(buf));
	memset(buf, 0x80, sizeof(buf));
	put_file(fs, "/b", buf, sizeof(buf));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct umfs_fs *cfs;
		struct umfs_file *r;
		static uint8_t pg[SWAP_HOT * 4096];
		unsigned reads = 0;

		umfs_plock_forked();
		if (umfs_mount(tp.path, UMFS_MOUNT_SHARED, &cfs) ||
		    umfs_open(cfs, "/a", O_RDONLY, 0, &r))
			_exit(2);
		while (!stop[0] || reads < 1000) {
			if (umfs_pread(r, pg, sizeof(pg), 0) != (ssize_t)sizeof(pg))
				_exit(3);
			for (size_t i = 0; i < sizeof(pg); i++)
				if (pg[i] != pg[i & ~(size_t)4095] || pg[i] == 0 || pg[i] >= 0x80) {
					fprintf(stderr, "byte %zu is %#x, its page's first %#x\n", i,
						pg[i], pg[i & ~(size_t)4095]);
					_exit(4);
				}
			reads++;
			stop[1] = reads;
		}
		umfs_close(r);
		umfs_unmount(cfs);
		_exit(0);
	}
	assert_int_equal(umfs_open(fs, "/b", O_RDWR, 0, &b), 0);
	swaps0 = umfs_test_count[UMFS_TEST_PAGE_SWAP];
	while (stop[1] == 0) /* the reader has started */
		usleep(1000);
	t0 = now_us();
	for (unsigned round = 0; round < 100 || now_us() - t0 < 2000000; round++) {
		assert_int_equal(umfs_open(fs, "/a", O_RDWR, 0, &a), 0);
		for (unsigned i = 0; i < 20; i++) {
			uint8_t pg[4096];
			uint64_t off = (uint64_t)(rand_r(&seed) % SWAP_HOT) * 4096;

			memset(pg, 1 + (round * 20 + i) % 0x7f, sizeof(pg));
			assert_int_equal(umfs_pwrite(a, pg, sizeof(pg), (off_t)off), 4096);
			memset(pg, 0x80 | (i & 0x7f), sizeof(pg));
			off = (uint64_t)(rand_r(&seed) % (SWAP_FILE / 4096)) * 4096;
			assert_int_equal(umfs_pwrite(b, pg, sizeof(pg), (off_t)off), 4096);
		}
		/* the chain and its spare (an old page of /a) go back to the pool,
		 * and /b takes free pages again */
		assert_int_equal(umfs_close(a), 0);
		assert_int_equal(umfs_ftruncate(b, SWAP_FILE / 2), 0);
		memset(buf, 0x80 | (round & 0x7f), sizeof(buf));
		assert_int_equal(umfs_pwrite(b, buf, SWAP_FILE / 2, SWAP_FILE / 2),
				 (ssize_t)(SWAP_FILE / 2));
	}
	stop[0] = 1;
	assert_true(umfs_test_count[UMFS_TEST_PAGE_SWAP] - swaps0 >= 100 * 20);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(umfs_close(b), 0);
	assert_int_equal(umfs_unmount(fs), 0);
	munmap((void *)stop, 4096);
}

/*
 * Readers without the metadata lock (umfs_meta_read): two threads stat
 * names, and check access to them, while a writer renames files over some
 * of them and creates and removes others in the same directory (its index
 * splitting under the readers), freeing and reusing the inodes they named.
 * Each name asked for exists at every instant: fixed ones (size K + 1) and
 * replaced ones (renamed over, size 1000 * n + K), so every answer is
 * checked. Readers in another process of a shared mount, then beside the
 * writer in one process on a private mount. With the count's check taken
 * out (UMFS_FAULT_META_READ_TRUST) readers are handed what half-made
 * changes look like, and the test sees it: a stat then sleeps between its
 * walk and the inode, so that the writer frees and reuses that inode in the
 * first rounds, on a busy machine too, rather than by chance.
 */
#define RACE_FIXED 24
#define RACE_SWAPPED 8
#define RACE_CHURN 200

struct stat_race {
	volatile uint64_t stop, reads, bad, kept, again;
	struct umfs_fs *fs;
	char why[160];
};

static void *race_reader(void *arg)
{
	struct stat_race *r = arg;
	char name[32];
	struct stat st;

	while (!r->stop) {
		for (unsigned k = 0; k < RACE_FIXED + RACE_SWAPPED; k++) {
			bool fixed = k < RACE_FIXED;
			unsigned n = fixed ? k : k - RACE_FIXED;
			int err;

			snprintf(name, sizeof(name), fixed ? "/d/f%u" : "/d/r%u", n);
			err = umfs_stat(r->fs, name, &st, 0);
			if (!err && S_ISREG(st.st_mode) &&
			    (fixed ? st.st_size == n + 1 : st.st_size >= 1000 && st.st_size % 1000 == n) &&
			    (err = umfs_access(r->fs, name, R_OK | W_OK)) == 0)
				continue;
			if (__atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED) == 0)
				snprintf(r->why, sizeof(r->why), "%s: error %d, mode 0%o, size %lld",
					 name, err, err ? 0 : st.st_mode,
					 err ? 0 : (long long)st.st_size);
		}
		__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void race_readers_run(struct stat_race *r)
{
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_reader, r), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
}

static void *race_readers_thread(void *arg)
{
	race_readers_run(arg);
	return NULL;
}

static void stat_race(bool in_child, bool trust)
{
	struct stat_race *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static uint8_t data[41000];
	uint64_t kept0 = umfs_test_count[UMFS_TEST_META_READ_KEPT];
	uint64_t again0 = umfs_test_count[UMFS_TEST_META_READ_AGAIN];
	struct umfs_fs *fs;
	pthread_t readers;
	char name[32];
	uint64_t t0;
	unsigned round;
	pid_t pid = 0;

	assert_true(r != MAP_FAILED);
	pool_make(in_child ? "statrace" : "statrace1", 64ull << 20);
	if (in_child)
		fs = mount_shared();
	else
		assert_int_equal(umfs_mount(tp.path, 0, &fs), 0);
	assert_int_equal(umfs_mkdir(fs, "/d", 0755), 0);
	for (unsigned k = 0; k < RACE_FIXED; k++) {
		snprintf(name, sizeof(name), "/d/f%u", k);
		put_file(fs, name, data, k + 1);
	}
	for (unsigned k = 0; k < RACE_SWAPPED; k++) {
		snprintf(name, sizeof(name), "/d/r%u", k);
		put_file(fs, name, data, 1000 + k);
	}
	umfs_fault = trust ? UMFS_FAULT_META_READ_TRUST : UMFS_FAULT_NONE;
	if (in_child) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			umfs_plock_forked();
			if (umfs_mount(tp.path, UMFS_MOUNT_SHARED, &r->fs))
				_exit(2);
			race_readers_run(r);
			r->kept = umfs_test_count[UMFS_TEST_META_READ_KEPT] - kept0;
			r->again = umfs_test_count[UMFS_TEST_META_READ_AGAIN] - again0;
			umfs_unmount(r->fs);
			_exit(0);
		}
	} else {
		r->fs = fs;
		assert_int_equal(pthread_create(&readers, NULL, race_readers_thread, r), 0);
	}
	while (r->reads == 0)
		usleep(1000);
	t0 = now_us();
	for (round = 0; !(trust && r->bad) && now_us() - t0 < (trust ? 10000000u : 2000000u);
	     round++) {
		unsigned k = round % RACE_SWAPPED;
		char to[32];

		put_file(fs, "/d/t", data, 1000 * (round % 40 + 1) + k);
		snprintf(to, sizeof(to), "/d/r%u", k);
		assert_int_equal(umfs_rename(fs, "/d/t", to, 0), 0);
		snprintf(name, sizeof(name), "/d/c%u", round % RACE_CHURN);
		if (round / RACE_CHURN % 2 == 0)
			put_file(fs, name, data, 1);
		else
			assert_int_equal(umfs_unlink(fs, name), 0);
	}
	r->stop = 1;
	if (in_child) {
		int status;

		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		pthread_join(readers, NULL);
		r->kept = umfs_test_count[UMFS_TEST_META_READ_KEPT] - kept0;
		r->again = umfs_test_count[UMFS_TEST_META_READ_AGAIN] - again0;
	}
	umfs_fault = UMFS_FAULT_NONE;
	print_message("stat race (%s%s): %u changes, %" PRIu64 " rounds of reads, %" PRIu64
		      " answers kept, %" PRIu64 " read again under the lock, %" PRIu64 " wrong%s%s\n",
		      in_child ? "processes" : "threads", trust ? ", count unchecked" : "", round,
		      (uint64_t)r->reads, (uint64_t)r->kept, (uint64_t)r->again, (uint64_t)r->bad,
		      r->bad ? ": " : "", r->bad ? r->why : "");
	if (trust) {
		assert_true(r->bad > 0);
	} else {
		assert_int_equal(r->bad, 0);
		assert_true(round > 100);
		assert_true(r->kept > 0); /* reads went without the lock */
		assert_true(r->again > 0); /* and met the writer */
	}
	assert_int_equal(umfs_unmount(fs), 0);
	munmap(r, sizeof(*r));
}

/* The spread test the stripes and the lookup hints share: true exactly
 * once, at the spread-th distinct page stored on, never for a page seen
 * before; against a model that counts the distinct pages. */
static void test_mem_spread(void **state)
{
	static const unsigned spreads[] = { 1, 2, 4, 8, 63, 64 };
	unsigned seed = 7;

	(void)state;
	for (size_t s = 0; s < UMFS_ARRAY_SIZE(spreads); s++) {
		for (int trial = 0; trial < 50; trial++) {
			_Atomic uint64_t seen = 0;
			bool model[64] = { false };
			unsigned distinct = 0, hits = 0;

			for (int i = 0; i < 400; i++) {
				unsigned page = (unsigned)rand_r(&seed) % 64;
				bool got = umfs_mem_spread(&seen, 1ull << page, spreads[s]);
				bool fresh = !model[page];

				model[page] = true;
				distinct += fresh;
				assert_int_equal(got, fresh && distinct == spreads[s]);
				hits += got;
			}
			assert_int_equal(hits, distinct >= spreads[s]);
		}
	}
}

static void test_stat_readers_processes(void **state)
{
	(void)state;
	stat_race(true, false);
}

static void test_stat_readers_threads(void **state)
{
	(void)state;
	stat_race(false, false);
}

static void test_stat_readers_unchecked(void **state)
{
	(void)state;
	stat_race(true, true);
}

/* The runtime directory a pool names, read through a descriptor of it
 * (what an exec'd image checks its inherited directory against): the
 * mount's own; nothing for a pool whose superblock or state page is not
 * one (its checksum fails), or names none, or is cut short before its
 * state page; another name for a resealed superblock of another uuid
 * (whose directory the image then finds is not the one it holds); and a
 * name longer than the room refused. */
static void test_rundir_path_of(void **state)
{
	struct umfs_superblock sb, bad;
	struct umfs_state st, cut;
	char got[PATH_MAX], want[PATH_MAX], cutpath[PATH_MAX + 8];
	struct umfs_fs *fs;
	uint64_t st_off;
	int fd;

	(void)state;
	pool_make("pathof", 64ull << 20);
	fs = mount_shared();
	snprintf(want, sizeof(want), "%s", umfs_fs_rundir_path(fs));
	assert_int_equal(umfs_unmount(fs), 0);
	fd = open(tp.path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(umfs_rundir_path_of(fd, got, strlen(want)), -ENAMETOOLONG);

	assert_int_equal(pread(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	st_off = umfs_le64_to_cpu(sb.state_off);
	assert_int_equal(pread(fd, &st, sizeof(st), (off_t)st_off), (ssize_t)sizeof(st));
	cut = st;
	cut.run_id = 0;
	assert_int_equal(pwrite(fd, &cut, sizeof(cut), (off_t)st_off), (ssize_t)sizeof(cut));
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), -EUCLEAN);
	cut = st;
	cut.magic ^= 1;
	assert_int_equal(pwrite(fd, &cut, sizeof(cut), (off_t)st_off), (ssize_t)sizeof(cut));
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), -EUCLEAN);
	assert_int_equal(pwrite(fd, &st, sizeof(st), (off_t)st_off), (ssize_t)sizeof(st));

	bad = sb;
	bad.uuid[0] ^= 1; /* not resealed: the checksum fails */
	assert_int_equal(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), -EUCLEAN);
	bad.csum = umfs_cpu_to_le32(umfs_sb_csum(&bad)); /* resealed: another name */
	assert_int_equal(pwrite(fd, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), 0);
	assert_string_not_equal(got, want);
	assert_int_equal(pwrite(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	close(fd);

	/* the superblock alone: its state page past the file's end */
	snprintf(cutpath, sizeof(cutpath), "%s.cut", tp.path);
	fd = open(cutpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), -EUCLEAN);
	close(fd);
	unlink(cutpath);

	fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(umfs_rundir_path_of(fd, got, sizeof(got)), -EUCLEAN);
	close(fd);
}

/*
 * The runtime directory's name and the strings the mount joins without
 * printf, against snprintf as the reference: every byte value of a UUID,
 * run ids at the edges (the bit that says /tmp), and buffers one byte too
 * short, which fail with ENAMETOOLONG and keep what fit.
 */
static void test_names_without_printf(void **state)
{
	static const uint64_t ids[] = { 0, 1, 0x0123456789abcdefull, 0x7fffffffffffffffull,
					0x8000000000000000ull, UINT64_MAX };
	char got[128], want[128], hex[33];
	uint8_t uuid[16];

	(void)state;
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < 16; i++)
			uuid[i] = (uint8_t)(round * 16 + i); /* each byte value once */
		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
			int n;

			for (int i = 0; i < 16; i++)
				snprintf(hex + 2 * i, 3, "%02x", uuid[i]);
			n = snprintf(want, sizeof(want), "%s/umfs-%s-%016" PRIx64,
				     ids[k] >> 63 ? "/tmp" : "/dev/shm", hex, ids[k]);
			assert_int_equal(umfs_rundir_name(uuid, ids[k], got, sizeof(got)), 0);
			assert_string_equal(got, want);
			assert_int_equal(umfs_rundir_name(uuid, ids[k], got, (size_t)n + 1), 0);
			assert_int_equal(umfs_rundir_name(uuid, ids[k], got, (size_t)n),
					 -ENAMETOOLONG);
			want[n - 1] = '\0';
			assert_string_equal(got, want);
		}
	}
	assert_int_equal(umfs_str_join(got, sizeof(got), "a", "", "/bc", NULL), 0);
	assert_string_equal(got, "a/bc");
	assert_int_equal(umfs_str_join(got, 4, "ab", "cd", NULL), -ENAMETOOLONG);
	assert_string_equal(got, "abc");
	assert_int_equal(umfs_str_join(got, 1, "x", NULL), -ENAMETOOLONG);
	assert_string_equal(got, "");
	assert_int_equal(umfs_str_join(got, 0, "x", NULL), -ENAMETOOLONG);
	assert_int_equal(umfs_str_join(got, sizeof(got), NULL), 0);
	assert_string_equal(got, "");
}

/*
 * A gated write and a drain, the seam of a front end that keeps copies of
 * files outside the pool: a writer held in its write (the persistence
 * hook stops its first flush) holds up a drain in another mount until it
 * is done; a write past a gate that says the file has a copy writes
 * nothing (-EAGAIN), and one past a gate that says so of another file, or
 * of none, writes.
 */
static __thread bool gw_is_writer;
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* 0: writer not yet in; 1: held in its write; 2: let go */
} gw = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static _Atomic int gw_drained;
static _Atomic uint64_t gw_copied; /* the inode with a copy; 0: none */

static bool gw_gate(uint64_t ino)
{
	return ino == atomic_load(&gw_copied);
}

static void gw_flush(void *arg, const void *addr, size_t len)
{
	(void)arg, (void)addr, (void)len;
	if (!gw_is_writer)
		return;
	pthread_mutex_lock(&gw.mu);
	if (gw.state == 0) {
		gw.state = 1;
		pthread_cond_broadcast(&gw.cv);
	}
	while (gw.state == 1)
		pthread_cond_wait(&gw.cv, &gw.mu);
	pthread_mutex_unlock(&gw.mu);
}

static void gw_fence(void *arg)
{
	(void)arg;
}

static void *gw_write(void *arg)
{
	off_t end;

	gw_is_writer = true;
	return (void *)(intptr_t)umfs_write_at(arg, "new", 3, 0, &end, NULL);
}

static void *gw_drain_thread(void *arg)
{
	umfs_file_writers_drain(arg);
	atomic_store(&gw_drained, 1);
	return NULL;
}

static void gw_expect(struct umfs_file *f, const char *want)
{
	char got[4] = { 0 };

	assert_int_equal(umfs_pread(f, got, 3, 0), 3);
	assert_string_equal(got, want);
}

static void test_gated_write(void **state)
{
	static const struct umfs_persist_hook hook = { gw_flush, gw_fence, NULL };
	struct timespec until;
	struct stat st;
	struct umfs_fs *a, *b;
	struct umfs_file *fa, *fb;
	pthread_t w, d;
	void *wret;
	off_t end;
	int r = 0;

	(void)state;
	pool_make("sharegw", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	put_file(a, "/f", "old", 3);
	assert_int_equal(umfs_open(a, "/f", O_RDWR, 0, &fa), 0);
	assert_int_equal(umfs_open(b, "/f", O_RDWR, 0, &fb), 0);

	umfs_persist_hook_set(&hook);
	assert_int_equal(pthread_create(&w, NULL, gw_write, fb), 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&gw.mu);
	while (gw.state == 0 && r == 0)
		r = pthread_cond_timedwait(&gw.cv, &gw.mu, &until);
	pthread_mutex_unlock(&gw.mu);
	assert_int_equal(gw.state, 1);

	assert_int_equal(umfs_fstat(fb, &st), 0);
	atomic_store(&gw_copied, (uint64_t)st.st_ino);
	assert_int_equal(pthread_create(&d, NULL, gw_drain_thread, fa), 0);
	nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	assert_int_equal(atomic_load(&gw_drained), 0); /* the writer is in */
	pthread_mutex_lock(&gw.mu);
	gw.state = 2;
	pthread_cond_broadcast(&gw.cv);
	pthread_mutex_unlock(&gw.mu);
	assert_int_equal(pthread_join(d, NULL), 0);
	assert_int_equal(pthread_join(w, &wret), 0);
	umfs_persist_hook_set(NULL);
	assert_int_equal((intptr_t)wret, 3);
	gw_expect(fa, "new"); /* over before the drain returned */

	assert_int_equal(umfs_write_at(fb, "xyz", 3, 0, &end, gw_gate), -EAGAIN);
	gw_expect(fa, "new");
	assert_int_equal(umfs_writev_at(fb, &(struct iovec){ "xyz", 3 }, 1, 0, &end, gw_gate),
			 -EAGAIN);
	gw_expect(fa, "new");
	atomic_store(&gw_copied, (uint64_t)st.st_ino + 1); /* another file's copy */
	assert_int_equal(umfs_write_at(fb, "xyz", 3, 0, &end, gw_gate), 3);
	assert_int_equal(end, 3);
	gw_expect(fa, "xyz");
	atomic_store(&gw_copied, 0);
	assert_int_equal(umfs_write_at(fb, "abc", 3, 0, &end, gw_gate), 3);
	gw_expect(fa, "abc");

	assert_int_equal(umfs_close(fa), 0);
	assert_int_equal(umfs_close(fb), 0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

/*
 * umfs_write_changed: a front end's copy goes back byte for byte over what
 * another writer wrote since the copy was made (base), and not past the
 * end of the file, which the other writer may have cut.
 */
static void test_write_changed(void **state)
{
	struct umfs_fs *a, *b;
	struct umfs_file *fa, *fb, *ro;
	char got[16] = { 0 }, copy[11] = "0123456789", base[11] = "0123456789";

	(void)state;
	pool_make("sharewc", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	put_file(a, "/f", base, 10);
	assert_int_equal(umfs_open(a, "/f", O_RDWR, 0, &fa), 0);
	assert_int_equal(umfs_open(b, "/f", O_RDWR, 0, &fb), 0);

	assert_int_equal(umfs_pwrite(fb, "AB", 2, 2), 2); /* the other writer */
	copy[6] = 'x';
	copy[7] = 'y';
	assert_int_equal(umfs_write_changed(fa, copy, base, 10, 0), 10);
	assert_int_equal(umfs_pread(fb, got, sizeof(got), 0), 10);
	assert_string_equal(got, "01AB45xy89");

	/* cut short meanwhile: nothing is written past the new end */
	assert_int_equal(umfs_ftruncate(fb, 7), 0);
	memcpy(base, copy, 10);
	copy[5] = 'z';
	copy[9] = 'w';
	assert_int_equal(umfs_write_changed(fa, copy, base, 10, 0), 7);
	memset(got, 0, sizeof(got));
	assert_int_equal(umfs_pread(fb, got, sizeof(got), 0), 7);
	assert_string_equal(got, "01AB4zx");
	assert_int_equal(umfs_write_changed(fa, copy + 8, base + 8, 2, 8), 0);

	assert_int_equal(umfs_open(a, "/f", O_RDONLY, 0, &ro), 0);
	assert_int_equal(umfs_write_changed(ro, copy, base, 10, 0), -EBADF);
	assert_int_equal(umfs_write_changed(fa, copy, base, 10, -1), -EINVAL);
	assert_int_equal(umfs_close(ro), 0);
	assert_int_equal(umfs_close(fa), 0);
	assert_int_equal(umfs_close(fb), 0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

/*
 * umfs_unmirrored_writes: a change to a file's bytes or size by a mount
 * that does not mirror its changes (umfs-fuse's, a C API program's)
 * moves the count of the file's stripe, for every mount to see; one by a
 * mount that does (the shim's) does not; another stripe's file leaves it
 * where it is.
 */
static void test_unmirrored_writes(void **state)
{
	struct umfs_fs *a, *b;
	struct umfs_file *fa, *fb, *other;
	uint64_t ino, other_ino, n;
	uint32_t gen;
	char page[4096] = { 'p' };

	(void)state;
	pool_make("sharemirror", 64ull << 20);
	a = mount_shared();
	b = mount_shared();
	umfs_fs_mirror(a);
	put_file(a, "/f", "0123456789", 10);
	put_file(a, "/g", "0123456789", 10);
	assert_int_equal(umfs_open(a, "/f", O_RDWR, 0, &fa), 0);
	assert_int_equal(umfs_open(b, "/f", O_RDWR, 0, &fb), 0);
	assert_int_equal(umfs_open(b, "/g", O_RDWR, 0, &other), 0);
	umfs_file_id(fa, &ino, &gen);
	umfs_file_id(other, &other_ino, &gen);
	assert_int_not_equal(ino % 4096, other_ino % 4096);
	n = umfs_unmirrored_writes(a, ino);
	assert_int_equal(umfs_unmirrored_writes(b, ino), n);

	/* the mirroring mount's changes are not counted */
	assert_int_equal(umfs_pwrite(fa, "ab", 2, 0), 2);
	assert_int_equal(umfs_ftruncate(fa, 3 * 4096), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(umfs_pwrite(fa, page, sizeof(page), (off_t)i * 4096), 4096);
	assert_int_equal(umfs_fallocate(fa, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096),
			 0);
	assert_int_equal(umfs_unmirrored_writes(a, ino), n);
	/* but one it could not mirror is, when it says so */
	umfs_mirror_failed(a, ino);
	assert_int_equal(umfs_unmirrored_writes(b, ino), ++n);

	/* every change of the other mount is, seen from both */
	assert_int_equal(umfs_pwrite(fb, "cd", 2, 0), 2);
	assert_int_equal(umfs_unmirrored_writes(a, ino), ++n);
	assert_int_equal(umfs_ftruncate(fb, 5), 0);
	assert_int_equal(umfs_unmirrored_writes(b, ino), ++n);
	assert_int_equal(umfs_fallocate(fb, 0, 0, 8192), 0);
	assert_int_equal(umfs_unmirrored_writes(a, ino), ++n);
	assert_int_equal(umfs_close(fb), 0);
	assert_int_equal(umfs_open(b, "/f", O_RDWR | O_TRUNC, 0, &fb), 0);
	assert_int_equal(umfs_unmirrored_writes(a, ino), ++n);

	/* a file of another stripe leaves the count alone */
	assert_int_equal(umfs_pwrite(other, "ef", 2, 0), 2);
	assert_int_equal(umfs_unmirrored_writes(a, ino), n);

	assert_int_equal(umfs_close(other), 0);
	assert_int_equal(umfs_close(fa), 0);
	assert_int_equal(umfs_close(fb), 0);
	assert_int_equal(umfs_unmount(b), 0);
	assert_int_equal(umfs_unmount(a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_mounts, teardown),
		cmocka_unit_test_teardown(test_mem_claims, teardown),
		cmocka_unit_test_teardown(test_rundir_path_of, teardown),
		cmocka_unit_test_teardown(test_reclaim_after_reuse, teardown),
		cmocka_unit_test_teardown(test_kill_writer_bytes, teardown),
		cmocka_unit_test_teardown(test_kill_writer_cow, teardown),
		cmocka_unit_test_teardown(test_kill_meta, teardown),
		cmocka_unit_test_teardown(test_parked_region, teardown),
		cmocka_unit_test_teardown(test_exec_leave, teardown),
		cmocka_unit_test_teardown(test_exec_last, teardown),
		cmocka_unit_test_teardown(test_stale_region, teardown),
		cmocka_unit_test_teardown(test_region_garbage_in_use, teardown),
		cmocka_unit_test_teardown(test_locktab_forged, teardown),
		cmocka_unit_test_teardown(test_locktab_waiter_lowered, teardown),
		cmocka_unit_test_teardown(test_locktab_wait_cancelled, teardown),
		cmocka_unit_test_teardown(test_locktab_wait_woken, teardown),
		cmocka_unit_test_teardown(test_locktab_crosslinked, teardown),
		cmocka_unit_test_teardown(test_parked_region_garbage, teardown),
		cmocka_unit_test_teardown(test_region_header_in_use, teardown),
		cmocka_unit_test_teardown(test_rundir_planted, teardown),
		cmocka_unit_test(test_names_without_printf),
		cmocka_unit_test_teardown(test_page_swap_readers, teardown),
		cmocka_unit_test(test_mem_spread),
		cmocka_unit_test_teardown(test_stat_readers_processes, teardown),
		cmocka_unit_test_teardown(test_stat_readers_threads, teardown),
		cmocka_unit_test_teardown(test_stat_readers_unchecked, teardown),
		cmocka_unit_test_teardown(test_gated_write, teardown),
		cmocka_unit_test_teardown(test_write_changed, teardown),
		cmocka_unit_test_teardown(test_unmirrored_writes, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
