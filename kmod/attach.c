// SPDX-License-Identifier: GPL-2.0
/*
 * attach.c - ATTACH and DETACH, and the vma that holds an attachment.
 *
 * ATTACH reserves the address range from inside the ioctl with vm_mmap() on
 * the caller's own /dev/umfs file (so the range is an ordinary vma that
 * munmap, exit and exec tear down), with a get_unmapped_area that returns
 * 1 GiB-aligned addresses. The mmap handler accepts only the mapping the
 * same task's ATTACH is making. Then, under mmap_lock, the PUD entries are
 * written (splice.c). The vma never gets a fault handler: a hole is SIGBUS
 * and the kernel allocates nothing for it.
 */
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/stat.h>

#include "umfs_km.h"

DEFINE_SPINLOCK(umfs_km_att_lock);
LIST_HEAD(umfs_km_all_atts);

void umfs_km_att_put(struct umfs_km_att *att)
{
	if (!refcount_dec_and_test(&att->refs))
		return;
	WARN_ON_ONCE(att->spliced || att->linked);
	umfs_km_promote_free(att); /* unspliced and flushed by now */
	mmdrop(att->mm);
	kfree(att->vals);
	kfree(att);
	atomic64_dec(&umfs_km_cnt.live);
}

/* vm_ops->open runs on copies (mremap's copy_vma duplicates the private
 * pointer): a copy is not the attachment. */
static void umfs_km_vm_open(struct vm_area_struct *vma)
{
	vma->vm_private_data = NULL;
}

/* Last step of munmap/exit: the notifier has already unspliced. */
static void umfs_km_vm_close(struct vm_area_struct *vma)
{
	struct umfs_km_att *att = vma->vm_private_data;

	if (!att)
		return;
	spin_lock(&umfs_km_att_lock);
	if (WARN_ON_ONCE(att->spliced) && umfs_km_unsplice_locked(att))
		umfs_km_tlb_flush_all();
	if (att->linked) {
		list_del(&att->mm_link);
		list_del(&att->all_link);
		att->linked = false;
	}
	spin_unlock(&umfs_km_att_lock);
	vma->vm_private_data = NULL;
	atomic64_inc(&umfs_km_cnt.detaches);
	umfs_km_att_put(att);
}

static int umfs_km_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int umfs_km_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

/* mprotect would walk into the shared tables before any notifier runs. */
static int umfs_km_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, unsigned long newflags)
{
	return -EACCES;
}

const struct vm_operations_struct umfs_km_vm_ops = {
	.open = umfs_km_vm_open,
	.close = umfs_km_vm_close,
	.may_split = umfs_km_vm_may_split,
	.mremap = umfs_km_vm_mremap,
	.mprotect = umfs_km_vm_mprotect,
};

unsigned long umfs_km_get_unmapped_area(struct file *file, unsigned long addr,
					unsigned long len, unsigned long pgoff,
					unsigned long flags)
{
	unsigned long a;

	if (umfs_km_is_poolmap(pgoff))
		return current->mm->get_unmapped_area(file, addr, len, 0, flags);
	if (len & (PUD_SIZE - 1))
		return -EINVAL;
	if (flags & MAP_FIXED)
		return (addr & (PUD_SIZE - 1)) ? -EINVAL : addr;
	if (len > TASK_SIZE - PUD_SIZE)
		return -ENOMEM;
	a = current->mm->get_unmapped_area(file, 0, len + PUD_SIZE, pgoff, flags);
	if (IS_ERR_VALUE(a))
		return a;
	return ALIGN(a, PUD_SIZE);
}

int umfs_km_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct umfs_km_ctx *ctx = file->private_data;
	struct umfs_km_att *att = READ_ONCE(ctx->pending);

	if (!att && umfs_km_is_poolmap(vma->vm_pgoff))
		return umfs_km_poolmap(vma);
	/* any other plain mmap() of /dev/umfs maps nothing */
	if (!att || att->owner != current || vma->vm_mm != att->mm || att->addr ||
	    (vma->vm_start & (PUD_SIZE - 1)) || vma->vm_pgoff ||
	    vma->vm_end - vma->vm_start != (unsigned long)att->nslots << PUD_SHIFT)
		return -EINVAL;
	vma->vm_flags |= VM_PFNMAP | VM_IO | VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
	if (!att->rw)
		vma->vm_flags &= ~VM_MAYWRITE;
	vma->vm_ops = &umfs_km_vm_ops;
	vma->vm_private_data = att;
	refcount_inc(&att->refs);
	att->addr = vma->vm_start;
	return 0;
}

/* Slots to reserve: what the file's tree covers, its size, what the caller
 * asks for to grow into; at least one. */
static int umfs_km_att_slots(const struct umfs_inode *in, const u64 *top, u64 reserve)
{
	u64 n = 1, want;
	int i;

	if (in->pt_root && in->pt_height == 3) {
		for (i = UMFS_PT_ENTRIES - 1; i >= 0; i--)
			if (READ_ONCE(top[i]))
				break;
		n = max_t(u64, n, i + 1);
	}
	want = max_t(u64, in->size, reserve);
	if (want > UMFS_MAX_FILE_SIZE_L3)
		return -EFBIG;
	n = max_t(u64, n, DIV_ROUND_UP_ULL(want, UMFS_KMOD_SLOT_SIZE));
	return (int)n;
}

/* Fills att->vals from the inode snapshot: the PUD entries to write. */
static int umfs_km_att_vals(const struct umfs_km_pool *p, const struct umfs_inode *in,
			    struct umfs_km_att *att)
{
	struct umfs_km_walk w = { .pool = p, .lo_base = p->phys };
	const u64 *top;
	unsigned int i;
	u64 e, off;
	int err;

	if (!in->pt_root)
		return 0; /* empty file: every access is SIGBUS */
	if (in->pt_height < 2)
		return umfs_km_promote(p, in, att);
	if (in->pt_height == 2) {
		att->vals[0] = (p->phys + in->pt_root) | UMFS_PTE_TABLE_FLAGS;
		return 0;
	}
	top = umfs_km_off_ptr(p, in->pt_root);
	for (i = 0; i < att->nslots; i++) {
		e = READ_ONCE(top[i]);
		if (!e)
			continue;
		if ((e & ~UMFS_PTE_ADDR_MASK) != UMFS_PTE_TABLE_FLAGS)
			return -EUCLEAN;
		err = umfs_km_entry_off(&w, e, &off);
		if (err)
			return err;
		/* rebuilt from the checked offset, never copied as found */
		att->vals[i] = (p->phys + off) | UMFS_PTE_TABLE_FLAGS;
	}
	return 0;
}

/* Reads and checks the inode, fills att; caller holds umfs_km_pool_rwsem. */
static int umfs_km_att_prepare(struct umfs_kmod_attach *req, struct umfs_km_att *att)
{
	struct umfs_km_pool *p = umfs_km_pool;
	struct umfs_inode in;
	unsigned int i;
	int err, n;

	if (!p)
		return -ENODEV;
	/* EXTEND changes root, height and checksum together under this lock */
	mutex_lock(&p->alloc_lock);
	err = umfs_km_inode_get(p, req->ino, &in);
	mutex_unlock(&p->alloc_lock);
	if (err == -ENOENT || (!err && in.generation != req->generation))
		return -ESTALE;
	if (err)
		return err;
	if (S_ISDIR(in.mode))
		return -EISDIR;
	if (!S_ISREG(in.mode))
		return -EINVAL;
	err = umfs_km_perm_check(&in, att->rw);
	if (err)
		return err;
	if (req->flags & UMFS_KMOD_ATTACH_VERIFY) {
		struct umfs_km_walk w = { .pool = p, .lo_base = p->phys };

		err = umfs_km_tree_walk(&w, &in);
		if (err)
			return err;
	}
	n = umfs_km_att_slots(&in, umfs_km_off_ptr(p, in.pt_root), req->reserve);
	if (n < 0)
		return n;
	if (n > UMFS_KMOD_MAX_SLOTS)
		return -EFBIG;
	att->nslots = n;
	att->vals = kcalloc(n, sizeof(u64), GFP_KERNEL);
	if (!att->vals)
		return -ENOMEM;
	err = umfs_km_att_vals(p, &in, att);
	if (err)
		return err;
	if (!att->rw) /* the hardware ANDs RW over the levels: this is the one place */
		for (i = 0; i < att->nslots; i++)
			att->vals[i] &= ~(u64)UMFS_PTE_RW;
	req->size = in.size;
	return 0;
}

int umfs_km_attach(struct file *file, struct umfs_km_ctx *ctx, struct umfs_kmod_attach *req)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct umfs_km_att *att;
	unsigned long addr, len;
	u32 acc = req->open_flags & O_ACCMODE;
	u64 seq;
	int err;

	if (req->flags & ~UMFS_KMOD_ATTACH_VERIFY || req->reserved0 ||
	    memchr_inv(req->reserved, 0, sizeof(req->reserved)) || acc == O_ACCMODE)
		return -EINVAL;
	if (mm != ctx->mm)
		return -EBADFD; /* inherited across fork: open /dev/umfs again */
	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return -ENOMEM;
	refcount_set(&att->refs, 1);
	att->ino = req->ino;
	att->generation = req->generation;
	att->rw = acc != O_RDONLY;
	att->mm = mm;
	mmgrab(mm);
	att->kmn = ctx->kmn;
	att->owner = current;
	atomic64_inc(&umfs_km_cnt.live);

	seq = READ_ONCE(umfs_km_revoke_seq);
	smp_rmb(); /* a REVOKE after this read makes the splice fail */
	down_read(&umfs_km_pool_rwsem);
	err = umfs_km_att_prepare(req, att);
	up_read(&umfs_km_pool_rwsem); /* live > 0 keeps UNMOUNT away from here on */
	if (err)
		goto out_put;
	len = (unsigned long)att->nslots << PUD_SHIFT;

	mutex_lock(&ctx->lock);
	WRITE_ONCE(ctx->pending, att);
	addr = vm_mmap(file, 0, len, PROT_READ | (att->rw ? PROT_WRITE : 0), MAP_SHARED, 0);
	WRITE_ONCE(ctx->pending, NULL);
	mutex_unlock(&ctx->lock);
	if (IS_ERR_VALUE(addr)) {
		err = (int)addr;
		if (att->addr) /* the handler ran but the vma was undone without close */
			umfs_km_att_put(att);
		goto out_put;
	}

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (!vma || vma->vm_start != addr || vma->vm_private_data != att)
		err = -EBUSY; /* another thread unmapped it already */
	else
		err = umfs_km_splice(att, seq);
	mmap_read_unlock(mm);
	if (err) {
		if (err != -EBUSY)
			vm_munmap(addr, len);
		goto out_put;
	}
	req->addr = addr;
	req->len = len;
	atomic64_inc(&umfs_km_cnt.attaches);
out_put:
	umfs_km_att_put(att);
	return err;
}

int umfs_km_detach(struct umfs_km_ctx *ctx, u64 addr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long len = 0;

	if (mm != ctx->mm)
		return -EBADFD;
	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (vma && vma->vm_start == addr && vma->vm_ops == &umfs_km_vm_ops &&
	    vma->vm_private_data)
		len = vma->vm_end - vma->vm_start;
	mmap_read_unlock(mm);
	if (!len)
		return -EINVAL;
	return vm_munmap(addr, len);
}
