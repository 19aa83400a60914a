/* SPDX-License-Identifier: MIT */
/*
 * backend_kmod.c - the kernel-module backend: libumfs's side of the
 * kernel module (docs/kmod.md).
 *
 * Module mode: when the pool is a pmem block device or a device DAX and
 * /dev/umfs exists, the pool is mounted in the module and mapped through it
 * (kmod_pool_map), and each open regular file is attached: the module points a
 * 1 GiB-aligned range of this process at the file's own page table, so
 * file offset o is a plain load or store at base + o. The module allocates
 * (EXTEND), frees (FREE) and writes mode, uid and gid (SETATTR); the rest
 * of the metadata stays in user space, and so does the check of which
 * pages are present (a hole in an attachment is SIGBUS, so holes are never
 * touched through it).
 *
 * An attachment dies when any process REVOKEs its inode (FREE, SETATTR,
 * the last unlink, copy-on-write). Readers take no lock, so a read may race
 * with a REVOKE: every copy through an attachment runs under a SIGBUS catcher,
 * and a faulted copy is redone through the pool mapping and the attachment
 * is made again at the next call. The ioctls go through the module's
 * client wrappers (kmod/lib/umfs_kmod_client.c, built into the core).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "cow.h"
#include "cred.h"
#include "dir.h"
#include "file.h"
#include "inode.h"
#include "journal.h"
#include "os.h"
#include "persist.h"
#include "ptable.h"
#include "ulog.h"
#include "umfs_kmod.h"
#include "umfs_kmod_client.h"

#define KATT_MAX_FAILS 4 /* refused attaches of one open file before it stays in software */

/* The module's client (kmod/lib) reaches /dev/umfs through the core's
 * table of real calls. */
static int kmod_sys_open(const char *path, int flags)
{
	return OS(open)(path, flags);
}

static int kmod_sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return OS(ioctl)(fd, cmd, arg);
}

static int kmod_sys_close(int fd)
{
	return OS(close)(fd);
}

const struct umfs_kmod_sys umfs_kmod_sys = {
	.open = kmod_sys_open,
	.ioctl = kmod_sys_ioctl,
	.close = kmod_sys_close,
};

static _Atomic uint64_t kmod_fork_gen;
static pthread_once_t kmod_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t kmod_fd_lock = PTHREAD_MUTEX_INITIALIZER;
static int kmod_child_fd = -1;  /* a forked child's own /dev/umfs */
static uint64_t kmod_child_gen; /* the fork generation it was opened in */
UMFS_BSS_LARGE static struct sigaction kmod_old_bus; /* apart: the module's alone */
static __thread sigjmp_buf *volatile kmod_jmp;

static int umfs_kmod_inode_release(struct umfs_fs *fs, uint64_t ino);

/* This backend serves fs (the ops check it, as calls from anywhere may). */
static bool kmod_on(const struct umfs_fs *fs)
{
	return fs->be == &umfs_backend_kmod;
}

uint64_t umfs_kmod_fork_gen(void)
{
	return atomic_load_explicit(&kmod_fork_gen, memory_order_relaxed);
}

static void kmod_atfork_child(void)
{
	atomic_fetch_add(&kmod_fork_gen, 1);
	pthread_mutex_init(&kmod_fd_lock, NULL);
	if (kmod_child_fd >= 0)
		OS(close)(kmod_child_fd); /* the parent's: answers EBADFD here */
	kmod_child_fd = -1;
}

/* A fault in a copy this thread runs through an attachment returns to the
 * copy; anything else goes to the handler the program had. */
static void kmod_sigbus(int sig, siginfo_t *si, void *ctx)
{
	sigjmp_buf *jb = kmod_jmp;

	if (jb) {
		kmod_jmp = NULL;
		OS(siglongjmp)(*jb, 1);
	}
	if ((kmod_old_bus.sa_flags & SA_SIGINFO) && kmod_old_bus.sa_sigaction) {
		kmod_old_bus.sa_sigaction(sig, si, ctx);
		return;
	}
	if (!(kmod_old_bus.sa_flags & SA_SIGINFO) && kmod_old_bus.sa_handler != SIG_DFL &&
	    kmod_old_bus.sa_handler != SIG_IGN) {
		kmod_old_bus.sa_handler(sig);
		return;
	}
	OS(signal)(SIGBUS, SIG_DFL);
	if (si->si_code <= 0)
		OS(raise)(sig); /* sent, not a fault: a fault repeats by itself on return */
}

static void kmod_setup(void)
{
	struct sigaction sa;

	pthread_atfork(NULL, NULL, kmod_atfork_child);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kmod_sigbus;
	/* NODEFER: siglongjmp leaves the handler without restoring a mask */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	(void)OS(siglongjmp); /* resolved here, not in the handler */
	OS(sigaction)(SIGBUS, &sa, &kmod_old_bus);
}

/* memcpy (persist: flushed, not drained) that reports a fault instead of
 * dying of it. */
static bool kmod_copy(void *dst, const void *src, size_t n, bool persist)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0)) {
		kmod_jmp = NULL;
		return false;
	}
	kmod_jmp = &jb;
	atomic_signal_fence(memory_order_seq_cst);
	if (persist)
		umfs_memcpy_nodrain(dst, src, n);
	else
		memcpy(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
	kmod_jmp = NULL;
	return true;
}

/* Opt-in, so that programs driving the module themselves (its tests),
 * mkfs and fsck keep the device to themselves unless asked. */
int umfs_kmod_wanted(void)
{
	const char *e = getenv("UMFS_KMOD");

	if (!e || !*e || strcmp(e, "0") == 0)
		return -1;
	if (strcmp(e, "1") == 0)
		return 1;
	return strcmp(e, "try") == 0 ? 0 : -1;
}

/* Mounts the block device path in the module (or finds it mounted there)
 * and returns an open /dev/umfs in *kfd and the pool's size; -errno when
 * module mode does not apply (-ENOSYS: not asked for). */
static int umfs_kmod_pool_open(const char *path, int *kfd, uint64_t *size)
{
	struct umfs_kmod_mount m;
	struct umfs_kmod_stats ks;
	struct stat st;
	int fd, err, saved = errno;

	if (umfs_kmod_wanted() < 0)
		return -ENOSYS;
	if (OS(stat)(path, &st) < 0) {
		err = -errno;
		errno = saved;
		return err;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
		return -ENOTBLK; /* pool files stay in software */
	if (strlen(path) >= sizeof(m.path))
		return -ENAMETOOLONG;
	err = umfs_pmem_dev_size(&st, size); /* pmem block device or device DAX */
	if (err) {
		errno = saved;
		return err;
	}
	fd = OS(open)(UMFS_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		errno = saved;
		return err;
	}
	pthread_once(&kmod_once, kmod_setup);
	memset(&ks, 0, sizeof(ks));
	err = umfs_kmod_call(fd, UMFS_KMOD_IOC_STATS, &ks);
	if (!err && ks.abi_version != UMFS_KMOD_ABI_VERSION)
		err = -EPROTONOSUPPORT;
	if (!err && !ks.mounted) {
		memset(&m, 0, sizeof(m));
		strcpy(m.path, path);
		err = umfs_kmod_call(fd, UMFS_KMOD_IOC_MOUNT, &m);
		/* EBUSY: another process mounted it first, or has the device
		 * open (then it is not mounted, and this pool stays in software) */
		if (err == -EBUSY && umfs_kmod_call(fd, UMFS_KMOD_IOC_STATS, &ks) == 0 && ks.mounted)
			err = 0;
		else if (!err && m.pool_size < *size)
			*size = m.pool_size;
	}
	/* The module holds one pool; one mounted by another process is taken
	 * to be this device (its size must fit, the core validates the
	 * superblock it finds). */
	if (err) {
		OS(close)(fd);
		return err;
	}
	*kfd = fd;
	return 0;
}

int umfs_fs_kmod(const struct umfs_fs *fs)
{
	return kmod_on(fs) ? 1 : 0;
}

/* This process's /dev/umfs: the mount's, or a forked child's own. */
static int kmod_fd(struct umfs_fs *fs)
{
	uint64_t gen = umfs_kmod_fork_gen();
	int fd;

	if (fs->pm.kgen == gen)
		return fs->pm.fd;
	pthread_mutex_lock(&kmod_fd_lock);
	if (kmod_child_fd < 0 || kmod_child_gen != gen) {
		kmod_child_fd = OS(open)(UMFS_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
		kmod_child_gen = gen;
	}
	fd = kmod_child_fd;
	pthread_mutex_unlock(&kmod_fd_lock);
	return fd;
}

/* Write lock held. Drops the attachment (a parent's is not ours to drop). */
static void katt_drop(struct umfs_fs *fs, struct umfs_katt *a)
{
	if (a->base && a->gen == umfs_kmod_fork_gen())
		umfs_kmod_detach(kmod_fd(fs), a->base);
	a->base = NULL;
	a->len = 0;
	a->dead = false;
}

/* Write lock held. Maps the file for at least want bytes. */
static int katt_attach(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, uint64_t want)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	int fd = kmod_fd(fs), err;
	uint8_t height = in->pt_height;
	uint64_t reserve;
	size_t len;
	void *base;

	if (fd < 0)
		return -EBADF;
	/* room to grow in place: a slot past what is needed now, within the
	 * pool's largest file (512 GiB, or 256 TiB with level-4 tables) */
	reserve = UMFS_MIN(UMFS_MAX(want, in->size) + UMFS_KMOD_SLOT_SIZE,
			   umfs_fs_max_pages(fs) << UMFS_PAGE_SHIFT);
	err = umfs_kmod_attach(fd, ino, in->generation, a->flags, reserve, &base, &len, NULL);
	if (err) {
		a->fails++;
		return err;
	}
	a->base = base;
	a->len = len;
	a->gen = umfs_kmod_fork_gen();
	a->height = height;
	a->dead = false;
	return 0;
}

static bool katt_fits(const struct umfs_fs *fs, uint64_t ino, const struct umfs_katt *a,
		      uint64_t end)
{
	/* a file attached at height 0 or 1 has a promoted table of its own
	 * making; a taller tree is not under it, nor under an old top entry */
	return a->base && !a->dead && a->gen == umfs_kmod_fork_gen() && end <= a->len &&
	       a->height == umfs_inode(fs, ino)->pt_height;
}

/* Holds the attachment for reading, covering [0, end), attaching again if
 * needed (and may_attach). 0 with the read lock held; never waits. */
static int katt_hold(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, uint64_t end,
		     bool *fresh)
{
	int err;

	if (!kmod_on(fs))
		return -ENODEV;
	for (int round = 0; round < 2; round++) {
		if (pthread_rwlock_tryrdlock(&a->lock))
			return -EBUSY;
		if (katt_fits(fs, ino, a, end))
			return 0;
		pthread_rwlock_unlock(&a->lock);
		if (round || a->fails >= KATT_MAX_FAILS || pthread_rwlock_trywrlock(&a->lock))
			return -EBUSY;
		err = 0;
		if (!katt_fits(fs, ino, a, end)) {
			katt_drop(fs, a);
			err = katt_attach(fs, ino, a, end);
			if (!err && fresh)
				*fresh = true;
		}
		pthread_rwlock_unlock(&a->lock);
		if (err)
			return err;
	}
	return -EBUSY;
}

/* Attaches now (umfs_open); failures leave the software walk. */
static void umfs_katt_open(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino,
		    struct umfs_katt *a)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	bool fresh = false;
	uint64_t seq;

	if (!kmod_on(fs) || !S_ISREG(in->mode) || (a->flags & O_PATH) || in->size == 0 ||
	    (a->flags & O_ACCMODE) == O_ACCMODE)
		return; /* empty files attach at their first overwrite or read; an
			 * open for neither (O_ACCMODE) has none */
	/* an attach that overlapped a truncate may hold freed tables */
	seq = umfs_vnode_read_begin(fs, vn);
	if (katt_hold(fs, ino, a, in->size, &fresh) == 0)
		pthread_rwlock_unlock(&a->lock);
	if (umfs_vnode_read_retry(fs, vn, seq) && fresh)
		a->dead = true;
}

static void umfs_katt_close(struct umfs_fs *fs, struct umfs_katt *a)
{
	if (a->base && pthread_rwlock_trywrlock(&a->lock) == 0) {
		katt_drop(fs, a);
		pthread_rwlock_unlock(&a->lock);
	}
	pthread_rwlock_destroy(&a->lock);
}

/* REVOKE ino in every process when its last name goes; FREE, EXCHANGE and
 * SETATTR revoke by themselves. */
static void umfs_katt_revoke(struct umfs_fs *fs, uint64_t ino)
{
	if (!kmod_on(fs))
		return;
	umfs_kmod_revoke(fs->pm.fd, ino, NULL); /* REVOKE needs no mm of ours */
}

/* A metadata call under the meta lock, which keeps every user-space
 * allocator (all processes) out of the bitmap while the module changes it
 * (taken here unless the caller holds it); then the shared free count
 * loses *taken and gains *given (fields of the answer, either may be
 * NULL). */
static int kmod_meta_call(struct umfs_fs *fs, bool held, unsigned long cmd, void *req,
			  const __u64 *taken, const __u64 *given)
{
	int err;

	if (!held)
		umfs_meta_lock(fs);
	err = umfs_kmod_call(fs->pm.fd, cmd, req);
	if (!err && ((taken && *taken) || (given && *given))) {
		if (taken)
			fs->free_pages -= UMFS_MIN(*taken, fs->free_pages);
		if (given)
			fs->free_pages += *given;
		fs->share_changed = true;
	}
	if (!held)
		umfs_meta_unlock(fs);
	return err;
}

/* The owner and mode a front end asked for, when they are not what the
 * module derived from this process's credentials (a FUSE daemon creating
 * for its caller): root's chown and chmod, decided by the module. */
static int kmod_create_owner(struct umfs_fs *fs, const struct umfs_kmod_create *req, mode_t mode,
			     uid_t uid, gid_t gid)
{
	struct umfs_kmod_setattr sa;

	if (req->uid == uid && req->gid == gid && req->out_mode == mode)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.ino = req->ino;
	sa.generation = req->generation;
	sa.valid = UMFS_KMOD_SETATTR_MODE | UMFS_KMOD_SETATTR_UID | UMFS_KMOD_SETATTR_GID;
	sa.mode = (uint32_t)(mode & 07777);
	sa.uid = (uint32_t)uid;
	sa.gid = (uint32_t)gid;
	return umfs_kmod_call(fs->pm.fd, UMFS_KMOD_IOC_SETATTR, &sa);
}

/* Under meta_lock, no transaction touching what they change open (the
 * module writes inode identities, both bitmaps and the orphan head): a new
 * inode, an unnamed orphan on the orphan list, from the module. */
static int umfs_kmod_inode_create(struct umfs_fs *fs, uint64_t parent, mode_t mode, dev_t rdev,
			   uid_t uid, gid_t gid, uint64_t *ino)
{
	struct umfs_kmod_create req;
	int err;

	if (!kmod_on(fs))
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.parent = parent;
	req.parent_generation = parent ? umfs_inode(fs, parent)->generation : 0;
	req.mode = (uint32_t)mode;
	req.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? (uint64_t)rdev : 0;
	err = umfs_kmod_call(fs->pm.fd, UMFS_KMOD_IOC_CREATE, &req);
	if (err)
		return err;
	fs->free_inodes -= UMFS_MIN(1, fs->free_inodes);
	fs->share_changed = true;
	err = kmod_create_owner(fs, &req, mode, uid, gid);
	if (err) {
		umfs_kmod_inode_release(fs, req.ino);
		return err;
	}
	*ino = req.ino;
	return 0;
}

/* Gives back an inode with no names and no pages, and its U-Log pages. */
static int umfs_kmod_inode_release(struct umfs_fs *fs, uint64_t ino)
{
	struct umfs_kmod_release req = { .ino = ino, .generation = umfs_inode(fs, ino)->generation };
	int err;

	if (!kmod_on(fs))
		return -ENODEV;
	err = kmod_meta_call(fs, true, UMFS_KMOD_IOC_RELEASE, &req, NULL, &req.ulog_freed);
	if (!err) {
		fs->free_inodes++;
		fs->share_changed = true;
	}
	return err;
}

/* The inode's U-Log chain grown to `pages`, or given back (0). */
static int umfs_kmod_ulog_set(struct umfs_fs *fs, uint64_t ino, unsigned pages)
{
	struct umfs_kmod_ulog req = {
		.ino = ino, .generation = umfs_inode(fs, ino)->generation, .pages = pages
	};

	if (!kmod_on(fs))
		return -ENODEV;
	return kmod_meta_call(fs, true, UMFS_KMOD_IOC_ULOG, &req, &req.allocated, &req.freed);
}

static int kmod_fill_holes(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			   uint64_t *done, bool locked)
{
	struct umfs_kmod_extend req;
	int err;

	if (!kmod_on(fs))
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.ino = ino;
	req.generation = umfs_inode(fs, ino)->generation;
	req.first = first;
	req.count = last - first + 1;
	err = kmod_meta_call(fs, locked, UMFS_KMOD_IOC_EXTEND, &req, &req.allocated, NULL);
	if (err)
		return err;
	*done = req.done;
	if (req.done == 0)
		return req.stop_error ? req.stop_error : -ENOSPC;
	return 0;
}

/* Vnode write lock held, meta lock not: the module allocates zeroed pages
 * for the holes of file pages [first, last] and links them (EXTEND); *done
 * pages from first are then present. */
static int umfs_kmod_fill_holes(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			 uint64_t *done)
{
	return kmod_fill_holes(fs, ino, first, last, done, false);
}

/* umfs_kmod_fill_holes() for a caller that holds meta_lock. */
static int umfs_kmod_fill_holes_locked(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
				uint64_t *done)
{
	return kmod_fill_holes(fs, ino, first, last, done, true);
}

static int kmod_free_pages(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			   bool locked)
{
	struct umfs_kmod_free req;
	int err;

	if (!kmod_on(fs))
		return -ENODEV;
	do {
		memset(&req, 0, sizeof(req));
		req.ino = ino;
		req.generation = umfs_inode(fs, ino)->generation;
		req.first = first;
		req.count = last - first + 1;
		err = kmod_meta_call(fs, locked, UMFS_KMOD_IOC_FREE, &req, NULL, &req.freed);
	} while (!err && req.more);
	return err;
}

/* Meta lock not held: the module revokes every attachment of ino and frees
 * its file pages [first, last] (FREE), in as many calls as it takes. */
static int umfs_kmod_free_pages(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last)
{
	return kmod_free_pages(fs, ino, first, last, false);
}

/* The same as umfs_kmod_inode_release() for an inode with no names that may
 * hold pages (of any kind of file): FREE of its pages, then RELEASE.
 * locked: the caller holds meta_lock throughout; otherwise each call takes
 * it, so that other processes get in between the FREEs of a large file. */
static int umfs_kmod_inode_drop(struct umfs_fs *fs, uint64_t ino, bool locked)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);
	int err = 0;

	if (in->pt_root || in->pt_height == UMFS_PT_INLINE) /* pages, maybe inline */
		err = kmod_free_pages(fs, ino, 0, umfs_fs_max_pages(fs) - 1, locked);
	if (err)
		return err;
	if (!locked)
		umfs_meta_lock(fs);
	err = umfs_kmod_inode_release(fs, ino);
	if (!locked)
		umfs_meta_unlock(fs);
	return err;
}

/* EXCHANGE: carries out (or, back, rolls back) the swap record of ino's
 * U-Log in the module, which moves rec_done with every step. */
static int umfs_kmod_swap_pages(struct umfs_fs *fs, uint64_t ino, bool back)
{
	struct umfs_kmod_exchange req;
	int err;

	if (!kmod_on(fs))
		return -ENODEV;
	do {
		memset(&req, 0, sizeof(req));
		req.ino = ino;
		req.generation = umfs_inode(fs, ino)->generation;
		req.flags = back ? UMFS_KMOD_EXCHANGE_BACK : 0;
		err = kmod_meta_call(fs, false, UMFS_KMOD_IOC_EXCHANGE, &req, &req.tables, NULL);
	} while (!err && req.more);
	return err;
}

/* chmod and chown are the module's (SETATTR): the caller holds the meta
 * lock and has made libumfs's own permission checks. valid:
 * UMFS_KMOD_SETATTR_* bits. */
static int umfs_kmod_inode_setattr(struct umfs_fs *fs, uint64_t ino, unsigned valid, mode_t mode,
			    uid_t uid, gid_t gid)
{
	struct umfs_kmod_setattr req;

	if (!kmod_on(fs))
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.ino = ino;
	req.generation = umfs_inode(fs, ino)->generation;
	req.valid = valid;
	req.mode = (uint32_t)(mode & 07777);
	req.uid = (uint32_t)uid;
	req.gid = (uint32_t)gid;
	return umfs_kmod_call(fs->pm.fd, UMFS_KMOD_IOC_SETATTR, &req);
}

/* A present run through the attachment; a revoked one (SIGBUS) from the
 * pool mapping, and the file attaches anew next time. */
struct katt_copy {
	struct umfs_fs *fs;
	struct umfs_katt *a;
};

static void katt_copy_run(void *arg, void *dst, uint64_t pool_off, uint64_t file_off, size_t n)
{
	struct katt_copy *c = arg;

	if (c->a->dead || !kmod_copy(dst, c->a->base + file_off, n, false)) {
		c->a->dead = true;
		memcpy(dst, c->fs->base + pool_off, n);
	}
}

/* umfs_file_read() through the attachment. *fresh: attached during this
 * call (the caller marks it dead if the read must be retried). */
static ssize_t umfs_katt_read(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, void *buf,
		       size_t len, uint64_t off, bool *fresh, const struct umfs_out *out)
{
	uint64_t size = umfs_inode(fs, ino)->size;
	struct katt_copy c = { .fs = fs, .a = a };
	ssize_t n;

	if (off >= size || len == 0)
		return 0;
	if (katt_hold(fs, ino, a, off + UMFS_MIN(UMFS_MIN(len, (size_t)SSIZE_MAX), size - off),
		      fresh))
		return umfs_file_read_runs(fs, ino, buf, len, off, NULL, NULL, out);
	n = umfs_file_read_runs(fs, ino, buf, len, off, katt_copy_run, &c, out);
	pthread_rwlock_unlock(&a->lock);
	return n;
}

/* Vnode write lock held. An overwrite of present bytes below EOF that fits
 * one U-Log byte record, stored through the attachment; -EAGAIN: not such
 * a write, take umfs_file_write(). */
static ssize_t umfs_katt_overwrite(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a,
			    const void *buf, size_t len, uint64_t off)
{
	struct umfs_inode *in = umfs_inode(fs, ino);
	const uint8_t *src = buf;
	struct umfs_ulog *u = NULL;
	uint64_t pos, end = off + len, now;

	if (!kmod_on(fs) || len == 0 || len > SSIZE_MAX || end > in->size || end < off)
		return -EAGAIN;
	if (!fs->relaxed &&
	    len > UMFS_MIN(fs->ulog_max, (uint64_t)UMFS_ULOG_MAX_PAGES * UMFS_ULOG_DATA_SIZE))
		return -EAGAIN; /* copy-on-write: umfs_file_write() */
	for (pos = off; pos < end;) {
		uint64_t run, dst, pg = UMFS_PG(pos);

		if (umfs_pt_lookup(fs, in, pg, &dst, &run) || !dst)
			return -EAGAIN; /* a hole (allocation is the core's), or
					 * damage the core's path reports */
		pos = UMFS_MIN(end, (pg + run) << UMFS_PAGE_SHIFT);
	}
	if (katt_hold(fs, ino, a, end, NULL))
		return -EAGAIN;
	/* strict mode: the undo record first, as umfs_file_write() does */
	if (!fs->relaxed) {
		if (umfs_ulog_get(fs, ino, len, &u) ||
		    umfs_ulog_save_bytes(fs, u, ino, off, len, in->size)) {
			pthread_rwlock_unlock(&a->lock);
			return -EAGAIN; /* no page for it: the core's journal fallback */
		}
	}
	for (pos = off; pos < end;) {
		uint64_t run, dst, pg = UMFS_PG(pos);
		size_t n;

		umfs_pt_lookup(fs, in, pg, &dst, &run); /* checked above, under the lock */
		n = (size_t)(UMFS_MIN(end, (pg + run) << UMFS_PAGE_SHIFT) - pos);

		/* the vnode write lock keeps truncates (and so REVOKEs) out, but
		 * an attachment revoked before is caught here */
		if (a->dead || !kmod_copy(a->base + pos, src + (pos - off), n, true)) {
			a->dead = true;
			umfs_memcpy_nodrain(fs->base + dst + (pos & (UMFS_PAGE_SIZE - 1)),
					    src + (pos - off), n);
		}
		pos += n;
	}
	pthread_rwlock_unlock(&a->lock);
	umfs_drain(); /* the new bytes, before the record goes */
	if (u)
		umfs_ulog_retire(u);
	now = (uint64_t)umfs_now_ns();
	umfs_store64_nodrain(&in->mtime_ns, now);
	umfs_store64_nodrain(&in->ctime_ns, now);
	umfs_drain();
	return (ssize_t)len;
}

/* ------------------------------------------------------------------ */
/* The backend's ops                                                    */
/* ------------------------------------------------------------------ */

/*
 * A pmem block device the kernel module has mounted is mapped
 * through /dev/umfs at UMFS_KMOD_POOL_OFFSET: the pool's own memory, the
 * same that attachments reach, instead of the device's page cache. It is
 * persistent memory (flush + fence; /dev/umfs has no msync). *done false:
 * module mode does not apply, map as usual.
 */
static int kmod_pool_map(const char *path, size_t create_size, bool rdonly,
			 struct umfs_pmem *pm, bool *done)
{
	uint64_t size;
	void *addr;
	int kfd, err;

	(void)create_size; /* the module mounts existing devices only */
	*done = false;
	err = umfs_kmod_pool_open(path, &kfd, &size);
	if (err)
		return umfs_kmod_wanted() > 0 ? err : 0;
	addr = OS(mmap)(NULL, size, rdonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, kfd,
		    (off_t)UMFS_KMOD_POOL_OFFSET);
	if (addr == MAP_FAILED) {
		err = -errno;
		OS(close)(kfd);
		return umfs_kmod_wanted() > 0 ? err : 0;
	}
	pm->base = addr;
	pm->len = size;
	pm->media = UMFS_MEDIA_PMEM;
	pm->fd = kfd; /* the pool lock: every module-mode user of the pool flocks it */
	if (OS(stat)(path, &pm->st) < 0)
		memset(&pm->st, 0, sizeof(pm->st)); /* the module mounted it: it exists */
	pm->kgen = umfs_kmod_fork_gen();
	*done = true;
	return 0;
}

/* Overwrites of present bytes are stores through the attachment; the rest
 * is umfs_file_write(), whose copy-on-write and frees the module carries
 * out (revoking as it does). */
static ssize_t kmod_file_write(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a,
			       const void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	n = umfs_katt_overwrite(fs, ino, a, buf, len, off);
	return n != -EAGAIN ? n : umfs_file_write(fs, ino, buf, len, off);
}

/* The module allocates, zeroed. */
static int kmod_alloc_zeroed(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			     uint64_t last)
{
	uint64_t pg = first, done;
	int err = 0;

	while (pg <= last && !err) {
		err = umfs_kmod_fill_holes(fs, (uint64_t)(in - fs->inodes), pg, last, &done);
		pg += err ? 0 : done;
	}
	return err;
}

/* The module allocates (zeroed pages): the core's in_tx is not for it. */
static int kmod_write_alloc(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last,
			    uint64_t *done, int (*in_tx)(void *arg, uint64_t *done), void *arg)
{
	(void)in_tx;
	(void)arg;
	return umfs_kmod_fill_holes(fs, ino, first, last, done);
}

/* A 2 MiB leaf of the file at an edge of the range moves with
 * its whole region, so the range covers it (the shadow's pages there are
 * copies of the old bytes). */
static void cow_widen_kmod(const struct umfs_fs *fs, struct umfs_cow *c)
{
	const struct umfs_inode *in = umfs_inode(fs, c->ino);
	const uint64_t huge_mask = (uint64_t)UMFS_PAGES_PER_HUGE - 1;
	const uint64_t *e;

	e = umfs_pt_slot_find(fs, in, c->pa, 2);
	if (e && (*e & UMFS_PTE_PSE))
		c->pa &= ~huge_mask;
	e = umfs_pt_slot_find(fs, in, c->pb, 2);
	if (e && (*e & UMFS_PTE_PSE))
		c->pb |= huge_mask;
}

/* The range widened, the shadow is made here, its pages by EXTEND (4 KiB
 * leaves); the exchange makes whatever tables either side lacks. */
static int cow_prepare_kmod(struct umfs_fs *fs, struct umfs_cow *c)
{
	uint64_t p, first, done;
	int err;

	cow_widen_kmod(fs, c);
	p = c->pa;
	umfs_meta_lock(fs);
	err = umfs_tx_begin(fs);
	if (!err) {
		err = umfs_cow_shadow_create(fs, c);
		if (err)
			umfs_tx_abort(fs);
		else
			err = umfs_tx_commit(fs);
	}
	umfs_meta_unlock(fs);
	if (err) {
		c->shadow = 0;
		return err;
	}
	while (!err && p <= c->pb) {
		if (!umfs_cow_page_fresh(fs, c, p)) {
			p++;
			continue;
		}
		for (first = p; p <= c->pb && umfs_cow_page_fresh(fs, c, p); p++)
			;
		for (; !err && first < p; first += done)
			err = umfs_kmod_fill_holes(fs, c->shadow, first, p - 1, &done);
	}
	return err;
}

/* The module moves table entries, the same steps as the core's swap. */
static int kmod_swap_pages(struct umfs_fs *fs, uint64_t ino, struct umfs_ulog *u, bool fwd)
{
	(void)u; /* the module reads the record from ino's U-Log */
	return umfs_kmod_swap_pages(fs, ino, !fwd);
}

/* The rollback of the transaction that named it left the orphan the module
 * committed: give it back now rather than at the next mount (if this fails,
 * the next mount reclaims it). */
static void kmod_orphan_undo(struct umfs_fs *fs, uint64_t ino)
{
	umfs_kmod_inode_drop(fs, ino, true);
}

/*
 * The module takes the inode from the bitmap and
 * writes its mode, uid and gid, as an unnamed orphan it commits in its own
 * journal slot. This transaction then names it: its snapshot of the inode
 * and of the orphan list is taken after that commit, so a rollback returns
 * to the orphan, never to bytes from before the module's change. A shadow
 * (no parent) stays an orphan. A symlink's page comes from EXTEND before
 * the snapshot too.
 */
static int inode_create_kmod(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid,
			     dev_t rdev, uint64_t parent, uint64_t *inop)
{
	struct umfs_inode *in;
	uint64_t ino;
	int err;

	err = umfs_kmod_inode_create(fs, parent, mode, rdev, uid, gid, &ino);
	if (err)
		return err;
	fs->tx.undo = kmod_orphan_undo;
	fs->tx.undo_arg = ino;
	if (S_ISLNK(mode)) { /* the target's page, which symlink_store fills */
		uint64_t done;

		err = umfs_kmod_fill_holes_locked(fs, ino, 0, 0, &done);
		if (err)
			return err;
	}
	in = umfs_inode(fs, ino);
	err = umfs_tx_add(fs, in, sizeof(*in));
	if (err || !parent)
		goto out;
	err = umfs_orphan_unlink(fs, ino);
	if (err)
		return err;
	in->flags &= ~UMFS_IF_ORPHAN;
	in->next_orphan = 0;
	in->nlink = S_ISDIR(mode) ? 2 : 1;
	if (S_ISDIR(mode))
		err = umfs_dir_init(fs, ino);
out:
	*inop = ino;
	return err;
}

/* Named: the module's inode first, then the entry that names it. */
static int inode_create_named_kmod(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid,
				   dev_t rdev, uint64_t parent, const char *name, size_t len,
				   uint64_t *inop)
{
	uint64_t ino;
	int err;

	err = inode_create_kmod(fs, mode, uid, gid, rdev, parent, &ino);
	if (!err)
		err = umfs_dir_add_new(fs, parent, name, len, ino, umfs_mode_to_dtype(mode));
	if (!err)
		*inop = ino;
	return err;
}

/* The module frees inodes, outside the core's transactions. */
static int kmod_tx_inode_free(struct umfs_fs *fs, uint64_t ino)
{
	(void)fs;
	(void)ino;
	return -EAGAIN;
}

/* Pages, inode and U-Log go back through the module, under one turn of
 * the meta lock: the inode must still be the one the caller chose. */
static int kmod_inode_reclaim(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	int err = 0;

	umfs_meta_lock(fs);
	if (umfs_inode_reclaim_due(fs, ino, gen))
		err = umfs_kmod_inode_drop(fs, ino, true);
	umfs_meta_unlock(fs);
	return err;
}

/* Mode is the module's to write. */
static int kmod_set_mode(struct umfs_fs *fs, uint64_t ino, mode_t mode)
{
	return umfs_kmod_inode_setattr(fs, ino, UMFS_KMOD_SETATTR_MODE, mode, 0, 0);
}

/* As are uid and gid, and the privileges chown drops. */
static int kmod_set_owner(struct umfs_fs *fs, uint64_t ino, uid_t uid, gid_t gid,
			  const struct umfs_ucred *c)
{
	const struct umfs_inode *in = umfs_inode(fs, ino);

	(void)c; /* the module decides what chown drops */
	return umfs_kmod_inode_setattr(fs, ino, UMFS_KMOD_SETATTR_UID | UMFS_KMOD_SETATTR_GID, 0,
				       uid == (uid_t)-1 ? in->uid : uid,
				       gid == (gid_t)-1 ? in->gid : gid);
}

/* The module allocates U-Log pages. */
static int kmod_ulog_grow(struct umfs_fs *fs, uint64_t ino, unsigned need,
			  struct umfs_ulog **pages, unsigned n)
{
	int err;

	(void)n;
	err = umfs_kmod_ulog_set(fs, ino, need);
	if (!err)
		pages[0] = umfs_off_ptr(fs, umfs_inode(fs, ino)->ulog);
	return err;
}

static void kmod_ulog_release(struct umfs_fs *fs, uint64_t ino)
{
	umfs_kmod_ulog_set(fs, ino, 0); /* EBUSY: a live record keeps it */
}

static int kmod_ulog_drop(struct umfs_fs *fs, uint64_t ino, struct umfs_recover_stats *st)
{
	(void)st; /* the module cuts a damaged chain itself */
	return umfs_kmod_ulog_set(fs, ino, 0);
}

/* A spare the module mapped before the transaction, or a stop for it. */
static int kmod_tx_dir_page(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg,
			    uint64_t *off)
{
	int ret = umfs_dir_pages_ready(fs, in, pg, 1);

	if (ret)
		return ret;
	return umfs_pt_lookup(fs, in, pg, off, NULL);
}

static int kmod_tx_dir_pages(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first,
			     uint64_t count)
{
	return umfs_dir_pages_ready(fs, in, first, count);
}

/* Freeing needs the module, outside the transaction: the block stays for
 * the next entry. */
static int kmod_tx_dir_truncate(struct umfs_fs *fs, struct umfs_inode *in)
{
	(void)fs;
	(void)in;
	return 1;
}

const struct umfs_backend_ops umfs_backend_kmod = {
	.name = "kernel module",
	.core_allocates = false, /* the bitmaps are the module's alone */
	.unlocked_writers = true,
	.checks_files = true,
	.prefaults = false,
	.pool_map = kmod_pool_map,
	.file_attach = umfs_katt_open,
	.file_detach = umfs_katt_close,
	.file_read = umfs_katt_read,
	.file_write = kmod_file_write,
	.file_revoke = umfs_katt_revoke,
	.alloc_zeroed = kmod_alloc_zeroed,
	.write_alloc = kmod_write_alloc,
	.free_pages = umfs_kmod_free_pages,
	.cow_prepare = cow_prepare_kmod,
	.swap_pages = kmod_swap_pages,
	.inode_create = inode_create_kmod,
	.inode_create_named = inode_create_named_kmod,
	.tx_inode_free = kmod_tx_inode_free,
	.inode_reclaim = kmod_inode_reclaim,
	.set_mode = kmod_set_mode,
	.set_owner = kmod_set_owner,
	.ulog_grow = kmod_ulog_grow,
	.ulog_release = kmod_ulog_release,
	.ulog_drop = kmod_ulog_drop,
	.tx_dir_page = kmod_tx_dir_page,
	.tx_dir_pages = kmod_tx_dir_pages,
	.map_dir_pages = umfs_kmod_fill_holes_locked,
	.tx_dir_truncate = kmod_tx_dir_truncate,
};
