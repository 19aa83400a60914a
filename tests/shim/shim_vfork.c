/* SPDX-License-Identifier: MIT */
/*
 * shim_vfork.c - vfork children, as a shell's and a compiler driver's.
 *
 *   shim_vfork DIR kernel|umfs
 *
 * DIR holds prog.sh (an executable script: prints "prog ARG", exits 3)
 * and data ("vfork data\n"). The parent first leaves DIR alone: its vfork
 * children share its memory (as the kernel's do; under the library too,
 * which keeps a vfork real while nothing of UMFS is set up), and they run
 * a kernel program, run prog.sh, read data before their exec, set a
 * signal's handler, the umask and the file size limit of their own, and
 * fail to exec; the parent's handler, umask and limit stay its own; with a SIGCHLD handler that
 * reaps them, their statuses still reach the parent. Then the parent
 * moves into DIR (under the library it joins the pool) and opens and
 * closes data there: its children still share its memory, run programs
 * that find DIR as their cwd (pwd, cat of a relative name), run prog.sh
 * by a relative name, read data by a relative name before their exec,
 * make a pipe before it, and change directory, all without changing the
 * parent's cwd or its next descriptor number. Then a process with a
 * second thread, and the parent with data open: their vfork children
 * share their memory on the kernel ("kernel") and have memory of their
 * own under the library ("umfs"), and the parent's descriptor outlives a
 * child that closed it. Prints "vfork: ok", or a line per failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA "vfork data\n"

static const char *dir;
static int failures;
static volatile int mark;
static volatile sig_atomic_t parent_hits, child_hits;

static void fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("FAILED %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* The child's exit status, or -1. */
static int reap(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Everything readable from fd until its end, in buf. */
static void slurp(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
}

/* A vfork child whose stdout is a pipe runs what (0: /bin/echo, 1: prog.sh,
 * 2: reads data itself, 3: a missing program; from a parent in DIR:
 * 4: /bin/pwd, 5: cat of "data", 6: "./prog.sh", 7: reads "data" itself,
 * 8: a pipe of its own, then /bin/echo, 9: chdir("/"), then cat of DIR's
 * data by its full name); its output and status. */
static int run_piped(int what, char *out, size_t size)
{
	char prog[4096], data[4096], buf[64];
	int p[2], q[2], fd;
	ssize_t n;
	pid_t pid;

	path_of(prog, sizeof(prog), "prog.sh");
	path_of(data, sizeof(data), "data");
	if (pipe(p) != 0)
		return -1;
	pid = vfork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		switch (what) {
		case 0:
			execl("/bin/echo", "echo", "kernel program", (char *)NULL);
			break;
		case 1:
			execl(prog, "prog.sh", "arg", (char *)NULL);
			break;
		case 2:
			fd = open(data, O_RDONLY);
			n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
			_exit(n > 0 && write(1, buf, (size_t)n) == n ? 0 : 9);
		case 3:
			execl("/nonexistent/program", "program", (char *)NULL);
			_exit(errno == ENOENT ? 127 : 8);
		case 4:
			execl("/bin/pwd", "pwd", (char *)NULL);
			break;
		case 5:
			execl("/bin/cat", "cat", "data", (char *)NULL);
			break;
		case 6:
			execl("./prog.sh", "prog.sh", "rel", (char *)NULL);
			break;
		case 7:
			fd = open("data", O_RDONLY);
			n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
			_exit(n > 0 && write(1, buf, (size_t)n) == n ? 0 : 9);
		case 8:
			if (pipe(q) != 0)
				_exit(9);
			execl("/bin/echo", "echo", "kernel program", (char *)NULL);
			break;
		default:
			if (chdir("/") != 0)
				_exit(9);
			execl("/bin/cat", "cat", data, (char *)NULL);
			break;
		}
		_exit(126);
	}
	close(p[1]);
	slurp(p[0], out, size);
	return reap(pid);
}

static void expect_run(const char *what, int how, const char *out, int status)
{
	char got[256];
	int st = run_piped(how, got, sizeof(got));

	if (st != status || strcmp(got, out) != 0)
		fail(what, "status %d, output \"%s\" (expected %d, \"%s\")", st, got, status, out);
}

/* Whether a vfork child's store reaches this memory. */
static bool child_shares(void)
{
	pid_t pid;

	mark = 0;
	pid = vfork();
	if (pid == 0) {
		mark = 1;
		_exit(0);
	}
	if (reap(pid) != 0)
		fail("share", "the child did not exit 0");
	return mark == 1;
}

static void parent_handler(int sig)
{
	(void)sig;
	parent_hits++;
}

static void child_handler(int sig)
{
	(void)sig;
	child_hits++;
}

/* A child sets SIGUSR1's handler, the umask and the file size limit of
 * its own; the parent's stay. */
static void own_settings(void)
{
	struct sigaction sa;
	pid_t pid;

	signal(SIGUSR1, parent_handler);
	umask(022);
	pid = vfork();
	if (pid == 0) {
		signal(SIGUSR1, child_handler);
		raise(SIGUSR1);
		umask(077);
		setrlimit(RLIMIT_FSIZE, &(struct rlimit){ 1, 1 });
		_exit(child_hits == 1 ? 0 : 1);
	}
	if (reap(pid) != 0)
		fail("child's handler", "did not run in the child");
	if (sigaction(SIGUSR1, NULL, &sa) != 0 || sa.sa_handler != parent_handler)
		fail("parent's handler", "a query after the child does not name it");
	raise(SIGUSR1);
	if (parent_hits != 1)
		fail("parent's handler", "ran %d times for one signal", (int)parent_hits);
	/* the parent's umask is looked at as it makes a file (main) */
}

/* Children's statuses as a SIGCHLD handler reaps them (waitpid(-1)). */
static volatile pid_t reaped_pid[64];
static volatile int reaped_status[64], reaped_n;

static void chld_handler(int sig)
{
	int saved = errno, st;
	pid_t p;

	(void)sig;
	while (reaped_n < 64 && (p = waitpid(-1, &st, WNOHANG)) > 0) {
		reaped_pid[reaped_n] = p;
		reaped_status[reaped_n] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		reaped_n++;
	}
	errno = saved;
}

/* With a handler reaping every child, signals unblocked: each child's
 * status reaches the program, by the handler or its own wait, for
 * children that read a file of DIR before they exit. */
static void reaped_by_handler(void)
{
	char data[4096];

	path_of(data, sizeof(data), "data");
	signal(SIGCHLD, chld_handler);
	for (int i = 0; i < 10; i++) {
		int st = -1, w;
		pid_t pid = vfork();

		if (pid == 0) {
			char buf[64];
			int fd = open(data, O_RDONLY);

			_exit(fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)strlen(DATA) ? 4 : 9);
		}
		for (int t = 0; t < 5000 && st < 0; t++) {
			if (waitpid(pid, &w, WNOHANG) == pid)
				st = WIFEXITED(w) ? WEXITSTATUS(w) : -2;
			for (int k = 0; k < reaped_n && st < 0; k++)
				if (reaped_pid[k] == pid)
					st = reaped_status[k];
			if (st < 0)
				usleep(1000);
		}
		if (st != 4) {
			fail("SIGCHLD handler", "child %d's status %d (expected 4)", i, st);
			break;
		}
	}
	signal(SIGCHLD, SIG_DFL);
}

/* The lowest free descriptor number, as the kernel would hand it out. */
static int lowest_free(void)
{
	int fd = 0;

	while (fcntl(fd, F_GETFD) >= 0)
		fd++;
	return fd;
}

/* A vfork child that makes a pipe and exits: its status. */
static int child_makes_pipe(void)
{
	pid_t pid = vfork();

	if (pid == 0) {
		int q[2];

		_exit(pipe(q) == 0 ? 0 : 9);
	}
	return reap(pid);
}

/* The parent in DIR, with a file of it opened and closed: its children
 * share its memory and find DIR as their cwd; the parent's cwd and its
 * next descriptor number stay its own. */
static void in_dir(void)
{
	char cwd[4096], now[4096], want[4200];
	int fd, low;

	if (chdir(dir) != 0 || !getcwd(cwd, sizeof(cwd))) {
		fail("chdir", "%s: %s", dir, strerror(errno));
		return;
	}
	/* the library may keep the number of a file closed open for the next
	 * (parked): a child's pipe must not take it from the parent */
	low = lowest_free();
	fd = open("data", O_RDONLY);
	if (fd < 0 || close(fd) != 0)
		fail("open", "data in %s: %s", dir, strerror(errno));
	if (child_makes_pipe() != 0)
		fail("pipe", "a child's failed");
	fd = open("data", O_RDONLY);
	if (fd != low)
		fail("descriptor number", "open after a child's pipe gave %d (lowest free %d)", fd,
		     low);
	if (fd >= 0)
		close(fd);
	if (!child_shares())
		fail("share", "a child of a parent in %s has memory of its own", dir);
	snprintf(want, sizeof(want), "%s\n", cwd);
	expect_run("pwd in DIR", 4, want, 0);
	expect_run("cat of a relative name", 5, DATA, 0);
	expect_run("program by a relative name", 6, "prog rel\n", 3);
	expect_run("read of a relative name before exec", 7, DATA, 0);
	expect_run("a pipe before exec", 8, "kernel program\n", 0);
	expect_run("chdir before exec", 9, DATA, 0);
	for (int i = 0; i < 20; i++)
		expect_run("cat of a relative name again", 5, DATA, 0);
	if (!getcwd(now, sizeof(now)) || strcmp(now, cwd) != 0)
		fail("cwd", "the parent's is \"%s\" after its children (was \"%s\")", now, cwd);
	if (!child_shares())
		fail("share", "a child of a parent in %s has memory of its own, later", dir);
}

static void *idle_thread(void *arg)
{
	char c;

	return (void *)(long)read(*(int *)arg, &c, 1);
}

/* Until the kernel counts one thread in this process (an ended thread is
 * counted until it is reaped): /proc/self/task has two links and one per
 * thread. */
static void wait_one_thread(void)
{
	struct stat st;

	for (int i = 0; i < 2000; i++) {
		if (stat("/proc/self/task", &st) == 0 && st.st_nlink == 3)
			return;
		usleep(1000);
	}
	fail("thread", "the kernel still counts another thread after 2 s");
}

int main(int argc, char **argv)
{
	char path[4096], buf[64];
	bool umfs;
	pthread_t t;
	int fd, out, p[2];
	ssize_t n;
	struct stat st;
	pid_t pid;

	if (argc != 3 || (strcmp(argv[2], "kernel") && strcmp(argv[2], "umfs"))) {
		fprintf(stderr, "usage: shim_vfork DIR kernel|umfs\n");
		return 2;
	}
	dir = argv[1];
	umfs = strcmp(argv[2], "umfs") == 0;
	setvbuf(stdout, NULL, _IONBF, 0);

	/* nothing of DIR touched by the parent yet */
	if (!child_shares())
		fail("share", "a child of a parent that has not touched %s has memory of its own",
		     dir);
	expect_run("kernel program", 0, "kernel program\n", 0);
	expect_run("program in DIR", 1, "prog arg\n", 3);
	expect_run("read before exec", 2, DATA, 0);
	expect_run("missing program", 3, "", 127);
	for (int i = 0; i < 50; i++)
		expect_run("kernel program again", 0, "kernel program\n", 0);
	own_settings();
	reaped_by_handler();

	in_dir();

	/* a process with another thread (a fork, which is as untouched) */
	pid = fork();
	if (pid == 0) {
		if (pipe(p) != 0 || pthread_create(&t, NULL, idle_thread, &p[0]) != 0) {
			fail("thread", "cannot start one");
			_exit(1);
		}
		if (child_shares() == umfs)
			fail("share", "a child of a process with two threads %s",
			     umfs ? "shares its memory" : "has memory of its own");
		expect_run("program in DIR, two threads", 1, "prog arg\n", 3);
		if (write(p[1], "x", 1) != 1 || pthread_join(t, NULL) != 0)
			fail("thread", "cannot end it");
		/* glibc goes on saying two; once the kernel counts one, the
		 * library lets children share the memory again */
		wait_one_thread();
		if (!child_shares())
			fail("share", "a child of a process whose second thread ended has memory "
			     "of its own");
		expect_run("program in DIR, the thread ended", 1, "prog arg\n", 3);
		_exit(failures ? 1 : 0);
	}
	if (reap(pid) != 0)
		failures++;

	/* the parent's own file in DIR */
	path_of(path, sizeof(path), "data");
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		fail("open", "%s: %s", path, strerror(errno));
		return 1;
	}
	if (child_shares() == umfs)
		fail("share", "a child of a parent with a file open in %s %s", dir,
		     umfs ? "shares its memory" : "has memory of its own");
	expect_run("program in DIR, joined", 1, "prog arg\n", 3);
	pid = vfork();
	if (pid == 0) {
		close(fd);
		_exit(0);
	}
	if (reap(pid) != 0 || pread(fd, buf, sizeof(buf), 0) != (ssize_t)strlen(DATA))
		fail("descriptor", "the parent's is gone after its child closed it");
	path_of(path, sizeof(path), "created");
	out = open(path, O_CREAT | O_WRONLY, 0666);
	n = out < 0 ? -1 : write(out, DATA, strlen(DATA));
	if (n != (ssize_t)strlen(DATA))
		fail("file size limit", "a write of %zu bytes after a child's limit of 1 byte "
		     "wrote %zd (%s)", strlen(DATA), n, n < 0 ? strerror(errno) : "short");
	close(out);
	if (stat(path, &st) != 0 || (st.st_mode & 0777) != 0644)
		fail("umask", "a file made with 0666 under 022 (a child's 077 before) has %03o",
		     (unsigned)(st.st_mode & 0777));
	if (umask(022) != 022)
		fail("umask", "not the parent's 022 after a child's 077");
	close(fd);

	if (failures == 0)
		printf("vfork: ok\n");
	return failures ? 1 : 0;
}
