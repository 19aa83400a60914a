// SPDX-License-Identifier: GPL-2.0
/*
 * splice.c - writing and clearing PUD entries of a process.
 *
 * An attachment of n GiB is n consecutive PUD entries, each pointing at one
 * of the file's 1 GiB (level-2) tables: those of a level-3 root, or of each
 * level-3 table under a level-4 root, in as many PUD pages of the process
 * as the range crosses (one per 512 GiB). Only entries that are none are
 * written, and only entries that still point at the attachment's tables are
 * cleared. The process's PUD page may have to be created; it is then
 * accounted like one the kernel made (mm_inc_nr_puds), because the kernel
 * frees it with the rest of the process's tables.
 */
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/pgalloc.h>
#include <asm/tlbflush.h>

#include "umfs_km.h"

u64 umfs_km_revoke_seqs[1u << UMFS_KM_REVOKE_SEQ_BITS];

/* A zeroed user page-table page, allocated the way the kernel does for a
 * user mm (the inline pud_alloc_one() would pull in init_mm, which is not
 * exported); the kernel frees it like its own. */
static void *umfs_km_table_page(void)
{
	return (void *)get_zeroed_page(GFP_PGTABLE_USER);
}

/* The PUD entry of addr, creating the P4D and PUD pages above it. */
static pud_t *umfs_km_pud_get(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d, *new_p4d;
	pud_t *new_pud;

	if (pgd_none(*pgd)) { /* only with 5-level paging */
		new_p4d = umfs_km_table_page();
		if (!new_p4d)
			return ERR_PTR(-ENOMEM);
		spin_lock(&mm->page_table_lock);
		if (pgd_present(*pgd)) {
			spin_unlock(&mm->page_table_lock);
			free_page((unsigned long)new_p4d);
		} else {
			smp_wmb(); /* the zeroed page before the entry that publishes it */
			pgd_populate(mm, pgd, new_p4d);
			spin_unlock(&mm->page_table_lock);
		}
	}
	if (pgd_bad(*pgd))
		return ERR_PTR(-EFAULT);
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d)) {
		new_pud = umfs_km_table_page();
		if (!new_pud)
			return ERR_PTR(-ENOMEM);
		spin_lock(&mm->page_table_lock);
		if (p4d_present(*p4d)) {
			spin_unlock(&mm->page_table_lock);
			free_page((unsigned long)new_pud);
		} else {
			mm_inc_nr_puds(mm);
			smp_wmb(); /* as above: page contents before the P4D entry */
			p4d_populate(mm, p4d, new_pud);
			spin_unlock(&mm->page_table_lock);
			atomic64_inc(&umfs_km_cnt.pud_pages);
		}
	}
	if (p4d_bad(*p4d))
		return ERR_PTR(-EFAULT);
	return pud_offset(p4d, addr);
}

/* The PUD entry of slot i. A PUD page maps 512 GiB (P4D_SIZE): a range
 * may lie in several, a file past 512 GiB always does. */
static pud_t *umfs_km_slot(const struct umfs_km_att *att, unsigned int i)
{
	unsigned long idx = pud_index(att->addr) + i;

	return att->pudp[idx / PTRS_PER_PUD] + idx % PTRS_PER_PUD;
}

/* Entry 0 of every PUD page under the attachment's range, made where
 * missing (the caller holds mmap_lock). */
static int umfs_km_pud_pages(struct umfs_km_att *att)
{
	unsigned long start = ALIGN_DOWN(att->addr, P4D_SIZE), a;
	unsigned int k;
	pud_t *pud;

	att->npud = (pud_index(att->addr) + att->nslots - 1) / PTRS_PER_PUD + 1;
	att->pudp = kcalloc(att->npud, sizeof(*att->pudp), GFP_KERNEL);
	if (!att->pudp)
		return -ENOMEM;
	for (k = 0; k < att->npud; k++) {
		a = k ? start + k * P4D_SIZE : att->addr;
		pud = umfs_km_pud_get(att->mm, a);
		if (IS_ERR(pud))
			return PTR_ERR(pud);
		att->pudp[k] = pud - pud_index(a);
	}
	return 0;
}

int umfs_km_splice(struct umfs_km_att *att, u64 seq)
{
	struct mm_struct *mm = att->mm;
	unsigned int i;
	int err;

	err = umfs_km_pud_pages(att);
	if (err)
		return err;
	spin_lock(&umfs_km_att_lock);
	if (READ_ONCE(*umfs_km_revoke_seq(att->ino)) != seq) {
		err = -EAGAIN;
		goto out_unlock;
	}
	spin_lock(&mm->page_table_lock);
	for (i = 0; i < att->nslots; i++) {
		/* a racing fault in the new range may have made a kernel table */
		if (att->vals[i] && !pud_none(*umfs_km_slot(att, i))) {
			err = -EBUSY;
			break;
		}
	}
	for (i = 0; !err && i < att->nslots; i++)
		if (att->vals[i])
			set_pud(umfs_km_slot(att, i), __pud(att->vals[i]));
	spin_unlock(&mm->page_table_lock);
	if (!err) {
		att->spliced = true;
		att->linked = true;
		list_add(&att->mm_link, &att->kmn->atts);
		list_add(&att->all_link, &umfs_km_all_atts);
		atomic64_inc(&umfs_km_cnt.spliced);
	}
out_unlock:
	spin_unlock(&umfs_km_att_lock);
	return err;
}

bool umfs_km_unsplice_locked(struct umfs_km_att *att)
{
	struct mm_struct *mm = att->mm;
	unsigned int i;
	pud_t *pud;

	lockdep_assert_held(&umfs_km_att_lock);
	if (!att->spliced)
		return false;
	spin_lock(&mm->page_table_lock);
	for (i = 0; i < att->nslots; i++) {
		if (!att->vals[i])
			continue;
		pud = umfs_km_slot(att, i);
		if ((pud_val(*pud) & UMFS_PTE_ADDR_MASK) == (att->vals[i] & UMFS_PTE_ADDR_MASK))
			pud_clear(pud);
	}
	spin_unlock(&mm->page_table_lock);
	att->spliced = false;
	atomic64_dec(&umfs_km_cnt.spliced);
	atomic64_inc(&umfs_km_cnt.unsplices);
	return true;
}

static void umfs_km_tlb_flush_one(void *unused)
{
	__flush_tlb_all();
}

/* Modules cannot flush one mm's range; flush everything everywhere, which
 * also covers the user page tables of PTI and lazily switched CPUs. */
void umfs_km_tlb_flush_all(void)
{
	on_each_cpu(umfs_km_tlb_flush_one, NULL, 1);
	atomic64_inc(&umfs_km_cnt.tlb_flushes);
}
