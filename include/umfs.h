/* SPDX-License-Identifier: MIT */
/*
 * umfs.h - the UMFS C API: a file system in a pool of persistent memory,
 * run inside the calling program (libumfs-api, `pkg-config umfs`; umfs(3)).
 *
 * Conventions
 *
 *   Return values. Every function returns 0 (or a count, an offset, or 1
 *   from umfs_readdir) on success and a negative errno value on failure:
 *   -ENOENT, never -1. errno itself is never touched. A call that fails
 *   changes nothing in the pool (a short write is a success).
 *
 *   Durability. A call that returned has its effect durable in the pool;
 *   every metadata change is atomic across a crash, and so is every write
 *   in strict mode (UMFS_MOUNT_STRICT, the default; docs/consistency.md).
 *
 *   Paths are taken from the pool's root; a leading '/' is optional.
 *   Symbolic links are followed inside the pool, at most 40 per path; an
 *   absolute target is taken from the pool's root. A name is at most 255
 *   bytes, a path less than PATH_MAX (4096) bytes.
 *
 *   Permissions are checked as the kernel checks them, with the process's
 *   effective ids and groups (root's capabilities included).
 *
 *   Threads. All functions are thread-safe: a mount, a file and a
 *   directory stream may be used by many threads at once (umfs_read,
 *   umfs_write and umfs_lseek share the file's offset under a lock).
 *
 *   Limits. The library writes the pool through its descriptor as well as
 *   its mapping, and reads RLIMIT_FSIZE at umfs_mount to keep those
 *   writes below it. Set the limit before mounting: lowered below the
 *   pool's size afterwards, the kernel may stop such a write with SIGXFSZ.
 *
 * Errors of every path argument. A call that takes a path fails with:
 *   -ENOENT        the path is empty, or a component (or the last one,
 *                  unless the call creates it) does not exist, or a
 *                  symbolic link on the way names nothing
 *   -ENOTDIR       a component used as a directory is not one, or the path
 *                  ends in '/' and names something else
 *   -EACCES        search permission is denied on a directory on the way
 *   -ENAMETOOLONG  a component is longer than 255 bytes, or the path (with
 *                  the links expanded into it) PATH_MAX or longer
 *   -ELOOP         more than 40 symbolic links on the way
 *   -EUCLEAN       see below
 * These are not repeated with each call.
 *
 * Errors of every call.
 *   -EUCLEAN       ("Structure needs cleaning") the call met a damaged
 *                  inode, directory entry or table in the pool: it is
 *                  refused rather than served, and one warning (see
 *                  umfs_log_set) names the damage. Run fsck.umfs(8).
 *   -ENOMEM        no memory for the call's own buffers.
 *   -EIO           the mount failed: a page of the pool, or of the lock
 *                  region of a SHARED mount, could not be reached (another
 *                  process truncated the file, or the memory has an
 *                  uncorrectable error; see umfs_fault_absorb). The call
 *                  that met it and every later call on the mount answer
 *                  -EIO; the process is not harmed. Close the files,
 *                  unmount, then check the pool with fsck.umfs(8).
 * A call on a pool used through the kernel module (docs/kmod.md) may also
 * return what the module's calls return there.
 */
#ifndef UMFS_H
#define UMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
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

/* ==== Mounting ==== */

/* umfs_mount() flags */
#define UMFS_MOUNT_RDONLY 0x1u     /* map read-only, change nothing */
#define UMFS_MOUNT_NORECOVER 0x2u  /* do not recover; do not mark the pool in use */
#define UMFS_MOUNT_EXCLUSIVE 0x4u  /* -EBUSY unless no other process has the pool mounted */
#define UMFS_MOUNT_SHARED 0x8u     /* use the lock region beside the pool: many processes */
#define UMFS_MOUNT_NOSIGBUS 0x10u  /* install no SIGBUS handler: see umfs_fault_absorb */
/* Consistency mode (docs/consistency.md). Precedence: these flags, then the
 * environment variable UMFS_CONSISTENCY=strict|relaxed, then the pool's
 * default (mkfs.umfs -O relaxed); strict when none says otherwise. */
#define UMFS_MOUNT_STRICT 0x100u   /* every write() failure-atomic (default) */
#define UMFS_MOUNT_RELAXED 0x200u  /* overwrites in place, without undo */

/*
 * umfs_mount - maps a pool and makes it ready for use.
 * @pool_path: a pool file made by mkfs.umfs(8), or a persistent-memory
 *   device (/dev/pmemN, /dev/daxN.M).
 * @flags: 0 or an OR of the UMFS_MOUNT_* flags above. Without
 *   UMFS_MOUNT_SHARED the mount coordinates with no other process: the
 *   caller makes sure none changes the pool meanwhile (with
 *   UMFS_MOUNT_EXCLUSIVE the mount checks that none has it mounted).
 *   With it, any number of processes (umfs-run programs, umfs-fuse, other
 *   shared mounts) use the pool at once. Unless UMFS_MOUNT_NORECOVER, a
 *   pool a crash left unclean is recovered first.
 * @fsp: receives the handle.
 * Return: 0, or
 *   -ENOENT, -EACCES, ...  what open(2) or mmap(2) of pool_path gives
 *   -EINVAL    pool_path holds no UMFS pool, or one smaller than the
 *              smallest (8 MiB); UMFS_MOUNT_SHARED with RDONLY or EXCLUSIVE;
 *              STRICT with RELAXED; UMFS_CONSISTENCY neither strict nor
 *              relaxed (umfs_mount_error says which)
 *   -EBUSY     UMFS_MOUNT_EXCLUSIVE while another process has the pool
 *              mounted, or any mount while one has it mounted EXCLUSIVE
 *   -EPROTONOSUPPORT  the pool's format is newer than this library, or
 *              uses features it does not know
 *   -EROFS     the pool uses features this library may only read, and
 *              UMFS_MOUNT_RDONLY was not given
 *   -EUCLEAN   the superblock or state page is damaged; the pool needs
 *              recovery and RDONLY was given without NORECOVER; recovery
 *              failed
 *   -EPROTO    (SHARED) the lock region of the processes using the pool
 *              was made by another version of the library, or is damaged
 *   -ETIMEDOUT (SHARED) the first user of the pool kept it for two
 *              minutes (its recovery did not end)
 *   -EAGAIN    (SHARED) the runtime directory kept being removed by
 *              users leaving at the same time; try again
 *   -EIO       a page of the pool or of the lock region could not be
 *              reached while mounting (see umfs_fault_absorb)
 * umfs_mount_error() then says in words what failed.
 */
int umfs_mount(const char *pool_path, unsigned flags, struct umfs_fs **fsp);

/*
 * umfs_unmount - makes everything durable, leaves the pool clean (when no
 * other process uses it) and frees the handle, whatever it returns. Close
 * the files and directory streams of fs first: none may be used after it.
 * Return: 0, or
 *   -EINVAL    fs is NULL
 *   -EIO, ...  what msync(2) gives, for a pool on a disk-backed file
 *   -EIO       the mount had failed (see umfs_fault_absorb): nothing was
 *              written; the next mount recovers the pool
 *   -EUCLEAN   (SHARED, the last user) recovering what dead processes
 *              left failed: fsck.umfs(8)
 */
int umfs_unmount(struct umfs_fs *fs);

/*
 * umfs_fault_absorb - takes a fault on the memory of a mount of this
 * process, for a program's own SIGBUS handler (async-signal-safe).
 *
 * The kernel signals SIGBUS, whose default action ends the process, when
 * a mapped page it cannot provide is touched: a pool file that another
 * process truncated (any user who may write the pool file can), a lock
 * region in the runtime directory likewise, a page of persistent memory
 * with an uncorrectable error. The library maps the pool, so such a fault
 * may meet any call. umfs_mount installs, the first time it runs in the
 * process, a SIGBUS handler that calls this function and hands every
 * other SIGBUS to the action it found in place (the program's handler,
 * or the default). A program that sets its own SIGBUS action after
 * mounting, or mounts with UMFS_MOUNT_NOSIGBUS, calls this first in its
 * handler and returns at once when it answers 1:
 *
 *     static void on_bus(int sig, siginfo_t *si, void *ctx)
 *     {
 *             if (umfs_fault_absorb(sig, si))
 *                     return;
 *             ... the program's own handling ...
 *     }
 *     (installed with SA_SIGINFO)
 *
 * @sig, @si: the handler's arguments.
 * Return: 1 when the fault was in a mount's memory: that mount has failed
 *   (the call that met the fault and every later call on it answer -EIO)
 *   and the memory it faulted on now reads as zeros, so that the faulting
 *   instruction completes when the handler returns; 0 for any other
 *   signal, which is the program's to handle.
 */
int umfs_fault_absorb(int sig, const siginfo_t *si);

/*
 * umfs_mount_error - why the calling thread's last umfs_mount() failed, in
 * words ("" if it did not). The text stays until that thread's next mount.
 */
const char *umfs_mount_error(void);

/*
 * umfs_consistency - the mounted pool's mode: UMFS_MOUNT_STRICT or
 * UMFS_MOUNT_RELAXED.
 */
unsigned umfs_consistency(const struct umfs_fs *fs);

/*
 * umfs_pool_uuid - the UUID in a pool's superblock, without mounting it.
 * Return: 0 with uuid filled, or
 *   -ENOENT, -EACCES, ...  what open(2), read(2) or mmap(2) gives
 *   -EINVAL    the file or device holds no UMFS superblock
 */
int umfs_pool_uuid(const char *pool_path, uint8_t uuid[16]);

/*
 * umfs_strerror - the text for an error value (negative or positive),
 * those UMFS adds for its front ends included.
 */
const char *umfs_strerror(int err);

/* ==== Files ==== */

/*
 * umfs_open - opens, or with O_CREAT makes, a regular file or directory.
 * @flags: open(2)'s: O_RDONLY, O_WRONLY or O_RDWR, with O_CREAT, O_EXCL,
 *   O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_PATH...
 *   The access mode O_ACCMODE (3), as in Linux, asks permission to read
 *   and write and gives neither (an open for ioctls and fstat only).
 *   O_CLOEXEC, O_NONBLOCK, O_SYNC and O_DSYNC change nothing here (every
 *   call is durable when it returns).
 * @mode: the permissions of a file O_CREAT makes (the umask is not
 *   applied: the caller applies it).
 * @filep: receives the open file.
 * Return: 0, or the path errors, or
 *   -EINVAL    O_CREAT with O_DIRECTORY
 *   -EOPNOTSUPP O_TMPFILE
 *   -EROFS     a read-only mount, and flags ask to write, create or truncate
 *   -EEXIST    O_CREAT | O_EXCL and the name exists
 *   -EISDIR    a directory opened for writing (O_WRONLY, O_RDWR,
 *              O_ACCMODE) or O_TRUNC, or O_CREAT on a
 *              directory or on a path ending in '/'
 *   -ENOTDIR   O_DIRECTORY on something else
 *   -ELOOP     O_NOFOLLOW and the last component is a symbolic link
 *              (without O_PATH)
 *   -ENXIO     a device node, FIFO or socket (without O_PATH): the core
 *              serves regular files and directories only
 *   -EACCES    no read or write permission as flags ask, or no write
 *              permission on the directory O_CREAT makes the file in
 *   -EPERM     O_NOATIME by neither the file's owner nor root
 *   -ENOENT    also: O_CREAT in a directory that was removed
 *   -ENOSPC    O_CREAT: no free inode, or no room for the directory entry
 *   -ENOSPC    also: O_TRUNC, as umfs_ftruncate
 */
int umfs_open(struct umfs_fs *fs, const char *path, int flags, mode_t mode,
	      struct umfs_file **filep);

/*
 * umfs_close - closes the file and frees the handle, whatever it returns.
 * A file without names left is freed at its last close (in any process of
 * a shared pool).
 * Return: 0, or
 *   -EBADF     file is NULL
 *   -EUCLEAN   freeing an unnamed file met damage: it stays an orphan
 *              for fsck.umfs(8)
 */
int umfs_close(struct umfs_file *file);

/*
 * umfs_read, umfs_pread - read up to len bytes at the file's offset
 * (advancing it), or at off. Holes read as zeros.
 * Return: the count read, 0 at or past the end of the file, or
 *   -EBADF     the file is not open for reading, or is O_PATH
 *   -EISDIR    a directory
 *   -EINVAL    (umfs_pread) off < 0
 */
ssize_t umfs_read(struct umfs_file *file, void *buf, size_t len);
ssize_t umfs_pread(struct umfs_file *file, void *buf, size_t len, off_t off);

/*
 * umfs_write, umfs_pwrite - write len bytes at the file's offset
 * (advancing it), or at off; with O_APPEND both write at the end of the
 * file. A write past the end leaves a hole that reads as zeros. In strict
 * mode a write is failure-atomic: after a crash the file holds all of it
 * or none of it.
 * Return: the count written, or
 *   -EBADF     the file is not open for writing, or is O_PATH
 *   -EROFS     a read-only mount
 *   -EINVAL    (umfs_pwrite) off < 0
 *   -EFBIG     the offset is at or past the largest file size (256 TiB,
 *              or 512 GiB on a pool made without the level4 feature);
 *              a write that reaches it is cut short there
 *   -ENOSPC    the pool has no room for the first byte; a write that
 *              fills the pool partway returns the bytes it wrote
 */
ssize_t umfs_write(struct umfs_file *file, const void *buf, size_t len);
ssize_t umfs_pwrite(struct umfs_file *file, const void *buf, size_t len, off_t off);

/*
 * umfs_lseek - sets the file's offset, as lseek(2): SEEK_SET, SEEK_CUR,
 * SEEK_END, and SEEK_DATA and SEEK_HOLE (the end of the file is a hole).
 * Return: the new offset, or
 *   -EINVAL    an unknown whence, or an offset that would be negative
 *   -EOVERFLOW the offset does not fit in off_t
 *   -ENXIO     SEEK_DATA or SEEK_HOLE at off < 0 or at or past the end of
 *              the file; SEEK_DATA with no data after off
 */
off_t umfs_lseek(struct umfs_file *file, off_t off, int whence);

/*
 * umfs_ftruncate - sets the size of a regular file open for writing:
 * what is cut goes, what is added reads as zeros. Writing or truncating
 * drops set-user-ID and set-group-ID as Linux does (not for root).
 * Return: 0, or
 *   -EINVAL    size < 0; the file is not open for writing, is O_PATH, or
 *              is not a regular file
 *   -EFBIG     size is above the largest file size (256 TiB, or 512 GiB
 *              on a pool made without the level4 feature)
 *   -ENOSPC    the pool has no room for the change
 */
int umfs_ftruncate(struct umfs_file *file, off_t size);

/*
 * umfs_fallocate - as fallocate(2): mode 0 or FALLOC_FL_KEEP_SIZE
 * allocates zeroed pages, FALLOC_FL_ZERO_RANGE zeroes (both may grow the
 * file), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE frees pages. Like a
 * write, it drops set-user-ID and set-group-ID as Linux does (not for
 * root).
 * Return: 0, or
 *   -EINVAL    off < 0 or len <= 0
 *   -EOPNOTSUPP any other mode (COLLAPSE, INSERT, UNSHARE, PUNCH_HOLE
 *              without KEEP_SIZE, PUNCH_HOLE with ZERO_RANGE)
 *   -EBADF     the file is not open for writing, or is O_PATH
 *   -EISDIR    a directory
 *   -ENODEV    neither a regular file nor a directory
 *   -EFBIG     off + len is above the largest file size (256 TiB, or
 *              512 GiB on a pool made without the level4 feature)
 *   -ENOSPC    the pool has no room for the pages
 */
int umfs_fallocate(struct umfs_file *file, int mode, off_t off, off_t len);

/*
 * umfs_fsync - every call is durable when it returns, but for the
 * modification times writes set: with datasync 0 this makes those of the
 * file durable (so does umfs_close of a file written through). For a pool
 * on a disk-backed file, it also writes the mapping back (msync(2)).
 * Return: 0, or what msync(2) gives (-EIO...).
 */
int umfs_fsync(struct umfs_file *file, int datasync);

/*
 * umfs_fstat - the file's attributes, as fstat(2). st_blksize is 4096;
 * st_dev names the pool.
 * Return: 0, or -EUCLEAN.
 */
int umfs_fstat(struct umfs_file *file, struct stat *st);

/*
 * umfs_fchmod, umfs_fchown, umfs_futimens - change the open file's
 * permissions, owner and group, or times; as umfs_chmod, umfs_chown and
 * umfs_utimens (and with their errors, but not the path errors).
 */
int umfs_fchmod(struct umfs_file *file, mode_t mode);
int umfs_fchown(struct umfs_file *file, uid_t uid, gid_t gid);
int umfs_futimens(struct umfs_file *file, const struct timespec times[2]);

/*
 * umfs_file_flags - the file's open flags (without O_CREAT, O_EXCL,
 * O_NOCTTY and O_TRUNC), as fcntl(F_GETFL).
 * umfs_file_set_flags - sets O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME and
 * O_ASYNC to what flags says, as fcntl(F_SETFL); the other bits are
 * ignored. Returns 0.
 */
int umfs_file_flags(const struct umfs_file *file);
int umfs_file_set_flags(struct umfs_file *file, int flags);

/* ==== Names ==== */

/*
 * umfs_stat - the attributes of what path names, as stat(2); with
 * AT_SYMLINK_NOFOLLOW in flags, of a symbolic link itself, as lstat(2).
 * Return: 0, or the path errors, or
 *   -EINVAL    flags other than AT_SYMLINK_NOFOLLOW
 */
int umfs_stat(struct umfs_fs *fs, const char *path, struct stat *st, int flags);

/*
 * umfs_access, umfs_access_real - whether the caller may read, write or
 * search (amode: an OR of R_OK, W_OK, X_OK; F_OK (0) for existence) what
 * path names. umfs_access checks with the effective ids, as faccessat(2)
 * with AT_EACCESS; umfs_access_real with the real ids, as access(2).
 * Return: 0, or the path errors, or
 *   -EINVAL    amode has other bits
 *   -EACCES    a permission in amode is denied
 *   -EROFS     W_OK on a read-only mount
 */
int umfs_access(struct umfs_fs *fs, const char *path, int amode);
int umfs_access_real(struct umfs_fs *fs, const char *path, int amode);

/*
 * umfs_truncate - umfs_ftruncate on the regular file path names, which
 * needs write permission on it.
 * Return: 0, or the errors of umfs_open(O_WRONLY) (-EACCES, -EISDIR,
 * -EROFS...) and umfs_ftruncate, except
 *   -EINVAL    size < 0, or a device node, FIFO or socket
 */
int umfs_truncate(struct umfs_fs *fs, const char *path, off_t size);

/*
 * umfs_mkdir, umfs_mknod, umfs_symlink - make a directory (mode: its
 * permissions; set-user-ID and set-group-ID come from the parent only), a
 * node of type mode & S_IFMT (S_IFREG when 0, S_IFCHR, S_IFBLK, S_IFIFO,
 * S_IFSOCK; dev for device nodes, which only front ends open), or a
 * symbolic link to target (up to 4095 bytes, stored as given). The new
 * inode belongs to the caller's effective uid, and to the group of a
 * set-group-ID parent or else the caller's effective gid. The umask is
 * not applied.
 * Return: 0, or the path errors, or
 *   -EEXIST    the name exists (a symbolic link too, even a dangling one),
 *              or the path names the root
 *   -EROFS     a read-only mount
 *   -EACCES    no write or search permission on the parent directory
 *   -ENOENT    also: the parent directory was removed; (mknod, symlink)
 *              the path ends in '/'; (symlink) target is empty
 *   -ENOSPC    no free inode, or no room for the entry or the link's page
 *   -EPERM     (mknod) S_IFDIR: directories are umfs_mkdir's
 *   -EINVAL    (mknod) a type that is none of the above
 *   -ENAMETOOLONG (symlink) also: target is longer than 4095 bytes
 */
int umfs_mkdir(struct umfs_fs *fs, const char *path, mode_t mode);
int umfs_mknod(struct umfs_fs *fs, const char *path, mode_t mode, dev_t dev);
int umfs_symlink(struct umfs_fs *fs, const char *target, const char *linkpath);

/*
 * umfs_readlink - copies the target of the symbolic link path names (not
 * followed) into buf, not NUL-terminated.
 * Return: the count copied (at most size), or the path errors, or
 *   -EINVAL    not a symbolic link
 */
ssize_t umfs_readlink(struct umfs_fs *fs, const char *path, char *buf, size_t size);

/*
 * umfs_unlink, umfs_rmdir - remove a name of a file (a link is removed,
 * not followed), or an empty directory. A file with no name left is freed
 * at once, or at its last close if it is open (in any process of a shared
 * pool).
 * Return: 0, or the path errors, or
 *   -EROFS     a read-only mount
 *   -EBUSY     the path names the root
 *   -EACCES    no write or search permission on the parent directory
 *   -EPERM     the parent is sticky (S_ISVTX) and the caller owns neither
 *              it nor the entry (and is not root)
 *   -EISDIR    (unlink) a directory
 *   -ENOTDIR   (unlink) the path ends in '/'; (rmdir) not a directory
 *   -EINVAL    (rmdir) the last component is "."
 *   -ENOTEMPTY (rmdir) the directory has entries, or the last component
 *              is ".."
 */
int umfs_unlink(struct umfs_fs *fs, const char *path);
int umfs_rmdir(struct umfs_fs *fs, const char *path);

/*
 * umfs_rename - as renameat2(2): gives from's inode the name to, replacing
 * what to names (of a compatible type) in the same transaction.
 * @flags: 0, RENAME_NOREPLACE (never replace) or RENAME_EXCHANGE (swap
 *   the two, which must both exist), the values of <linux/fs.h>.
 * Two names of one inode: nothing is done, and 0 returned.
 * Return: 0, or the path errors (of either path), or
 *   -EINVAL    other flags, or both; a directory moved under itself
 *   -EROFS     a read-only mount
 *   -EBUSY     either path names the root, or ends in "." or ".."
 *   -EEXIST    RENAME_NOREPLACE and to exists, or ends in "." or ".."
 *   -ENOENT    also: RENAME_EXCHANGE and to does not exist
 *   -ENOTDIR   a directory would replace a non-directory, or a path ends
 *              in '/' and names no directory
 *   -EISDIR    a non-directory would replace a directory
 *   -ENOTEMPTY to is a directory with entries, or an ancestor of from
 *   -EACCES    no write or search permission on either parent directory;
 *              or a directory moved to another parent, or exchanged with
 *              one there, is not writable by the caller (its ".." changes)
 *   -EPERM     a sticky parent, and the caller owns neither it nor the
 *              entry it would remove or move (and is not root)
 *   -ENOSPC    no room for the new entry
 */
int umfs_rename(struct umfs_fs *fs, const char *from, const char *to, unsigned flags);

/*
 * umfs_link - gives the inode from names (a symbolic link itself, not
 * followed) the new name to.
 * Return: 0, or the path errors (of either path), or
 *   -EEXIST    to exists, or names the root
 *   -EPERM     from is a directory; or the caller is neither its owner
 *              nor root, and it is not a regular file that is neither
 *              set-user-ID nor set-group-ID and executable, that the caller
 *              may read and write (Linux's fs.protected_hardlinks)
 *   -ENOENT    also: either path ends in '/'
 *   -EMLINK    the inode has 65,000 names already
 *   -EROFS     a read-only mount
 *   -EACCES    no write or search permission on to's directory
 *   -ENOSPC    no room for the entry
 */
int umfs_link(struct umfs_fs *fs, const char *from, const char *to);

/*
 * umfs_chmod - sets the permission bits (07777) of what path names.
 * umfs_chown - sets its owner and group ((uid_t)-1 and (gid_t)-1 keep
 *   them); drops set-user-ID, and set-group-ID as Linux does, on a
 *   non-directory.
 * umfs_utimens - sets its access and modification times, as
 *   utimensat(2): times NULL is now, UTIME_NOW and UTIME_OMIT are honoured.
 * @flags: 0, or AT_SYMLINK_NOFOLLOW to change a symbolic link itself.
 * Return: 0, or the path errors, or
 *   -EINVAL    flags other than AT_SYMLINK_NOFOLLOW; (utimens) a tv_nsec
 *              outside [0, 999999999] that is neither UTIME_NOW nor
 *              UTIME_OMIT
 *   -EROFS     a read-only mount
 *   -EPERM     (chmod) the caller is neither the owner nor root;
 *              (chown, not root) uid is given and the caller is not the
 *              owner or uid names another user, or gid is given and the
 *              caller is not the owner or is not in gid (nor gid the
 *              file's group), or neither is given and the caller does not
 *              own a set-user-ID or set-group-ID file; (utimens) times
 *              other than NULL or both UTIME_NOW, and the caller is
 *              neither the owner nor root
 *   -EACCES    (utimens) times now, and the caller is neither the owner
 *              nor root and has no write permission
 * chmod without the file's group (and without root) drops set-group-ID
 * instead of failing.
 */
int umfs_chmod(struct umfs_fs *fs, const char *path, mode_t mode, int flags);
int umfs_chown(struct umfs_fs *fs, const char *path, uid_t uid, gid_t gid, int flags);
int umfs_utimens(struct umfs_fs *fs, const char *path, const struct timespec times[2],
		 int flags);

/*
 * umfs_statfs - the pool's size and use, as statvfs(3): 4 KiB blocks,
 * inodes, names of up to 255 bytes, ST_RDONLY for a read-only mount.
 * Returns 0.
 */
int umfs_statfs(struct umfs_fs *fs, struct statvfs *sv);

/* ==== Directories ==== */

struct umfs_dirent {
	uint64_t ino;
	uint64_t next_cookie; /* umfs_seekdir() value just after this entry */
	unsigned char type;   /* DT_*; DT_UNKNOWN: ask umfs_stat */
	char name[256];
};

/*
 * umfs_opendir - opens a stream on the directory path names, or
 * umfs_fopendir on an open directory (any access mode). The stream lists
 * "." and ".." too.
 * Return: 0 with *dirp set, or the path errors, or
 *   -ENOTDIR   not a directory
 *   -EACCES    (opendir) no read permission on it
 *   -EBADF     (fopendir) the file is O_PATH
 */
int umfs_opendir(struct umfs_fs *fs, const char *path, struct umfs_dir **dirp);
int umfs_fopendir(struct umfs_file *file, struct umfs_dir **dirp);

/*
 * umfs_readdir - the next entry. Entries made or removed while the stream
 * is open may or may not be listed; a directory removed while open lists
 * nothing more.
 * Return: 1 with *ent filled, 0 at the end, or
 *   -EUCLEAN   a damaged entry (the next call meets it again)
 */
int umfs_readdir(struct umfs_dir *dir, struct umfs_dirent *ent);

/*
 * umfs_telldir, umfs_seekdir - the stream's position, and a return to
 * one. Cookies stay valid while entries come and go.
 */
uint64_t umfs_telldir(const struct umfs_dir *dir);
void umfs_seekdir(struct umfs_dir *dir, uint64_t cookie);

/*
 * umfs_closedir - closes the stream and frees it, whatever it returns.
 * Return: 0, or
 *   -EBADF     dir is NULL
 *   -EUCLEAN   as umfs_close
 */
int umfs_closedir(struct umfs_dir *dir);

/* ==== Messages ==== */

/* Where the library's messages go: a damaged structure met while serving
 * (an inode or directory entry that fails its checks answers -EUCLEAN;
 * one warning names it, once per damage), a lock taken from a dead
 * process, a long wait (with the holder named). fn gets each message
 * without a newline; messages above max_level are dropped; fn NULL sends
 * them to stderr again. By default errors and warnings go to stderr. */
enum { UMFS_LOG_NONE, UMFS_LOG_ERROR, UMFS_LOG_WARN, UMFS_LOG_INFO, UMFS_LOG_DEBUG,
       UMFS_LOG_TRACE };
typedef void umfs_log_fn(int level, const char *msg);
void umfs_log_set(umfs_log_fn *fn, int max_level);

#ifdef __cplusplus
}
#endif
#endif /* UMFS_H */
