// SPDX-License-Identifier: GPL-2.0
/*
 * revoke.c - REVOKE: unsplice an inode in every process that attached it.
 *
 * FREE and SETATTR call it before pages go and after permissions change;
 * user space calls it around what it still frees itself (copy-on-write)
 * and at the drop of a file's last name. The spliced entries of any
 * process are reachable without its mmap_lock: while an attachment is
 * spliced its vma exists (munmap and exit unsplice first, under the same
 * lock), so the process's PUD page does too. ATTACH calls of the inode
 * racing with a REVOKE fail with -EAGAIN (umfs_km_revoke_seq) rather than
 * splice a file whose inode they read before it changed.
 */
#include "umfs_km.h"

int umfs_km_revoke(u64 ino, u64 *count)
{
	struct umfs_km_att *att;
	u64 n = 0;

	spin_lock(&umfs_km_att_lock);
	WRITE_ONCE(*umfs_km_revoke_seq(ino), *umfs_km_revoke_seq(ino) + 1);
	list_for_each_entry(att, &umfs_km_all_atts, all_link) {
		if (att->ino == ino && umfs_km_unsplice_locked(att))
			n++;
	}
	if (n)
		umfs_km_tlb_flush_all();
	spin_unlock(&umfs_km_att_lock);
	atomic64_add(n, &umfs_km_cnt.revokes);
	*count = n;
	return 0;
}
