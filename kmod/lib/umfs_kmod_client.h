/* SPDX-License-Identifier: MIT */
/*
 * umfs_kmod_client.h - a thin user-space wrapper of /dev/umfs's ioctls
 * (include/umfs_kmod.h). Every function returns 0 or a negative errno and
 * leaves errno alone.
 */
#ifndef UMFS_KMOD_CLIENT_H
#define UMFS_KMOD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "umfs_kmod.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The client's three calls into the kernel, defined by whoever links it:
 * the core (backend_kmod.c) makes them through its table of real C-library
 * calls (core/os.h), which in libumfs.so are not the shim's interposers.
 * So the client, below the core, includes nothing of the core. */
struct umfs_kmod_sys {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long cmd, void *arg);
	int (*close)(int fd);
};
extern const struct umfs_kmod_sys umfs_kmod_sys;

/* The one ioctl(2) of /dev/umfs: UMFS_KMOD_IOC_* cmd on arg, 0 or -errno.
 * The calls below, and the core's, all go through it. */
int umfs_kmod_call(int fd, unsigned long cmd, void *arg);

/* Opens /dev/umfs (close-on-exec): *fd for the other calls. One open per
 * process: a descriptor inherited across fork gives -EBADFD in the child. */
int umfs_kmod_open(int *fd);
void umfs_kmod_close(int fd);

/* Root only. info may be NULL. */
int umfs_kmod_mount(int fd, const char *dev_path, struct umfs_kmod_mount *info);
int umfs_kmod_unmount(int fd);

/* Maps file ino (generation gen) with the access mode of open_flags
 * (O_RDONLY/O_WRONLY/O_RDWR); reserve: bytes of address space wanted at
 * least. *addr, *len: the mapping; size (may be NULL): the file's size.
 * Retries the rare -EAGAIN of an ATTACH racing with a REVOKE. */
int umfs_kmod_attach(int fd, uint64_t ino, uint32_t gen, int open_flags, uint64_t reserve,
		     void **addr, size_t *len, uint64_t *size);
int umfs_kmod_detach(int fd, void *addr);

/* Unsplices ino everywhere; *revoked (may be NULL): how many attachments. */
int umfs_kmod_revoke(int fd, uint64_t ino, uint64_t *revoked);
/* EXTEND: fills the holes of file pages [first, first + count); *out gets
 * the reply (done, allocated, stop_error). */
int umfs_kmod_extend(int fd, uint64_t ino, uint32_t gen, uint64_t first, uint64_t count,
		     struct umfs_kmod_extend *out);
/* SETATTR: req holds ino, generation, valid and the new mode/uid/gid; it
 * gets the reply (the inode's new mode, uid, gid, ctime; revoked). */
int umfs_kmod_setattr(int fd, struct umfs_kmod_setattr *req);
/* FREE: frees file pages [first, first + count), calling again while the
 * module says more; *out (may be NULL) gets the last reply with freed and
 * revoked summed over the calls. */
int umfs_kmod_free(int fd, uint64_t ino, uint32_t gen, uint64_t first, uint64_t count,
		   struct umfs_kmod_free *out);
/* EXCHANGE: carries out (flags 0) or rolls back (UMFS_KMOD_EXCHANGE_BACK)
 * the swap record of ino's U-Log, calling again while the module says
 * more; *out (may be NULL) gets the last reply with pages, tables and
 * revoked summed over the calls. */
int umfs_kmod_exchange(int fd, uint64_t ino, uint32_t gen, uint32_t flags,
		       struct umfs_kmod_exchange *out);
int umfs_kmod_stats(int fd, struct umfs_kmod_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* UMFS_KMOD_CLIENT_H */
