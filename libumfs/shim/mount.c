/* SPDX-License-Identifier: MIT */
/*
 * mount.c - the pool: mounted lazily at the first UMFS path (or at start
 * when descriptors were inherited across exec), and what only processes
 * on this library share.
 *
 * The helper directory is "shim" in the pool's runtime directory (the
 * core's rundir.c: made, found and checked so that no other user can plant
 * or redirect anything in it). It holds
 *   shared       a lock that one process at a time holds while in the core
 *                (every call but data reads), a change counter, and the
 *                inodes mapped MAP_SHARED;
 *   fifo/        host FIFOs standing for UMFS FIFOs (fifo.c);
 *   tx-INO-GEN   held by processes running a UMFS program (text.c);
 *   sock/        host sockets standing for UMFS socket names (sock.c);
 *   map-INO-GEN-N  host files behind MAP_SHARED mappings (calls_mmap.c);
 *   ofd/         open file descriptions (ofd_slot.c).
 * Every one of them is opened relative to the directory's descriptor, never
 * through a symlink, and checked after it is opened (umfs_rundir_openat).
 * A read-only process (UMFS_RDONLY) has no runtime directory: it makes a
 * private one (mkdtemp, 0700) that its children find through
 * UMFS_RDONLY_DIR (opened through envpath.c: no symlink another user
 * controls), and whose last user removes it through its parent's
 * descriptor.
 *
 * The first process to come (the gate of "shared", gate.c) initialises the
 * area and writes back what dead processes' mappings held; the last one
 * empties the helper directory of what is a process's own and parks the
 * area, leaving the directory, "shared" and ofd/ made for the next first
 * user (a read-only process's own directory goes).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define SHARED_MAGIC 0x444552414853534Dull /* "MSSHARED" */
#define SHARED_VERSION 13 /* 13: a take-over keeps the host file's name */
#define SHARED_VERSION_BASES 10 /* the first whose host files have bases */
#define MAP_CAP 256u /* inodes mapped MAP_SHARED at once, across processes */
#define HELPER_NAME "shim"
/* The helper directory and the host files in it are open to whoever holds
 * the directory's descriptor: a process that dropped its privileges after
 * mounting maps files MAP_SHARED and executes UMFS programs as before.
 * Nobody else reaches them: the runtime directory above is the pool's
 * users' alone. Not sticky: whichever process ends a mapping removes its
 * host file. */
#define HELPER_DIR_MODE 0777
#define HELPER_FILE_MODE 0666
#define RDONLY_DIR_ENV "UMFS_RDONLY_DIR"
#define RDONLY_DIR_PREFIX "umfs-rdonly-"

/* An inode some process maps MAP_SHARED: its host file is
 * map-INO-GEN-INST in the helper directory (calls_mmap.c). */
struct map_slot {
	_Atomic uint64_t ino; /* 0: never used since the table was empty; MAP_GONE: freed */
	uint32_t gen;
	uint32_t users;       /* mappings, across processes; 0: being let go */
	_Atomic uint64_t inst; /* which host file: a new one when the slot is taken */
	_Atomic uint64_t filled; /* bytes of it copied from the file; MAP_FILLED: all */
	uint64_t turn;        /* whose write-back it is: new at each take-over */
};

struct shim_shared {
	uint64_t magic;
	uint32_t version;
	uint32_t size;         /* sizeof(struct shim_shared) */
	struct umfs_plock lock; /* the pool lock, across processes */
	uint64_t epoch;        /* bumped by every change made under the lock */
	_Atomic uint64_t dir_epoch; /* bumped by every rename and rmdir */
	_Atomic uint32_t maps_active; /* map slots in use or being written back */
	/* Odd while a process makes a host file, lets go of a mapping (the
	 * last writes its host file back) or writes stores back: readers
	 * that ran meanwhile read again, locked (calls_mmap.c, mmap_read). */
	_Atomic uint32_t map_seq;
	_Atomic uint32_t texts; /* UMFS programs ever executed (text.c) */
	/* Set before anything but "shared" and ofd/ is made in the helper
	 * directory, or by a first user that found the area not parked
	 * (processes died with names there): while it is 0 the last user
	 * knows the directory holds nothing of a process's own, unread. */
	_Atomic uint32_t made;
	/* The arena of descriptions (ofd_slot.c) may hold slots hinted used:
	 * set by every process that maps it, cleared by a last user that
	 * found them all free, kept across parking. While it is 0, a last
	 * user that never mapped the arena has nothing there to clean. */
	_Atomic uint32_t arena_used;
	uint64_t map_inst;     /* last host file instance or turn handed out */
	struct map_slot maps[MAP_CAP];
};

_Atomic uint32_t *shim_maps_active;

static struct umfs_fs *_Atomic g_fs;
static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
uint8_t shim_pool_uuid[16];
/* Its path, on the heap at its length: a PATH_MAX array of the library's
 * zeroed data would be a page more for every joining process to fault. */
static char *helper_dir;
static int helper_dfd = -1;
static bool helper_private; /* a read-only process's own directory */
static struct shim_shared *shared;
static size_t shared_len;
static int shared_fd = -1;
static int fork_shared_fd = -1; /* a gate description of its own for the next child */
static uint64_t my_epoch;
static __thread int lock_depth;
static __thread bool lock_changed;

struct umfs_fs *shim_fs_peek(void)
{
	return atomic_load_explicit(&g_fs, memory_order_acquire);
}

bool shim_pool_by_name(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct stat named, ours;

	if (!fs)
		return true;
	return SYS(stat)(cfg.pool, &named) == 0 && SYS(fstat)(umfs_fs_fd(fs), &ours) == 0 &&
	       named.st_dev == ours.st_dev && named.st_ino == ours.st_ino &&
	       SYS(faccessat)(AT_FDCWD, cfg.pool, cfg.readonly ? R_OK : R_OK | W_OK,
			      AT_EACCESS) == 0;
}

int shim_helper_dfd(void)
{
	return helper_dfd;
}

int shim_shared_fd(void)
{
	return shared_fd;
}

const char *shim_helper_dir(void)
{
	return helper_dir ? helper_dir : "";
}

const char *shim_helper_private_dir(void)
{
	return helper_private && helper_dfd >= 0 ? helper_dir : NULL;
}

/* Set to dir followed by leaf at each mount, before another thread can
 * read it. */
static int helper_dir_set(const char *dir, const char *leaf)
{
	size_t dlen = strlen(dir), llen = strlen(leaf);
	char *p, *old = helper_dir;

	if (dlen + llen >= PATH_MAX)
		return -ENAMETOOLONG;
	p = malloc(dlen + llen + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, dir, dlen);
	memcpy(p + dlen, leaf, llen + 1);
	helper_dir = p;
	free(old);
	return 0;
}

int shim_helper_name(char *buf, size_t size, const char *kind, uint64_t ino, uint32_t gen)
{
	int n = snprintf(buf, size, "%s-%llu-%u", kind, (unsigned long long)ino, gen);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Before a name is made in the helper directory: the last user must look. */
static void helper_made(void)
{
	if (shared && !atomic_load_explicit(&shared->made, memory_order_relaxed))
		atomic_store(&shared->made, 1);
}

int shim_helper_open_low(const char *name, int flags, mode_t type)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct nofile_raise r;
	int fd;

	if (!fs || helper_dfd < 0)
		return -ENOENT;
	if (flags & O_CREAT)
		helper_made();
	fd = umfs_rundir_openat(fs, helper_dfd, name, flags, type, HELPER_FILE_MODE);
	/* the program's range is full: the shim's own range still has room */
	if (fd == -EMFILE && sys_nofile_raise(&r)) {
		fd = umfs_rundir_openat(fs, helper_dfd, name, flags, type, HELPER_FILE_MODE);
		sys_nofile_restore(&r);
	}
	return fd;
}

int shim_helper_subdir_open(struct umfs_fs *fs, enum inherit_kind k, const char *name,
			    mode_t mode)
{
	int fd = inherit_take(k);

	if (fd < 0) {
		helper_made();
		fd = umfs_rundir_openat(fs, helper_dfd, name, O_CREAT, S_IFDIR, mode);
	}
	if (fd < 0)
		return fd;
	fd = shim_fd_move_high(fd);
	uinfo_mark_internal(fd);
	return fd;
}

/* A subdirectory of the helper directory held in *slot, opened at its
 * first use (and before the process changes its credentials, or passes the
 * pool across exec: it may not open it afterwards). */
int shim_helper_subdir_get(struct umfs_fs *fs, _Atomic int *slot, enum inherit_kind k,
			   const char *name, mode_t mode)
{
	int fd = atomic_load_explicit(slot, memory_order_acquire), none = -1;

	if (likely(fd >= 0))
		return fd;
	fd = shim_helper_subdir_open(fs, k, name, mode);
	if (fd < 0)
		return fd;
	if (!atomic_compare_exchange_strong(slot, &none, fd)) { /* another thread's won */
		uinfo_unmark_internal(fd);
		sys_close_quiet(fd);
		fd = none;
	}
	return fd;
}

void shim_helper_subdir_close(_Atomic int *slot)
{
	int fd = atomic_exchange(slot, -1);

	if (fd < 0)
		return;
	uinfo_unmark_internal(fd);
	sys_close_quiet(fd);
}

struct subdir_prefix {
	const char *prefix;
	size_t len;
};

static int subdir_entry_remove(int dfd, const char *name, void *arg)
{
	const struct subdir_prefix *p = arg;

	if (strncmp(name, p->prefix, p->len) == 0)
		SYS(unlinkat)(dfd, name, 0);
	return 0;
}

/* The last user's exit: subdirectory name, made by this process or one
 * gone before, loses the names starting with prefix, then goes. */
void shim_helper_subdir_remove(struct umfs_fs *fs, _Atomic int *slot, bool named,
			       const char *name, mode_t mode, const char *prefix)
{
	struct subdir_prefix p = { prefix, strlen(prefix) };
	int fd = atomic_exchange(slot, -1);

	if (fd >= 0)
		uinfo_unmark_internal(fd);
	else if (fs && helper_dfd >= 0 && named)
		fd = umfs_rundir_openat(fs, helper_dfd, name, 0, S_IFDIR, mode);
	if (fd < 0)
		return; /* nobody made it */
	(void)sys_dir_each(fd, subdir_entry_remove, &p);
	SYS(unlinkat)(helper_dfd, name, AT_REMOVEDIR);
	sys_close_quiet(fd);
}

int shim_helper_open(const char *name, int flags, mode_t type)
{
	int fd = shim_helper_open_low(name, flags, type);

	return fd < 0 ? fd : shim_fd_move_high(fd);
}

/* A read-only process's own directory is removed by its name (leaf) in
 * the directory that holds it (parent_dfd), never by path. */
static int helper_parent_dfd = -1;
UMFS_BSS_LARGE static char helper_leaf[NAME_MAX + 1];

/* The canonical path of directory fd, for helper_dir: what the kernel
 * says of the descriptors made in it (ofd_slot.c compares those). */
static int helper_dir_name(int fd, const char *given)
{
	char link[32], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = SYS(readlink)(link, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return helper_dir_set(given, "");
	path[n] = '\0';
	return helper_dir_set(path, "");
}

/* Opens dir, a read-only process's directory, through envpath.c: a
 * directory of this user, mode 0700, named umfs-rdonly-*, reached through
 * no symlink another user controls. The descriptor, or -errno with why. */
static int helper_private_adopt(const char *dir, struct envpath *ep)
{
	int fd = envpath_open(dir, O_RDONLY | O_DIRECTORY, 0, ep);
	struct stat st;

	if (fd < 0)
		return fd;
	if (strncmp(ep->name, RDONLY_DIR_PREFIX, strlen(RDONLY_DIR_PREFIX)) != 0) {
		snprintf(ep->why, sizeof(ep->why), "not named %sXXXXXX", RDONLY_DIR_PREFIX);
		sys_close_quiet(fd);
		return -EPERM;
	}
	if (SYS(fstat)(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		snprintf(ep->why, sizeof(ep->why), "not a private directory of this user");
		sys_close_quiet(fd);
		return -EPERM;
	}
	return fd;
}

/* A read-only process's directory: its parent's (UMFS_RDONLY_DIR), if
 * that checks out, or a new private one its children will find. Only its
 * descriptor, and its parent's for the removal, are used after. */
static int helper_private_open(void)
{
	const char *inherited = getenv(RDONLY_DIR_ENV), *given = inherited;
	char made[PATH_MAX];
	struct envpath ep;
	int fd = -1, err;

	if (inherited && *inherited) {
		fd = helper_private_adopt(inherited, &ep);
		if (fd < 0) {
			SHIM_LOG(LOG_WARN, "%s=%s: %s; making another", RDONLY_DIR_ENV, inherited,
				 ep.why[0] ? ep.why : strerror(-fd));
			envpath_done(&ep);
		}
	}
	if (fd < 0) {
		snprintf(made, sizeof(made), "%s/%sXXXXXX",
			 SYS(access)("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
			 RDONLY_DIR_PREFIX);
		if (!SYS(mkdtemp)(made))
			return -errno;
		given = made;
		fd = helper_private_adopt(made, &ep);
		if (fd < 0) {
			envpath_done(&ep);
			SYS(rmdir)(made); /* ours, empty */
			return fd;
		}
	}
	err = helper_dir_name(fd, given);
	if (err) {
		sys_close_quiet(fd);
		if (given == made)
			SYS(rmdir)(made); /* ours, empty */
		envpath_done(&ep);
		return err;
	}
	if (!inherited || strcmp(inherited, helper_dir) != 0)
		setenv(RDONLY_DIR_ENV, helper_dir, 1);
	helper_parent_dfd = shim_fd_move_high(ep.dfd);
	snprintf(helper_leaf, sizeof(helper_leaf), "%s", ep.name);
	helper_private = true;
	return fd;
}

/* The helper directory: "shim" in the pool's runtime directory. */
static int helper_dir_open(struct umfs_fs *fs)
{
	int rundir = umfs_fs_rundir_fd(fs), fd;

	if (rundir < 0) {
		fd = helper_private_open();
	} else {
		if (inherit_peek(INH_HELPER) >= 0) {
			fd = inherit_take(INH_HELPER); /* one the parent could open (inherit.c) */
		} else {
			/* a last user may remove it between our mkdir and open */
			for (int tries = 0; tries < 100; tries++) {
				fd = umfs_rundir_openat(fs, rundir, HELPER_NAME, O_CREAT, S_IFDIR,
							HELPER_DIR_MODE);
				if (fd != -ENOENT)
					break;
			}
		}
		if (fd >= 0) {
			int err = helper_dir_set(umfs_fs_rundir_path(fs), "/" HELPER_NAME);

			if (err) {
				sys_close_quiet(fd);
				return err;
			}
		}
	}
	if (fd < 0)
		return fd;
	helper_dfd = shim_fd_move_high(fd);
	return 0;
}

static void helper_dir_close(void)
{
	uinfo_unmark_internal(helper_dfd);
	sys_close_quiet(helper_dfd);
	helper_dfd = -1;
	uinfo_unmark_internal(helper_parent_dfd);
	sys_close_quiet(helper_parent_dfd);
	helper_parent_dfd = -1;
}

/* Opens and maps the shared area; *alone tells whether this process came
 * first (it then holds the gate for writing until mount_gate_open),
 * *orphans whether processes may have died using it (its last user did
 * not park it: their mappings' host files may be left), and *baseless
 * whether those ran a library older than the host files' bases (an area
 * of another version or size). */
static int shared_open(struct umfs_fs *fs, bool *alone, bool *orphans, bool *baseless)
{
	size_t len = sizeof(struct shim_shared);
	char what[160]; /* for messages: a longer path is cut */
	int fd, err, restarts = 0;
	off_t was;
	void *p;

	umfs_str_join(what, sizeof(what), shim_helper_dir(), "/shared", NULL);
again:
	if (inherit_peek(INH_SHARED) >= 0)
		fd = umfs_gate_enter_fd(inherit_take(INH_SHARED), helper_dfd, "shared", what, alone,
					&was);
	else
		fd = umfs_gate_enter(fs, helper_dfd, "shared", what, alone, &was);
	if (fd == -ENOENT && restarts++ < 200) {
		/* its last user removed it, or the whole directory,
		 * meanwhile: a new one */
		helper_dir_close();
		err = helper_dir_open(fs);
		if (err)
			return err;
		goto again;
	}
	if (fd < 0)
		return fd;
entered:
	/* First user: the area is zero (whatever a dead process left). One
	 * of its size is cleared in place below (two pages: cheaper than
	 * cutting and growing the file, whose pages a new user then faults
	 * in afresh); any other is cut and grown. */
	if ((size_t)was != len) {
		err = umfs_gate_area_size(fd, *alone, (off_t)len, was, what);
		if (err < 0)
			goto err_close;
	}
	*orphans = was != 0;
	*baseless = (size_t)was != len; /* looked at again below */
	if (!*alone && was == 0)
		goto enter_again;
	if (!*alone && (size_t)was != len) {
		err = -EPROTO;
		goto err_restart;
	}
	p = OS(mmap)(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	shared = p;
	shared_len = len;
	umfs_fault_watch_area(fs, p, len, HELPER_NAME "/shared"); /* truncated: EIO */
	shim_maps_active = &shared->maps_active;
	if (*alone) {
		uint32_t arena_used = 1; /* not known: the arena is looked at */

		if ((size_t)was == len) {
			*orphans = shared->magic != UMFS_GATE_PARKED;
			*baseless = shared->version < SHARED_VERSION_BASES;
			if (!*orphans && shared->version == SHARED_VERSION)
				arena_used = shared->arena_used != 0;
			memset(p, 0, len);
		}
		shared->version = SHARED_VERSION;
		shared->size = (uint32_t)len;
		shared->made = *orphans;
		shared->arena_used = arena_used;
		atomic_thread_fence(memory_order_release);
		shared->magic = SHARED_MAGIC;
	} else if (shared->magic != SHARED_MAGIC || shared->version != SHARED_VERSION ||
		   shared->size != len) {
		bool parked = shared->magic == UMFS_GATE_PARKED;

		umfs_fault_unwatch(p);
		OS(munmap)(p, len);
		shared = NULL;
		shim_maps_active = NULL;
		err = -EPROTO;
		if (parked)
			goto enter_again;
		goto err_restart;
	}
	shared_fd = shim_fd_move_high(fd);
	return 0;

enter_again:
	/* The last user retired or parked the area while we waited: one of
	 * those who found it so comes in first. */
	if (++restarts <= 200) {
		fd = umfs_gate_enter_again(fd, helper_dfd, "shared", what, alone, &was);
		if (fd >= 0)
			goto entered;
		if (fd == -ENOENT)
			goto again;
		return fd;
	}
	sys_close_quiet(fd);
	SHIM_LOG(LOG_ERROR, "%s is parked or retired, and in use; stop every program using the "
		 "pool", what);
	return -EPROTO;

err_close:
	sys_close_quiet(fd);
	return err;

err_restart:
	/* The first user died before it set the area up (we, or another
	 * waiter, may start over as first), or a live user made it with
	 * another version of the library. */
	sys_close_quiet(fd);
	if (++restarts <= 200) {
		umfs_gate_area_backoff(was, restarts);
		goto again;
	}
	if (was != 0)
		SHIM_LOG(LOG_ERROR, "%s is damaged or from another version, and in use; stop "
			 "every program using the pool", what);
	return err;
}

/* The first process lets the others in once the pool is mounted. */
static void mount_gate_open(void)
{
	umfs_gate_ready(shared_fd, shim_helper_dir());
}

/* Once: a software-mode pool that users other than its owner may open
 * trusts them with all of it, and one that belongs to another user is
 * theirs to read and change. Said by the first process on the pool, unless
 * umfs-run or a parent already said it. */
static void mount_warn_exposure(struct umfs_fs *fs)
{
	char msg[PATH_MAX + 256];

	if (getenv(UMFS_EXPOSURE_SAID_ENV) || !umfs_fs_exposure(fs, cfg.pool, msg, sizeof(msg)))
		return;
	SHIM_LOG(LOG_WARN, "%s", msg);
	setenv(UMFS_EXPOSURE_SAID_ENV, "1", 1);
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

void shim_arena_mark_used(bool used)
{
	if (shared && atomic_load_explicit(&shared->arena_used, memory_order_relaxed) != used)
		atomic_store(&shared->arena_used, used);
}

bool shim_arena_maybe_used(void)
{
	return !shared || atomic_load(&shared->arena_used) != 0;
}

uint64_t shim_dir_epoch(void)
{
	return shared ? atomic_load_explicit(&shared->dir_epoch, memory_order_acquire) : 0;
}

uint32_t shim_texts(void)
{
	return shared ? atomic_load_explicit(&shared->texts, memory_order_acquire) : 0;
}

void shim_texts_bump(void)
{
	if (shared && atomic_load(&shared->texts) == 0)
		atomic_fetch_add(&shared->texts, 1);
}

void shim_dir_epoch_bump(void)
{
	if (shared)
		atomic_fetch_add(&shared->dir_epoch, 1);
}

/*
 * The map slots are an open-addressed table: an inode's slot is at or
 * after its home, in the run of slots up to the first never used, so the
 * read and write paths find a mapped inode, or learn that it is not
 * mapped, in a probe or two rather than a scan of the whole table. A
 * freed slot is marked gone, not emptied, so that the runs it was in stay
 * whole; the last slot freed empties them all. Slots change only under the
 * pool lock; readers take none.
 */
#define MAP_GONE UINT64_MAX
_Static_assert((MAP_CAP & (MAP_CAP - 1)) == 0, "the home of an inode is a mask of its hash");

static uint32_t map_slot_home(uint64_t ino)
{
	return (uint32_t)((ino * 0x9e3779b97f4a7c15ull) >> 32) & (MAP_CAP - 1);
}

uint32_t map_seq_read(void)
{
	return shared ? atomic_load_explicit(&shared->map_seq, memory_order_acquire) : 0;
}

void map_seq_bump(void)
{
	if (shared)
		atomic_fetch_add(&shared->map_seq, 1);
}

/* The slot of inode ino (of generation gen, or any: gen_any), or NULL. */
static struct map_slot *map_slot_at(uint64_t ino, uint32_t gen, bool gen_any)
{
	uint32_t i;

	if (!shared || atomic_load_explicit(&shared->maps_active, memory_order_acquire) == 0)
		return NULL;
	i = map_slot_home(ino);
	for (uint32_t n = 0; n < MAP_CAP; n++, i = (i + 1) & (MAP_CAP - 1)) {
		struct map_slot *m = &shared->maps[i];
		uint64_t at = atomic_load_explicit(&m->ino, memory_order_acquire);

		if (at == 0)
			return NULL;
		if (at == ino && (gen_any || m->gen == gen))
			return m;
	}
	return NULL;
}

/* The host file instance of a mapped inode, or 0 when nobody maps it
 * (no lock needed: a stale answer is caught by the instance number). An
 * inode whose last mapping is being let go is still found, until its
 * stores are back in the file (map_slot_gone). */
uint64_t map_slot_find(uint64_t ino, uint32_t gen)
{
	struct map_slot *m = map_slot_at(ino, gen, false);

	return m ? atomic_load(&m->inst) : 0;
}

/* The write gate (umfs_writev_at): whether a write of inode ino must keep
 * a host file in step, under the pool lock. Only a mapped inode's writes
 * take it: an inode's number is not reused while a mapping holds it open,
 * so its generation need not be looked at. */
bool map_slot_held(uint64_t ino)
{
	return map_slot_at(ino, 0, true) != NULL;
}

/* Counts a mapping more (delta 1) or less (-1), with the pool lock held.
 * Returns the host file instance and the users left (0: the last went,
 * and map_slot_gone follows its write-back). A count in that finds the
 * last one's write-back not done (it lets the lock go between chunks, or
 * its process died) takes the host file over (*taken), as it is, with the
 * stores not yet back: only the slot's turn changes, so that the
 * write-back stops (map_slot_idle), and no name moves, which a process
 * killed meanwhile could leave half moved. */
uint64_t map_slot_add(uint64_t ino, uint32_t gen, int delta, uint32_t *users, bool *taken)
{
	struct map_slot *free_slot = NULL;
	uint32_t i;

	*users = 0;
	if (taken)
		*taken = false;
	if (!shared)
		return 0;
	i = map_slot_home(ino);
	for (uint32_t n = 0; n < MAP_CAP; n++, i = (i + 1) & (MAP_CAP - 1)) {
		struct map_slot *m = &shared->maps[i];
		uint64_t at = atomic_load(&m->ino), inst;

		if (at == 0 || at == MAP_GONE) {
			if (!free_slot)
				free_slot = m;
			if (at == 0)
				break;
			continue;
		}
		if (at != ino || m->gen != gen)
			continue;
		inst = atomic_load(&m->inst);
		if (m->users == 0) {
			if (delta <= 0)
				return 0;
			m->users = (uint32_t)delta;
			m->turn = ++shared->map_inst;
			if (taken)
				*taken = true;
			*users = m->users;
			return inst;
		}
		if (delta < 0 && m->users <= (uint32_t)-delta) {
			m->users = 0;
			return inst; /* found and counted until map_slot_gone */
		}
		m->users += (uint32_t)delta;
		*users = m->users;
		return inst;
	}
	if (delta <= 0 || !free_slot || ino == 0 || ino == MAP_GONE)
		return 0; /* unknown, or full: the caller falls back */
	free_slot->gen = gen;
	free_slot->users = (uint32_t)delta;
	free_slot->turn = ++shared->map_inst;
	atomic_store(&free_slot->filled, 0);
	atomic_store(&free_slot->inst, free_slot->turn);
	atomic_store(&free_slot->ino, ino);
	atomic_fetch_add(&shared->maps_active, 1);
	*users = (uint32_t)delta;
	return free_slot->turn;
}

/* The turn of the inode's slot (pool lock held), 0 when it has none: its
 * last mapping's write-back holds it until a mapping takes over. */
uint64_t map_slot_turn(uint64_t ino, uint32_t gen)
{
	struct map_slot *m = map_slot_at(ino, gen, false);

	return m ? m->turn : 0;
}

/* Whether the last mapping of the inode let go of it in turn and no
 * mapping came since: the write-back is still that unmap's to finish
 * (pool lock held). Turns are never handed out twice, so a slot freed
 * and taken anew meanwhile is not mistaken for it. */
bool map_slot_idle(uint64_t ino, uint32_t gen, uint64_t turn)
{
	struct map_slot *m = map_slot_at(ino, gen, false);

	return m && m->users == 0 && m->turn == turn;
}

/* How much of the host file instance inst of a mapped inode is copied
 * from the file: MAP_FILLED (all) when it is not mapped, or not by inst. */
uint64_t map_slot_filled(uint64_t ino, uint32_t gen, uint64_t inst)
{
	struct map_slot *m = map_slot_at(ino, gen, false);

	if (!m || (inst && atomic_load(&m->inst) != inst))
		return MAP_FILLED;
	return atomic_load_explicit(&m->filled, memory_order_acquire);
}

/* The host file instance inst is copied up to filled (pool lock held). */
void map_slot_fill(uint64_t ino, uint32_t gen, uint64_t inst, uint64_t filled)
{
	struct map_slot *m = map_slot_at(ino, gen, false);

	if (m && atomic_load(&m->inst) == inst)
		atomic_store_explicit(&m->filled, filled, memory_order_release);
}

/* The inode map_slot_add let go of (no users left) has had its host file
 * written back: only now is its slot freed and does it stop counting, so
 * that a reader or writer that finds the inode not mapped finds every
 * store in the file (pool lock held). The last one empties the table. */
void map_slot_gone(uint64_t ino, uint32_t gen)
{
	struct map_slot *m = map_slot_at(ino, gen, false);

	if (!m || m->users != 0)
		return;
	atomic_store(&m->ino, MAP_GONE);
	if (atomic_fetch_sub(&shared->maps_active, 1) == 1)
		for (uint32_t j = 0; j < MAP_CAP; j++)
			atomic_store(&shared->maps[j].ino, 0);
}

bool mount_idle(void)
{
	return lock_depth == 0 && shim_mutex_idle(&mount_lock);
}

void pool_lock(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	int r;

	if (!shared || !fs)
		return;
	shim_busy_enter(); /* a handler must not wait for this thread's lock */
	if (lock_depth++ > 0)
		return; /* this thread holds it already */
	r = umfs_plock_lock(&shared->lock, "the pool lock of libumfs");
	lock_changed = false;
	if (r == -EOWNERDEAD) {
		/* A process died holding the library's lock: what it left half
		 * done in the pool, the core's own locks roll back as they are
		 * taken (umfs_fs_rollback does so for a private mount). */
		umfs_fs_rollback(fs);
		shared->epoch++;
		my_epoch = shared->epoch;
		/* it may have died between the two bumps of a mapping's sequence:
		 * left odd, every read would take the lock from then on */
		if (atomic_load(&shared->map_seq) & 1)
			atomic_fetch_add(&shared->map_seq, 1);
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
	if (--lock_depth > 0) {
		shim_busy_leave();
		return;
	}
	if (lock_changed) {
		shared->epoch++;
		my_epoch = shared->epoch;
	}
	umfs_plock_unlock(&shared->lock);
	shim_busy_leave();
}

void pool_unlock(void)
{
	pool_unlock_changed(true);
}

void pool_unlock_ro(void)
{
	pool_unlock_changed(false);
}

bool pool_lock_wanted(void)
{
	/* not when a caller further up holds it across this step too */
	return lock_depth == 1 && shared && umfs_plock_waited(&shared->lock);
}

void pool_lock_yield(void)
{
	if (!pool_lock_wanted())
		return;
	pool_unlock_ro();
	umfs_plock_let_in(&shared->lock);
	pool_lock();
}

static void mount_undo(bool alone)
{
	if (alone)
		mount_gate_open();
	if (shared) {
		umfs_fault_unwatch(shared);
		OS(munmap)(shared, shared_len);
	}
	shared = NULL;
	shim_maps_active = NULL;
	sys_close_quiet(shared_fd);
	shared_fd = -1;
	fifo_dir_close();
	sock_dir_close();
	helper_dir_close();
}

static int do_mount_raised(bool adoption)
{
	/* the core's lock region lets processes (and umfs-fuse) share the
	 * pool; a read-only mount takes no part in it */
	unsigned flags = cfg.readonly ? UMFS_MOUNT_RDONLY : UMFS_MOUNT_SHARED;
	struct umfs_fs *fs;
	bool alone = false, orphans = true, baseless = true;
	int err;

	/* The core recovers only as the pool's first user; a process that
	 * holds descriptors inherited from a predecessor never does. */
	if (adoption)
		flags |= UMFS_MOUNT_NORECOVER;
	if (inherit_has_pool()) {
		/* the descriptors a parent passed (inherit.c), which this
		 * process could not open itself */
		struct umfs_inherited in = { inherit_peek(INH_POOL), inherit_peek(INH_RUN),
					     inherit_peek(INH_LOCK), inherit_gates_shared() };

		err = umfs_mount_inherited(cfg.pool, &in, flags, &fs);
	} else {
		err = umfs_mount(cfg.pool, flags, &fs);
		if (err == -EACCES || err == -EPERM) {
			SHIM_LOG(LOG_ERROR, "UMFS_POOL=%s: %s: uid %u may not open the pool, and "
				 "no process that could passed it on", cfg.pool, strerror(-err),
				 (unsigned)geteuid());
			return err;
		}
	}
	if (err) {
		SHIM_LOG(LOG_ERROR, "cannot mount UMFS_POOL=%s: %s (%s)", cfg.pool, strerror(-err),
			 umfs_mount_error());
		return err;
	}
	umfs_fs_uuid(fs, shim_pool_uuid);
	umfs_fs_mirror(fs); /* the hooks of calls_mmap.c keep the host files in step */
	/* what a parent passed is in use now (duplicated by the core) */
	sys_close_quiet(inherit_take(INH_POOL));
	sys_close_quiet(inherit_take(INH_RUN));
	sys_close_quiet(inherit_take(INH_LOCK));
	err = helper_dir_open(fs);
	if (!err)
		err = shared_open(fs, &alone, &orphans, &baseless);
	if (err) {
		SHIM_LOG(LOG_ERROR, "cannot set up %s: %s", helper_dir ? helper_dir :
			 "the helper directory", strerror(-err));
		mount_undo(false);
		umfs_unmount(fs);
		return err;
	}
	{
		struct nofile_raise r;

		sys_nofile_raise(&r);
		umfs_fs_move_fd(fs, shim_high_fd());
		sys_nofile_restore(&r);
	}
	umfs_set_mount_prefix(fs, cfg.prefix);
	umfs_set_relatime(fs, 1); /* as the kernel's default mount option */
	uinfo_mark_internal(shared_fd);
	uinfo_mark_internal(helper_dfd);
	if (helper_parent_dfd >= 0)
		uinfo_mark_internal(helper_parent_dfd);
	uinfo_mark_internal(umfs_fs_fd(fs));
	uinfo_mark_internal(umfs_fs_share_fd(fs));
	uinfo_mark_internal(umfs_fs_rundir_fd(fs));
	my_epoch = shared->epoch;
	atomic_store_explicit(&g_fs, fs, memory_order_release);
	reclock_mounted(fs);
	if (alone) {
		if (orphans)
			/* mapped stores of processes that died */
			mmap_recover_orphans(baseless);
		if (!cfg.readonly)
			mount_warn_exposure(fs);
		mount_gate_open();
	}
	SHIM_LOG(LOG_INFO, "mounted %s at %s (%s)", cfg.pool, cfg.prefix,
		 alone ? "first user" : "shared with other processes");
	return 0;
}

/* The mount places a dozen descriptors in the library's range, past the
 * soft limit: one raise of it for them all, not one each. */
static int do_mount(bool adoption)
{
	struct nofile_raise r;
	int err;

	shim_fdguard_enter(); /* the pool's descriptors sit low until the end */
	sys_nofile_raise(&r);
	err = do_mount_raised(adoption);
	sys_nofile_restore(&r);
	shim_fdguard_leave();
	inherit_bridge_close(); /* the mount holds the gates now, or failed */
	return err;
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

	/* a vfork child's use of the pool, or its mount, would be its parent's */
	shim_vfork_own_memory();
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
	if (fs)
		held_release_pending(); /* what an earlier image of this process held */
	return fs;
}

/* Set by the first change of credentials (the wrappers call the function
 * below first): the process may hold capabilities its next image loses. */
static bool creds_changed;

bool shim_creds_changed(void)
{
	return creds_changed;
}

void shim_mount_before_cred_change(void)
{
	creds_changed = true;
	shim_config_ready();
	if (!cfg.enabled || shim_depth > 0)
		return;
	SHIM_SERVE(); /* the mount takes the pool's locks */
	/* one who cannot open the pool now never could: the first use says so */
	if (!shim_fs_peek() &&
	    SYS(faccessat)(AT_FDCWD, cfg.pool, cfg.readonly ? R_OK : R_OK | W_OK, AT_EACCESS) < 0)
		return;
	/* the arena of descriptions too: the ofd/ directory that holds it
	 * is reached through the helper directory, the pool users' alone */
	if (shim_fs(NULL) && !cfg.readonly)
		ofd_slot_open_now();
	if (shim_fs_peek()) {
		(void)fifo_dir_get(shim_fs_peek());
		(void)sock_dir_get(shim_fs_peek());
	}
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

/* The gate lock belongs to an open file description, which a forked
 * child shares with its parent: the child takes its own, so that neither
 * can believe itself alone (and unlock the other's) while both live. The
 * parent opens it (another description of its own where it changed
 * credentials since it mounted), so that it knows when it could not: then
 * both keep the one they share, and neither takes itself for the last user
 * (as the core's gate, share.c). */
void mount_fork_prepare(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	char what[160]; /* for messages: a longer path is cut */

	fork_shared_fd = -1;
	if (!fs || shared_fd < 0 || helper_dfd < 0 || umfs_fs_gate_shared(fs))
		return;
	umfs_str_join(what, sizeof(what), shim_helper_dir(), "/shared", NULL);
	fork_shared_fd = umfs_gate_join(helper_dfd, "shared", shared_fd, what);
	if (fork_shared_fd < 0)
		umfs_fs_set_gate_shared(fs);
}

void mount_fork_parent(void)
{
	if (fork_shared_fd >= 0)
		OS(close)(fork_shared_fd);
	fork_shared_fd = -1;
}

void mount_fork_child(void)
{
	/* The lock depth is that of the forking thread, which held no pool
	 * lock. The mapping of the shared area is inherited as it is. */
	lock_depth = 0;
	if (fork_shared_fd >= 0) {
		int fd = umfs_gate_fork_child(fork_shared_fd, shared_fd);

		if (fd != shared_fd) { /* a new number: kept with the library's own */
			uinfo_unmark_internal(shared_fd);
			shared_fd = shim_fd_move_high(fd);
			uinfo_mark_internal(shared_fd);
		}
	}
	fork_shared_fd = -1;
}

struct helper_scan {
	struct umfs_fs *fs;
	bool sock, fifo; /* the subdirectories are there */
};

/* One name of the helper directory at the last user's exit: host files
 * behind dead processes' mappings go back to their files, FIFOs and text
 * locks (and lk- lock files an older library made) go; the subdirectories
 * sock/ and fifo/ are noted, so that none is looked for in vain. */
static int helper_entry_remove(int dfd, const char *name, void *arg)
{
	struct helper_scan *sc = arg;

	if (strncmp(name, "map-", 4) == 0 || strncmp(name, "mapb-", 5) == 0)
		mmap_recover_orphan(sc->fs, dfd, name, false); /* made by this library */
	else if (strncmp(name, "lk-", 3) == 0 || strncmp(name, "fifo-", 5) == 0 ||
		 strncmp(name, "tx-", 3) == 0)
		SYS(unlinkat)(dfd, name, 0);
	else if (strcmp(name, SOCK_SUBDIR) == 0)
		sc->sock = true;
	else if (strcmp(name, FIFO_SUBDIR) == 0)
		sc->fifo = true;
	return 0;
}

/* Empties the helper directory of what dead processes left: called by the
 * last user, which holds the gate for writing. The directory and "shared"
 * stay for the next first user, the area parked (its pages kept for that
 * user to clear): processes waiting at the gate find it so and come in
 * again. A read-only process's own directory goes. sock/ and fifo/ go (a
 * read-only process's ofd/ went before). */
static void helper_dir_idle(struct umfs_fs *fs)
{
	struct helper_scan sc = { fs, false, false };
	int err = 0;

	/* nothing made since the area was set up: no names to read */
	if (helper_private || atomic_load(&shared->made))
		err = sys_dir_each(helper_dfd, helper_entry_remove, &sc);

	/* a failed scan saw nothing: each is looked for */
	sock_shutdown(sc.sock || err < 0);
	fifo_shutdown(sc.fifo || err < 0);
	if (err < 0)
		return;
	if (!helper_private) {
		umfs_gate_area_park(&shared->magic);
		return;
	}
	SYS(unlinkat)(helper_dfd, "shared", 0);
	SYS(unlinkat)(helper_parent_dfd, helper_leaf, AT_REMOVEDIR);
	unsetenv(RDONLY_DIR_ENV);
}

/* At exit: when this process is the last user of the pool, close what it
 * still holds (as the kernel's exit would: unlinked files it held are freed)
 * and unmount, so that the pool is left clean. Descriptors used after this
 * (by a later destructor) fail with EIO. The library's mappings and
 * descriptors are left to the exit, which lets go of them anyway. */
void mount_exit(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	int core_fds[3];

	/* a leaver that is not last stops counting here and in the core, so
	 * that of processes exiting together one finds itself last in both;
	 * one whose gates another process shares leaves them to it */
	if (!fs || umfs_fs_gate_shared(fs) || !umfs_gate_last(shared_fd, shim_helper_dir(), fs))
		return; /* others still use the pool */
	pthread_mutex_lock(&mount_lock);
	mmap_shutdown();
	ofd_shutdown();
	cwd_exit();
	helper_dir_idle(fs); /* alone, holding the gate: nobody is past it */
	/* umfs_unmount frees the orphans those processes held, when no
	 * other process (umfs-fuse) still uses the pool, and parks or
	 * retires its lock region */
	atomic_store(&g_fs, NULL);
	core_fds[0] = umfs_fs_fd(fs);
	core_fds[1] = umfs_fs_share_fd(fs);
	core_fds[2] = umfs_fs_rundir_fd(fs);
	umfs_set_relatime(fs, 0);
	umfs_set_mount_prefix(fs, NULL);
	umfs_fs_set_exiting(fs);
	umfs_unmount(fs);
	for (size_t i = 0; i < ARRAY_SIZE(core_fds); i++)
		uinfo_unmark_internal(core_fds[i]);
	umfs_gate_leave(shared_fd);
	shared = NULL;
	shim_maps_active = NULL;
	uinfo_unmark_internal(shared_fd);
	shared_fd = -1;
	uinfo_unmark_internal(helper_dfd);
	helper_dfd = -1;
	uinfo_unmark_internal(helper_parent_dfd);
	helper_parent_dfd = -1;
	pthread_mutex_unlock(&mount_lock);
}
