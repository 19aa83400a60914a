/* SPDX-License-Identifier: MIT */
/*
 * shim_clone.c - children started without fork(): _Fork, clone,
 * syscall(SYS_clone), syscall(SYS_clone3), syscall(SYS_fork), and a clone
 * made by an inline system call, which no library sees.
 *
 *   shim_clone DIR    for each way of starting a child and each way it
 *                     ends (exit, _exit, exec, a failed exec then _exit),
 *                     the parent's open file must outlive the child: after
 *                     the child is gone, another process removes the name
 *                     and fills the pool, and the parent reads its bytes
 *                     back. A child in a copy of the parent's memory also
 *                     holds the file itself: it reads it after the parent
 *                     closed it and the name went. Prints "clones: ok", or
 *                     a line per failure; the same on tmpfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATA "parent data\n"

enum action { A_EXIT, A_UEXIT, A_EXEC, A_BADEXEC, A_HOLD };
static const char *const action_name[] = { "exit", "_exit", "exec", "bad-exec", "hold" };

/* What the child does: its status says whether it did it. */
struct job {
	enum action act;
	int fd;   /* the parent's file */
	int wait; /* A_HOLD: read end of the pipe the parent writes once done */
};

static int child_run(struct job *j)
{
	char buf[64] = { 0 }, c;

	switch (j->act) {
	case A_EXIT:
		exit(0);
	case A_UEXIT:
		_exit(0);
	case A_EXEC:
		execl("/bin/true", "true", (char *)NULL);
		_exit(3);
	case A_BADEXEC:
		execl("/nonexistent/program", "program", (char *)NULL);
		_exit(errno == ENOENT ? 0 : 4);
	case A_HOLD:
		if (read(j->wait, &c, 1) != 1)
			_exit(5);
		_exit(pread(j->fd, buf, sizeof(buf) - 1, 0) == (ssize_t)strlen(DATA) &&
			      strcmp(buf, DATA) == 0
		      ? 0
		      : 6);
	}
	_exit(7);
}

static int clone_fn(void *arg)
{
	return child_run(arg);
}

/* A clone no library sees: the system call instruction itself. With a
 * stack, the child calls fn(arg) there and exits with its result; without
 * one it returns 0 here, as fork does. */
static long raw_clone(unsigned long flags, void *stack, int (*fn)(void *), void *arg)
{
	void **sp = stack;
	long ret;

	if (sp) {
		*--sp = arg;
		*--sp = (void *)fn;
	}
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "test %%rsi, %%rsi\n\t"
			 "jz 1f\n\t"
			 "pop %%rax\n\t"
			 "pop %%rdi\n\t"
			 "call *%%rax\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov $60, %%eax\n\t"
			 "syscall\n\t"
			 "1:\n\t"
			 : "=a"(ret)
			 : "0"((long)SYS_clone), "D"(flags), "S"(sp), "d"(0L)
			 : "rcx", "r11", "r8", "r9", "r10", "memory");
	return ret;
}

/* The kernel's struct clone_args, as its first version. */
struct clone3_head {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

enum how { H_FORK_, H_CLONE, H_CLONE_VM, H_SYS_CLONE, H_SYS_CLONE3, H_SYS_FORK, H_RAW, H_RAW_VM };
static const char *const how_name[] = { "_Fork", "clone", "clone-vm-vfork", "syscall-clone",
					"syscall-clone3", "syscall-fork", "raw-clone",
					"raw-clone-vm-vfork" };

static char stack_mem[256 * 1024] __attribute__((aligned(16)));

/* Starts a child that runs j: its pid, or -1. */
static pid_t start(enum how how, struct job *j)
{
	void *top = stack_mem + sizeof(stack_mem);
	struct clone3_head c3 = { .exit_signal = SIGCHLD };
	long pid = -1;

	switch (how) {
	case H_FORK_:
		pid = _Fork();
		break;
	case H_CLONE:
		return clone(clone_fn, top, SIGCHLD, j);
	case H_CLONE_VM:
		return clone(clone_fn, top, CLONE_VM | CLONE_VFORK | SIGCHLD, j);
	case H_SYS_CLONE:
		pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		break;
	case H_SYS_CLONE3:
		pid = syscall(SYS_clone3, &c3, sizeof(c3));
		break;
	case H_SYS_FORK:
		pid = syscall(SYS_fork);
		break;
	case H_RAW:
		pid = raw_clone(SIGCHLD, NULL, NULL, NULL);
		break;
	case H_RAW_VM:
		return (pid_t)raw_clone(CLONE_VM | CLONE_VFORK | SIGCHLD, top, clone_fn, j);
	}
	if (pid == 0)
		child_run(j);
	return (pid_t)pid;
}

/* Another process removes the name and fills the space it held. */
static void take_away(const char *file)
{
	char cmd[3 * 4096];

	snprintf(cmd, sizeof(cmd), "rm -f '%s' && head -c 4194304 /dev/urandom >'%s.fill'", file,
		 file);
	if (system(cmd) != 0)
		fprintf(stderr, "shim_clone: %s failed\n", cmd);
}

static int one(const char *dir, enum how how, enum action act)
{
	char file[4096], buf[64] = { 0 }, fill[4200];
	struct job j = { .act = act, .wait = -1 };
	int fd, p[2] = { -1, -1 }, st = -1, ok;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/%s.%s", dir, how_name[how], action_name[act]);
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, DATA, strlen(DATA)) != (ssize_t)strlen(DATA) ||
	    (act == A_HOLD && pipe(p) != 0)) {
		printf("clones: %s %s: setup: %s\n", how_name[how], action_name[act],
		       strerror(errno));
		return 1;
	}
	j.fd = fd;
	j.wait = p[0];
	fflush(stdout);
	pid = start(how, &j);
	if (pid < 0) {
		printf("clones: %s %s: start: %s\n", how_name[how], action_name[act],
		       strerror(errno));
		return 1;
	}
	if (act == A_HOLD) {
		close(fd);
		take_away(file);
		ok = write(p[1], "x", 1) == 1 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		     WEXITSTATUS(st) == 0;
		close(p[0]);
		close(p[1]);
	} else {
		ok = waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
		take_away(file);
		ok = ok && pread(fd, buf, sizeof(buf) - 1, 0) == (ssize_t)strlen(DATA) &&
		     strcmp(buf, DATA) == 0 && pwrite(fd, "more", 4, 12) == 4 &&
		     pread(fd, buf, sizeof(buf) - 1, 0) == 16 && memcmp(buf + 12, "more", 4) == 0;
		close(fd);
	}
	snprintf(fill, sizeof(fill), "%s.fill", file);
	unlink(fill);
	if (!ok)
		printf("clones: %s %s: status %#x, the parent read \"%.16s\" (%s)\n",
		       how_name[how], action_name[act], st, buf, strerror(errno));
	return !ok;
}

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: shim_clone DIR\n");
		return 2;
	}
	for (int how = H_FORK_; how <= H_RAW_VM; how++) {
		bool vm = how == H_CLONE_VM || how == H_RAW_VM;

		for (int act = A_EXIT; act <= A_HOLD; act++) {
			/* exit() in our memory would run our exit handlers;
			 * a child the library does not see holds nothing of
			 * its own, nor does one in our memory */
			if ((vm && (act == A_EXIT || act == A_HOLD)) ||
			    (how == H_RAW && act == A_HOLD))
				continue;
			bad += one(argv[1], (enum how)how, (enum action)act);
		}
	}
	if (!bad)
		printf("clones: ok\n");
	return bad != 0;
}
