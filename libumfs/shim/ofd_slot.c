/* SPDX-License-Identifier: MIT */
/*
 * ofd_slot.c - where open file descriptions live, and the descriptors that
 * stand for them.
 *
 * The shared part of every description (struct ofd_shared: inode, flags,
 * offset) is a fixed-size slot of one arena file in the helper directory,
 * "ofd/arena", mapped MAP_SHARED once per process. The descriptor the
 * program gets is the token of its slot: an O_RDONLY open of the directory
 * "<slot>" beside the arena, holding a flock(LOCK_EX) on it. So a claim
 * costs one openat and one flock; with a cached anchor (below), an open is
 * one dup and its close one close.
 *
 * The kernel does the counting: the token is an ordinary open file
 * description, shared across dup, fork, exec and SCM_RIGHTS, and its flock
 * goes away exactly when the last descriptor of it closes, in whichever
 * process, however that process ended. So "slot i is in use" means "some
 * description of token i holds the flock", and nothing else: the state
 * byte kept per slot in the arena is only a hint of which slots to try.
 * A claim takes a slot hinted free, opens its token and tries the lock
 * (LOCK_NB); only then, holding it, does it write the slot. A wrong hint
 * (a description still held by a process that forked or exec'd after this
 * one let go, or by a process without the library) costs one failed try;
 * a slot whose holders were killed keeps a "used" hint until a reclaim
 * scan, run when the arena would otherwise grow past twice the slots found
 * live last time, probes each "used" slot with the same LOCK_NB test.
 *
 * A program without the library sees a directory descriptor: read fails
 * with EISDIR, write with EBADF, never with wrong data. After exec, the new
 * image recognises tokens by their /proc/self/fd link (<helper>/ofd/<N>)
 * and finds the description in slot N (ofd.c).
 */
#include <dirent.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "shim.h"

#define ARENA_MAGIC 0x414e455241444f55ull /* "UODARENA" */
#define ARENA_VERSION 1
#define SUBDIR "ofd"      /* in the helper directory: the arena and the tokens */
#define ARENA_NAME "arena"
#define SUBDIR_MODE 01733 /* anyone may add a token, nobody remove another's */
#define TOKEN_MODE 0444   /* opened O_RDONLY by whoever claims the slot */
#define SHUTDOWN_GRACE_TRIES 50 /* 10 ms apart: for holders that are exiting */

enum { SLOT_FREE = 0, SLOT_USED = 1 };

struct arena_hdr {
	_Atomic uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	_Atomic uint32_t high;      /* slots ever handed out: [0, high) */
	_Atomic uint32_t hint;      /* no slot below this is hinted free */
	_Atomic uint32_t scan_mark; /* a reclaim scan runs before high passes this */
	uint32_t pad;
	_Atomic uint8_t state[OFD_SLOTS]; /* SLOT_FREE / SLOT_USED: a hint only */
};

#define ARENA_HDR_SIZE \
	((sizeof(struct arena_hdr) + OFD_SLOT_SIZE - 1) / OFD_SLOT_SIZE * OFD_SLOT_SIZE)
#define ARENA_SIZE (ARENA_HDR_SIZE + (size_t)OFD_SLOTS * OFD_SLOT_SIZE)

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena_hdr *_Atomic arena;
static int ofd_dfd = -1;            /* the subdirectory, while the arena is mapped */
static int arena_fd = -1;           /* the arena file, kept for children (inherit.c) */
static size_t ofd_dir_len; /* of its path, the helper directory's + "/" SUBDIR */

/* Processes this process may have started: descriptions created before
 * the last one may be held by a child (ofd_spawn_mark). */
static _Atomic uint64_t spawn_epoch;

/* Anchors: token descriptors kept at the library's high numbers, so that
 * the description outlives the program's close. A description only this
 * process ever held goes back, with its slot, to a small cache when the
 * program closes it; the next open is then one dup of the anchor instead
 * of an openat and a flock, and its close does not end the description. */
#define ANCHOR_MAX 16
static pthread_mutex_t anchor_lock = PTHREAD_MUTEX_INITIALIZER;
static struct anchor {
	int fd;
	uint32_t slot;
} anchor_cache[ANCHOR_MAX];
static int anchor_cached; /* entries in anchor_cache */
static int anchor_total;  /* anchors open: cached, and held by live descriptions */

/* Parking: when the program closes the last descriptor of a description
 * whose slot goes back to the cache, the number itself may stay open (it
 * is a descriptor of the same token), marked UINFO_PARKED, so that the
 * next open takes it back with no system call at all and the close costs
 * none either. A number is parked only when every lower one is open
 * (fd_open_below), and it stays the lowest free one while parked: the
 * library closes it for real before the kernel hands out a number for the
 * program (open of a kernel file, dup, fcntl F_DUPFD, socket, pipe, accept,
 * epoll, eventfd, exec, spawn...) and when a lower number becomes free
 * (close, fclose, closedir...). Any other use of the number (the program's
 * own stale descriptor) closes it first, so the kernel answers EBADF as for
 * any closed descriptor. Numbers 0-2 are never parked: programs reopen
 * those by number. One number at a time. */
static struct anchor parked; /* the parked description's anchor and slot */
static bool parked_cloexec;  /* FD_CLOEXEC of the parked number */
_Atomic int ofd_parked_fd = -1;
_Atomic int fd_open_below;
_Atomic unsigned fd_frees;

static inline struct ofd_shared *slot_at(struct arena_hdr *a, uint32_t i)
{
	return (struct ofd_shared *)((char *)a + ARENA_HDR_SIZE + (size_t)i * OFD_SLOT_SIZE);
}

/* "<i>" without printf: it is on every open. */
static void token_name(char buf[16], uint32_t i)
{
	char digits[12];
	int n = 0;

	do
		digits[n++] = (char)('0' + i % 10);
	while ((i /= 10) != 0);
	while (n)
		*buf++ = digits[--n];
	*buf = '\0';
}

/* The subdirectory's path is the helper directory's and "/" SUBDIR: tokens
 * are recognised by it. Kept as its length only, not in a buffer of its
 * own: a page of the library's zeroed data less for every joining process. */
static int ofd_dir_find(void)
{
	size_t len = strlen(shim_helper_dir()) + sizeof("/" SUBDIR) - 1;

	if (!shim_helper_dir()[0] || len >= PATH_MAX)
		return -ENAMETOOLONG;
	ofd_dir_len = len;
	return 0;
}

/* Whether the first len bytes of path name the subdirectory. */
static bool ofd_dir_is(const char *path, size_t len)
{
	const char *helper = shim_helper_dir();
	size_t hlen = strlen(helper);

	return len == ofd_dir_len && len > hlen && memcmp(path, helper, hlen) == 0 &&
	       memcmp(path + hlen, "/" SUBDIR, len - hlen) == 0;
}

/* 1 when token name (ofd/<N>) is held by a description. */
static int token_held(int dfd, const char *name, void *arg)
{
	int fd, held;

	if (name[0] < '0' || name[0] > '9')
		return 0;
	fd = OS(openat)(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	held = OS(flock)(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	OS(close)(fd);
	return held;
}

/* Whether a description still holds one of the tokens. */
static bool tokens_held(int dfd)
{
	return sys_dir_each(dfd, token_held, NULL) == 1;
}

/* Whether a is an arena of this version: its magic is stored last. */
static bool arena_valid(struct arena_hdr *a)
{
	return atomic_load(&a->magic) == ARENA_MAGIC && a->version == ARENA_VERSION &&
	       a->nslots == OFD_SLOTS;
}

/* Under the arena's lock: sizes it (sparse), and gives a new one its
 * header. An arena that is not one (damage, another version) is rebuilt
 * empty when no token is held, since then no description lives in it. */
static int arena_check(int fd, int dfd, struct arena_hdr *a)
{
	uint64_t magic = atomic_load(&a->magic);
	int err;

	if (arena_valid(a))
		return 0;
	if (magic != 0) {
		if (tokens_held(dfd)) {
			SHIM_LOG(LOG_ERROR, "%s/" SUBDIR "/" ARENA_NAME ": not an arena of this "
				 "library version, and in use", shim_helper_dir());
			return -EPROTO;
		}
		SHIM_LOG(LOG_WARN, "%s/" SUBDIR "/" ARENA_NAME ": damaged or of another version, "
			 "unused: rebuilt", shim_helper_dir());
		/* zeroed in place: a mapping elsewhere never sees it shrink */
		if (SYS(fallocate)(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				   (off_t)ARENA_SIZE) < 0)
			return -errno;
	}
	/* the fields written now; the state bytes and slots as they are
	 * handed out (claim_high) */
	err = SYS(posix_fallocate)(fd, 0, (off_t)offsetof(struct arena_hdr, state));
	if (err)
		return err == ENOSPC ? -ENOMEM : -err;
	a->version = ARENA_VERSION;
	a->nslots = OFD_SLOTS;
	atomic_store(&a->magic, ARENA_MAGIC);
	return 0;
}

/* Maps the arena where the kernel places it. On a 2 MiB boundary its
 * header and first slots would always share a page table page, but the
 * reservation and unmaps that takes cost a joined cat 10-27 us of CPU,
 * more than that page and a fault save at worst (docs/shim.md). */
static struct arena_hdr *arena_mmap(int fd)
{
	return OS(mmap)(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
}

/* Maps the arena fd, of size st (known valid: no lock), or under its lock
 * (made, sized, checked or rebuilt): 0 or -errno, *ap the map. */
static int arena_map(int fd, int dfd, const struct stat *opened, struct arena_hdr **ap)
{
	char what[160]; /* for messages: a longer path is cut */
	struct arena_hdr *a;
	struct stat st;
	int err;

	/* one made and sized before is only ever rebuilt when its header is
	 * not valid: such a one is used as it is */
	if (opened && opened->st_size == (off_t)ARENA_SIZE) {
		a = arena_mmap(fd);
		if (a == MAP_FAILED)
			return -errno;
		if (arena_valid(a)) {
			*ap = a;
			return 0;
		}
		OS(munmap)(a, ARENA_SIZE);
	}
	/* the lock on the arena file orders its creation and any rebuild */
	umfs_str_join(what, sizeof(what), shim_helper_dir(), "/" SUBDIR "/" ARENA_NAME, NULL);
	err = umfs_gate_lock(fd, 0, F_WRLCK, true, what);
	if (err)
		return err;
	if (SYS(fstat)(fd, &st) < 0)
		return -errno;
	if (st.st_size < (off_t)ARENA_SIZE &&
	    (err = umfs_os_ftruncate_own(fd, (off_t)ARENA_SIZE)) < 0)
		return err;
	a = arena_mmap(fd);
	if (a == MAP_FAILED)
		return -errno; /* closing the only descriptor drops the lock */
	err = arena_check(fd, dfd, a);
	if (err) {
		OS(munmap)(a, ARENA_SIZE);
		return err;
	}
	/* explicitly: the mapping keeps the description, and so its lock */
	umfs_gate_unlock(fd, 0);
	*ap = a;
	return 0;
}

static int arena_open_locked(void)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct stat st, *opened = NULL;
	struct arena_hdr *a;
	int fd, dfd, err;

	err = ofd_dir_find();
	if (err)
		return err;
	if (!fs || shim_helper_dfd() < 0)
		return -EIO;
	/* Tokens are made in this directory by whoever claims a slot,
	 * through its descriptor: a process that dropped its privileges after
	 * mounting still makes them (the directories above are the pool's
	 * users' alone, so nobody else reaches it). One that could not open
	 * them uses those its parent passed it (inherit.c). */
	if (inherit_peek(INH_OFD) >= 0 && inherit_peek(INH_ARENA) >= 0) {
		dfd = inherit_take(INH_OFD);
		fd = inherit_take(INH_ARENA);
	} else {
		dfd = umfs_rundir_openat(fs, shim_helper_dfd(), SUBDIR, O_CREAT, S_IFDIR,
					 SUBDIR_MODE);
		if (dfd < 0)
			return dfd;
		fd = umfs_rundir_openat_stat(fs, dfd, ARENA_NAME, O_RDWR | O_CREAT, S_IFREG, 0,
					     &st);
		if (fd < 0) {
			err = fd;
			goto err_dfd;
		}
		opened = &st;
	}
	err = arena_map(fd, dfd, opened, &a);
	if (err)
		goto err_fd;
	fd = shim_fd_move_high(fd);
	uinfo_mark_internal(fd);
	arena_fd = fd;
	dfd = shim_fd_move_high(dfd);
	uinfo_mark_internal(dfd);
	ofd_dfd = dfd;
	umfs_fault_watch_area(fs, a, ARENA_SIZE, "shim/" SUBDIR "/" ARENA_NAME); /* truncated: EIO */
	shim_arena_mark_used(true); /* before this process can claim a slot */
	atomic_store_explicit(&arena, a, memory_order_release);
	return 0;

err_fd:
	sys_close_quiet(fd);
err_dfd:
	sys_close_quiet(dfd);
	return err;
}

/* The arena, mapped at first use. */
static struct arena_hdr *arena_get(int *errp)
{
	struct arena_hdr *a = atomic_load_explicit(&arena, memory_order_acquire);
	int err = 0;

	if (likely(a != NULL))
		return a;
	pthread_mutex_lock(&arena_lock);
	if (!atomic_load(&arena)) {
		struct nofile_raise r;

		sys_nofile_raise(&r); /* once for its descriptors */
		err = arena_open_locked();
		sys_nofile_restore(&r);
	}
	a = atomic_load(&arena);
	pthread_mutex_unlock(&arena_lock);
	if (!a && errp)
		*errp = err ? err : -EIO;
	return a;
}

static void hint_lower(struct arena_hdr *a, uint32_t i)
{
	uint32_t h = atomic_load_explicit(&a->hint, memory_order_relaxed);

	while (i < h && !atomic_compare_exchange_weak(&a->hint, &h, i))
		;
}

/* Opens slot i's token and takes its lock: the descriptor, -EWOULDBLOCK
 * when a live description holds the slot, or -errno. */
static int token_take(uint32_t i, int cloexec, bool create)
{
	char name[16];
	int fd;

	token_name(name, i);
	for (int tries = 0;; tries++) {
		fd = OS(openat)(ofd_dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | cloexec);
		if (fd >= 0 || errno != ENOENT || tries || !create)
			break;
		/* first use of this slot: its token appears once, and stays */
		if (SYS(mkdirat)(ofd_dfd, name, 0) == 0)
			SYS(fchmodat)(ofd_dfd, name, TOKEN_MODE, 0);
		else if (errno != EEXIST)
			return -errno;
	}
	if (fd < 0) {
		/* -ENOENT only to a probe: a slot that never had a token */
		if (errno == EMFILE || errno == ENFILE || (errno == ENOENT && !create))
			return -errno;
		return -EIO;
	}
	if (OS(flock)(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;

		sys_close_quiet(fd);
		return err;
	}
	return fd;
}

/* Frees the slots whose tokens nobody holds any more (their holders were
 * killed, or let go in an order the hints missed). Returns how many stay. */
static uint32_t reclaim_scan(struct arena_hdr *a)
{
	uint32_t high = atomic_load(&a->high), live = 0;

	for (uint32_t i = 0; i < high && i < OFD_SLOTS; i++) {
		int fd;

		if (atomic_load(&a->state[i]) != SLOT_USED) {
			hint_lower(a, i); /* one a racing hint move hid */
			continue;
		}
		fd = token_take(i, O_CLOEXEC, false);
		if (fd >= 0 || fd == -ENOENT) {
			sys_close_quiet(fd);
			atomic_store(&a->state[i], SLOT_FREE);
			hint_lower(a, i);
		} else {
			live++;
		}
	}
	return live;
}

/* Tries the slots hinted free from the hint up; the token's descriptor or
 * -ENOENT when none could be taken. */
static int claim_hinted(struct arena_hdr *a, int cloexec, uint32_t *slotp)
{
	uint32_t start = atomic_load(&a->hint), high = atomic_load(&a->high);

	for (uint32_t i = start; i < high && i < OFD_SLOTS; i++) {
		uint8_t expect = SLOT_FREE;
		uint32_t seen = start;
		int fd;

		if (atomic_load_explicit(&a->state[i], memory_order_relaxed) != SLOT_FREE ||
		    !atomic_compare_exchange_strong(&a->state[i], &expect, SLOT_USED))
			continue;
		/* nothing below i was free when we looked: move the hint past,
		 * unless a release lowered it since */
		atomic_compare_exchange_strong(&a->hint, &seen, i + 1);
		fd = token_take(i, cloexec, true);
		if (fd >= 0) {
			*slotp = i;
			return fd;
		}
		if (fd != -EWOULDBLOCK) {
			atomic_store(&a->state[i], SLOT_FREE);
			hint_lower(a, i);
			return fd;
		}
		/* held by a description the hint missed: it stays "used" */
	}
	return -ENOENT;
}

/* Hands out slot high, its pages and its state byte's reserved first: no
 * slot below high is a hole, so no first store to one meets a full file
 * system (SIGBUS in whichever process came to it). -ENFILE when the arena
 * is full, -ENOMEM when its file system is. */
static int claim_high(struct arena_hdr *a, uint32_t *slotp)
{
	static _Atomic bool said;
	uint32_t i = atomic_load(&a->high);
	int err;

	do {
		if (i >= OFD_SLOTS)
			return -ENFILE;
		err = SYS(posix_fallocate)(arena_fd, (off_t)((char *)&a->state[i] - (char *)a), 1);
		if (!err)
			err = SYS(posix_fallocate)(arena_fd, (off_t)((char *)slot_at(a, i) - (char *)a),
						   OFD_SLOT_SIZE);
		if (err) {
			if (!atomic_exchange(&said, true))
				SHIM_LOG(LOG_ERROR, "%s/" SUBDIR "/" ARENA_NAME ": no room for "
					 "another open file description: %s", shim_helper_dir(),
					 strerror(err));
			return err == ENOSPC ? -ENOMEM : -err;
		}
	} while (!atomic_compare_exchange_weak(&a->high, &i, i + 1));
	*slotp = i;
	return 0;
}

static int claim_new(struct arena_hdr *a, int cloexec, uint32_t *slotp)
{
	int fd;

	for (int round = 0;; round++) {
		uint32_t i = 0, high;

		fd = claim_hinted(a, cloexec, slotp);
		if (fd != -ENOENT)
			break;
		high = atomic_load(&a->high);
		if (round == 0 && (high >= atomic_load(&a->scan_mark) || high >= OFD_SLOTS)) {
			uint32_t live = reclaim_scan(a);

			atomic_store(&a->scan_mark, 2 * live + 64);
			continue;
		}
		fd = claim_high(a, &i);
		if (fd < 0)
			return fd;
		atomic_store(&a->state[i], SLOT_USED);
		fd = token_take(i, cloexec, true);
		if (fd >= 0) {
			*slotp = i;
			break;
		}
		if (fd != -EWOULDBLOCK) {
			atomic_store(&a->state[i], SLOT_FREE);
			hint_lower(a, i);
			break;
		}
	}
	return fd;
}

/* Keeps a second descriptor of the new token at a high number, while there
 * are fewer than ANCHOR_MAX. */
static int anchor_make(int fd)
{
	bool take;
	int afd;

	pthread_mutex_lock(&anchor_lock);
	take = anchor_total < ANCHOR_MAX;
	anchor_total += take;
	pthread_mutex_unlock(&anchor_lock);
	if (!take)
		return -1;
	afd = shim_fd_dup_high(fd);
	if (afd < 0) {
		pthread_mutex_lock(&anchor_lock);
		anchor_total--;
		pthread_mutex_unlock(&anchor_lock);
		return -1;
	}
	uinfo_mark_internal(afd);
	return afd;
}

/* Under anchor_lock: closes the parked number; its anchor goes to the cache. */
static void unpark_locked(void)
{
	int fd = atomic_load(&ofd_parked_fd);

	if (fd < 0)
		return;
	atomic_store(&ofd_parked_fd, -1);
	if (uinfo_unpark(fd)) {
		sys_close_quiet(fd);
		fd_note_closed(fd);
	}
	anchor_cache[anchor_cached++] = parked;
}

/* Under anchor_lock: the parked number for a new open, with its anchor
 * and slot in *an; -1 when none is parked (or its flag cannot be set:
 * then it is closed, and its anchor cached). */
static int unpark_for_claim(bool cloexec, struct anchor *an)
{
	int fd = atomic_load(&ofd_parked_fd);

	if (fd < 0)
		return -1;
	if (parked_cloexec != cloexec &&
	    SYS(fcntl)(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0) < 0) {
		unpark_locked();
		return -1;
	}
	if (!uinfo_unpark(fd))
		return -1;
	atomic_store(&ofd_parked_fd, -1);
	*an = parked;
	return fd;
}

int ofd_slot_claim(int flags, uint32_t *slotp, struct ofd_shared **shp, int *anchorp)
{
	int cloexec = (flags & O_CLOEXEC) ? O_CLOEXEC : 0, err = 0, fd;
	struct arena_hdr *a = arena_get(&err);
	struct anchor an = { .fd = -1 };
	unsigned frees = atomic_load(&fd_frees);

	if (!a)
		return err;
	pthread_mutex_lock(&anchor_lock);
	/* a parked number is the lowest free one: every lower one is open */
	fd = unpark_for_claim(cloexec != 0, &an);
	if (fd < 0 && anchor_cached)
		an = anchor_cache[--anchor_cached];
	pthread_mutex_unlock(&anchor_lock);
	if (fd < 0 && an.fd >= 0) {
		/* the lowest free number, as open() must return */
		fd = SYS(fcntl)(an.fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
		if (fd < 0) {
			err = -errno;
			pthread_mutex_lock(&anchor_lock);
			anchor_cache[anchor_cached++] = an;
			pthread_mutex_unlock(&anchor_lock);
			return err;
		}
	}
	if (fd >= 0) {
		fd_note_alloc(fd, frees);
		*slotp = an.slot;
		*anchorp = an.fd;
		*shp = slot_at(a, an.slot);
		return fd;
	}
	fd = claim_new(a, cloexec, slotp);
	if (fd < 0)
		return fd;
	fd_note_alloc(fd, frees);
	*anchorp = anchor_make(fd);
	*shp = slot_at(a, *slotp);
	return fd;
}

static void anchor_close(int afd)
{
	uinfo_unmark_internal(afd);
	OS(close)(afd);
	pthread_mutex_lock(&anchor_lock);
	anchor_total--;
	pthread_mutex_unlock(&anchor_lock);
}

bool ofd_slot_park(uint32_t slot, int anchor, uint64_t born, int fd, bool cloexec)
{
	struct arena_hdr *a = atomic_load(&arena);
	bool done = false;

	if (fd <= 2 || anchor < 0 || !a || slot >= OFD_SLOTS ||
	    born != atomic_load(&spawn_epoch) || atomic_load(&fd_open_below) < fd)
		return false;
	pthread_mutex_lock(&anchor_lock);
	/* anchor_total counts the parked anchor: the cache has room to take it back */
	if (atomic_load(&ofd_parked_fd) < 0) {
		slot_at(a, slot)->ino = 0; /* describes no file while parked */
		parked.fd = anchor;
		parked.slot = slot;
		parked_cloexec = cloexec;
		uinfo_park(fd);
		atomic_store(&ofd_parked_fd, fd);
		done = true;
	}
	pthread_mutex_unlock(&anchor_lock);
	return done;
}

/* Runs from calls passed through, outside SHIM_SERVE: the lock is held
 * with signals deferred, as a handler's own open would take it. */
void ofd_unpark_above(int fd)
{
	shim_busy_enter();
	pthread_mutex_lock(&anchor_lock);
	if (atomic_load(&ofd_parked_fd) > fd)
		unpark_locked();
	pthread_mutex_unlock(&anchor_lock);
	shim_busy_leave();
}

struct ofd *uinfo_parked_used(int fd)
{
	struct ofd *o;

	/* fd is the parked number (one at a time); again if another thread
	 * parked it anew meanwhile */
	while ((o = atomic_load(&uinfo[fd])) == UINFO_PARKED)
		ofd_unpark_above(fd - 1);
	return o;
}

void ofd_slot_release(uint32_t slot, int anchor, uint64_t born)
{
	struct arena_hdr *a = atomic_load(&arena);

	if (anchor >= 0) {
		if (born == atomic_load(&spawn_epoch)) {
			/* no child can hold it: the slot stays ours, for reuse;
			 * it describes no file meanwhile */
			if (a && slot < OFD_SLOTS)
				slot_at(a, slot)->ino = 0;
			pthread_mutex_lock(&anchor_lock);
			anchor_cache[anchor_cached].fd = anchor;
			anchor_cache[anchor_cached++].slot = slot;
			pthread_mutex_unlock(&anchor_lock);
			return;
		}
		anchor_close(anchor);
	}
	if (!a || slot >= OFD_SLOTS)
		return;
	/* A hint: if another process still holds the description, the next
	 * claim's lock attempt finds out and marks it used again. */
	atomic_store(&a->state[slot], SLOT_FREE);
	hint_lower(a, slot);
}

bool ofd_slot_open_for_write(uint64_t ino, uint32_t gen)
{
	int err = 0;
	struct arena_hdr *a = arena_get(&err);
	uint32_t high;

	if (!a)
		return false;
	high = atomic_load(&a->high);
	for (uint32_t i = 0; i < high && i < OFD_SLOTS; i++) {
		struct ofd_shared *sh = slot_at(a, i);
		int flags, fd;

		/* every slot: a "free" hint may be a child's, whose parent
		 * still holds the description */
		if (sh->magic != OFD_MAGIC || sh->ino != ino || sh->gen != gen ||
		    memcmp(sh->pool_uuid, shim_pool_uuid, sizeof(shim_pool_uuid)) != 0)
			continue;
		flags = atomic_load_explicit(&sh->flags, memory_order_relaxed);
		if ((flags & O_PATH) || !acc_writes(flags))
			continue;
		/* a hint left by a holder that was killed: nobody has its token */
		fd = token_take(i, O_CLOEXEC, false);
		if (fd >= 0 || fd == -ENOENT) {
			sys_close_quiet(fd);
			continue;
		}
		return true;
	}
	return false;
}

bool ofd_slot_alive(uint32_t slot, uint64_t lock_id)
{
	int err = 0;
	struct arena_hdr *a = arena_get(&err);
	int fd;

	if (!lock_id)
		return false; /* no description's: ids are never 0 */
	if (!a)
		return true; /* cannot tell: a lock is kept rather than stolen */
	if (slot >= OFD_SLOTS ||
	    atomic_load_explicit(&slot_at(a, slot)->lock_id, memory_order_acquire) != lock_id)
		return false; /* the slot describes another description now */
	fd = token_take(slot, O_CLOEXEC, false);
	if (fd >= 0 || fd == -ENOENT) {
		sys_close_quiet(fd);
		return false; /* nobody holds its token: the description is closed */
	}
	return true;
}

bool ofd_slot_idle(void)
{
	return shim_mutex_idle(&arena_lock) && shim_mutex_idle(&anchor_lock);
}

uint64_t ofd_spawn_epoch(void)
{
	return atomic_load(&spawn_epoch);
}

void ofd_spawn_mark(void)
{
	atomic_fetch_add(&spawn_epoch, 1);
}

/* The cached slots are let go as hints (exec, exit: the anchors close). */
void ofd_slot_hint_cached(void)
{
	struct arena_hdr *a = atomic_load(&arena);

	if (!a)
		return;
	pthread_mutex_lock(&anchor_lock);
	unpark_locked(); /* not to be inherited, nor held past the exit */
	for (int i = 0; i < anchor_cached; i++) {
		atomic_store(&a->state[anchor_cache[i].slot], SLOT_FREE);
		hint_lower(a, anchor_cache[i].slot);
	}
	pthread_mutex_unlock(&anchor_lock);
}

static void anchor_purge(void)
{
	pthread_mutex_lock(&anchor_lock);
	for (int i = 0; i < anchor_cached; i++) {
		uinfo_unmark_internal(anchor_cache[i].fd);
		OS(close)(anchor_cache[i].fd);
	}
	anchor_total -= anchor_cached;
	anchor_cached = 0;
	pthread_mutex_unlock(&anchor_lock);
}

void ofd_slot_fork_prepare(void)
{
	ofd_spawn_mark();
	pthread_mutex_lock(&anchor_lock);
}

void ofd_slot_fork_parent(void)
{
	pthread_mutex_unlock(&anchor_lock);
	ofd_spawn_mark(); /* descriptions made while the fork was under way */
}

/* The cached slots stay the parent's: the child's copies of their anchors
 * (and of the parked number) go. */
void ofd_slot_fork_child(void)
{
	unpark_locked();
	pthread_mutex_unlock(&anchor_lock);
	ofd_spawn_mark(); /* what the parent holds is shared with us */
	anchor_purge();
}

struct ofd_shared *ofd_slot_of_link(const char *link, uint32_t *slotp)
{
	struct arena_hdr *a;
	const char *p;
	char *end;
	unsigned long i;

	p = strrchr(link, '/');
	if (!p || p[1] < '0' || p[1] > '9')
		return NULL;
	i = strtoul(p + 1, &end, 10);
	if (*end || i >= OFD_SLOTS)
		return NULL;
	a = arena_get(NULL);
	if (!a || !ofd_dir_is(link, (size_t)(p - link)))
		return NULL;
	*slotp = (uint32_t)i;
	return slot_at(a, (uint32_t)i);
}

/* A candidate before the pool is mounted: ".../umfs-.../ofd/<N>" (the
 * exact directory is compared by ofd_slot_of_link). */
void ofd_slot_open_now(void)
{
	arena_get(NULL);
}

int ofd_dir_fd(void)
{
	return atomic_load(&arena) ? ofd_dfd : -1;
}

int ofd_arena_fd(void)
{
	return atomic_load(&arena) ? arena_fd : -1;
}

bool ofd_link_is_token(const char *link)
{
	static const char tail[] = "/" SUBDIR "/";
	const char *p = strrchr(link, '/');

	return p && p[1] >= '0' && p[1] <= '9' && strstr(link, "/umfs-") &&
	       (size_t)(p + 1 - link) >= sizeof(tail) &&
	       memcmp(p + 1 - (sizeof(tail) - 1), tail, sizeof(tail) - 1) == 0;
}

/* The descriptors of tokens this leaving process holds now stand for
 * fresh descriptions of the same tokens, which hold no lock: a token it
 * shared with a child (forked or exec'd since the description was made,
 * or passed to it) stays locked only while another process holds it, and
 * one only this process held is free to go. The numbers stay open, so a
 * later destructor's use of one fails as any use after the unmount does. */
static int token_let_go(int dfd, const char *name, void *arg)
{
	char link[PATH_MAX];
	int fd = atoi(name), flags, fresh;
	uint32_t slot;
	ssize_t n;

	if (name[0] < '0' || name[0] > '9')
		return 0;
	n = SYS(readlinkat)(dfd, name, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	if (!ofd_slot_of_link(link, &slot) || (flags = SYS(fcntl)(fd, F_GETFD)) < 0)
		return 0;
	fresh = OS(openat)(ofd_dfd, strrchr(link, '/') + 1,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fresh < 0)
		return 0;
	SYS(dup3)(fresh, fd, flags & FD_CLOEXEC ? O_CLOEXEC : 0);
	sys_close_quiet(fresh);
	return 0;
}

static void tokens_let_go(void)
{
	int pfd = OS(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct nofile_raise r;

	if (pfd < 0)
		return;
	/* anchors sit past the soft limit, where dup3 onto them needs it raised */
	sys_nofile_raise(&r);
	(void)sys_dir_each(pfd, token_let_go, NULL);
	sys_nofile_restore(&r);
	sys_close_quiet(pfd);
}

/* The last process using the pool is leaving (mount.c's exit, alone):
 * every slot no process holds is marked free. The arena and the tokens
 * stay in the runtime directory, which outlives its users, so the next
 * first user opens a token instead of making one; in a read-only
 * process's own directory, which goes, they go too, unless another process
 * still holds a token (a child between fork and exec, one that has not
 * mounted yet, or one without the library): that one and the arena stay
 * for whoever inherits it. Mappings stay, so descriptions still referenced
 * remain readable memory. */
void ofd_slot_shutdown(void)
{
	struct arena_hdr *a = atomic_load(&arena);
	bool keep = shim_helper_private_dir() == NULL;
	char name[16];
	bool held = false;

	/* an arena another process left (it kept a held token) is cleaned
	 * too, unless no process mapped it since the last clean one */
	if (!a && shim_arena_maybe_used() &&
	    SYS(faccessat)(shim_helper_dfd(), SUBDIR "/" ARENA_NAME, F_OK,
			   AT_SYMLINK_NOFOLLOW) == 0)
		a = arena_get(NULL);
	if (!a)
		return;
	anchor_purge();
	pthread_mutex_lock(&arena_lock);
	/* Processes that left just before this one (exiting together) still
	 * hold their tokens until they are gone: where the arena is to go, a
	 * moment for them, bounded, before a token counts as held for good.
	 * Where it stays, a slot still held keeps its "used" hint for the
	 * reclaim scan, and only slots hinted used are looked at. This
	 * process's own tokens are let go (a scan of /proc/self/fd) only once
	 * a slot shows held: a process that closed its files pays no scan. */
	for (int tries = 0, let_go = 0;; tries++) {
		held = false;
		for (uint32_t i = 0, high = atomic_load(&a->high); i < high && i < OFD_SLOTS; i++) {
			int fd;

			if (keep && atomic_load(&a->state[i]) != SLOT_USED)
				continue;
			fd = token_take(i, O_CLOEXEC, false);

			if (fd == -EWOULDBLOCK) {
				held = true;
				continue;
			}
			if (fd < 0 && fd != -EWOULDBLOCK)
				continue;
			if (!keep) {
				token_name(name, i);
				SYS(unlinkat)(ofd_dfd, name, AT_REMOVEDIR);
			}
			sys_close_quiet(fd);
			atomic_store(&a->state[i], SLOT_FREE);
		}
		if (!held || tries >= SHUTDOWN_GRACE_TRIES)
			break;
		if (!let_go++) {
			tokens_let_go();
			continue;
		}
		if (keep)
			break;
		usleep(10000);
	}
	atomic_store(&a->hint, 0);
	shim_arena_mark_used(held);
	if (!held && !keep) {
		SYS(unlinkat)(ofd_dfd, ARENA_NAME, 0);
		SYS(unlinkat)(shim_helper_dfd(), SUBDIR, AT_REMOVEDIR);
	}
	/* the process is ending: its exit closes them and unmaps the arena */
	uinfo_unmark_internal(ofd_dfd);
	ofd_dfd = -1;
	uinfo_unmark_internal(arena_fd);
	arena_fd = -1;
	atomic_store(&arena, NULL); /* a later mount maps it again */
	pthread_mutex_unlock(&arena_lock);
}
