/* SPDX-License-Identifier: MIT */
/*
 * umfs_frontend.h - what the core offers front ends beyond the C API.
 *
 * The front ends of this source tree (the LD_PRELOAD shim in libumfs/shim,
 * umfs-fuse in fuse/, the umfs-run launcher) serve other programs: they
 * share a pool among processes, serve a host path prefix, serve other
 * users' credentials, survive fork and exec, and keep host objects keyed by
 * inode. These calls serve them and nothing else; programs use include/umfs.h
 * alone. This header is not installed: the calls may change with the front
 * ends, which are built with the core.
 *
 * Every function keeps the rules of umfs.h: 0 (or a count) or a negative
 * errno value, errno untouched, thread-safe.
 */
#ifndef UMFS_FRONTEND_H
#define UMFS_FRONTEND_H

#include "umfs.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iovec;

/* For a zeroed static array of a page or more in libumfs.so: placed after
 * the small variables (in .lbss), so that the few every process touches as
 * it starts share a page or two instead of lying between the arrays. */
#define UMFS_BSS_LARGE __attribute__((section(".lbss")))

/* ---- Mounting through inherited descriptors ---- */

/* Mounts through descriptors this process holds but could not open itself
 * (it inherited them across exec from a process that could, and has
 * changed its credentials since): the pool file and, for
 * UMFS_MOUNT_SHARED, the runtime directory and its lock region. The mount
 * uses duplicates; the caller keeps its own. gate_shared: the lock
 * region's description may be another live process's too; this mount
 * then never takes itself for the pool's last user (the next user to come
 * recovers what is left, as after a kill). pool_path names the pool in
 * messages. The errors of umfs_mount, and -EINVAL when SHARED is asked
 * without run_dfd and lock_fd, -ESTALE when run_dfd is not the runtime
 * directory the pool names now, -EACCES when the lock region was removed
 * with its last user (only a process that may make another can go on). */
struct umfs_inherited {
	int pool_fd;
	int run_dfd;
	int lock_fd;
	bool gate_shared;
};
int umfs_mount_inherited(const char *pool_path, const struct umfs_inherited *in, unsigned flags,
			 struct umfs_fs **fsp);

/* ---- Credentials ---- */

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
#define UMFS_CAP_LEASE 0x40u
bool umfs_cred_capable(unsigned cap);
/* Whether the caller's file-system uid is owner, or it has every
 * capability in cap (the kernel's "owner or capable" rules). */
bool umfs_cred_owns(uid_t owner, unsigned cap);

/* ---- Paths: a host prefix, openat2's rules, a start directory ---- */

/* -UMFS_EXTERNAL: the path left the pool (an absolute symlink target outside
 * the mount prefix, or ".." at the root); umfs_external_path() gives the
 * host path the rest of the operation must use. Any path call may return
 * it, and only once a mount prefix is set. umfs_strerror() names it. */
#define UMFS_EXTERNAL 1024
/* Sets the host prefix the pool is seen under (e.g. "/umfs"): absolute
 * symlink targets under it resolve inside the pool, others and ".." at the
 * root give -UMFS_EXTERNAL. NULL or "" restores the default (everything
 * resolves inside the pool). Clear it before umfs_unmount(). -EINVAL for a
 * relative prefix, "/" or one of PATH_MAX bytes or more; -ENOSPC when
 * eight mounts of the process have settings already. */
int umfs_set_mount_prefix(struct umfs_fs *fs, const char *prefix);
/* The host path of this thread's last -UMFS_EXTERNAL. */
const char *umfs_external_path(void);

/* openat2's resolve rules, the values of <linux/openat2.h>'s RESOLVE_*. */
#define UMFS_RESOLVE_NO_XDEV 0x01u       /* never leave the pool */
#define UMFS_RESOLVE_NO_MAGICLINKS 0x02u /* a front end's concern: none in a pool */
#define UMFS_RESOLVE_NO_SYMLINKS 0x04u   /* follow no symlink: ELOOP */
#define UMFS_RESOLVE_BENEATH 0x08u       /* never above the start directory: EXDEV */
#define UMFS_RESOLVE_IN_ROOT 0x10u       /* the start directory is "/" */
#define UMFS_RESOLVE_CACHED 0x20u        /* always met: a pool is memory */
/* umfs_open of rel resolved from the directory at base (a path from the
 * pool root) under the resolve rules; an absolute rel is EXDEV when
 * BENEATH, from base when IN_ROOT, from base without restriction else.
 * The errors of umfs_open, -ENOTDIR when base is not a directory, -EXDEV
 * where a rule stops the walk, -ELOOP at a link under NO_SYMLINKS. */
int umfs_open_resolve(struct umfs_fs *fs, const char *base, const char *rel, unsigned resolve,
		      int flags, mode_t mode, struct umfs_file **filep);

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
/* The pool path of directory ino (generation gen, 0: any) as the name
 * space is now: for front ends that hold directories by path (dirfds, a
 * cwd) when directories were renamed. -ENOENT when it was removed,
 * -ENOTDIR when ino is not a directory, -ENAMETOOLONG when it does not fit
 * in size bytes (which may be more than PATH_MAX). */
int umfs_dir_path(struct umfs_fs *fs, uint64_t ino, uint32_t gen, char *buf, size_t size);

/* ---- Open files by identity; offsets kept by the front end ---- */

/* Identity of an open file (inode number and generation). */
void umfs_file_id(const struct umfs_file *file, uint64_t *ino, uint32_t *gen);
/* Whether the open that made file created it (the kernel's FMODE_CREATED,
 * which fcntl F_CREATED_QUERY reports); false for umfs_open_id. */
bool umfs_file_created(const struct umfs_file *file);
/* umfs_stat, and the inode's generation: st_ino and *gen name this inode
 * and no later user of its number (front ends key host objects by them). */
int umfs_stat_id(struct umfs_fs *fs, const char *path, struct stat *st, int flags,
		 uint32_t *gen);
/* A new open file description on the inode umfs_file_id named: -ESTALE
 * when the inode was freed or reused; else open's checks (-EACCES, -EISDIR,
 * -ELOOP...) unless how has UMFS_OPEN_ID_NOCHECK, which skips them (the
 * caller re-creates a description that was already open, e.g. across
 * exec). O_TRUNC is ignored... */
#define UMFS_OPEN_ID_NOCHECK 0x1u
/* ... or, with UMFS_OPEN_ID_TRUNC, O_TRUNC truncates as umfs_open does
 * (checked as a write, -EROFS on a read-only mount). */
#define UMFS_OPEN_ID_TRUNC 0x2u
int umfs_open_id(struct umfs_fs *fs, uint64_t ino, uint32_t gen, int flags, unsigned how,
		 struct umfs_file **filep);
/* umfs_stat and umfs_readlink (without following) of the inode (ino, gen)
 * names, for front ends that hold inodes rather than paths: -ESTALE when it
 * was freed or reused. */
int umfs_stat_ino(struct umfs_fs *fs, uint64_t ino, uint32_t gen, struct stat *st);
ssize_t umfs_readlink_ino(struct umfs_fs *fs, uint64_t ino, uint32_t gen, char *buf, size_t size);
/* How the core stores into memory a front end has not checked (the buffer
 * of a program it serves), so that a bad pointer fails the call as the
 * kernel's copy to user memory does, instead of faulting in the core. */
struct umfs_out {
	/* Copies n bytes from src (NULL: zeros) to dst; returns how many it
	 * stored before the first byte of dst it could not (n: all). */
	size_t (*copy)(void *dst, const void *src, size_t n);
	/* How many leading bytes of [dst, dst + n) can be stored to. */
	size_t (*room)(void *dst, size_t n);
};
/* umfs_pread into such memory: the bytes the core copies go through out,
 * those the kernel copies (pool chunks this process has not mapped) are
 * checked by the kernel. As the kernel's read into a bad buffer: the
 * bytes stored before the first that could not be, -EFAULT when there was
 * something to read and not one byte could be stored. */
ssize_t umfs_pread_out(struct umfs_file *file, void *buf, size_t len, off_t off,
		       const struct umfs_out *out);
/* umfs_lseek's SEEK_DATA or SEEK_HOLE from off, without moving the
 * file's offset: for a front end's own walk of a file the program opened
 * (the shim's fill of a private mapping). Its errors. */
off_t umfs_seek_data(struct umfs_file *file, off_t off, int whence);
/* pwrite that also honours O_APPEND and says where the write ended (the new
 * file offset): for front ends that keep the offset themselves. The errors
 * of umfs_pwrite, and -EAGAIN from a gate (below).
 *
 * A front end that keeps copies of files outside the pool (the shim's
 * shared mappings) updates them under a lock of its own, and writes a
 * file without it while the file has none. A gate closes the window
 * between its look and the write: a write given one (non-NULL) asks it,
 * under the file's write lock, whether the file (its inode number) has a
 * copy now and, when it has, writes nothing and returns -EAGAIN, for the
 * caller to write again under its lock. The maker of a copy makes the
 * gate say so for the file, then waits out the writes already past it
 * (umfs_file_writers_drain), then copies. */
typedef bool (*umfs_write_gate)(uint64_t ino);
ssize_t umfs_write_at(struct umfs_file *file, const void *buf, size_t len, off_t off,
		      off_t *end, umfs_write_gate gate);
/* The same for a vector, written as one write: no other writer comes
 * between its parts. -EINVAL also for a negative cnt. */
ssize_t umfs_writev_at(struct umfs_file *file, const struct iovec *iov, int cnt, off_t off,
		       off_t *end, umfs_write_gate gate);
/* umfs_fallocate with a gate, as umfs_write_at's: -EAGAIN, nothing
 * changed, when the file has a copy by the time its write lock is held.
 * The front end then calls again under its lock and brings the copy
 * along. */
int umfs_fallocate_gated(struct umfs_file *file, int mode, off_t off, off_t len,
			 umfs_write_gate gate);
/* Writes back a front end's copy of part of the file (the shim's host
 * file behind a shared mapping): in one write of [off, off + len), buf's
 * bytes where they differ from base's (what the copy was made from) and
 * the file's own bytes elsewhere, so that what other writers wrote since
 * the copy was made stays. Nothing past the end of the file is written;
 * set-user-ID and set-group-ID stay (stores, not a write(2)). The bytes
 * written, or the errors of umfs_pwrite and -ENOMEM. */
ssize_t umfs_write_changed(struct umfs_file *file, const void *buf, const void *base, size_t len,
			   off_t off);
/* umfs_pwrite of a mapping's stores that a front end writes back whole
 * (umfs-fuse's pages written back by the kernel): set-user-ID and
 * set-group-ID stay, as umfs_write_changed. */
ssize_t umfs_write_stores(struct umfs_file *file, const void *buf, size_t len, off_t off);
/* Returns once every write of the file that holds its write lock, in any
 * process of the pool, is over: each write after sees what the caller
 * stored before. */
void umfs_file_writers_drain(struct umfs_file *file);
/* A front end that keeps such copies in step with every change it makes
 * to the files (the shim's write, truncate and hole hooks) says so once
 * mounted: its changes are not counted below. Every other process's
 * change to a file's bytes or size (umfs-fuse's, a program's on the C
 * API) is counted per inode lock stripe, after the change and before the
 * lock goes. A count that has not moved since the front end last brought
 * its copy in step (the count read first) says no such change reached the
 * file, nor any file sharing its stripe, since then. 0 on a mount that is
 * not shared. A mirroring front end that could not keep its copy of ino
 * in step with a change it made (umfs_mirror_failed, after the change)
 * counts that change as such. */
void umfs_fs_mirror(struct umfs_fs *fs);
void umfs_mirror_failed(struct umfs_fs *fs, uint64_t ino);
uint64_t umfs_unmirrored_writes(struct umfs_fs *fs, uint64_t ino);
/* linkat(fd, "", dir, to, AT_EMPTY_PATH): gives the open file the name to.
 * A file with no name left (unlinked, or an O_TMPFILE file) gets one back
 * only with UMFS_LINK_ORPHAN (the O_TMPFILE case); otherwise -ENOENT. The
 * errors of umfs_link for to. */
#define UMFS_LINK_ORPHAN 0x1u
int umfs_link_file(struct umfs_file *file, const char *to, unsigned how);

/* relatime, as a Linux mount: reads update atime when it is not newer than
 * mtime or ctime, or older than a day (files opened from now on). Off by
 * default: the C API leaves atime alone. -ENOSPC as umfs_set_mount_prefix. */
int umfs_set_relatime(struct umfs_fs *fs, int on);

/* ---- Sharing a pool among processes (docs/sharing.md) ---- */

/* On a UMFS_MOUNT_SHARED mount: counts delta more holders of inode ino
 * across processes (a front end's own references, e.g. descriptors passed
 * to a forked child); the core counts its open files itself. An unlinked
 * inode is freed only when no process holds it. */
int umfs_hold(struct umfs_fs *fs, uint64_t ino, int delta);
/* Across exec: the old image hands the holds its open files count to the
 * new one, which drops them once it has opened what it keeps, so that no
 * moment passes in which a kept file is held by nobody. */
struct umfs_held {
	uint64_t ino;
	uint32_t gen;
};
/* Lists this process's holds into out (at most cap) and the region's id
 * into *region; until umfs_holds_keep, a last close here leaves its hold to
 * the new image. Returns how many, or -EOPNOTSUPP (not a shared mount),
 * -ESRCH (it left the pool), -E2BIG (more than cap: none handed, they stay
 * counted), -EBUSY (another thread's exec has them). None held is a
 * handover too: when alone (no other thread of the process may use the
 * pool until the exec ends), this process is counted as having left
 * cleanly now, since the new image may never mount the pool to count it;
 * otherwise the new image counts it when it mounts. */
int umfs_holds_hand(struct umfs_fs *fs, bool alone, uint64_t *region, struct umfs_held *out,
		    size_t cap);
/* The exec failed: this image keeps what it handed (n entries of list),
 * and is a user of the pool again if it had left. */
void umfs_holds_keep(struct umfs_fs *fs, const struct umfs_held *list, size_t n);
/* Right before an exec that umfs_holds_hand counted as this process's
 * leave, nothing left to do but the exec: when no other process uses the
 * pool, does what the last user's unmount would (settles what leavers
 * left, marks the pool clean) and notes in the lock region that nobody
 * joined since. The next process to join (the new image, or this one
 * after a failed exec, through umfs_holds_keep) marks the pool in use
 * again; a next first user takes region and pool as they are, with no
 * recovery, as after the last user's unmount. */
void umfs_exec_last(struct umfs_fs *fs);
/* The new image, once it has opened what it keeps: drops one hold of each
 * entry an earlier image of this process handed it on this region (none
 * when the region is another: it was remade and counts from nothing),
 * frees what nobody holds any more (an unlinked file, a U-Log), and counts
 * the earlier image as having left cleanly. Entries that name no live
 * inode of that generation are skipped. */
int umfs_holds_release(struct umfs_fs *fs, uint64_t region, const struct umfs_held *list,
		       size_t n);
/* umfs_open (base NULL) or umfs_open_resolve that also counts one holder of
 * the file, as umfs_hold(fs, ino, 1) would, under the same lock. */
int umfs_open_held(struct umfs_fs *fs, const char *base, const char *path, unsigned resolve,
		   int flags, mode_t mode, struct umfs_file **file);
/* umfs_close that also drops one holder, as umfs_hold(fs, ino, -1) would,
 * under the same lock. */
int umfs_close_held(struct umfs_file *file);

/* Stores to a file's bytes through a shared mapping live in one front
 * end's memory until they are written back: the kernel's page cache of a
 * umfs-fuse mount (one per daemon), or libumfs's host file (docs/shim.md,
 * "mmap"). None sees the others', so a program that shares state through
 * such mappings (SQLite's WAL index) would lose commits across two. So
 * the memory of an inode is claimed by one at a time, across the
 * processes of a shared mount: UMFS_MEM_CACHE by a umfs-fuse daemon for
 * each open for writing, which its clients could map and store through
 * (the calling process's cache: another daemon's claim refuses it);
 * UMFS_MEM_HOSTMAP by
 * libumfs from its first mapping of the inode that could store (through a
 * descriptor open for writing) until the inode's last mapping goes. */
enum umfs_mem { UMFS_MEM_CACHE, UMFS_MEM_HOSTMAP };
/* Claims UMFS_MEM_CACHE for the open file until it is closed: -EBUSY while
 * libumfs maps the file, or another process claims its cache (the front
 * end then serves this open without the cache). 0 on a mount that is not
 * shared. A claim that meets another is tried for 20 ms before -EBUSY:
 * the kernel tells umfs-fuse of a last close after close(2) returned. */
int umfs_file_cache_claim(struct umfs_file *file);
/* Claims (on) or gives back UMFS_MEM_HOSTMAP for inode ino, which the
 * caller holds open: -EBUSY (after 20 ms, as above) while an open through
 * umfs-fuse claims the cache, -ENOMEM when the holders' table is full. 0
 * on a mount that is not shared. */
int umfs_hostmap_claim(struct umfs_fs *fs, uint64_t ino, bool on);

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
/* The path of the runtime directory that the pool behind pool_fd names
 * now (its superblock's uuid, its state page's run id), read through the
 * descriptor, nothing mapped or mounted: 0, or -EUCLEAN when the pool
 * names none (or is not one), -errno. It need not exist. */
int umfs_rundir_path_of(int pool_fd, char *buf, size_t size);
/* Whether this mount's gate description may be another live process's
 * too (umfs_mount_inherited); set_gate_shared says it became so (a child
 * took it over). Such a mount never takes itself for the last user. */
bool umfs_fs_gate_shared(const struct umfs_fs *fs);
void umfs_fs_set_gate_shared(struct umfs_fs *fs);
/* The process ends right after this mount's umfs_unmount: the unmount
 * does what other processes and the pool need (recovery, the clean mark,
 * the retired region) and leaves to the kernel's exit what it lets go of
 * anyway: the mappings, the descriptors (their locks with them) and the
 * memory. */
void umfs_fs_set_exiting(struct umfs_fs *fs);
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
/* The same, with *st the fstat of what it opened, as checked. */
int umfs_rundir_openat_stat(const struct umfs_fs *fs, int dfd, const char *name, int flags,
			    mode_t type, mode_t extra, struct stat *st);

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
 * takes the gate, for writing when this process is the first user (*first;
 * it then sets the area up and calls ready), else for reading, and gives
 * the file's size as found under the gate (*size); -ENOENT when the file
 * or its directory was removed meanwhile (start over). join opens a
 * description of its own, holding the gate, for a child (a forked child
 * would otherwise share its parent's): by name in dfd, or, where this
 * process may no longer search dfd (it changed credentials), as another
 * description of held, a descriptor of the same file; fork_child, in that
 * child, puts it
 * (fresh, consumed) at the number of the one it shares (fd) and returns
 * fd, or where that number cannot be had closes fd and returns fresh: the
 * descriptor that now holds its gate. last, at the end: true when no other
 * user is left (the gate is then held for writing); otherwise this process
 * stops counting, and so does its mount also (umfs_fs_leave) when given.
 * leave: stops counting. alone: as last, in turn with leavers (none
 * waited for: false when one is deciding), but a user still: true when no
 * other user is left, the gate then held for writing until alone_end
 * takes it back to reading; false leaves it as it was. */
/* A gate's file is open to all beyond the pool's own permissions: only a
 * user of the pool reaches it by name (its directory is theirs), and a
 * process holding a descriptor may open another after it changed
 * credentials (join). */
#define UMFS_GATE_MODE 0666
int umfs_gate_enter(const struct umfs_fs *fs, int dfd, const char *name, const char *what,
		    bool *first, off_t *size);
/* enter on a description of name already open (fd; closed on failure),
 * for a process that may no longer open name itself. */
int umfs_gate_enter_fd(int fd, int dfd, const char *name, const char *what, bool *first,
		       off_t *size);
/* enter again on fd, whose gate this process holds for reading, after it
 * found the area parked or retired: in turn with the others who found it
 * so (fd closed on failure). */
int umfs_gate_enter_again(int fd, int dfd, const char *name, const char *what, bool *first,
			  off_t *size);
void umfs_gate_ready(int fd, const char *what);
int umfs_gate_join(int dfd, const char *name, int held, const char *what);
int umfs_gate_fork_child(int fresh, int fd);
bool umfs_gate_last(int fd, const char *what, struct umfs_fs *also);
void umfs_gate_leave(int fd);
bool umfs_gate_alone(int fd, const char *what);
void umfs_gate_alone_end(int fd, const char *what);
/* The area in a gate's file fd, len bytes. size: was is the file's size as
 * enter found it (*size); a first user (the gate held for writing) then
 * makes it len bytes of zeros without touching its pages, cutting it to
 * nothing first unless it is empty already, and reserves them (-ENOSPC,
 * said with what, when its file system is full: the file is left empty
 * then). A user that is not first and
 * finds it empty (retired) comes in again (umfs_gate_enter_again).
 * retire: the last user, still holding the gate for writing, cuts it to
 * nothing, so that its pages go back and whoever waits at the gate comes
 * in again; errno kept. */
int umfs_gate_area_size(int fd, bool first, off_t len, off_t was, const char *what);
void umfs_gate_area_retire(int fd);
/* park, instead of retire: the last user, still holding the gate for
 * writing, leaves the area whole with UMFS_GATE_PARKED in its first eight
 * bytes (the place of its magic), its pages kept for the next first user
 * to reset in place. A user that is not first and finds it parked comes in
 * again, as at a retired one; a first user that finds it so knows
 * that its last user left it whole (no process died in it unnoticed). */
#define UMFS_GATE_PARKED 0x44454B5241504D55ull /* "UMPARKED" */
void umfs_gate_area_park(void *area);
/* A user that is not first and found the area (of size was) not as it
 * should be, neither parked nor retired (0: no wait), before its
 * restarts-th try again: its first user died or a live one made it
 * otherwise, and it waits a little, desynchronised from other waiters. */
void umfs_gate_area_backoff(off_t was, int restarts);

/* Paths and names without printf (strjoin.c), whose code a short process
 * would fault in for them. umfs_str_join: the strings up to NULL one after
 * another into buf; -ENAMETOOLONG when they do not fit (buf then holds
 * what did). umfs_str_hex: n bytes as 2n lowercase hex digits and a NUL;
 * umfs_str_hex64: v as 16 of them. */
int umfs_str_join(char *buf, size_t size, ...) __attribute__((sentinel));
void umfs_str_hex(char *out, const uint8_t *in, size_t n);
void umfs_str_hex64(char out[17], uint64_t v);

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
/* Whether a thread sleeps waiting for the lock. A holder between two steps
 * of a long job lets go when one does, then calls umfs_plock_let_in before
 * it takes the lock again: that waits (at most 0.2 ms) until another
 * thread holds it, which the woken waiter would otherwise lose to it. */
bool umfs_plock_waited(const struct umfs_plock *l);
void umfs_plock_let_in(const struct umfs_plock *l);
/* Leaves a lock this thread holds as a dead holder's: the next to take it
 * hears -EOWNERDEAD and repairs, as after a crash (a mount that lost its
 * pool, umfs_fault_absorb). */
void umfs_plock_abandon(struct umfs_plock *l);
/* In a forked child, before any lock: its thread has a new identity
 * (umfs_fork_child does it). */
void umfs_plock_forked(void);

/* Record locks (fcntl POSIX and OFD locks) and flock, kept in the lock
 * region for every front end using the pool (docs/sharing.md, "Advisory
 * locks"). An owner is a process (POSIX), an open file description (OFD,
 * flock), or what umfs-fuse's kernel names one (host: the daemon). */
enum umfs_lock_kind { UMFS_LOCK_POSIX = 1, UMFS_LOCK_OFD = 2, UMFS_LOCK_FLOCK = 3 };

struct umfs_lock_owner {
	uint8_t kind;
	uint64_t id;   /* a process: umfs_lock_process_id(); a description:
			* umfs_lock_new_id(); umfs-fuse: the kernel's lock owner */
	uint64_t host; /* umfs-fuse: the daemon's umfs_lock_process_id(); else 0 */
	uint32_t slot; /* a libumfs description's arena slot */
	int32_t pid;   /* what F_GETLK reports of its locks (-1: an OFD lock) */
};

/* A request: type F_RDLCK, F_WRLCK or F_UNLCK over [start, end] (end
 * INT64_MAX: to any length); flock ones cover the whole file. */
struct umfs_lock_req {
	struct umfs_lock_owner owner;
	uint64_t ino;
	uint32_t gen;
	int type;
	int64_t start, end;
	bool test; /* F_GETLK: report the first conflicting lock, change nothing */
	bool wait; /* F_SETLKW, a flock without LOCK_NB */
};

/* What the core cannot tell by itself, from the front end making the call. */
struct umfs_lock_ops {
	/* whether the description (slot, id) is still open somewhere; NULL:
	 * descriptions own no locks here */
	bool (*desc_alive)(uint32_t slot, uint64_t id);
	/* before each bounded sleep of a wait: 0 to sleep, or what ends the
	 * wait (-EINTR: the request was interrupted; any other error). It may
	 * not return, the thread cancelled in it: the core then lets go of
	 * the wait and calls wait_abandon(arg) as the thread unwinds. It runs
	 * no signal handler: a longjmp out of one would skip that, and leave
	 * the thread's record of the cleanup (pthread_cleanup_push) behind. */
	int (*wait_look)(void *arg);
	void (*wait_abandon)(void *arg);
	void *arg; /* the wait hooks' */
	/* the wait is a cancellation point (F_SETLKW): a cancellation sent
	 * while it sleeps ends it at once, through the same unwinding */
	bool cancellable;
};

/* Sets, removes or tests a lock: 0; -EAGAIN (conflict, no wait; with
 * test, *conflict holds the first conflicting lock, and EAGAIN means
 * "found one"); -EDEADLK (a POSIX wait that would close a cycle); -EINTR;
 * -ENOLCK (the table is full). A conflicting owner that died is removed
 * and the request tried again. */
int umfs_lock_request(struct umfs_fs *fs, const struct umfs_lock_req *q,
		      const struct umfs_lock_ops *ops, struct umfs_lock_req *conflict);
/* Removes owner's locks of its kind on the file (a close). */
void umfs_lock_release(struct umfs_fs *fs, uint64_t ino, uint32_t gen,
		       const struct umfs_lock_owner *owner);
/* Wakes every wait for a lock of the file to look again at once, from
 * another thread: a front end's request was interrupted, which its
 * wait_look then tells. A wake between a wait's look and its sleep is not
 * lost. The others find their conflict still there and sleep again. */
void umfs_lock_wake(struct umfs_fs *fs, uint64_t ino, uint32_t gen);
/* This process as a POSIX owner (its pid and start time; a forked child
 * is another), and a new id for a description. */
uint64_t umfs_lock_process_id(void);
/* In a forked child, before any lock: the process is another owner
 * (umfs_fork_child does it). */
void umfs_lock_forked(void);
uint64_t umfs_lock_new_id(void);
/* exec: this process's POSIX locks on the file are marked (set) to go
 * with a successful exec, or unmarked; the new image drops the marked. */
void umfs_lock_exec_mark(struct umfs_fs *fs, uint64_t ino, uint32_t gen, bool set);
/* returns whether this process still holds POSIX locks in the pool */
bool umfs_lock_exec_done(struct umfs_fs *fs);
/* The request type of flock(2)'s op (LOCK_SH, LOCK_EX or LOCK_UN, with
 * or without LOCK_NB): F_RDLCK, F_WRLCK, F_UNLCK, or -EINVAL. */
int umfs_lock_flock_type(int op);

/* The process's RLIMIT_FSIZE changed (setrlimit, prlimit on itself): the
 * core reads it again. The kernel holds the core's writes through the pool
 * file's descriptor to that limit, so the core keeps a copy instead of a
 * system call per write. */
void umfs_fsize_changed(void);

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

/* ---- Faults on a pool's memory (umfs_fault_absorb) ---- */

/* This process's own SIGBUS handler calls umfs_fault_absorb first (the
 * shim's wrapper does): mounts install no handler. */
void umfs_fault_routed(void);
/* A front end's mapping of a shared file of the pool's users (name: its
 * path in the runtime directory, a string that lives as long as the
 * mapping): a fault in it fails fs as one in the lock region does, and
 * the faulting page reads as zeros. -ENOSPC when the process watches too
 * many mappings (the log says so once). */
int umfs_fault_watch_area(struct umfs_fs *fs, void *addr, size_t len, const char *name);
/* Before the mapping at addr is unmapped. */
void umfs_fault_unwatch(void *addr);

/* ---- What launchers say about a pool ---- */

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
/* A level as UMFS_LOG and --log name it: none, error, warn (or warning),
 * info, debug, trace, or 0 (none) and 1 (debug); NULL or "" is warn.
 * -EINVAL for anything else. */
int umfs_log_level_parse(const char *s);

/* The real C-library function named symbol, past every interposer (the
 * resolution the core's table of kernel calls uses, shared with the shim's
 * table of real functions), stored in *slot and returned; NULL when there
 * is none. Each entry is resolved at its first call, not all at start: a
 * process pays for the few it uses (a dlsym costs about 1 us here, the
 * tables hold some 240). The caller's errno is kept. */
void *umfs_os_resolve(void **slot, const char *symbol);
/* ftruncate(2) of a file of the library's own (a lock region, an arena, a
 * host copy), which the program's RLIMIT_FSIZE is not meant for: where
 * the file grows past the soft limit, the soft limit is raised to the hard
 * one for the call (other threads see it for that instant). Past the hard
 * limit: -EFBIG, without the SIGXFSZ the kernel would send. */
int umfs_os_ftruncate_own(int fd, off_t len);
/* dup3(fd, to, O_CLOEXEC) onto a number that may be at or past the soft
 * RLIMIT_NOFILE (a front end's own descriptors): the soft limit is raised
 * for the instant of the dup. 0 or -errno; the caller's errno is kept. */
int umfs_os_dup_onto(int fd, int to);

#ifdef __cplusplus
}
#endif
#endif /* UMFS_FRONTEND_H */
