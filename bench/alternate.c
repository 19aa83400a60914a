/* SPDX-License-Identifier: MIT */
/*
 * alternate - run a few commands in turn, each many times as a new
 * process, and report the median CPU time and page faults of each.
 *
 *   alternate RESULT RUNS LABEL [NAME=VALUE...] CMD [ARG...] [::: LABEL ...]...
 *
 * One round runs every variant once, in the order given; RUNS rounds are
 * timed after a few untimed ones. Taking turns process by process, the
 * variants meet the same drifts of a shared machine (another job starting,
 * the host reclaiming memory), which blocks of one variant after another
 * would each meet alone: a ratio of their medians compares like with like.
 * CPU time and faults are counted as perf stat counts them: the software
 * events task-clock and page-faults of the command and its descendants,
 * enabled when it executes (the runner's fork and the exec's own start are
 * not the command's). The assignments go into the command's environment
 * only. The command's exit status is not judged (a lookup of a missing
 * name is a variant too), but one that cannot be started (127) or dies of
 * a signal fails the run. Appends "LABEL RUNS CPU_MS FAULTS" to RESULT per
 * variant (medians).
 */
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WARMUP 5
#define MAX_VARIANTS 8

struct variant {
	const char *label;
	char **env;  /* NAME=VALUE words, nenv of them */
	int nenv;
	char **argv; /* NULL-terminated in place of the ":::" */
	double *cpu_ms;
	double *faults;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A software counter of pid and its children to come, started by its exec. */
static int counter_open(pid_t pid, uint64_t config)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = config,
		.disabled = 1,
		.inherit = 1,
		.enable_on_exec = 1,
	};

	return (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static bool counter_read(int fd, uint64_t *v)
{
	return read(fd, v, sizeof(*v)) == (ssize_t)sizeof(*v);
}

/* One run of v: its CPU milliseconds and faults; false when it could not
 * be started, be counted, or died of a signal. */
static bool run_once(const struct variant *v, double *cpu_ms, double *faults)
{
	int go[2], clock_fd = -1, fault_fd = -1, status;
	uint64_t ns = 0, nf = 0;
	bool ok;
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		char c;

		if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		for (int i = 0; i < v->nenv; i++)
			if (putenv(v->env[i]))
				_exit(127);
		close(go[1]);
		if (read(go[0], &c, 1) != 1) /* the counters are attached */
			_exit(127);
		execvp(v->argv[0], v->argv);
		_exit(127);
	}
	close(go[0]);
	clock_fd = counter_open(pid, PERF_COUNT_SW_TASK_CLOCK);
	fault_fd = counter_open(pid, PERF_COUNT_SW_PAGE_FAULTS);
	ok = clock_fd >= 0 && fault_fd >= 0;
	if (ok)
		ok = write(go[1], "g", 1) == 1;
	close(go[1]); /* without the byte, the child ends */
	ok &= waitpid(pid, &status, 0) == pid && !WIFSIGNALED(status) &&
	      !(WIFEXITED(status) && WEXITSTATUS(status) == 127);
	ok = ok && counter_read(clock_fd, &ns) && counter_read(fault_fd, &nf);
	if (clock_fd >= 0)
		close(clock_fd);
	if (fault_fd >= 0)
		close(fault_fd);
	*cpu_ms = (double)ns / 1e6;
	*faults = (double)nf;
	return ok;
}

int main(int argc, char **argv)
{
	struct variant vs[MAX_VARIANTS];
	int nv = 0, runs;
	FILE *out;

	if (argc < 5 || (runs = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: alternate RESULT RUNS LABEL [NAME=VALUE...] CMD [ARG...] "
				"[::: LABEL ...]...\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		struct variant *v = &vs[nv];

		if (nv == MAX_VARIANTS) {
			fprintf(stderr, "alternate: at most %d variants\n", MAX_VARIANTS);
			return 2;
		}
		v->label = argv[i++];
		v->env = &argv[i];
		for (v->nenv = 0; i < argc && strchr(argv[i], '=') && argv[i][0] != '='; i++)
			v->nenv++;
		v->argv = &argv[i];
		while (i < argc && strcmp(argv[i], ":::"))
			i++;
		if (v->argv == &argv[i]) {
			fprintf(stderr, "alternate: variant %s has no command\n", v->label);
			return 2;
		}
		if (i < argc)
			argv[i] = NULL; /* the command's end */
		v->cpu_ms = calloc((size_t)runs, sizeof(double));
		v->faults = calloc((size_t)runs, sizeof(double));
		if (!v->cpu_ms || !v->faults)
			return 1;
		nv++;
	}
	for (int r = -WARMUP; r < runs; r++)
		for (int k = 0; k < nv; k++) {
			double cpu, faults;

			if (!run_once(&vs[k], &cpu, &faults)) {
				fprintf(stderr, "alternate: %s (%s) could not run or was killed\n",
					vs[k].label, vs[k].argv[0]);
				return 1;
			}
			if (r >= 0) {
				vs[k].cpu_ms[r] = cpu;
				vs[k].faults[r] = faults;
			}
		}
	out = fopen(argv[1], "a");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	for (int k = 0; k < nv; k++)
		fprintf(out, "%s %d %.4f %.1f\n", vs[k].label, runs, median(vs[k].cpu_ms, runs),
			median(vs[k].faults, runs));
	return fclose(out) ? 1 : 0;
}
