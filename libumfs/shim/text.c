/* SPDX-License-Identifier: MIT */
/*
 * text.c - ETXTBSY between writing a UMFS file and executing it.
 *
 * The kernel runs a UMFS program from a memfd copy (calls_proc.c), so it
 * cannot see that the file is being executed, nor that it is open for
 * writing. Executing: the process that executes the file takes a shared
 * flock on a host file standing for it (tx-INO-GEN in the helper
 * directory) with a descriptor that survives the exec; the new image's
 * library makes it its own (close-on-exec, at a high number), so the lock
 * lasts exactly as long as that program runs, whatever ends it. Opening
 * the file for writing (or truncating it) fails while the lock is held by
 * anyone: an exclusive try on a fresh description tells. A counter in the
 * shared area, bumped by the first execution, keeps the check to one load
 * while no UMFS program was ever executed. Open for writing: the arena of
 * open file descriptions lists every description of every process, with
 * its flags (ofd_slot_open_for_write).
 */
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "shim.h"

#define TEXT_KIND "tx"

int text_hold(uint64_t ino, uint32_t gen)
{
	char name[64];
	int fd, err;

	err = shim_helper_name(name, sizeof(name), TEXT_KIND, ino, gen);
	if (err)
		return err;
	fd = shim_helper_open(name, O_RDONLY | O_CREAT, S_IFREG);
	if (fd < 0)
		return fd;
	shim_fdguard_call_end(); /* a writer's exclusive lock may hold this wait */
	while (OS(flock)(fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			err = -errno;
			sys_close_quiet(fd);
			return err;
		}
	}
	shim_texts_bump();
	/* survives the exec: the new image holds it while it runs */
	SYS(fcntl)(fd, F_SETFD, 0);
	uinfo_mark_internal(fd);
	return fd;
}

void text_release(int fd)
{
	if (fd < 0)
		return;
	uinfo_unmark_internal(fd);
	sys_close_quiet(fd);
}

int text_busy(uint64_t ino, uint32_t gen)
{
	char name[64];
	int fd, err, saved = errno;

	if (likely(shim_texts() == 0))
		return 0;
	if (shim_helper_name(name, sizeof(name), TEXT_KIND, ino, gen))
		return 0;
	fd = shim_helper_open_low(name, O_RDONLY, S_IFREG);
	if (fd < 0) {
		errno = saved;
		return 0;
	}
	err = OS(flock)(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? -ETXTBSY : 0;
	sys_close_quiet(fd); /* drops the try's lock, if it got it */
	errno = saved;
	return err;
}

bool text_adopt(int fd, const char *link)
{
	const char *base = strrchr(link, '/');

	if (!base || strncmp(base + 1, TEXT_KIND "-", sizeof(TEXT_KIND)) != 0 ||
	    !strstr(link, "/umfs-"))
		return false;
	/* this image runs the program now; its own execs must not keep it */
	SYS(fcntl)(fd, F_SETFD, FD_CLOEXEC);
	uinfo_mark_internal(fd);
	return true;
}
