/* SPDX-License-Identifier: MIT */
/*
 * mount.c - the pool: mounted lazily at the first UMFS path (or at start
 * when descriptors were inherited across exec), and what the processes
 * using it share until the lock region of issue 8 exists.
 *
 * Beside the pool, in /dev/shm/umfs-<uuid>.shim/ (DRAM: nothing here may
 * outlive a reboot), the shim keeps:
 *   shared       a robust process-shared lock that one process at a time
 *                holds while in the core (every call but data reads), a
 *                change counter, and the open-inode registry (how many
 *                holders each open inode has across processes);
 *   lk-INO-GEN   host lock files standing for UMFS inodes (fcntl, flock);
 *   fifo-INO-GEN host FIFOs standing for UMFS FIFOs.
 *
 * The first process to come (an open file description lock on byte 0 of
 * "shared", taken for writing) initialises the area and may let the core
 * recover the pool; later ones take it for reading and mount without
 * recovery, so that nobody rolls back a live process's transaction.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define SHARED_MAGIC 0x444552414853534Dull /* "MSSHARED" */
#define SHARED_VERSION 4
#define MAP_CAP 256u /* inodes mapped MAP_SHARED at once, across processes */

/* An inode some process maps MAP_SHARED: its host file is
 * map-INO-GEN-INST in the helper directory (calls_mmap.c). */
struct map_slot {
	_Atomic uint64_t ino; /* 0: free */
	uint32_t gen;
	uint32_t users;       /* mappings, across processes */
	_Atomic uint64_t inst; /* which host file: a new one each time users goes 0 -> 1 */
};

struct shim_shared {
	uint64_t magic;
	uint32_t version;
	uint32_t pad0;
	pthread_mutex_t lock;  /* robust, process-shared, recursive */
	uint64_t epoch;        /* bumped by every change made under the lock */
	_Atomic uint64_t dir_epoch; /* bumped by every rename and rmdir */
	_Atomic uint32_t maps_active; /* map slots in use */
	uint32_t pad;
	uint64_t map_inst;     /* last host file instance handed out */
	struct map_slot maps[MAP_CAP];
};

_Atomic uint32_t *shim_maps_active;

static struct umfs_fs *_Atomic g_fs;
static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
uint8_t shim_pool_uuid[16];
static char helper_dir[PATH_MAX];
static struct shim_shared *shared;
static size_t shared_len;
static int shared_fd = -1;
static uint64_t my_epoch;
static __thread int lock_depth;
static __thread bool lock_changed;

struct umfs_fs *shim_fs_peek(void)
{
	return atomic_load_explicit(&g_fs, memory_order_acquire);
}

static int helper_dir_init(void)
{
	static const char *const bases[] = { "/dev/shm", NULL, "/tmp" };
	char hex[33];

	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", shim_pool_uuid[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		const char *base = bases[i] ? bases[i] : getenv("TMPDIR");
		struct stat st;

		if (!base || !*base)
			continue;
		snprintf(helper_dir, sizeof(helper_dir), "%s/umfs-%s.shim", base, hex);
		if (SYS(mkdir)(helper_dir, 0700) == 0 || errno == EEXIST) {
			if (SYS(stat)(helper_dir, &st) == 0 && S_ISDIR(st.st_mode) &&
			    SYS(access)(helper_dir, W_OK | X_OK) == 0)
				return 0;
		}
	}
	return -EACCES;
}

int shim_helper_path(char *buf, size_t size, const char *kind, uint64_t ino, uint32_t gen)
{
	int n = snprintf(buf, size, "%s/%s-%llu-%u", helper_dir, kind, (unsigned long long)ino,
			 gen);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void shared_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
}

/* Opens and maps the shared area; *alone tells whether this process came
 * first (it then holds the gate for writing until mount_gate_open). */
static int shared_open(bool *alone)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	size_t len = sizeof(struct shim_shared);
	char path[PATH_MAX + 16];
	struct stat st;
	int fd, err, restarts = 0;
	void *p;

	snprintf(path, sizeof(path), "%s/shared", helper_dir);
again:
	for (int tries = 0;; tries++) {
		struct stat now;

		if (SYS(mkdir)(helper_dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = sys_open_cloexec(path, O_RDWR | O_CREAT, 0600);
		if (fd < 0)
			return fd;
		fl.l_type = F_WRLCK;
		if (SYS(fcntl)(fd, F_OFD_SETLK, &fl) == 0) {
			*alone = true;
		} else if (errno == EAGAIN || errno == EACCES) {
			*alone = false;
			fl.l_type = F_RDLCK;
			while (SYS(fcntl)(fd, F_OFD_SETLKW, &fl) < 0) {
				if (errno != EINTR) {
					err = -errno;
					goto err_close;
				}
			}
		} else {
			err = -errno;
			goto err_close;
		}
		/* the last user removes the area as it leaves (mount_exit): a
		 * lock on a file no longer at the path counts for nothing */
		if (SYS(fstat)(fd, &st) == 0 && st.st_nlink > 0 && SYS(stat)(path, &now) == 0 &&
		    now.st_ino == st.st_ino && now.st_dev == st.st_dev)
			break;
		SYS(close)(fd);
		if (tries > 100)
			return -EAGAIN;
	}
	if (*alone && SYS(ftruncate)(fd, (off_t)len) < 0) {
		err = -errno;
		goto err_close;
	}
	if (SYS(fstat)(fd, &st) < 0 || (size_t)st.st_size < len) {
		err = -EIO;
		goto err_restart;
	}
	p = SYS(mmap)(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	shared = p;
	shared_len = len;
	shim_maps_active = &shared->maps_active;
	if (*alone) {
		/* Nobody else: whatever a dead process left here is stale. */
		memset(shared, 0, sizeof(*shared)); /* map slots included */
		shared_mutex_init(&shared->lock);
		shared->version = SHARED_VERSION;
		atomic_thread_fence(memory_order_release);
		shared->magic = SHARED_MAGIC;
	} else if (shared->magic != SHARED_MAGIC || shared->version != SHARED_VERSION) {
		SYS(munmap)(p, len);
		shared = NULL;
		err = -EIO;
		goto err_restart;
	}
	shared_fd = shim_fd_move_high(fd);
	return 0;

err_close:
	SYS(close)(fd);
	return err;

err_restart:
	/* The first user died before it set the area up (we, or another
	 * waiter, may start over as first), or a live user made it with
	 * another version of the library. */
	SYS(close)(fd);
	if (++restarts <= 200) {
		usleep(2000 + (unsigned)(getpid() * 7919 + restarts * 104729) % 8000);
		goto again;
	}
	SHIM_LOG(LOG_ERROR, "%s is damaged or from another version; stop every program "
		 "using the pool and remove it", path);
	return err;
}

/* The first process lets the others in once the pool is mounted. */
static void mount_gate_open(void)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	SYS(fcntl)(shared_fd, F_OFD_SETLK, &fl);
}

/* Holders of an open inode across processes: counted in the core's lock
 * region, with the holders umfs-fuse and the core count themselves; an
 * unlinked inode is freed only when nobody holds it. */
void registry_add(uint64_t ino, int delta)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (fs && ino)
		umfs_hold(fs, ino, delta);
}

uint64_t shim_dir_epoch(void)
{
	return shared ? atomic_load_explicit(&shared->dir_epoch, memory_order_acquire) : 0;
}

void shim_dir_epoch_bump(void)
{
	if (shared)
		atomic_fetch_add(&shared->dir_epoch, 1);
}

/* The host file instance of a mapped inode, or 0 when nobody maps it
 * (no lock needed: a stale answer is caught by the instance number). */
uint64_t map_slot_find(uint64_t ino, uint32_t gen)
{
	if (!shared || atomic_load_explicit(&shared->maps_active, memory_order_acquire) == 0)
		return 0;
	for (uint32_t i = 0; i < MAP_CAP; i++) {
		struct map_slot *m = &shared->maps[i];

		if (atomic_load_explicit(&m->ino, memory_order_acquire) == ino && m->gen == gen)
			return atomic_load(&m->inst);
	}
	return 0;
}

/* Counts a mapping more (delta 1) or less (-1), with the pool lock held.
 * Returns the host file instance and the users left (0: the last went). */
uint64_t map_slot_add(uint64_t ino, uint32_t gen, int delta, uint32_t *users)
{
	struct map_slot *free_slot = NULL;

	*users = 0;
	if (!shared)
		return 0;
	for (uint32_t i = 0; i < MAP_CAP; i++) {
		struct map_slot *m = &shared->maps[i];
		uint64_t inst;

		if (atomic_load(&m->ino) == 0) {
			if (!free_slot)
				free_slot = m;
			continue;
		}
		if (atomic_load(&m->ino) != ino || m->gen != gen)
			continue;
		inst = atomic_load(&m->inst);
		if (delta < 0 && m->users <= (uint32_t)-delta) {
			atomic_store(&m->ino, 0);
			m->users = 0;
			atomic_fetch_sub(&shared->maps_active, 1);
			return inst;
		}
		m->users += (uint32_t)delta;
		*users = m->users;
		return inst;
	}
	if (delta <= 0 || !free_slot)
		return 0; /* unknown, or full: the caller falls back */
	free_slot->gen = gen;
	free_slot->users = (uint32_t)delta;
	atomic_store(&free_slot->inst, ++shared->map_inst);
	atomic_store(&free_slot->ino, ino);
	atomic_fetch_add(&shared->maps_active, 1);
	*users = (uint32_t)delta;
	return shared->map_inst;
}

void pool_lock(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	int r;

	if (!shared || !fs)
		return;
	r = pthread_mutex_lock(&shared->lock);
	if (lock_depth++ > 0)
		return;
	lock_changed = false;
	if (r == EOWNERDEAD) {
		/* A process died holding the library's lock: what it left half
		 * done in the pool, the core's own locks roll back as they are
		 * taken (umfs_fs_rollback does so for a private mount). */
		SHIM_LOG(LOG_INFO, "a process died holding the pool lock; taking it over");
		umfs_fs_rollback(fs);
		pthread_mutex_consistent(&shared->lock);
		shared->epoch++;
		my_epoch = shared->epoch;
		return;
	}
	if (shared->epoch != my_epoch) {
		umfs_fs_refresh(fs); /* others allocated or freed since our last turn */
		my_epoch = shared->epoch;
	}
}

static void pool_unlock_changed(bool changed)
{
	if (!shared || !shim_fs_peek() || lock_depth == 0)
		return;
	lock_changed |= changed;
	if (--lock_depth == 0 && lock_changed) {
		shared->epoch++;
		my_epoch = shared->epoch;
	}
	pthread_mutex_unlock(&shared->lock);
}

void pool_unlock(void)
{
	pool_unlock_changed(true);
}

void pool_unlock_ro(void)
{
	pool_unlock_changed(false);
}

static int do_mount(bool adoption)
{
	/* the core's lock region lets processes (and umfs-fuse) share the
	 * pool; a read-only mount takes no part in it */
	unsigned flags = cfg.readonly ? UMFS_MOUNT_RDONLY : UMFS_MOUNT_SHARED;
	struct umfs_fs *fs;
	bool alone = false;
	int err;

	err = umfs_pool_uuid(cfg.pool, shim_pool_uuid);
	if (err) {
		SHIM_LOG(LOG_ERROR, "UMFS_POOL=%s: %s", cfg.pool,
			 err == -EINVAL ? "not a UMFS pool" : strerror(-err));
		return err;
	}
	err = helper_dir_init();
	if (!err)
		err = shared_open(&alone);
	if (err) {
		SHIM_LOG(LOG_ERROR, "cannot set up %s: %s", helper_dir, strerror(-err));
		return err;
	}
	/* Only a process that is alone, and holds nothing inherited from a
	 * predecessor, may let the core recover (roll back and free orphans). */
	if (!alone || adoption)
		flags |= UMFS_MOUNT_NORECOVER;
	err = umfs_mount(cfg.pool, flags, &fs);
	if (err) {
		SHIM_LOG(LOG_ERROR, "cannot mount UMFS_POOL=%s: %s (%s)", cfg.pool, strerror(-err),
			 umfs_mount_error());
		if (alone)
			mount_gate_open();
		SYS(munmap)(shared, shared_len);
		shared = NULL;
		sys_close_quiet(shared_fd);
		shared_fd = -1;
		return err;
	}
	umfs_fs_move_fd(fs, shim_high_fd());
	umfs_set_mount_prefix(fs, cfg.prefix);
	umfs_set_relatime(fs, 1); /* as the kernel's default mount option */
	uinfo_mark_internal(shared_fd);
	uinfo_mark_internal(umfs_fs_fd(fs));
	uinfo_mark_internal(umfs_fs_share_fd(fs));
	my_epoch = shared->epoch;
	atomic_store_explicit(&g_fs, fs, memory_order_release);
	if (alone)
		mmap_recover_orphans(); /* mapped stores of processes that died */
	if (alone)
		mount_gate_open();
	SHIM_LOG(LOG_INFO, "mounted %s at %s (%s)", cfg.pool, cfg.prefix,
		 alone ? "first user" : "shared with other processes");
	return 0;
}

static int mount_errno(int err)
{
	switch (-err) {
	case EBUSY:
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOMEM:
		return err;
	default:
		return -EIO;
	}
}

struct umfs_fs *shim_fs(int *errp)
{
	struct umfs_fs *fs = shim_fs_peek();
	int err = 0;

	if (likely(fs != NULL))
		return fs;
	pthread_mutex_lock(&mount_lock);
	fs = shim_fs_peek();
	if (!fs) {
		shim_depth++;
		err = do_mount(false);
		shim_depth--;
		fs = shim_fs_peek();
	}
	pthread_mutex_unlock(&mount_lock);
	if (!fs && errp)
		*errp = mount_errno(err);
	return fs;
}

int shim_mount_for_adoption(void)
{
	int err = 0;

	if (shim_fs_peek())
		return 0;
	pthread_mutex_lock(&mount_lock);
	if (!shim_fs_peek()) {
		shim_depth++;
		err = do_mount(true);
		shim_depth--;
	}
	pthread_mutex_unlock(&mount_lock);
	return err;
}

void mount_fork_child(void)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	char path[PATH_MAX + 16];
	int fd;

	/* The lock depth is that of the forking thread, which held no pool
	 * lock. The mapping of the shared area is inherited as it is. */
	lock_depth = 0;
	if (shared_fd < 0)
		return;
	/* The gate lock belongs to an open file description, which the child
	 * shares with its parent: it takes its own, so that neither can
	 * believe itself alone (and unlock the other's) while both live. */
	snprintf(path, sizeof(path), "%s/shared", helper_dir);
	fd = sys_open_cloexec(path, O_RDWR, 0);
	if (fd < 0)
		return;
	while (SYS(fcntl)(fd, F_OFD_SETLKW, &fl) < 0 && errno == EINTR)
		;
	fd = shim_fd_move_high(fd);
	uinfo_unmark_internal(shared_fd);
	sys_close_quiet(shared_fd);
	shared_fd = fd;
	uinfo_mark_internal(shared_fd);
}

/* Removes the helper directory and what is in it (lock files, FIFOs, the
 * shared area): called by the last user, which holds the gate for writing.
 * Processes waiting at the gate notice that their "shared" is gone. */
static void helper_dir_remove(void)
{
	char path[PATH_MAX + 300];
	struct dirent *e;
	DIR *d = SYS(opendir)(helper_dir);

	if (!d)
		return;
	while ((e = SYS(readdir)(d)) != NULL) {
		if (strncmp(e->d_name, "lk-", 3) != 0 && strncmp(e->d_name, "fifo-", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", helper_dir, e->d_name);
		SYS(unlink)(path);
	}
	SYS(closedir)(d);
	snprintf(path, sizeof(path), "%s/shared", helper_dir);
	SYS(unlink)(path);
	SYS(rmdir)(helper_dir);
}

/* At exit: when this process is the last user of the pool, close what it
 * still holds (as the kernel's exit would: unlinked files it held are freed)
 * and unmount, so that the pool is left clean. Descriptors used after this
 * (by a later destructor) fail with EIO. */
void mount_exit(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct umfs_fs *fs = shim_fs_peek();

	if (!fs)
		return;
	if (SYS(fcntl)(shared_fd, F_OFD_SETLK, &fl) < 0)
		return; /* others still use the pool */
	pthread_mutex_lock(&mount_lock);
	mmap_shutdown();
	mmap_recover_orphans();
	ofd_shutdown();
	cwd_exit();
	/* umfs_unmount frees the orphans those processes held, when no
	 * other process (umfs-fuse) still uses the pool */
	atomic_store(&g_fs, NULL);
	uinfo_unmark_internal(umfs_fs_fd(fs));
	uinfo_unmark_internal(umfs_fs_share_fd(fs));
	umfs_set_relatime(fs, 0);
	umfs_set_mount_prefix(fs, NULL);
	umfs_unmount(fs);
	helper_dir_remove(); /* alone, holding the gate: nobody is past it */
	fl.l_type = F_UNLCK;
	SYS(fcntl)(shared_fd, F_OFD_SETLK, &fl);
	SYS(munmap)(shared, shared_len);
	shared = NULL;
	uinfo_unmark_internal(shared_fd);
	sys_close_quiet(shared_fd);
	shared_fd = -1;
	pthread_mutex_unlock(&mount_lock);
}
