/* fallback_spawn.c - posix_spawn, posix_spawnp, system and popen starting
 * a static busybox (or a shell without the library) with descriptors of
 * the file f in the directory argv[1]; argv[2] is busybox. Prints what
 * the children read and wrote, and how many of the library's own
 * descriptors they hold; then three threads spawning at once; with a
 * third argument, what the kernel holds at the parent's descriptor 9 at
 * the end. */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static const char *bb;

static void run(const char *what, posix_spawn_file_actions_t *fa, const char *cmd, int search)
{
	char *argv[] = { "busybox", "sh", "-c", (char *)cmd, NULL };
	pid_t pid;
	int r, st;

	fflush(stdout);
	r = search ? posix_spawnp(&pid, "busybox", fa, NULL, argv, environ)
		   : posix_spawn(&pid, bb, fa, NULL, argv, environ);
	if (r) {
		printf("%s: spawn: %s\n", what, strerror(r));
		return;
	}
	waitpid(pid, &st, 0);
	printf("%s: exit %d\n", what, WEXITSTATUS(st));
}

/* One of three threads spawning at once (the third forking between its
 * spawns): each child reads descriptor 9 through the mount. */
static void *spawner(void *forking)
{
	char *argv[] = { "busybox", "sh", "-c", "cat <&9 >/dev/null || echo FAILED", NULL };

	for (int i = 0; i < 20; i++) {
		pid_t pid;
		int st;

		int r = posix_spawn(&pid, bb, NULL, NULL, argv, environ);

		if (r == 0)
			waitpid(pid, &st, 0);
		else
			printf("FAILED spawn: %s\n", strerror(r));
		if (forking && (pid = fork()) == 0)
			_exit(0);
		if (forking)
			waitpid(pid, &st, 0);
	}
	return NULL;
}

#define INTERNAL "for f in /proc/$$/fd/*; do readlink $f; done | grep -cE 'umfs-[0-9a-f]{32}-|/pool$'"

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	char buf[256], path[4096];
	int f, c, a;
	FILE *p;

	bb = argv[2];
	if (chdir(argv[1]) < 0)
		return 1;
	f = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (write(f, "0123456789abcdef\n", 17) != 17 || dup2(f, 9) != 9)
		return 1;
	close(f);
	lseek(9, 6, SEEK_SET);
	fflush(stdout);
	if (fork() == 0) { /* an exec, through the library's execve */
		execl(bb, "busybox", "sh", "-c", "echo exec internal: $(" INTERNAL ")", (char *)NULL);
		_exit(127);
	}
	wait(NULL);
	run("spawn, inherited", NULL, "cat <&9; echo internal: $(" INTERNAL ")", 0);
	lseek(9, 10, SEEK_SET);
	run("spawnp, inherited", NULL, "cat <&9", 1);
	c = open("f", O_RDONLY | O_CLOEXEC);
	lseek(c, 12, SEEK_SET);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, c, 5);
	snprintf(path, sizeof(path), "%s/f", argv[1]);
	posix_spawn_file_actions_addopen(&fa, 6, path, O_RDONLY, 0);
	run("spawn, dup2 of a close-on-exec one and an open", &fa,
	    "cat <&5; cat <&6; echo internal: $(" INTERNAL ")", 0);
	posix_spawn_file_actions_destroy(&fa);
	a = open("log", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (dup2(a, 8) != 8)
		return 1;
	close(a);
	if (write(8, "parent 1\n", 9) != 9)
		return 1;
	run("spawn, append", NULL, "echo spawned >&8", 0);
	if (write(8, "parent 2\n", 9) != 9)
		return 1;
	if (system("cat log") < 0)
		return 1;
	bb = "/nonexistent/busybox";
	run("spawn, missing image", NULL, "true", 0);
	/* a shell without the library: system and popen */
	unsetenv("LD_PRELOAD");
	lseek(9, 2, SEEK_SET);
	fflush(stdout);
	printf("system: %d\n", system("cat <&9; echo internal: $(" INTERNAL ")"));
	lseek(9, 4, SEEK_SET);
	p = popen("cat <&9", "r");
	while (p && fgets(buf, sizeof(buf), p))
		printf("popen read: %s", buf);
	printf("popen: %d\n", p ? pclose(p) : -1);
	if (pread(9, buf, 4, 0) != 4)
		return 1;
	printf("parent reads: %.4s\n", buf);
	{
		pthread_t t[3];

		fflush(stdout);
		for (int i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, spawner, i == 2 ? (void *)1 : NULL);
		for (int i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		printf("threads: 60 spawns\n");
	}
	if (argc > 3) { /* what the kernel holds at 9 now: the library's token again */
		snprintf(path, sizeof(path), "/proc/%d/fd/9", (int)getpid());
		fflush(stdout);
		if (fork() == 0) {
			execlp("readlink", "readlink", path, (char *)NULL);
			_exit(127);
		}
		wait(NULL);
	}
	return 0;
}
