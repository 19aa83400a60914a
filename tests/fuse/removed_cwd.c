/* SPDX-License-Identifier: MIT */
/*
 * removed_cwd DIR - what a program sees of a directory or file that was
 * removed while it still held it without opening it: its current
 * directory (removed by itself, by another process), an O_PATH
 * descriptor. Prints one line a step; test_gaps.sh runs it on tmpfs and
 * on a umfs-fuse mount, and the transcripts must be the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(const char *what, long r)
{
	printf("%-22s %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

/* What a removed directory, the current one, still allows. */
static void probe_cwd(const char *tag)
{
	char buf[4096], what[64];
	struct stat st;
	int d = open(".", O_RDONLY | O_DIRECTORY);

	snprintf(what, sizeof(what), "%s open .", tag);
	say(what, d);
	if (d >= 0) {
		snprintf(what, sizeof(what), "%s fstat", tag);
		say(what, fstat(d, &st));
		printf("%-22s nlink %ju dir %d mode %o\n", tag, (uintmax_t)st.st_nlink,
		       S_ISDIR(st.st_mode), (unsigned)(st.st_mode & 07777));
		snprintf(what, sizeof(what), "%s getdents", tag);
		say(what, syscall(SYS_getdents64, d, buf, sizeof(buf)));
		close(d);
	}
	snprintf(what, sizeof(what), "%s stat .", tag);
	say(what, stat(".", &st));
	snprintf(what, sizeof(what), "%s create", tag);
	say(what, open("new", O_CREAT | O_WRONLY, 0600));
	snprintf(what, sizeof(what), "%s chdir ..", tag);
	say(what, chdir(".."));
}

int main(int argc, char **argv)
{
	struct stat st;
	int status, fd;
	pid_t pid;

	if (argc != 2 || chdir(argv[1]))
		return 2;
	umask(022);
	/* removed by this process, after chdir into it */
	say("mkdir self", mkdir("self", 0750));
	say("chdir self", chdir("self"));
	say("rmdir ../self", rmdir("../self"));
	probe_cwd("self");
	/* removed by another process */
	say("mkdir other", mkdir("other", 0750));
	say("chdir other", chdir("other"));
	pid = fork();
	if (pid == 0)
		_exit(rmdir("../other") ? 1 : 0);
	waitpid(pid, &status, 0);
	printf("%-22s %d\n", "child rmdir", WEXITSTATUS(status));
	probe_cwd("other");
	/* a file held by an O_PATH descriptor only */
	fd = open("f", O_CREAT | O_WRONLY, 0640);
	say("write f", write(fd, "12345", 5));
	close(fd);
	fd = open("f", O_PATH);
	say("unlink f", unlink("f"));
	say("opath fstat", fstat(fd, &st));
	printf("%-22s nlink %ju size %jd mode %o\n", "opath", (uintmax_t)st.st_nlink,
	       (intmax_t)st.st_size, (unsigned)(st.st_mode & 07777));
	close(fd);
	return 0;
}
