/* SPDX-License-Identifier: MIT */
/*
 * calls_rlimit.c - getrlimit, setrlimit, prlimit on this process:
 * RLIMIT_NOFILE as the program sees it (nofile.c), RLIMIT_FSIZE followed
 * (fsize.c); and getdtablesize and sysconf(_SC_OPEN_MAX), which the C
 * library answers from the limit by internal calls.
 */
#include <unistd.h>

#include "shim.h"

static bool is_self(pid_t pid)
{
	return pid == 0 || pid == getpid();
}

SHIM_API int getrlimit(__rlimit_resource_t resource, struct rlimit *rl)
{
	int r = SYS(getrlimit)((int)resource, rl);

	if (r == 0 && (int)resource == RLIMIT_NOFILE)
		nofile_view(rl);
	return r;
}

SHIM_API int setrlimit(__rlimit_resource_t resource, const struct rlimit *rl)
{
	int r;

	/* rl is declared nonnull: a NULL one is nofile_set's to answer */
	if ((int)resource == RLIMIT_NOFILE) {
		r = nofile_set(rl);
		return r < 0 ? (errno = -r, -1) : 0;
	}
	r = SYS(setrlimit)((int)resource, rl);
	if (r == 0)
		fsize_changed((int)resource);
	return r;
}

SHIM_API int prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *rl,
		     struct rlimit *old)
{
	struct rlimit was;
	int r;

	if ((int)resource != RLIMIT_NOFILE || !is_self(pid)) {
		r = SYS(prlimit)(pid, (int)resource, rl, old);
		if (r == 0 && rl && is_self(pid))
			fsize_changed((int)resource);
		return r;
	}
	if (SYS(getrlimit)(RLIMIT_NOFILE, &was) != 0)
		return -1;
	nofile_view(&was);
	if (rl) {
		r = nofile_set(rl);
		if (r < 0) {
			errno = -r;
			return -1;
		}
	}
	/* the kernel writes the old limit after it set the new one */
	if (old && user_writable(old, sizeof(*old))) {
		errno = EFAULT;
		return -1;
	}
	if (old)
		*old = was;
	return 0;
}

SHIM_API int getdtablesize(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return SYS(getdtablesize)();
	return rl.rlim_cur > INT_MAX ? INT_MAX : (int)rl.rlim_cur;
}

SHIM_API long sysconf(int name)
{
	struct rlimit rl;

	if (name != _SC_OPEN_MAX || getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return SYS(sysconf)(name);
	return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}
