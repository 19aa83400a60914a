/* SPDX-License-Identifier: MIT */
/*
 * shim_statlat.c - how long the longest of many stat calls took.
 *
 *   shim_statlat PATH SECS
 *
 * stats PATH every 200 µs for SECS seconds and prints "N WORST_MS": the
 * number of calls and the longest one in milliseconds. Run beside a
 * process that makes one long change (longsteps.sh), it shows whether
 * that change holds the pool's metadata lock from start to end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	double end, worst = 0, t;
	struct stat st;
	long n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PATH SECS\n", argv[0]);
		return 2;
	}
	end = now_ms() + atof(argv[2]) * 1e3;
	while (now_ms() < end) {
		t = now_ms();
		if (stat(argv[1], &st) != 0) {
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
