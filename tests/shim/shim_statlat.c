/* SPDX-License-Identifier: MIT */
/*
 * shim_statlat.c - how long the longest of many stat calls took.
 *
 *   shim_statlat PATH SECS [create]
 *
 * stats PATH every 200 µs for SECS seconds and prints "N WORST_MS": the
 * number of calls and the longest one in milliseconds. Run beside a
 * process that makes one long change (longsteps.sh), it shows whether
 * that change holds the pool's metadata lock from start to end. With
 * "create", each call instead creates PATH (O_EXCL) and unlinks it again,
 * which under libumfs also takes the library's pool lock.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int one_call(const char *path, int create)
{
	struct stat st;
	int fd;

	if (!create)
		return stat(path, &st);
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return unlink(path);
}

int main(int argc, char **argv)
{
	double end, worst = 0, t;
	long n = 0;
	int create = argc == 4 && strcmp(argv[3], "create") == 0;

	if (argc != 3 && !create) {
		fprintf(stderr, "usage: %s PATH SECS [create]\n", argv[0]);
		return 2;
	}
	end = now_ms() + atof(argv[2]) * 1e3;
	while (now_ms() < end) {
		t = now_ms();
		if (one_call(argv[1], create) != 0) {
			perror(argv[1]);
			return 1;
		}
		t = now_ms() - t;
		if (t > worst)
			worst = t;
		n++;
		usleep(200);
	}
	printf("%ld %.0f\n", n, worst);
	return 0;
}
