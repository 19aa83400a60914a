/* SPDX-License-Identifier: MIT */
/*
 * nodetab.c - the kernel's lookup count of each node, and the removed
 * inodes kept alive for it.
 *
 * Every reply that hands the kernel a node (lookup, create, mkdir, mknod,
 * symlink, link, each readdirplus entry but "." and "..") counts one
 * lookup; FORGET takes back what it says. A node id names its inode by
 * itself (nodeid.c), so the counts serve one purpose: a file or directory
 * removed through the mount while the kernel still holds its inode (a
 * current directory, an O_PATH descriptor) stays open here until the
 * kernel forgets it, so that open("."), fstat and the permission checks
 * on it succeed as on a local file system. The core frees it at that
 * last close (or at the next mount after a crash, as any orphan).
 *
 * The daemon also counts the kernel's opens of a node. The kernel drops a
 * removed inode that nothing else holds, and sends its forget, when it
 * has the answer to the removal, or to the release of its last open file.
 * Until that forget is served the node's space is not free, so a statfs
 * waits for the forgets due when it came (releases.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "umfs_fuse.h"

struct uf_node {
	struct uf_node *next;
	fuse_ino_t node;
	uint64_t nlookup;
	struct umfs_file *held; /* removed, kept until forgotten */
	uint32_t opens;	/* the kernel's open files of it */
	bool due;	/* removed and not open: its forget is coming */
	struct uf_node *due_next;
	uint64_t due_seq;
	long long due_at; /* CLOCK_MONOTONIC ns */
};

/* A forget due comes within microseconds of the answer that made it due,
 * unless the kernel keeps the inode for something else (a current
 * directory, an O_PATH descriptor): then no forget comes, and after this
 * long nothing waits for it. Long beside microseconds: on a loaded machine
 * the worker that reads the forget may wait a hundred milliseconds for a
 * core, and a statfs that stopped waiting then would count the space of a
 * file already gone; the wait is paid only by a statfs that comes this
 * soon after such a removal. */
#define UF_FORGET_DUE_NS (1000 * 1000000LL)

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct uf_node **buckets;
static size_t nbuckets, nnodes;
static uint64_t underflows; /* forgets of lookups never counted: a bug */
static struct uf_node *due_list; /* the nodes due, newest first */
static uint64_t due_seq;	  /* of the latest made due */

/* A removed node the kernel has no open file of: it drops the inode as
 * soon as nothing else holds it, and its forget is coming. */
static void due_mark(struct uf_node *e)
{
	if (e->held && !e->opens && !e->due) {
		e->due = true;
		e->due_seq = ++due_seq;
		e->due_at = uf_clock_ns(CLOCK_MONOTONIC);
		e->due_next = due_list;
		due_list = e;
	}
}

static void due_clear(struct uf_node *e)
{
	struct uf_node **p;

	if (!e->due)
		return;
	for (p = &due_list; *p && *p != e; p = &(*p)->due_next)
		;
	if (*p)
		*p = e->due_next;
	e->due = false;
}

static size_t slot_of(fuse_ino_t node, size_t n)
{
	uint64_t h = (uint64_t)node * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (n - 1);
}

/* Doubles the table once it holds as many nodes as buckets; a failed
 * allocation leaves longer chains, not an error. */
static void grow(void)
{
	size_t n = nbuckets ? nbuckets * 2 : 1024;
	struct uf_node **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (size_t i = 0; i < nbuckets; i++) {
		struct uf_node *e = buckets[i], *next;

		for (; e; e = next) {
			size_t s = slot_of(e->node, n);

			next = e->next;
			e->next = nb[s];
			nb[s] = e;
		}
	}
	free(buckets);
	buckets = nb;
	nbuckets = n;
}

static struct uf_node **find(fuse_ino_t node)
{
	struct uf_node **p;

	if (!nbuckets)
		return NULL;
	for (p = &buckets[slot_of(node, nbuckets)]; *p; p = &(*p)->next)
		if ((*p)->node == node)
			return p;
	return NULL;
}

int uf_nodes_add(fuse_ino_t node, uint64_t n)
{
	struct uf_node **p, *e;
	int err = 0;

	if (!node || !n)
		return 0;
	pthread_mutex_lock(&tab_lock);
	p = find(node);
	if (p) {
		(*p)->nlookup += n;
	} else {
		if (nnodes >= nbuckets)
			grow();
		e = calloc(1, sizeof(*e));
		if (!e || !nbuckets) {
			free(e);
			err = -ENOMEM;
		} else {
			size_t s = slot_of(node, nbuckets);

			e->node = node;
			e->nlookup = n;
			e->next = buckets[s];
			buckets[s] = e;
			nnodes++;
		}
	}
	pthread_mutex_unlock(&tab_lock);
	return err;
}

void uf_nodes_forget(fuse_ino_t node, uint64_t n)
{
	struct uf_node **p, *e, *gone = NULL;

	pthread_mutex_lock(&tab_lock);
	p = find(node);
	if (!p || (*p)->nlookup < n) {
		underflows++;
		n = p ? (*p)->nlookup : 0;
	}
	if (p) {
		e = *p;
		e->nlookup -= n;
		if (e->nlookup) {
			due_clear(e);
		} else {
			*p = e->next;
			nnodes--;
			gone = e;
		}
	}
	pthread_mutex_unlock(&tab_lock);
	if (!gone)
		return;
	/* The last close frees the removed inode. The node stays due until
	 * then: a statfs waiting for it must count that space free. */
	if (gone->held)
		umfs_close(gone->held);
	pthread_mutex_lock(&tab_lock);
	due_clear(gone);
	pthread_mutex_unlock(&tab_lock);
	free(gone);
}

void uf_nodes_open(fuse_ino_t node, int delta)
{
	struct uf_node **p, *e;

	pthread_mutex_lock(&tab_lock);
	p = find(node);
	if (p) {
		e = *p;
		e->opens = delta < 0 && !e->opens ? 0 : e->opens + delta;
		due_mark(e);
	}
	pthread_mutex_unlock(&tab_lock);
}

uint64_t uf_nodes_due_now(void)
{
	uint64_t seq;

	pthread_mutex_lock(&tab_lock);
	seq = due_seq;
	pthread_mutex_unlock(&tab_lock);
	return seq;
}

bool uf_nodes_due_before(uint64_t seq)
{
	long long now = uf_clock_ns(CLOCK_MONOTONIC);
	struct uf_node **p = &due_list, *e;
	bool due = false;

	pthread_mutex_lock(&tab_lock);
	while ((e = *p)) {
		if (now - e->due_at >= UF_FORGET_DUE_NS) {
			*p = e->due_next; /* the kernel keeps it: no forget comes */
			e->due = false;
			continue;
		}
		due |= e->due_seq <= seq;
		p = &e->due_next;
	}
	pthread_mutex_unlock(&tab_lock);
	return due;
}

void uf_nodes_hold(fuse_ino_t node, struct umfs_file *f)
{
	struct uf_node **p;

	pthread_mutex_lock(&tab_lock);
	p = find(node);
	if (p && !(*p)->held) {
		(*p)->held = f;
		f = NULL;
		due_mark(*p); /* removed while not open: forgotten at once */
	}
	pthread_mutex_unlock(&tab_lock);
	if (f)
		umfs_close(f); /* the kernel holds no such node (or one holds it already) */
}

/* At the end: the kernel sends no FORGET at unmount, so what is left is
 * what it still had cached; the removed inodes held for it are closed now
 * (the core frees them before the pool is unmounted). Said on stderr with
 * -d, or when something was amiss: a removed inode still held (a program
 * kept it as its current directory through the unmount, or a count is
 * wrong), or a FORGET of more than was counted. */
void uf_nodes_release(bool report)
{
	uint64_t lookups = 0;
	size_t nodes, held = 0;

	pthread_mutex_lock(&tab_lock);
	nodes = nnodes;
	for (size_t i = 0; i < nbuckets; i++) {
		struct uf_node *e = buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			lookups += e->nlookup;
			if (e->held) {
				umfs_close(e->held);
				held++;
			}
			free(e);
		}
	}
	free(buckets);
	buckets = NULL;
	nbuckets = nnodes = 0;
	due_list = NULL;
	pthread_mutex_unlock(&tab_lock);
	if (report || underflows || held)
		fprintf(stderr,
			"umfs-fuse: nodes at unmount: %zu (%llu lookups, %zu removed and held); "
			"forgets of uncounted lookups: %llu\n",
			nodes, (unsigned long long)lookups, held, (unsigned long long)underflows);
}
