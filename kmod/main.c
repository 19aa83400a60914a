// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - the UMFS module: /dev/umfs, its file operations and ioctls.
 * docs/kmod.md describes the mechanism; include/umfs_kmod.h the ABI.
 */
#include <linux/capability.h>
#include <linux/dax.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "umfs_km.h"

static int umfs_km_open(struct inode *inode, struct file *file)
{
	struct umfs_km_ctx *ctx;
	int err;

	if (!current->mm)
		return -EINVAL;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	ctx->mm = current->mm;
	mmgrab(ctx->mm);
	ctx->kmn = umfs_km_mn_get(ctx->mm);
	if (IS_ERR(ctx->kmn)) {
		err = PTR_ERR(ctx->kmn);
		goto err_drop_mm;
	}
	file->private_data = ctx;
	return 0;

err_drop_mm:
	mmdrop(ctx->mm);
	kfree(ctx);
	return err;
}

/* Runs after the last vma of this file is gone (each held the file). */
static int umfs_km_release(struct inode *inode, struct file *file)
{
	struct umfs_km_ctx *ctx = file->private_data;

	umfs_km_mn_put(ctx->kmn);
	mmdrop(ctx->mm);
	kfree(ctx);
	return 0;
}

static long umfs_km_ioctl_mount(void __user *arg)
{
	struct umfs_kmod_mount req;
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	err = umfs_km_pool_mount(&req);
	if (err)
		return err;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long umfs_km_ioctl_attach(struct file *file, void __user *arg)
{
	struct umfs_kmod_attach req;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	err = umfs_km_attach(file, file->private_data, &req);
	if (err)
		return err;
	if (copy_to_user(arg, &req, sizeof(req))) {
		umfs_km_detach(file->private_data, req.addr);
		return -EFAULT;
	}
	return 0;
}

static long umfs_km_ioctl_detach(struct file *file, void __user *arg)
{
	struct umfs_kmod_detach req;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return -EINVAL;
	return umfs_km_detach(file->private_data, req.addr);
}

/* Root, or the owner of the inode (who could chmod it). */
static int umfs_km_revoke_allowed(u64 ino)
{
	struct umfs_inode in;
	int err = -ENODEV;

	if (capable(CAP_SYS_ADMIN))
		return 0;
	down_read(&umfs_km_pool_rwsem);
	if (umfs_km_pool)
		err = umfs_km_inode_get(umfs_km_pool, ino, &in);
	up_read(&umfs_km_pool_rwsem);
	if (err)
		return err == -ENOENT ? -EPERM : err;
	return umfs_km_is_owner(&in) ? 0 : -EPERM;
}

static long umfs_km_ioctl_revoke(void __user *arg)
{
	struct umfs_kmod_revoke req;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	err = umfs_km_revoke_allowed(req.ino);
	if (!err)
		err = umfs_km_revoke(req.ino, &req.revoked);
	if (err)
		return err;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

/* The metadata calls: a request in, the same request with its answers out. */
static long umfs_km_ioctl_meta(unsigned int cmd, void __user *arg)
{
	union {
		struct umfs_kmod_extend extend;
		struct umfs_kmod_setattr setattr;
		struct umfs_kmod_free free;
		struct umfs_kmod_exchange exchange;
		struct umfs_kmod_create create;
		struct umfs_kmod_release release;
		struct umfs_kmod_ulog ulog;
	} req;
	size_t size = _IOC_SIZE(cmd);
	int err;

	if (size > sizeof(req))
		return -ENOTTY;
	if (copy_from_user(&req, arg, size))
		return -EFAULT;
	switch (cmd) {
	case UMFS_KMOD_IOC_EXTEND:
		err = umfs_km_extend(&req.extend);
		break;
	case UMFS_KMOD_IOC_SETATTR:
		err = umfs_km_setattr(&req.setattr);
		break;
	case UMFS_KMOD_IOC_FREE:
		err = umfs_km_free(&req.free);
		break;
	case UMFS_KMOD_IOC_EXCHANGE:
		err = umfs_km_exchange(&req.exchange);
		break;
	case UMFS_KMOD_IOC_CREATE:
		err = umfs_km_create(&req.create);
		break;
	case UMFS_KMOD_IOC_RELEASE:
		err = umfs_km_inode_release(&req.release);
		break;
	default:
		err = umfs_km_ulog(&req.ulog);
		break;
	}
	if (err)
		return err;
	return copy_to_user(arg, &req, size) ? -EFAULT : 0;
}

static long umfs_km_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct umfs_kmod_stats st;

	switch (cmd) {
	case UMFS_KMOD_IOC_MOUNT:
		return umfs_km_ioctl_mount(uarg);
	case UMFS_KMOD_IOC_UNMOUNT:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		return umfs_km_pool_unmount();
	case UMFS_KMOD_IOC_ATTACH:
		return umfs_km_ioctl_attach(file, uarg);
	case UMFS_KMOD_IOC_DETACH:
		return umfs_km_ioctl_detach(file, uarg);
	case UMFS_KMOD_IOC_REVOKE:
		return umfs_km_ioctl_revoke(uarg);
	case UMFS_KMOD_IOC_EXTEND:
	case UMFS_KMOD_IOC_SETATTR:
	case UMFS_KMOD_IOC_FREE:
	case UMFS_KMOD_IOC_EXCHANGE:
	case UMFS_KMOD_IOC_CREATE:
	case UMFS_KMOD_IOC_RELEASE:
	case UMFS_KMOD_IOC_ULOG:
		return umfs_km_ioctl_meta(cmd, uarg);
	case UMFS_KMOD_IOC_STATS:
		umfs_km_stats_fill(&st);
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations umfs_km_fops = {
	.owner = THIS_MODULE,
	.open = umfs_km_open,
	.release = umfs_km_release,
	.unlocked_ioctl = umfs_km_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = umfs_km_mmap,
	.get_unmapped_area = umfs_km_get_unmapped_area,
	.llseek = noop_llseek,
};

static struct miscdevice umfs_km_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = UMFS_KM_NAME,
	.fops = &umfs_km_fops,
	.mode = 0666, /* ATTACH checks each file's own permissions */
};

static int __init umfs_km_init(void)
{
	umfs_km_crc32c_init();
	if (umfs_crc32c(0, "123456789", 9) != 0xE3069283u) {
		pr_err(UMFS_KM_NAME ": CRC-32C self-test failed\n");
		return -EINVAL;
	}
	return misc_register(&umfs_km_misc);
}

static void __exit umfs_km_exit(void)
{
	misc_deregister(&umfs_km_misc);
	umfs_km_mn_sync();
	/* no file is open, so no attachment exists: release the pool */
	if (umfs_km_pool) {
		umfs_km_pool_free(umfs_km_pool);
		umfs_km_pool = NULL;
	}
}

module_init(umfs_km_init);
module_exit(umfs_km_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("UMFS: per-file page tables spliced into processes");
