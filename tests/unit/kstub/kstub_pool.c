// SPDX-License-Identifier: MIT
/*
 * kstub_pool.c - compiled like the module (kstub.h): the module globals and
 * callees kmod/ktx.c links against, and the bridge the test calls
 * (kstub_bridge.h). The pool is set up by the module's own umfs_km_tx_setup.
 * The build renames the module's umfs_crc32c (kstub_km_crc32c) so that the
 * test's user-space side uses the core's.
 */
#include "umfs_km.h"
#include "kstub_bridge.h"

struct umfs_km_pool *umfs_km_pool;
struct rw_semaphore umfs_km_pool_rwsem;
struct umfs_km_counters umfs_km_cnt;

void umfs_km_persist(void *addr, size_t len)
{
	(void)addr;
	(void)len;
}

int umfs_km_inode_get(const struct umfs_km_pool *p, u64 ino, struct umfs_inode *out)
{
	(void)p;
	(void)ino;
	(void)out;
	return -ENOENT;
}

void umfs_km_inode_set_root(struct umfs_inode *in, u64 root, unsigned int height)
{
	(void)in;
	(void)root;
	(void)height;
}

bool umfs_km_is_owner(const struct umfs_inode *in)
{
	(void)in;
	return false;
}

int umfs_km_perm_dir_write(const struct umfs_inode *dir)
{
	(void)dir;
	return -EACCES;
}

int umfs_km_perm_check(const struct umfs_inode *in, bool want_write)
{
	(void)in;
	(void)want_write;
	return -EACCES;
}

int kstub_tx_recover(void *base, const struct umfs_superblock *sb, uint64_t *restored)
{
	struct umfs_km_pool p;
	u64 n = 0;
	int err;

	umfs_km_crc32c_init();
	memset(&p, 0, sizeof(p));
	p.kaddr = base;
	p.pool_size = sb->pool_size;
	p.inode_off = sb->inode_off;
	p.state_off = sb->state_off;
	umfs_km_tx_setup(&p, sb);
	err = umfs_km_tx_recover(&p, &n);
	*restored = n;
	return err;
}

uint32_t kstub_inode_csum(const struct umfs_inode *in)
{
	umfs_km_crc32c_init();
	return umfs_inode_id_csum(in);
}

uint32_t kstub_crc32c(uint32_t crc, const void *buf, uint64_t len)
{
	umfs_km_crc32c_init();
	return umfs_crc32c(crc, buf, len);
}
