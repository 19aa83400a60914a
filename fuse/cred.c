/* SPDX-License-Identifier: MIT */
/*
 * cred.c - the caller's credentials for the core's permission checks.
 *
 * The daemon runs as one user (usually root) but serves requests from many.
 * Before an operation that checks permissions, creates an inode or may drop
 * set-user-ID and set-group-ID bits (a write, a fallocate: by whether the
 * writer is root or in the file's group), the serving thread hands the
 * caller's ids to the core, so that new files get the caller's owner and
 * group and the core decides as the kernel would. The ids stay with the
 * thread until its next such request: an operation that skips this (read,
 * fsync, release...) must not depend on them.
 */
#include <time.h>

#include "umfs_fuse.h"

/* The core consults at most this many supplementary groups (core/cred.h). */
#define UF_MAX_GROUPS 256

/* Reading a caller's groups costs a trip through /proc (fuse_req_getgroups), as
 * much as the request itself. Each serving thread remembers the groups of
 * its last few callers (thread ids) for a second: requests come in runs
 * from the threads of one process, which a single entry would take in
 * turn and read again each time (4 threads of another user stat-ing
 * files: 16,072-18,488 a second with one entry, 29,688-31,056 with eight,
 * as root 27,920). A process that drops groups may keep them here for
 * that second; the kernel has checked the request with its current
 * groups first (default_permissions). */
#define UF_GROUPS_TTL_NS 1000000000LL
#define UF_GROUPS_KEPT 8

struct uf_groups {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int ngroups;
	long long expires; /* 0: never filled */
	gid_t groups[UF_MAX_GROUPS];
};

static __thread struct uf_groups kept[UF_GROUPS_KEPT];
static __thread unsigned kept_next; /* the entry to fill next, round robin */

/* The caller's groups, as kept or read now. */
static const struct uf_groups *groups_of(fuse_req_t req, const struct fuse_ctx *ctx)
{
	long long now = uf_clock_ns(CLOCK_MONOTONIC_COARSE);
	struct uf_groups *g;
	int n;

	for (unsigned i = 0; i < UF_GROUPS_KEPT; i++) {
		g = &kept[i];
		if (g->pid == ctx->pid && g->uid == ctx->uid && g->gid == ctx->gid &&
		    now < g->expires)
			return g;
	}
	g = &kept[kept_next++ % UF_GROUPS_KEPT];
	n = fuse_req_getgroups(req, UF_MAX_GROUPS, g->groups);
	if (n < 0)
		n = 0; /* the caller is gone or the kernel cannot say: primary group only */
	g->ngroups = n < UF_MAX_GROUPS ? n : UF_MAX_GROUPS;
	g->pid = ctx->pid;
	g->uid = ctx->uid;
	g->gid = ctx->gid;
	g->expires = now + UF_GROUPS_TTL_NS;
	return g;
}

void uf_cred_enter(fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct umfs_cred cred = { .uid = ctx->uid, .gid = ctx->gid };
	const struct uf_groups *g;

	/* Root passes every check where groups matter. */
	if (ctx->uid == 0) {
		umfs_cred_set_thread(&cred);
		return;
	}
	g = groups_of(req, ctx);
	cred.ngroups = g->ngroups;
	cred.groups = g->groups;
	umfs_cred_set_thread(&cred); /* the core copies the struct and the groups */
}

/* For a request the kernel has already authorized and the core would refuse
 * for want of ownership (see uf_chmod). */
void uf_cred_root(void)
{
	const struct umfs_cred root = { .uid = 0, .gid = 0 };

	umfs_cred_set_thread(&root);
}
