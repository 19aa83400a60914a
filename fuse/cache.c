/* SPDX-License-Identifier: MIT */
/*
 * cache.c - keeping the kernel's attribute cache correct with hard links.
 *
 * The pool is mounted exclusively, so the kernel sees every change, and its
 * caches (names, attributes, pages) stay right for the attribute timeout
 * (-o attr_timeout, 1 s by default)... as long as one pool inode is one
 * kernel inode. libfuse's high-level API breaks that for hard links: each
 * name gets its own node id, hence its own kernel inode, and a change made
 * through one name (a write, ln, rm) leaves the other names' cached size,
 * link count and pages stale until their timeout runs out.
 *
 * So the first time the daemon reports a non-directory with more than one
 * link, it turns attribute caching off for the rest of the mount: libfuse
 * reads the timeout from its configuration whenever it builds a reply, and
 * with a timeout of 0 the kernel asks again before it uses attributes, and
 * drops cached pages when the size or mtime changed (auto_inval_data). Pools
 * without hard links keep the cache. Attributes cached before the switch
 * belong to files with one name, which only their own kernel inode changes;
 * the one exception, the source of a new link, is invalidated by link().
 */
#include <stdatomic.h>
#include <stdio.h>

#include "umfs_fuse.h"

static struct fuse_config *uf_cfg;
static atomic_bool links_seen;

void uf_cache_init(struct fuse_config *cfg)
{
	uf_cfg = cfg;
}

/* Called with every stat that goes back to the kernel. */
void uf_cache_note(const struct stat *st)
{
	if (S_ISDIR(st->st_mode) || st->st_nlink <= 1 ||
	    atomic_load_explicit(&links_seen, memory_order_relaxed))
		return;
	if (atomic_exchange(&links_seen, true))
		return;
	/* A plain store into libfuse's configuration: replies built
	 * concurrently may still carry the old timeout, which is right for
	 * the single-link files they describe. */
	uf_cfg->attr_timeout = 0;
	if (uf_cfg->debug)
		fprintf(stderr, "umfs-fuse: a file has hard links: attribute caching off\n");
}

/* After link(): the source name's kernel inode still holds the link count
 * from before, and nothing else would refresh it before its timeout. */
void uf_cache_linked(const char *from)
{
	fuse_invalidate_path(fuse_get_context()->fuse, from); /* -ENOENT: not cached */
}
