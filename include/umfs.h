/* SPDX-License-Identifier: MIT */
/*
 * umfs.h - the UMFS C API.
 *
 * A program (or a front end: the LD_PRELOAD shim, the FUSE daemon) mounts a
 * pool and calls POSIX-shaped functions on it. Every function returns 0 (or a
 * count) on success and a negative errno value on failure; errno is never
 * touched. Paths are resolved from the UMFS root; a leading '/' is optional
 * unless the thread set a directory to start relative paths at
 * (umfs_walk_from).
 * Symbolic links are followed inside the pool; an absolute target is taken
 * from the pool root. All functions are thread-safe.
 */
#ifndef UMFS_H
#define UMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

struct umfs_fs;   /* a mounted pool */
struct umfs_file; /* an open file description */
struct umfs_dir;  /* an open directory stream */

/* umfs_mount() flags */
#define UMFS_MOUNT_RDONLY 0x1u     /* map read-only, change nothing */
#define UMFS_MOUNT_NORECOVER 0x2u  /* do not recover; do not mark the pool in use */
#define UMFS_MOUNT_EXCLUSIVE 0x4u  /* -EBUSY unless no other process uses the pool */
#define UMFS_MOUNT_SHARED 0x8u     /* use the lock region beside the pool: many processes */
/* Consistency mode (docs/consistency.md). Precedence: these flags, then the
 * environment variable UMFS_CONSISTENCY=strict|relaxed, then the pool's
 * default (mkfs.umfs -O relaxed); strict when none says otherwise. */
#define UMFS_MOUNT_STRICT 0x100u   /* every write() failure-atomic (default) */
#define UMFS_MOUNT_RELAXED 0x200u  /* overwrites in place, without undo */

int umfs_mount(const char *pool_path, unsigned flags, struct umfs_fs **fsp);
/* Mounts through descriptors this process holds but could not open itself
 * (it inherited them across exec from a process that could, and has
 * changed its credentials since): the pool file and, for
 * UMFS_MOUNT_SHARED, the runtime directory and its lock region. The mount
 * uses duplicates; the caller keeps its own. gate_shared: the lock
 * region's description may be another live process's too; this mount
 * then never takes itself for the pool's last user (the next user to come
 * recovers what is left, as after a kill). pool_path names the pool in
 * messages. */
struct umfs_inherited {
	int pool_fd;
	int run_dfd;
	int lock_fd;
	bool gate_shared;
};
int umfs_mount_inherited(const char *pool_path, const struct umfs_inherited *in, unsigned flags,
			 struct umfs_fs **fsp);
int umfs_unmount(struct umfs_fs *fs);
/* The uuid in a pool's superblock, without mounting it; -EINVAL if the
 * file or device holds no UMFS superblock. */
int umfs_pool_uuid(const char *pool_path, uint8_t uuid[16]);
/* Why the last umfs_mount() of this thread failed, in words ("" if it did not). */
const char *umfs_mount_error(void);
/* The mounted pool's consistency mode: UMFS_MOUNT_STRICT or UMFS_MOUNT_RELAXED. */
unsigned umfs_consistency(const struct umfs_fs *fs);

/* Credentials used for permission checks by the calling thread. By default
 * the process's effective ids are used; a front end serving other users
 * (FUSE) sets them per request. Passing NULL restores the default. */
struct umfs_cred {
	uid_t uid;
	gid_t gid;
	int ngroups;
	const gid_t *groups;
};
void umfs_cred_set_thread(const struct umfs_cred *cred);
/* A front end that sees every change of the process's credentials (the
 * shim intercepts the set*id calls) lets the core keep the effective ids
 * and groups instead of asking the kernel (three system calls) on every
 * call; umfs_cred_changed() makes every thread fetch them again. */
void umfs_cred_cache_enable(void);
void umfs_cred_changed(void);
/* Whether the caller has every capability in cap, as permission checks see
 * it (the kernel's effective set; a front end's uid 0 has them all). */
#define UMFS_CAP_CHOWN 0x01u
#define UMFS_CAP_DAC_OVERRIDE 0x02u
#define UMFS_CAP_DAC_READ_SEARCH 0x04u
#define UMFS_CAP_FOWNER 0x08u
#define UMFS_CAP_FSETID 0x10u
#define UMFS_CAP_MKNOD 0x20u
bool umfs_cred_capable(unsigned cap);

/* Files */
int umfs_open(struct umfs_fs *fs, const char *path, int flags, mode_t mode,
	      struct umfs_file **filep);
/* openat2's resolve rules, the values of <linux/openat2.h>'s RESOLVE_*. */
#define UMFS_RESOLVE_NO_XDEV 0x01u       /* never leave the pool */
#define UMFS_RESOLVE_NO_MAGICLINKS 0x02u /* a front end's concern: none in a pool */
#define UMFS_RESOLVE_NO_SYMLINKS 0x04u   /* follow no symlink: ELOOP */
#define UMFS_RESOLVE_BENEATH 0x08u       /* never above the start directory: EXDEV */
#define UMFS_RESOLVE_IN_ROOT 0x10u       /* the start directory is "/" */
#define UMFS_RESOLVE_CACHED 0x20u        /* always met: a pool is memory */
/* umfs_open of rel resolved from the directory at base (a path from the
 * pool root) under the resolve rules; an absolute rel is EXDEV when
 * BENEATH, from base when IN_ROOT, from base without restriction else. */
int umfs_open_resolve(struct umfs_fs *fs, const char *base, const char *rel, unsigned resolve,
		      int flags, mode_t mode, struct umfs_file **filep);
int umfs_close(struct umfs_file *file);
ssize_t umfs_read(struct umfs_file *file, void *buf, size_t len);
ssize_t umfs_write(struct umfs_file *file, const void *buf, size_t len);
ssize_t umfs_pread(struct umfs_file *file, void *buf, size_t len, off_t off);
ssize_t umfs_pwrite(struct umfs_file *file, const void *buf, size_t len, off_t off);
off_t umfs_lseek(struct umfs_file *file, off_t off, int whence); /* SEEK_DATA/HOLE too */
int umfs_ftruncate(struct umfs_file *file, off_t size);
int umfs_fallocate(struct umfs_file *file, int mode, off_t off, off_t len);
int umfs_fsync(struct umfs_file *file, int datasync);
int umfs_fstat(struct umfs_file *file, struct stat *st);
int umfs_fchmod(struct umfs_file *file, mode_t mode);
int umfs_fchown(struct umfs_file *file, uid_t uid, gid_t gid);
int umfs_futimens(struct umfs_file *file, const struct timespec times[2]);
int umfs_file_flags(const struct umfs_file *file); /* open flags */
int umfs_file_set_flags(struct umfs_file *file, int flags); /* O_APPEND, O_NONBLOCK... */

/* Names. flags take AT_SYMLINK_NOFOLLOW where it makes sense. */
int umfs_stat(struct umfs_fs *fs, const char *path, struct stat *st, int flags);
/* umfs_access checks with the effective (file-system) ids, as faccessat's
 * AT_EACCESS; umfs_access_real with the real ids, as access(2). */
int umfs_access(struct umfs_fs *fs, const char *path, int amode);
int umfs_access_real(struct umfs_fs *fs, const char *path, int amode);
int umfs_truncate(struct umfs_fs *fs, const char *path, off_t size);
int umfs_mkdir(struct umfs_fs *fs, const char *path, mode_t mode);
int umfs_mknod(struct umfs_fs *fs, const char *path, mode_t mode, dev_t dev);
int umfs_rmdir(struct umfs_fs *fs, const char *path);
int umfs_unlink(struct umfs_fs *fs, const char *path);
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (linux/fs.h values) */
int umfs_rename(struct umfs_fs *fs, const char *from, const char *to, unsigned flags);
int umfs_link(struct umfs_fs *fs, const char *from, const char *to);
int umfs_symlink(struct umfs_fs *fs, const char *target, const char *linkpath);
/* Returns the target length (not NUL-terminated when it fills buf). */
ssize_t umfs_readlink(struct umfs_fs *fs, const char *path, char *buf, size_t size);
int umfs_chmod(struct umfs_fs *fs, const char *path, mode_t mode, int flags);
int umfs_chown(struct umfs_fs *fs, const char *path, uid_t uid, gid_t gid, int flags);
/* times as utimensat(2): UTIME_NOW and UTIME_OMIT honoured, NULL = now */
int umfs_utimens(struct umfs_fs *fs, const char *path, const struct timespec times[2],
		 int flags);
int umfs_statfs(struct umfs_fs *fs, struct statvfs *sv);

/* Directories. Cookies (tell/seek) stay valid while entries come and go. */
struct umfs_dirent {
	uint64_t ino;
	uint64_t next_cookie; /* umfs_seekdir() value just after this entry */
	unsigned char type;   /* DT_* */
	char name[256];
};
int umfs_opendir(struct umfs_fs *fs, const char *path, struct umfs_dir **dirp);
int umfs_fopendir(struct umfs_file *file, struct umfs_dir **dirp); /* O_DIRECTORY open */
/* Returns 1 with *ent filled, 0 at the end, or -errno. */
int umfs_readdir(struct umfs_dir *dir, struct umfs_dirent *ent);
uint64_t umfs_telldir(const struct umfs_dir *dir);
void umfs_seekdir(struct umfs_dir *dir, uint64_t cookie);
int umfs_closedir(struct umfs_dir *dir);

/*
 * Front ends that serve a host path prefix and share a pool among processes
 * (the LD_PRELOAD shim). See docs/shim.md.
 */

/* -UMFS_EXTERNAL: the path left the pool (an absolute symlink target outside
 * the mount prefix, or ".." at the root); umfs_external_path() gives the
 * host path the rest of the operation must use. Only returned once a mount
 * prefix is set. */
#define UMFS_EXTERNAL 1024
/* Sets the host prefix the pool is seen under (e.g. "/umfs"): absolute
 * symlink targets under it resolve inside the pool, others and ".." at the
 * root give -UMFS_EXTERNAL. NULL or "" restores the default (everything
 * resolves inside the pool). Clear it before umfs_unmount(). */
int umfs_set_mount_prefix(struct umfs_fs *fs, const char *prefix);
/* The host path of this thread's last -UMFS_EXTERNAL. */
const char *umfs_external_path(void);
/* On a UMFS_MOUNT_SHARED mount: counts delta more holders of inode ino
 * across processes (a front end's own references, e.g. descriptors passed
 * to a forked child); the core counts its open files itself. An unlinked
 * inode is freed only when no process holds it. */
int umfs_hold(struct umfs_fs *fs, uint64_t ino, int delta);

/* relatime, as a Linux mount: reads update atime when it is not newer than
 * mtime or ctime, or older than a day (files opened from now on). Off by
 * default: the C API leaves atime alone. */
int umfs_set_relatime(struct umfs_fs *fs, int on);

void umfs_fs_uuid(const struct umfs_fs *fs, uint8_t uuid[16]);
/* The descriptor that keeps the pool file open and locked (-1 if none):
 * front ends keep programs from closing it. */
int umfs_fs_fd(const struct umfs_fs *fs);
/* Moves that descriptor (and those of the lock region and the runtime
 * directory) to the lowest free numbers >= minfd (close-on-exec), out of
 * the way of a program that expects its own numbers. */
int umfs_fs_move_fd(struct umfs_fs *fs, int minfd);
/* The descriptor of a UMFS_MOUNT_SHARED mount's lock region (-1 if none):
 * front ends keep programs from closing it too. */
int umfs_fs_share_fd(const struct umfs_fs *fs);
/* The runtime directory of a UMFS_MOUNT_SHARED mount (-1 if none): the
 * directory outside the pool, in DRAM, where the processes using the pool
 * keep what they share (docs/security.md says who may use it). Front ends
 * keep their own files in subdirectories of it, opened with
 * umfs_rundir_openat; front ends keep programs from closing it too. */
int umfs_fs_rundir_fd(const struct umfs_fs *fs);
/* Its path, for messages ("" if none). */
const char *umfs_fs_rundir_path(const struct umfs_fs *fs);
/* Whether this mount's gate description may be another live process's
 * too (umfs_mount_inherited); set_gate_shared says it became so (a child
 * took it over). Such a mount never takes itself for the last user. */
bool umfs_fs_gate_shared(const struct umfs_fs *fs);
void umfs_fs_set_gate_shared(struct umfs_fs *fs);
/* Opens name in dfd, the runtime directory or a subdirectory of it: never
 * through a symbolic link, and only if what is there is of type (S_IFREG,
 * S_IFIFO or S_IFDIR; a directory is opened O_RDONLY | O_DIRECTORY) and
 * was made by a user of the pool, with one link and permissions no wider
 * than the pool's plus extra. O_CREAT makes it (with the pool's owner,
 * group and write permissions, plus extra) when it is not there.
 * Returns a close-on-exec descriptor or -errno (-EPERM: a check failed, and
 * the log says which). */
int umfs_rundir_openat(const struct umfs_fs *fs, int dfd, const char *name, int flags,
		       mode_t type, mode_t extra);

/* Open file description locks on one byte of a file in the runtime
 * directory, waited for with a bound. Takes byte of fd for type (F_RDLCK,
 * F_WRLCK): without wait, -EAGAIN when another description holds it; with
 * wait, -ETIMEDOUT after two minutes, the holder named in the log after
 * five seconds. what names the file in the log. */
int umfs_gate_lock(int fd, unsigned byte, short type, bool wait, const char *what);
void umfs_gate_unlock(int fd, unsigned byte);
/* "process N (name)" holding an OFD lock on fd's file, for messages. */
void umfs_gate_holder(int fd, char *buf, size_t size);
/* The gate protocol on a file of a shared area in the runtime directory
 * (docs/sharing.md): enter opens name in dfd (umfs_rundir_openat) and
 * takes the gate, for writing when this process is the first user
 * (*first; it then sets the area up and calls ready), else for reading;
 * -ENOENT when the file or its directory was removed meanwhile (start
 * over). join opens a description of its own, holding the gate, for a
 * child (a forked child would otherwise share its parent's). last, at the end: true when no other user
 * is left (the gate is then held for writing); otherwise this process
 * stops counting, and so does its mount also (umfs_fs_leave) when given.
 * leave: stops counting. */
int umfs_gate_enter(const struct umfs_fs *fs, int dfd, const char *name, const char *what,
		    bool *first);
/* enter on a description of name already open (fd; closed on failure),
 * for a process that may no longer open name itself. */
int umfs_gate_enter_fd(int fd, int dfd, const char *name, const char *what, bool *first);
void umfs_gate_ready(int fd, const char *what);
int umfs_gate_join(int dfd, const char *name, const char *what);
bool umfs_gate_last(int fd, const char *what, struct umfs_fs *also);
void umfs_gate_leave(int fd);

/* A lock in memory that processes share (a front end's own shared area),
 * which no process can wedge: a waiter takes it over from a holder that
 * died or was never there, and names in the log a live holder that keeps
 * it for long. Zero-filled memory is a free lock. */
struct umfs_plock {
	uint64_t word;
};
void umfs_plock_init(struct umfs_plock *l);
/* 0, or -EOWNERDEAD: taken over from a dead holder (held now; repair what
 * it may have left half done), or -EDEADLK: this thread holds it already.
 * what names the lock in the log. trylock also gives -EBUSY. */
int umfs_plock_lock(struct umfs_plock *l, const char *what);
int umfs_plock_trylock(struct umfs_plock *l, const char *what);
void umfs_plock_unlock(struct umfs_plock *l);
/* In a forked child, before any lock: its thread has a new identity
 * (umfs_fork_child does it). */
void umfs_plock_forked(void);

/* Where the library's messages go: a damaged structure met while serving
 * (an inode or directory entry that fails its checks answers -EUCLEAN,
 * "Structure needs cleaning": run fsck.umfs; one warning names it, once
 * per damage), a lock taken from a dead process, a long wait (with the
 * holder named).
 * fn gets each message without a newline; messages above max_level are
 * dropped. By default errors and warnings go to stderr. */
enum { UMFS_LOG_NONE, UMFS_LOG_ERROR, UMFS_LOG_WARN, UMFS_LOG_INFO, UMFS_LOG_DEBUG,
       UMFS_LOG_TRACE };
typedef void umfs_log_fn(int level, const char *msg);
void umfs_log_set(umfs_log_fn *fn, int max_level);
/* A level as UMFS_LOG and --log name it: none, error, warn (or warning),
 * info, debug, trace, or 0 (none) and 1 (debug); NULL or "" is warn.
 * -EINVAL for anything else. */
int umfs_log_level_parse(const char *s);

/* 1 with a message in buf (pool names the pool in it) when, in software
 * mode, users other than this one can read or change the whole pool: it
 * is readable or writable by its group or by everyone, or it belongs to
 * another user (docs/security.md); 0 when it is private. */
int umfs_fs_exposure(const struct umfs_fs *fs, const char *pool, char *buf, size_t size);
/* Set in the environment once the exposure was said, so that the
 * programs a launcher or a program starts do not say it again. */
#define UMFS_EXPOSURE_SAID_ENV "UMFS_EXPOSURE_SAID"

/* 1 when the pool is used through the kernel module (/dev/umfs: files are
 * attached and read and written by loads and stores), 0 when libumfs walks
 * the file tables in software (docs/kmod.md). */
int umfs_fs_kmod(const struct umfs_fs *fs);
/* Rolls back the transaction a dead process left in the journal (its lock
 * holder died) and recounts free space. */
int umfs_fs_rollback(struct umfs_fs *fs);
/* Recounts free space after other processes changed the pool. */
void umfs_fs_refresh(struct umfs_fs *fs);
/* This process is about to end without unmounting (another process of the
 * front end's is left to do it): it stops counting as a user of a
 * UMFS_MOUNT_SHARED pool now, so that of processes ending together the
 * last one finds itself last. Nothing may use fs afterwards but
 * umfs_unmount. */
void umfs_fs_leave(struct umfs_fs *fs);
/* 1 when no thread holds the pool's locks in this process: a front end
 * leaving from _exit (perhaps in a signal handler) checks it first. */
int umfs_fs_idle(struct umfs_fs *fs);
/* pthread_atfork() hooks: the child gets consistent locks and its own
 * journal sequence numbers. */
void umfs_fork_prepare(struct umfs_fs *fs);
void umfs_fork_parent(struct umfs_fs *fs);
void umfs_fork_child(struct umfs_fs *fs);

/* Identity of an open file (inode number and generation), and a new open
 * file description on it: -ESTALE when the inode was freed or reused.
 * UMFS_OPEN_ID_NOCHECK skips the permission check (the caller re-creates a
 * description that was already open, e.g. across exec). */
void umfs_file_id(const struct umfs_file *file, uint64_t *ino, uint32_t *gen);
/* umfs_stat, and the inode's generation: st_ino and *gen name this inode
 * and no later user of its number (front ends key host objects by them). */
int umfs_stat_id(struct umfs_fs *fs, const char *path, struct stat *st, int flags,
		 uint32_t *gen);
#define UMFS_OPEN_ID_NOCHECK 0x1u
int umfs_open_id(struct umfs_fs *fs, uint64_t ino, uint32_t gen, int flags, unsigned how,
		 struct umfs_file **filep);
/* pwrite that also honours O_APPEND and says where the write ended (the new
 * file offset): for front ends that keep the offset themselves. */
ssize_t umfs_write_at(struct umfs_file *file, const void *buf, size_t len, off_t off,
		      off_t *end);
/* The same for a vector, written as one write: no other writer comes
 * between its parts. */
struct iovec;
ssize_t umfs_writev_at(struct umfs_file *file, const struct iovec *iov, int cnt, off_t off,
		       off_t *end);
/* linkat(fd, "", dir, to, AT_EMPTY_PATH): gives the open file the name to.
 * A file with no name left (unlinked, or an O_TMPFILE file) gets one back
 * only with UMFS_LINK_ORPHAN (the O_TMPFILE case); otherwise -ENOENT. */
#define UMFS_LINK_ORPHAN 0x1u
int umfs_link_file(struct umfs_file *file, const char *to, unsigned how);

/* The pool path of directory ino (generation gen, 0: any) as the name
 * space is now: for front ends that hold directories by path (dirfds, a
 * cwd) when directories were renamed. -ENOENT when it was removed,
 * -ENAMETOOLONG when it does not fit in size bytes (which may be more
 * than PATH_MAX). */
int umfs_dir_path(struct umfs_fs *fs, uint64_t ino, uint32_t gen, char *buf, size_t size);
/* Where the calling thread's relative paths start, as a directory
 * descriptor does for the *at(2) calls: a path without a leading '/' given
 * to a path call on fs (umfs_open, umfs_stat, umfs_mkdir...) is resolved
 * from directory from (inode number and generation, as umfs_file_id gives
 * them for an open directory), the second path of umfs_rename and
 * umfs_link from directory to; 0 stands for the pool root, and fs NULL
 * puts every path back on the root (the default). The directory is found
 * by its inode, wherever it was moved, so a relative path may be up to
 * PATH_MAX - 1 bytes however deep the directory is; from a removed
 * directory, only "." and ".." lead anywhere, and nothing is created in
 * it (-ENOENT); a directory that was freed gives -ENOENT. Paths with a
 * leading '/' start at the root as before. */
void umfs_walk_from(const struct umfs_fs *fs, uint64_t from, uint32_t from_gen, uint64_t to,
		    uint32_t to_gen);
/* The inode number and generation of the directory holding directory ino
 * (itself for the root), even after ino was removed. */
int umfs_dir_parent(struct umfs_fs *fs, uint64_t ino, uint64_t *parent, uint32_t *gen);

/* A human-readable name for the error values UMFS adds to errno's meaning. */
const char *umfs_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* UMFS_H */
