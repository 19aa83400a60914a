/* fallback_rights.c - sendmmsg with SCM_RIGHTS in some of its messages,
 * to a receiver started without the library (argv[2] "recv": the
 * program again, from an environment without LD_PRELOAD); the files are
 * f and g in the directory argv[1]. Then bad pointers: what errno each
 * sendmmsg gives, and how many messages it sent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSGS 4 /* what the receiver reads: 3, and 1 of a vector cut short */

/* Prints what it received once the sender printed its results ("end"). */
static int receive(int s)
{
	char end[8];

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (int m = 0; m < MSGS; m++) {
		char data[64], ctl[CMSG_SPACE(4 * sizeof(int))], buf[64];
		struct iovec iov = { data, sizeof(data) - 1 };
		struct msghdr h = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(s, &h, 0);
		struct cmsghdr *c;

		if (n < 0)
			return 1;
		data[n] = '\0';
		printf("message %d: %s\n", m, data);
		for (c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)), *fds = (int *)CMSG_DATA(c);

			for (int i = 0; i < k; i++) {
				ssize_t r = read(fds[i], buf, sizeof(buf) - 1);

				buf[r > 0 ? r : 0] = '\0';
				buf[strcspn(buf, "\n")] = '\0';
				printf("  descriptor %d reads: %s\n", i, r < 0 ? strerror(errno) : buf);
				if (r > 0) /* the sender's offset again, shared or not */
					lseek(fds[i], -r, SEEK_CUR);
				if (i == 0 && r >= 0 && pwrite(fds[i], "W", 1, 0) != 1)
					printf("  write: %s\n", strerror(errno));
				close(fds[i]);
			}
		}
	}
	return recv(s, end, sizeof(end), 0) == 3 ? 0 : 1;
}

static void set_rights(struct mmsghdr *m, char *ctl, const int *fds, int n)
{
	struct cmsghdr *c;

	m->msg_hdr.msg_control = ctl;
	m->msg_hdr.msg_controllen = CMSG_SPACE(n * sizeof(int));
	c = CMSG_FIRSTHDR(&m->msg_hdr);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
}

static void report(const char *what, int r)
{
	printf("%s: %d %s\n", what, r, r < 0 ? strerror(errno) : "");
}

int main(int argc, char **argv)
{
	static char *text[] = { "no rights", "f", "g and f", "f, then a bad one" };
	char ctl[3][CMSG_SPACE(4 * sizeof(int))], path[4096];
	struct iovec iov[4];
	struct mmsghdr m[4];
	int sv[2], f, g, st;
	pid_t pid;

	if (argc > 2)
		return receive(3);
	if (chdir(argv[1]) < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		return 1;
	f = open("f", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	g = open("g", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0 || g < 0 || write(f, "0123456789abcdef\n", 17) != 17 ||
	    write(g, "ghijklmn\n", 9) != 9)
		return 1;
	lseek(f, 6, SEEK_SET);
	lseek(g, 2, SEEK_SET);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], argv[1], "recv", NULL };

		dup2(sv[1], 3);
		unsetenv("LD_PRELOAD");
		snprintf(path, sizeof(path), "/proc/self/exe");
		execv(path, args);
		_exit(127);
	}
	close(sv[1]);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < 4; i++) {
		iov[i] = (struct iovec){ text[i], strlen(text[i]) };
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	set_rights(&m[1], ctl[1], (int[]){ f }, 1);
	set_rights(&m[2], ctl[2], (int[]){ g, f }, 2);
	report("sendmmsg, 3 messages", sendmmsg(sv[0], m, 3, 0));
	/* bad pointers: the kernel's EFAULT, or the messages before it */
	report("sendmmsg, bad vector", sendmmsg(sv[0], (struct mmsghdr *)8, 2, 0));
	m[0].msg_hdr.msg_control = (void *)8;
	m[0].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(int));
	report("sendmmsg, bad control first", sendmmsg(sv[0], m, 1, 0));
	set_rights(&m[0], ctl[0], (int[]){ f }, 1);
	iov[0] = iov[3];
	m[1].msg_hdr.msg_control = (void *)8;
	report("sendmmsg, bad control second", sendmmsg(sv[0], m, 2, 0));
	m[1].msg_hdr.msg_control = ctl[1];
	m[1].msg_hdr.msg_iov = (struct iovec *)8;
	report("sendmmsg, bad iovec second", sendmmsg(sv[0], &m[1], 1, 0));
	fflush(stdout);
	if (send(sv[0], "end", 3, 0) != 3)
		return 1;
	waitpid(pid, &st, 0);
	lseek(f, 0, SEEK_SET);
	{
		char buf[32] = "";
		ssize_t n = read(f, buf, sizeof(buf) - 1);

		printf("f after the receiver wrote: %.*s", (int)(n > 0 ? n : 0), buf);
	}
	return WEXITSTATUS(st);
}
