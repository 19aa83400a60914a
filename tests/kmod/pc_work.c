/*
 * pc_work - the guest side of the power-cut test (tests/kmod/powercut.sh).
 * An ordinary POSIX program: the guest runs it under the shim (umfs-run), or
 * in the module's mode, so that what it checks is what applications get.
 *
 *   pc_work work ROUND DIR [TTY]       operate on DIR/rROUND-* until killed
 *   pc_work verify EXPECT DIR          check DIR against EXPECT
 *   pc_work replay ROUND NOPS DIR      the first NOPS operations of round
 *                                      ROUND again, quietly, in DIR (any file
 *                                      system): what the files should hold,
 *                                      to compare a damaged pool with
 *
 * work keeps a copy of every file in memory and prints, around each
 * operation,
 *   UMFS-PC BEGIN name state... END   the states a power cut may leave
 *   UMFS-PC ACK name state END        the state once the call returned
 * A state is the file's FNV-1a 64 hash in hex, or "absent". With TTY (the
 * serial console) the lines go straight to it, and each BEGIN is drained
 * (tcdrain) before the operation starts: a line still in a pipe or a tty
 * buffer when the power goes would leave the host expecting an old state
 * of a file the operation already changed. An ACK that reached the host was
 * printed after the operation (and its fsync) returned.
 *
 * verify reads lines "name state..." (the host keeps the last BEGIN or ACK
 * of each file) and checks that each file is in one of its states.
 *
 * One "file" of each round, rROUND-names, is a directory that gains and
 * loses long names (creates take its pages, through the module's EXTEND in
 * module mode): its state is the FNV-1a hash of its sorted listing.
 * Another, rROUND-far, is written and shrunk just around 512 GiB, where a
 * write grows its tree from 3 levels to 4 and a shrink takes it back: its
 * state is the hash of its bytes from FAR_BASE to its end (below, holes).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define NFILES 12
#define MAXCHUNK (192 * 1024)
#define MAXFILE (4 * 1024 * 1024) /* appends stop growing a file here */
#define MAXNAMES 4096                /* names in the directory of a round */
#define FAR_BASE ((512ull << 30) - (128 << 10)) /* rROUND-far's bytes start here */
#define FAR_SPAN (256 << 10)                     /* where its writes start */
#define FAR_CHUNK (64 << 10)                     /* its largest write */

struct mirror {
	bool exists;
	size_t len;
	unsigned char *data; /* MAXFILE + MAXCHUNK bytes */
};

static void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	fputs("pc_work: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(1);
}

static uint64_t fnv1a(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void state_of(const struct mirror *m, char out[20])
{
	if (!m->exists)
		strcpy(out, "absent");
	else
		snprintf(out, 20, "%016" PRIx64, fnv1a(m->data, m->len));
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A listing's state: the hash of its names, sorted, each ending in '\n'. */
static void listing_state(char **names, size_t n, char out[20])
{
	uint64_t h = 0xcbf29ce484222325ull;
	char **v = malloc((n + 1) * sizeof(*v));

	memcpy(v, names, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_name);
	for (size_t i = 0; i < n; i++)
		for (const unsigned char *p = (const unsigned char *)v[i];; p++) {
			h = (h ^ (*p ? *p : '\n')) * 0x100000001b3ull;
			if (!*p)
				break;
		}
	free(v);
	snprintf(out, 20, "%016" PRIx64, h);
}

static int tty_fd = -1; /* the console, or -1: stdout */

/* One line, in one write() so that other writers to the console cannot
 * split it; drained to the host when asked. */
static void say(bool drain, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (tty_fd < 0) {
		fputs(line, stdout);
		fflush(stdout);
		return;
	}
	if (write(tty_fd, line, (size_t)n) != n)
		die("write to the console");
	if (drain && isatty(tty_fd) && tcdrain(tty_fd) < 0) /* replay writes to /dev/null */
		die("tcdrain");
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the seed, no libc state */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void write_all(int fd, const void *buf, size_t len, off_t off, bool append)
{
	/* one call: the failure atomicity under test is per write() */
	ssize_t n = append ? write(fd, buf, len) : pwrite(fd, buf, len, off);

	if (n < 0 || (size_t)n != len)
		die("write of %zu bytes returned %zd", len, n);
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0 || fsync(fd) < 0)
		die("fsync %s", dir);
	close(fd);
}

/* One change to the round's directory: a new name (40 to 219 bytes), or
 * one in four times the removal of one. */
static void names_op(long round, const char *ndir, char **names, size_t *n, unsigned long *seq)
{
	char before[20], after[20], path[4400];
	bool drop = *n && (rnd() % 4 == 0 || *n == MAXNAMES);
	int fd;

	listing_state(names, *n, before);
	if (drop) {
		size_t k = rnd() % *n;
		char *gone = names[k];

		names[k] = names[--*n];
		listing_state(names, *n, after);
		say(true, "UMFS-PC BEGIN r%ld-names %s %s END\n", round, before, after);
		snprintf(path, sizeof(path), "%s/%s", ndir, gone);
		if (unlink(path) < 0)
			die("unlink %s", path);
		free(gone);
	} else {
		size_t len = 40 + rnd() % 180;
		char *name = malloc(len + 1);
		int p = snprintf(name, len + 1, "%06lu-", (*seq)++);

		while ((size_t)p < len)
			name[p++] = "abcdefghijklmnopqrstuvwxyz0123456789"[rnd() % 36];
		name[len] = '\0';
		names[(*n)++] = name;
		listing_state(names, *n, after);
		say(true, "UMFS-PC BEGIN r%ld-names %s %s END\n", round, before, after);
		snprintf(path, sizeof(path), "%s/%s", ndir, name);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			die("create %s", path);
		close(fd);
	}
	sync_dir(ndir);
	say(false, "UMFS-PC ACK r%ld-names %s END\n", round, after);
}

/* One change to the round's far file: a write of up to 64 KiB at FAR_BASE
 * plus up to 256 KiB (across 512 GiB: the tree of 3 levels grows a fourth),
 * or one time in three a shrink within its bytes there (back to 3 levels).
 * Its mirror holds the bytes from FAR_BASE on. */
static void far_op(long round, const char *dir, struct mirror *f, const unsigned char *chunk,
		   size_t len)
{
	char path[4200], before[20], empty[20], after[20];
	bool shrink = f->exists && rnd() % 3 == 0, created = !f->exists;
	size_t off = (size_t)(rnd() % FAR_SPAN), to = f->exists ? (size_t)(rnd() % (f->len + 1)) : 0;
	int fd;

	state_of(f, before);
	f->exists = true;
	state_of(f, empty); /* a cut create leaves the file empty */
	if (shrink) {
		memset(f->data + to, 0, f->len - to); /* holes, if it grows again */
		f->len = to;
	} else {
		len = len < FAR_CHUNK ? len : FAR_CHUNK;
		memcpy(f->data + off, chunk, len);
		f->len = off + len > f->len ? off + len : f->len;
	}
	state_of(f, after);
	say(true, "UMFS-PC BEGIN r%ld-far %s %s %s END\n", round, before,
	    created ? empty : after, after);
	snprintf(path, sizeof(path), "%s/r%ld-far", dir, round);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		die("open %s", path);
	if (shrink && ftruncate(fd, (off_t)(FAR_BASE + to)) < 0)
		die("ftruncate %s", path);
	if (!shrink)
		write_all(fd, chunk, len, (off_t)(FAR_BASE + off), false);
	if (fsync(fd) < 0)
		die("fsync %s", path);
	close(fd);
	if (created)
		sync_dir(dir);
	say(false, "UMFS-PC ACK r%ld-far %s END\n", round, after);
}

static void work(long round, const char *dir, unsigned long limit)
{
	static unsigned char chunk[MAXCHUNK];
	struct mirror m[NFILES] = { 0 }, far = { 0 };
	char path[4096], tmp[4200], alt[3][20], ndir[4200];
	static char *names[MAXNAMES];
	unsigned long ops = 0, name_seq = 0;
	size_t nnames = 0;

	/* the round alone decides the sequence, so that replay can redo it */
	rng_state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)round << 32);
	for (int i = 0; i < NFILES; i++)
		if (!(m[i].data = malloc(MAXFILE + MAXCHUNK)))
			die("malloc");
	if (!(far.data = calloc(1, FAR_SPAN + FAR_CHUNK)))
		die("calloc");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die("mkdir %s", dir);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (limit) /* replay: nothing to tell */
		tty_fd = open("/dev/null", O_WRONLY);
	snprintf(ndir, sizeof(ndir), "%s/r%ld-names", dir, round);
	if (mkdir(ndir, 0755) < 0)
		die("mkdir %s", ndir);
	sync_dir(dir);
	say(true, "UMFS-PC WORKING\n");
	listing_state(names, 0, alt[0]);
	say(false, "UMFS-PC ACK r%ld-names %s END\n", round, alt[0]);

	while (!limit || ops < limit) {
		int i = (int)(rnd() % NFILES), op = (int)(rnd() % 9), fd;
		size_t len = (size_t)(rnd() % MAXCHUNK) + 1;
		struct mirror *f = &m[i];

		for (size_t k = 0; k < len; k += 8) {
			uint64_t v = rnd();
			memcpy(chunk + k, &v, len - k < 8 ? len - k : 8);
		}
		if (op == 8) {
			far_op(round, dir, &far, chunk, len);
			goto counted;
		}
		if (op >= 6) {
			names_op(round, ndir, names, &nnames, &name_seq);
			goto counted;
		}
		snprintf(path, sizeof(path), "%s/r%ld-%d", dir, round, i);
		if (!f->exists && op >= 2)
			op = 0;
		if ((op == 2 || op == 3) && f->len + len > MAXFILE)
			op = 0; /* keeps every file within the mirror's buffer */
		state_of(f, alt[0]);

		switch (op) {
		case 0: /* truncate and rewrite: old, empty or new */
			f->len = 0;
			f->exists = true;
			state_of(f, alt[1]);
			memcpy(f->data, chunk, len);
			f->len = len;
			state_of(f, alt[2]);
			say(true, "UMFS-PC BEGIN r%ld-%d %s %s %s END\n", round, i, alt[0], alt[1], alt[2]);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				die("open %s", path);
			write_all(fd, chunk, len, 0, false);
			if (fsync(fd) < 0)
				die("fsync %s", path);
			close(fd);
			break;
		case 1: /* a new file renamed over the old one: old or new */
			memcpy(f->data, chunk, len);
			f->len = len;
			f->exists = true;
			state_of(f, alt[1]);
			say(true, "UMFS-PC BEGIN r%ld-%d %s %s END\n", round, i, alt[0], alt[1]);
			snprintf(tmp, sizeof(tmp), "%s.tmp", path);
			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				die("open %s", tmp);
			write_all(fd, chunk, len, 0, false);
			if (fsync(fd) < 0)
				die("fsync %s", tmp);
			close(fd);
			if (rename(tmp, path) < 0)
				die("rename %s", tmp);
			sync_dir(dir);
			break;
		case 2: /* append in one write: old or new */
			memcpy(f->data + f->len, chunk, len);
			f->len += len;
			state_of(f, alt[1]);
			say(true, "UMFS-PC BEGIN r%ld-%d %s %s END\n", round, i, alt[0], alt[1]);
			fd = open(path, O_WRONLY | O_APPEND);
			if (fd < 0)
				die("open %s", path);
			write_all(fd, chunk, len, 0, true);
			if (fsync(fd) < 0)
				die("fsync %s", path);
			close(fd);
			break;
		case 3: { /* overwrite in one write, maybe past EOF: old or new */
			size_t off = (size_t)(rnd() % (f->len + 1));

			memcpy(f->data + off, chunk, len);
			if (off + len > f->len)
				f->len = off + len;
			state_of(f, alt[1]);
			say(true, "UMFS-PC BEGIN r%ld-%d %s %s END\n", round, i, alt[0], alt[1]);
			fd = open(path, O_WRONLY);
			if (fd < 0)
				die("open %s", path);
			write_all(fd, chunk, len, (off_t)off, false);
			if (fsync(fd) < 0)
				die("fsync %s", path);
			close(fd);
			break;
		}
		case 4: /* unlink: old or absent */
			say(true, "UMFS-PC BEGIN r%ld-%d %s absent END\n", round, i, alt[0]);
			if (unlink(path) < 0)
				die("unlink %s", path);
			sync_dir(dir);
			f->exists = false;
			f->len = 0;
			break;
		case 5: { /* shrink (ftruncate): old or new; in module mode the
			   * module frees the tail (FREE) after the size is published */
			size_t to = (size_t)(rnd() % (f->len + 1));

			f->len = to;
			state_of(f, alt[1]);
			say(true, "UMFS-PC BEGIN r%ld-%d %s %s END\n", round, i, alt[0], alt[1]);
			fd = open(path, O_WRONLY);
			if (fd < 0)
				die("open %s", path);
			if (ftruncate(fd, (off_t)to) < 0)
				die("ftruncate %s", path);
			if (fsync(fd) < 0)
				die("fsync %s", path);
			close(fd);
			break;
		}
		}
		state_of(f, alt[0]);
		say(false, "UMFS-PC ACK r%ld-%d %s END\n", round, i, alt[0]);
counted:
		if (++ops % 100 == 0 && !limit)
			fprintf(stderr, "pc_work: %lu operations\n", ops);
	}
}

/* The state of directory path: listing_state() of its names. */
static void dir_state(const char *path, char out[20])
{
	static char *names[MAXNAMES];
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir(path);

	if (!d)
		die("opendir %s", path);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == MAXNAMES)
			die("%s: more than %d names", path, MAXNAMES);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	listing_state(names, n, out);
	while (n)
		free(names[--n]);
}

static int verify(const char *expect, const char *dir)
{
	FILE *in = fopen(expect, "r");
	char line[512], path[4096], got[20];
	unsigned long n = 0, bad = 0;
	struct mirror f = { 0 };

	if (!in)
		die("open %s", expect);
	if (!(f.data = malloc(MAXFILE + MAXCHUNK)))
		die("malloc");
	while (fgets(line, sizeof(line), in)) {
		char *name = strtok(line, " \n"), *s;
		bool ok = false;
		int fd;

		if (!name)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (strstr(name, "-names")) {
			dir_state(path, got);
			f.len = 0;
			goto judge;
		}
		fd = open(path, O_RDONLY);
		f.exists = fd >= 0;
		f.len = 0;
		if (fd < 0 && errno != ENOENT)
			die("open %s", path);
		if (fd >= 0) {
			/* a far file's bytes from FAR_BASE (its state's) */
			off_t at = strstr(name, "-far") ? (off_t)FAR_BASE : 0;
			ssize_t r;

			while ((r = pread(fd, f.data + f.len, MAXFILE + MAXCHUNK - f.len,
					  at + (off_t)f.len)) > 0)
				f.len += (size_t)r;
			if (r < 0)
				die("read %s", path);
			close(fd);
		}
		state_of(&f, got);
judge:
		while ((s = strtok(NULL, " \n")))
			ok |= strcmp(s, got) == 0;
		if (!ok) {
			printf("pc_work: %s is %s (%zu bytes), not in its expected states\n",
			       name, got, f.len);
			bad++;
		}
		n++;
	}
	fclose(in);
	printf("UMFS-PC VERIFIED %lu files, %lu wrong\n", n, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "work") == 0) {
		if (argc == 5 && (tty_fd = open(argv[4], O_WRONLY | O_NOCTTY)) < 0)
			die("open %s", argv[4]);
		work(strtol(argv[2], NULL, 10), argv[3], 0);
	}
	if (argc == 5 && strcmp(argv[1], "replay") == 0) {
		work(strtol(argv[2], NULL, 10), argv[4], strtoul(argv[3], NULL, 10));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "verify") == 0)
		return verify(argv[2], argv[3]);
	fprintf(stderr, "usage: pc_work work ROUND DIR | verify EXPECT DIR | replay ROUND NOPS DIR\n");
	return 2;
}
