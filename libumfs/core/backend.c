/* SPDX-License-Identifier: MIT */
/*
 * backend.c - the choice of backend, made once when the pool is mapped.
 *
 * Each backend in turn is asked to map the pool; the first that takes it
 * serves the mount (fs->be, set at attach). The module comes first: it
 * applies only when asked for (UMFS_KMOD) and to a pmem device it can
 * mount; the software walk takes anything else.
 */
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "umfs_tools.h"

static const struct umfs_backend_ops *const backends[] = {
	&umfs_backend_kmod,
	&umfs_backend_soft,
};

int umfs_pmem_map(const char *path, size_t create_size, bool rdonly, struct umfs_pmem *pm)
{
	bool done = false;
	int err = 0;

	for (size_t i = 0; i < UMFS_ARRAY_SIZE(backends) && !err && !done; i++) {
		memset(pm, 0, sizeof(*pm));
		pm->rdonly = rdonly;
		pm->fd = -1;
		err = backends[i]->pool_map(path, create_size, rdonly, pm, &done);
		if (!err && done)
			pm->be = backends[i];
	}
	return err || done ? err : -ENODEV;
}

const struct umfs_backend_ops *umfs_backend_of(const struct umfs_pmem *pm)
{
	return pm->be ? pm->be : &umfs_backend_soft;
}

void umfs_katt_init(struct umfs_katt *a, int flags)
{
	memset(a, 0, sizeof(*a));
	pthread_rwlock_init(&a->lock, NULL);
	a->flags = flags;
}
