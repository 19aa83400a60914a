/* SPDX-License-Identifier: MIT */
/* test_backend.c - the backend seam: which backend a pool gets, and that
 * the core's calls reach the media only through fs->be. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include "backend.h"
#include "testutil.h"

static void restore_kmod_env(const char *saved)
{
	if (saved)
		setenv("UMFS_KMOD", saved, 1);
	else
		unsetenv("UMFS_KMOD");
}

/* A pool file is the software walk's whatever UMFS_KMOD says, except that
 * UMFS_KMOD=1 (the module or nothing) refuses it. */
static void pool_files_get_the_software_backend(void **state)
{
	static const char *const tries[] = { NULL, "0", "try", "bogus" };
	const char *saved = getenv("UMFS_KMOD");
	struct test_pool tp;
	struct umfs_pmem pm;
	struct umfs_fs *fs;

	(void)state;
	memset(&tp, 0, sizeof(tp));
	assert_int_equal(test_pool_make(&tp, "be-map", 16 << 20, 0), 0);
	assert_ptr_equal(tp.fs->be, &umfs_backend_soft);
	assert_int_equal(umfs_fs_kmod(tp.fs), 0);
	for (size_t i = 0; i < UMFS_ARRAY_SIZE(tries); i++) {
		restore_kmod_env(tries[i]);
		assert_int_equal(umfs_pmem_map(tp.path, 0, false, &pm), 0);
		assert_ptr_equal(pm.be, &umfs_backend_soft);
		assert_ptr_equal(umfs_backend_of(&pm), &umfs_backend_soft);
		umfs_pmem_unmap(&pm);
	}
	setenv("UMFS_KMOD", "1", 1);
	assert_int_equal(umfs_pmem_map(tp.path, 0, false, &pm), -ENOTBLK);
	assert_int_equal(umfs_mount(tp.path, 0, &fs), -ENOTBLK);
	assert_non_null(strstr(umfs_mount_error(), "module mode (UMFS_KMOD=1)"));
	restore_kmod_env(saved);
	/* mapped by other means: software */
	assert_int_equal(umfs_pmem_map_fd(umfs_fs_fd(tp.fs), false, &pm), 0);
	assert_null(pm.be);
	assert_ptr_equal(umfs_backend_of(&pm), &umfs_backend_soft);
	umfs_pmem_unmap(&pm);
	test_pool_destroy(&tp);
}

/* The software backend's ops, counted: a call the core makes around the
 * table does not count, and a count of 0 fails. */
enum { OP_ATTACH, OP_DETACH, OP_READ, OP_WRITE, OP_REVOKE, OP_ZEROED, OP_FREE, OP_CREATE,
       OP_RECLAIM, OP_MODE, OP_OWNER, OP_DIRPAGE, OP_COUNT };
static unsigned calls[OP_COUNT];

static void rec_attach(struct umfs_fs *fs, struct umfs_vnode *vn, uint64_t ino,
		       struct umfs_katt *a)
{
	calls[OP_ATTACH]++;
	umfs_backend_soft.file_attach(fs, vn, ino, a);
}

static void rec_detach(struct umfs_fs *fs, struct umfs_katt *a)
{
	calls[OP_DETACH]++;
	umfs_backend_soft.file_detach(fs, a);
}

static ssize_t rec_read(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, void *buf,
			size_t len, uint64_t off, bool *fresh, const struct umfs_out *out)
{
	calls[OP_READ]++;
	return umfs_backend_soft.file_read(fs, ino, a, buf, len, off, fresh, out);
}

static ssize_t rec_write(struct umfs_fs *fs, uint64_t ino, struct umfs_katt *a, const void *buf,
			 size_t len, uint64_t off)
{
	calls[OP_WRITE]++;
	return umfs_backend_soft.file_write(fs, ino, a, buf, len, off);
}

static void rec_revoke(struct umfs_fs *fs, uint64_t ino)
{
	calls[OP_REVOKE]++;
	umfs_backend_soft.file_revoke(fs, ino);
}

static int rec_zeroed(struct umfs_fs *fs, struct umfs_inode *in, uint64_t first, uint64_t last)
{
	calls[OP_ZEROED]++;
	return umfs_backend_soft.alloc_zeroed(fs, in, first, last);
}

static int rec_free(struct umfs_fs *fs, uint64_t ino, uint64_t first, uint64_t last)
{
	calls[OP_FREE]++;
	return umfs_backend_soft.free_pages(fs, ino, first, last);
}

static int rec_create(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
		      uint64_t parent, uint64_t *ino)
{
	calls[OP_CREATE]++;
	return umfs_backend_soft.inode_create(fs, mode, uid, gid, rdev, parent, ino);
}

static int rec_create_named(struct umfs_fs *fs, mode_t mode, uid_t uid, gid_t gid, dev_t rdev,
			    uint64_t parent, const char *name, size_t len, uint64_t *ino)
{
	calls[OP_CREATE]++;
	return umfs_backend_soft.inode_create_named(fs, mode, uid, gid, rdev, parent, name, len,
						    ino);
}

static int rec_reclaim(struct umfs_fs *fs, uint64_t ino, uint32_t gen)
{
	calls[OP_RECLAIM]++;
	return umfs_backend_soft.inode_reclaim(fs, ino, gen);
}

static int rec_mode(struct umfs_fs *fs, uint64_t ino, mode_t mode)
{
	calls[OP_MODE]++;
	return umfs_backend_soft.set_mode(fs, ino, mode);
}

static int rec_owner(struct umfs_fs *fs, uint64_t ino, uid_t uid, gid_t gid,
		     const struct umfs_ucred *c)
{
	calls[OP_OWNER]++;
	return umfs_backend_soft.set_owner(fs, ino, uid, gid, c);
}

static int rec_dir_page(struct umfs_fs *fs, struct umfs_inode *in, uint64_t pg, uint64_t *off)
{
	calls[OP_DIRPAGE]++;
	return umfs_backend_soft.tx_dir_page(fs, in, pg, off);
}

static void calls_reach_the_backend(void **state)
{
	struct umfs_backend_ops rec = umfs_backend_soft;
	static uint8_t data[3 * UMFS_PAGE_SIZE], back[sizeof(data)];
	struct test_pool tp;
	struct umfs_file *f;
	struct stat st;

	(void)state;
	rec.file_attach = rec_attach;
	rec.file_detach = rec_detach;
	rec.file_read = rec_read;
	rec.file_write = rec_write;
	rec.file_revoke = rec_revoke;
	rec.alloc_zeroed = rec_zeroed;
	rec.free_pages = rec_free;
	rec.inode_create = rec_create;
	rec.inode_create_named = rec_create_named;
	rec.inode_reclaim = rec_reclaim;
	rec.set_mode = rec_mode;
	rec.set_owner = rec_owner;
	rec.tx_dir_page = rec_dir_page;
	memset(&tp, 0, sizeof(tp));
	memset(calls, 0, sizeof(calls));
	assert_int_equal(test_pool_make(&tp, "be-calls", 16 << 20, 0), 0);
	tp.fs->be = &rec;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);

	assert_int_equal(umfs_open(tp.fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	assert_int_equal(umfs_pwrite(f, data, sizeof(data), 0), (ssize_t)sizeof(data));
	assert_int_equal(umfs_pread(f, back, sizeof(back), 0), (ssize_t)sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
	/* a hole filled with zeros, then the last page freed */
	assert_int_equal(umfs_fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
					UMFS_PAGE_SIZE), 0);
	assert_int_equal(umfs_fallocate(f, 0, 0, UMFS_PAGE_SIZE), 0);
	assert_int_equal(umfs_ftruncate(f, 2 * UMFS_PAGE_SIZE), 0);
	memset(data, 0, UMFS_PAGE_SIZE);
	assert_int_equal(umfs_pread(f, back, sizeof(back), 0), 2 * UMFS_PAGE_SIZE);
	assert_memory_equal(back, data, 2 * UMFS_PAGE_SIZE);
	assert_int_equal(umfs_close(f), 0);

	assert_int_equal(umfs_chmod(tp.fs, "/f", 0600, 0), 0);
	assert_int_equal(umfs_chown(tp.fs, "/f", geteuid(), getegid(), 0), 0);
	assert_int_equal(umfs_stat(tp.fs, "/f", &st, 0), 0);
	assert_int_equal(st.st_mode, S_IFREG | 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(st.st_size, 2 * UMFS_PAGE_SIZE);
	assert_int_equal(umfs_mkdir(tp.fs, "/d", 0755), 0);
	assert_int_equal(umfs_unlink(tp.fs, "/f"), 0);
	assert_int_equal(umfs_stat(tp.fs, "/f", &st, 0), -ENOENT);

	for (unsigned op = 0; op < OP_COUNT; op++)
		if (calls[op] == 0)
			fail_msg("op %u was never called through fs->be", op);
	test_pool_destroy(&tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pool_files_get_the_software_backend),
		cmocka_unit_test(calls_reach_the_backend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
