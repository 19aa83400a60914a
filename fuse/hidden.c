/* SPDX-License-Identifier: MIT */
/*
 * hidden.c - files unlinked while open.
 *
 * libfuse's high-level API needs a path for every request on a node, and the
 * kernel sends fstat, fchmod, fchown and futimens by node, without the file
 * handle. When an open file loses its name (unlink, or rename over it),
 * libfuse therefore "hides" it instead: it renames it to
 * ".fuse_hiddenXXXXXXXXYYYYYYYY" in the same directory, keeps serving the
 * node under that path, and unlinks the hidden name at the last close.
 *
 * A real hidden name would show in listings, keep the directory from being
 * removed, and survive a crash as garbage. The core does not need it: it
 * keeps an unlinked file alive while it is open (and frees it at the next
 * mount after a crash). So the hiding rename is done virtually: the daemon
 * takes an O_PATH handle on the file, unlinks it in the pool, and answers
 * requests for the hidden path through that handle until libfuse unlinks the
 * hidden name.
 *
 * A rename is taken for libfuse's hiding when the target is a name of that
 * exact form in the same directory and the file is open through this mount;
 * libfuse hides nothing else. (A user renaming an open file to such a name
 * would see it vanish as if removed: these names are libfuse's.)
 *
 * The same module counts open handles per inode, for that test.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "umfs_fuse.h"

#define HIDDEN_PREFIX ".fuse_hidden"
#define HIDDEN_HEX 16
#define OPEN_BUCKETS 256

struct hidden {
	struct hidden *next;
	char name[sizeof(HIDDEN_PREFIX) + HIDDEN_HEX];
	struct umfs_file *file; /* O_PATH: keeps the inode alive */
};

struct open_count {
	struct open_count *next;
	uint64_t ino;
	unsigned long n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hidden *hidden_list;
static struct open_count *open_counts[OPEN_BUCKETS];

static struct open_count **open_slot(uint64_t ino)
{
	struct open_count **p = &open_counts[(ino * 0x9E3779B97F4A7C15ull) >> 56];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

/* Counts an open handle; returns its inode number. */
uint64_t uf_open_count_get(struct umfs_file *f)
{
	struct open_count **p, *c;
	uint64_t ino;
	uint32_t gen;

	umfs_file_id(f, &ino, &gen);
	pthread_mutex_lock(&lock);
	p = open_slot(ino);
	if (!*p) {
		c = calloc(1, sizeof(*c));
		if (c) {
			c->ino = ino;
			*p = c;
		}
	}
	if (*p)
		(*p)->n++;
	pthread_mutex_unlock(&lock);
	return ino;
}

void uf_open_count_put(uint64_t ino)
{
	struct open_count **p, *c;

	if (!ino)
		return;
	pthread_mutex_lock(&lock);
	p = open_slot(ino);
	c = *p;
	if (c && --c->n == 0) {
		*p = c->next;
		free(c);
	}
	pthread_mutex_unlock(&lock);
}

static bool is_open(uint64_t ino)
{
	bool open;

	pthread_mutex_lock(&lock);
	open = *open_slot(ino) != NULL;
	pthread_mutex_unlock(&lock);
	return open;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool is_hidden_name(const char *name)
{
	size_t plen = sizeof(HIDDEN_PREFIX) - 1;

	if (strncmp(name, HIDDEN_PREFIX, plen) != 0 || strlen(name) != plen + HIDDEN_HEX)
		return false;
	for (name += plen; *name; name++)
		if (!((*name >= '0' && *name <= '9') || (*name >= 'a' && *name <= 'f')))
			return false;
	return true;
}

static bool same_dir(const char *a, const char *b)
{
	size_t la = (size_t)(base_of(a) - a), lb = (size_t)(base_of(b) - b);

	return la == lb && memcmp(a, b, la) == 0;
}

/* Called with lock held, for a path whose last name is_hidden_name(). */
static struct hidden **hidden_find(const char *path)
{
	const char *name = base_of(path);
	struct hidden **p;

	for (p = &hidden_list; *p; p = &(*p)->next)
		if (strcmp((*p)->name, name) == 0)
			return p;
	return NULL;
}

/* rename(from, to): returns 1 when it is not libfuse hiding an open file,
 * else the result of hiding it. */
int uf_hidden_rename(const char *from, const char *to, unsigned int flags)
{
	struct umfs_file *f;
	struct hidden *h;
	struct stat st;
	int err;

	if (flags || !is_hidden_name(base_of(to)) || !same_dir(from, to))
		return 1;
	err = umfs_open(uf_fs(), from, O_PATH | O_NOFOLLOW, 0, &f);
	if (err)
		return 1; /* let the real rename report it */
	if (umfs_fstat(f, &st) || S_ISDIR(st.st_mode) || !is_open(st.st_ino)) {
		umfs_close(f);
		return 1;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		umfs_close(f);
		return -ENOMEM;
	}
	err = umfs_unlink(uf_fs(), from);
	if (err) {
		umfs_close(f);
		free(h);
		return err;
	}
	strcpy(h->name, base_of(to));
	h->file = f;
	pthread_mutex_lock(&lock);
	h->next = hidden_list;
	hidden_list = h;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* unlink(path): returns 1 unless path is a hidden file, which goes now. */
int uf_hidden_unlink(const char *path)
{
	struct hidden **p, *h = NULL;

	if (!is_hidden_name(base_of(path)))
		return 1;
	pthread_mutex_lock(&lock);
	p = hidden_find(path);
	if (p) {
		h = *p;
		*p = h->next;
	}
	pthread_mutex_unlock(&lock);
	if (!h)
		return 1;
	umfs_close(h->file); /* the core frees the inode if this was its last user */
	free(h);
	return 0;
}

/* Runs an attribute operation on the hidden file path names; returns 1 if
 * path is not one. */
int uf_hidden_attr(const char *path, const struct uf_hidden_op *op)
{
	struct hidden **p;
	int err = 1;

	if (!path || !is_hidden_name(base_of(path)))
		return 1; /* the common case: no lock taken */
	pthread_mutex_lock(&lock);
	p = hidden_find(path);
	if (p) {
		struct umfs_file *f = (*p)->file;

		switch (op->kind) {
		case UF_HIDDEN_STAT:
			err = umfs_fstat(f, op->st);
			/* libfuse takes one link off for the hidden name,
			 * which does not exist in the pool */
			if (!err && op->st->st_nlink > 0)
				op->st->st_nlink++;
			break;
		case UF_HIDDEN_CHMOD:
			err = umfs_fchmod(f, op->mode);
			break;
		case UF_HIDDEN_CHOWN:
			err = umfs_fchown(f, op->uid, op->gid);
			break;
		case UF_HIDDEN_UTIMENS:
			err = umfs_futimens(f, op->tv);
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return err;
}

/* At unmount: libfuse unlinks what it hid, this catches what it could not
 * (a hidden file whose directory was removed has no path left). */
void uf_hidden_release_all(void)
{
	pthread_mutex_lock(&lock);
	while (hidden_list) {
		struct hidden *h = hidden_list;

		hidden_list = h->next;
		umfs_close(h->file);
		free(h);
	}
	pthread_mutex_unlock(&lock);
}
