/* SPDX-License-Identifier: MIT */
/*
 * craft.h - the crafter's view of a pool copy (sec_craft.c) and the
 * changes it makes (craft_targets.c, craft_meta.c, craft_logs.c).
 */
#ifndef CRAFT_H
#define CRAFT_H

#include <stdbool.h>
#include <stdint.h>

#include "craft_pool.h"
#include "umfs_format.h"

#define CR_MAX_ENTRIES 4096
#define CR_NFILES (CP_NFILES + 1) /* the populated files, then /d */
#define CR_DIR CP_NFILES

/* One present entry of a file's page table. */
struct cr_entry {
	uint64_t at;      /* pool offset of the entry word */
	uint64_t val;
	unsigned level;   /* of the table holding it: 1 = 4 KiB leaves */
};

struct cr_file {
	uint64_t ino;
	struct cr_entry e[CR_MAX_ENTRIES];
	unsigned ne;
	uint64_t tables[64], data[CR_MAX_ENTRIES];
	unsigned ntables, ndata;
};

/* The pool copy being crafted, mapped read-write, and the verdict rules of
 * the change made: strict (served wrong fails the trial), fsck_must
 * (fsck.umfs -n -f must report it). */
struct craft {
	uint8_t *base;
	uint64_t len;
	struct umfs_superblock *sb;
	uint64_t pool, data_off, data_pages, inode_off, inode_count, state_off, journal_off;
	uint64_t ibitmap_off, pbitmap_off, phys_base, slot_size;
	struct cr_file f[CR_NFILES];
	uint64_t dir_child[CP_DIR_FILES];
	bool strict, fsck_must;
	char what[512];
};

uint64_t cr_rnd(void);
void cr_say(struct craft *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct umfs_inode *cr_inode(struct craft *c, uint64_t ino);
void cr_inode_seal(struct umfs_inode *in);
uint64_t cr_lookup(struct craft *c, uint64_t ino, uint64_t pg);
bool cr_page_used(struct craft *c, uint64_t off);
void cr_state_dirty(struct craft *c);

/* The target kinds, one per trial (the seed picks it). */
enum cr_kind {
	K_PTE, K_PTE_FLAGS, K_ROOT, K_INODE, K_DIR, K_ORPHAN, K_ULOG, K_JOURNAL, K_SB,
	K_BITMAP, K_KINDS
};
extern const char *const cr_kind_name[K_KINDS];
void cr_target(struct craft *c, enum cr_kind kind);

/* One change of each kind (craft_targets.c, craft_meta.c, craft_logs.c). */
void cr_target_pte(struct craft *c);
void cr_target_pte_form(struct craft *c);
void cr_target_root(struct craft *c);
void cr_target_inode(struct craft *c);
void cr_target_dir(struct craft *c);
void cr_target_orphan(struct craft *c);
void cr_target_ulog(struct craft *c);
void cr_target_journal(struct craft *c);
void cr_target_sb(struct craft *c);
void cr_target_bitmap(struct craft *c);

/* Where a pointer or an entry is aimed (craft_targets.c). */
enum cr_place {
	P_PAST, P_FAR, P_END, P_SB, P_STATE, P_JOURNAL, P_INODES, P_IBITMAP, P_PBITMAP,
	P_BACKUP, P_ZONE_END, P_OTHER_DATA, P_OTHER_TABLE, P_OWN_TABLE, P_FREE, P_PLACES
};
extern const char *const cr_place_name[P_PLACES];
uint64_t cr_place_off(struct craft *c, unsigned self, enum cr_place p);
uint64_t cr_free_page(struct craft *c);
const char *cr_file_name(unsigned i);

#define PICK(n) ((unsigned)(cr_rnd() % (n)))
#define PG 4096ull

#endif /* CRAFT_H */
