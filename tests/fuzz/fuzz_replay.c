/* SPDX-License-Identifier: MIT */
/*
 * fuzz_replay.c - replays fuzzing inputs through the harness's entry point
 * without libFuzzer, so the corpus (every crash found included) is a
 * regression test of the gcc build.
 *   fuzz_replay [-v] FILE|DIR...
 * A property violation aborts, as under the fuzzer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_target.h"

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	if (fsck_fuzz_verbose)
		fprintf(stderr, "### %s (%ld bytes)\n", path, len);
	fsck_fuzz_one(buf, (size_t)len);
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned *n)
{
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, cap = 0;
	int bad = 0;
	DIR *d = opendir(dir);

	if (!d) {
		perror(dir);
		return 1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[count] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		sprintf(names[count++], "%s/%s", dir, e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), cmp);
	for (size_t i = 0; i < count; i++) {
		bad |= replay_file(names[i]);
		(*n)++;
		free(names[i]);
	}
	free(names);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (!strcmp(argv[i], "-v")) {
			fsck_fuzz_verbose = 1;
			continue;
		}
		if (stat(argv[i], &st)) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			bad |= replay_dir(argv[i], &n);
		} else {
			bad |= replay_file(argv[i]);
			n++;
		}
	}
	printf("replayed %u inputs: all properties held\n", n);
	return bad;
}
