/* SPDX-License-Identifier: MIT */
/*
 * fresh_run - run a command as a new process and report what it cost: wall
 * time and the page faults it took (minor and major), from wait4's rusage,
 * which also counts the descendants the command waited for (find's stat).
 *
 *   fresh_run RESULT [NAME=VALUE...] CMD [ARG...]
 *
 * The assignments go into the command's environment only (LD_PRELOAD and
 * the pool for UMFS), so the runner itself never runs on the system under
 * test and no env(1) process adds its own faults. Appends one line
 * "SECONDS MINFLT MAJFLT CPU" to RESULT when CMD exits 0 (CPU: user plus
 * system seconds, waited-for descendants included); exits with CMD's
 * status otherwise (or 127 when it cannot be started).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0, t1;
	int i = 2, status;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: fresh_run RESULT [NAME=VALUE...] CMD [ARG...]\n");
		return 2;
	}
	for (; i < argc && strchr(argv[i], '=') && argv[i][0] != '/'; i++) {
		if (putenv(argv[i]) != 0) {
			perror("fresh_run: putenv");
			return 2;
		}
	}
	if (i == argc) {
		fprintf(stderr, "fresh_run: no command\n");
		return 2;
	}
	t0 = now();
	pid = fork();
	if (pid < 0) {
		perror("fresh_run: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[i], argv + i);
		fprintf(stderr, "fresh_run: %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("fresh_run: wait4");
			return 2;
		}
	}
	t1 = now();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "fresh_run: %s failed (%s %d)\n", argv[i],
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	out = fopen(argv[1], "a");
	if (!out) {
		perror("fresh_run: result file");
		return 2;
	}
	fprintf(out, "%.6f %ld %ld %.6f\n", t1 - t0, ru.ru_minflt, ru.ru_majflt,
		(double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	if (fclose(out) != 0) {
		perror("fresh_run: result file");
		return 2;
	}
	return 0;
}
