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
	kvfree(att->vals);
	kfree(att->pudp);
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

/* Entry e of a table at level 3 or 4: 1 with *off the checked table it
 * names, 0 for a hole, -EUCLEAN for anything else. */
static int umfs_km_att_child(const struct umfs_km_pool *p, u64 e, unsigned int level, u64 *off)
{
	bool huge;

	if (!e)
		return 0;
	return umfs_km_child(p, e, level, off, &huge) || huge ? -EUCLEAN : 1;
}

/* Slots the level-`level` table t (3 or 4) covers up to its last level-2
 * table: one past that table's slot (1 GiB each). */
static long umfs_km_att_span(const struct umfs_km_pool *p, const u64 *t, unsigned int level)
{
	long per = 1l << umfs_pt_level_shift(level - 2), sub;
	u64 off;
	int i, k;

	for (i = UMFS_PT_ENTRIES - 1; i >= 0; i--) {
		k = umfs_km_att_child(p, READ_ONCE(t[i]), level, &off);
		if (k <= 0) {
			if (k < 0)
				return k;
			continue;
		}
		if (level == 3)
			return i + 1;
		sub = umfs_km_att_span(p, umfs_km_off_ptr(p, off), level - 1);
		return sub < 0 ? sub : i * per + sub;
	}
	return 0;
}

/* Slots to reserve: what the file's tree covers, its size, what the caller
 * asks for to grow into; at least one. A level-4 tree's level-2 tables lie
 * at slot 512 i + j (level-4 entry i, level-3 entry j). */
static long umfs_km_att_slots(const struct umfs_km_pool *p, const struct umfs_inode *in,
			      u64 reserve)
{
	long n = 1, span;
	u64 want;

	if (in->pt_root && in->pt_height >= 3) {
		span = umfs_km_att_span(p, umfs_km_off_ptr(p, in->pt_root), in->pt_height);
		if (span < 0)
			return span;
		n = max(n, span);
	}
	want = max_t(u64, in->size, reserve);
	if (want > umfs_max_file_size(&p->geom))
		return -EFBIG; /* past the pool's limit: 512 GiB, or 256 TiB with level 4 */
	return max_t(long, n, DIV_ROUND_UP_ULL(want, UMFS_KMOD_SLOT_SIZE));
}

/* PUD values of the level-2 tables under the level-`level` table t (3 or
 * 4), whose first slot is base: rebuilt from checked offsets, never copied
 * as found. */
static int umfs_km_att_fill(const struct umfs_km_pool *p, const u64 *t, unsigned int level,
			    u64 base, struct umfs_km_att *att)
{
	u64 per = 1ull << umfs_pt_level_shift(level - 2), off;
	unsigned int i;
	int k;

	for (i = 0; i < UMFS_PT_ENTRIES && base + i * per < att->nslots; i++) {
		k = umfs_km_att_child(p, READ_ONCE(t[i]), level, &off);
		if (k < 0)
			return k;
		if (!k)
			continue;
		if (level == 3)
			att->vals[base + i] = (p->phys + off) | UMFS_PTE_TABLE_FLAGS;
		else if ((k = umfs_km_att_fill(p, umfs_km_off_ptr(p, off), level - 1,
						base + i * per, att)))
			return k;
	}
	return 0;
}

/* Fills att->vals from the inode snapshot: the PUD entries to write. */
static int umfs_km_att_vals(const struct umfs_km_pool *p, const struct umfs_inode *in,
			    struct umfs_km_att *att)
{
	if (umfs_km_tree_empty(in))
		return 0; /* empty file: every access is SIGBUS */
	if (umfs_pt_top_level(in->pt_height) < 2)
		return umfs_km_promote(p, in, att); /* height 0, 1, an inline table */
	if (in->pt_height == 2) {
		att->vals[0] = (p->phys + in->pt_root) | UMFS_PTE_TABLE_FLAGS;
		return 0;
	}
	return umfs_km_att_fill(p, umfs_km_off_ptr(p, in->pt_root), in->pt_height, 0, att);
}

/* Reads and checks the inode, fills att; caller holds umfs_km_pool_rwsem. */
static int umfs_km_att_prepare(struct umfs_kmod_attach *req, struct umfs_km_att *att)
{
	struct umfs_km_pool *p = umfs_km_pool;
	struct umfs_inode in;
	unsigned int i;
	long n;
	int err;

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

		err = umfs_km_tree_walk(&w, req->ino, &in);
		if (err)
			return err;
	}
	n = umfs_km_att_slots(p, &in, req->reserve);
	if (n < 0)
		return (int)n;
	/* a range an mmap without a hint cannot place (128 TiB, with 4- or
	 * 5-level paging), with room to align it: that file is read in
	 * software */
	if (n > UMFS_KMOD_MAX_SLOTS || n > (long)(DEFAULT_MAP_WINDOW >> PUD_SHIFT) - 1)
		return -EFBIG;
	att->nslots = (unsigned int)n;
	att->vals = kvcalloc(n, sizeof(u64), GFP_KERNEL);
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

	seq = READ_ONCE(*umfs_km_revoke_seq(att->ino));
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
