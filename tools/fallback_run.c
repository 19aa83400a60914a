/* SPDX-License-Identifier: MIT */
/*
 * fallback_run.c - the program under the kernel fallback: umfs-run stays
 * its parent, so that once the program and its descendants are gone it can
 * take the mount down and see the daemon end before it returns (the pool
 * is then free for the next command, fsck.umfs included).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fallback.h"

/* How long the daemon may take to unmount the pool once the mount went:
 * it ends at once unless a process outside still holds one of its files. */
#define FALLBACK_END_MS 10000

/* Signals passed on to the program when another process sent them; the
 * terminal's own (SI_KERNEL) reached the program's process group already. */
static const int passed[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
			      SIGWINCH };

static void wait_daemon(struct umfs_fallback *fb)
{
	struct pollfd pfd = { .fd = fb->life_fd, .events = POLLIN };
	char c;
	int n;

	do
		n = poll(&pfd, 1, FALLBACK_END_MS);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		fprintf(stderr, "umfs-run: warning: the fallback's umfs-fuse still serves %s "
			"after %d s (a process outside holds one of its files); not waiting\n",
			fb->prefix, FALLBACK_END_MS / 1000);
	else
		while (read(fb->life_fd, &c, 1) > 0)
			;
	close(fb->life_fd);
	fb->life_fd = -1;
}

int umfs_fallback_run(struct umfs_fallback *fb, char **argv)
{
	sigset_t set, old;
	siginfo_t si;
	int status = 0, st;
	bool done = false;
	pid_t pid, p;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
		sigaddset(&set, passed[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	/* orphans of the program come here: while any lives, the mount
	 * stays up for it */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "umfs-run: fork: %s\n", strerror(errno));
		return 1 << 8;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "umfs-run: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (!done) {
		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			if (si.si_code <= 0) /* kill(), sigqueue(), tgkill() */
				kill(pid, si.si_signo);
			continue;
		}
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == pid) {
				status = st;
				done = true;
			}
	}
	/* descendants of the program still alive keep the mount: it ends
	 * with the last of them (the namespace goes, and the daemon with it) */
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		;
	if (p < 0 && errno == ECHILD) {
		umount2(fb->prefix, MNT_DETACH);
		fb->mounted = false;
		wait_daemon(fb);
	}
	return status;
}
