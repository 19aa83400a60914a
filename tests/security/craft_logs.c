/* SPDX-License-Identifier: MIT */
/*
 * craft_logs.c - sec_craft's changes to what recovery reads: a U-Log
 * page with a record in flight (a BYTES record that restores the bytes the
 * file holds, so that rolling it back changes nothing), then one field of
 * it changed and its checksums resealed; a journal slot with an active
 * transaction of one record that saved the bytes it names, then its range
 * changed and its checksum resealed. The verdict rules: craft_targets.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "craft.h"

/* ------------------------------------------------------------------ */
/* U-Log                                                                */
/* ------------------------------------------------------------------ */

#define REC_OFF 100
#define REC_LEN 200

static uint32_t rec_seal(struct umfs_ulog *u)
{
	uint32_t csum = umfs_ulog_rec_id_csum(u);

	if (u->rec_kind == UMFS_ULOG_REC_BYTES && u->rec_len <= UMFS_ULOG_DATA_SIZE)
		csum = umfs_crc32c(csum, u->data, u->rec_len);
	return u->rec_csum = csum;
}

/* The U-Log "ulog" was left with: a BYTES record of the bytes the file
 * holds at [REC_OFF, REC_OFF + REC_LEN), so that rolling it back changes
 * nothing, and the pool marked for recovery. */
static struct umfs_ulog *ulog_record(struct craft *c, struct umfs_inode *in)
{
	struct umfs_ulog *u = (struct umfs_ulog *)(c->base + in->ulog);

	for (unsigned i = 0; i < REC_LEN; i++)
		u->data[i] = cp_byte(cp_files[CP_ULOG_FILE].fid, REC_OFF + i);
	u->rec_seq = 1000;
	u->rec_kind = UMFS_ULOG_REC_BYTES;
	u->rec_off = REC_OFF;
	u->rec_len = REC_LEN;
	u->rec_old_size = in->size;
	u->rec_aux_ino = u->rec_aux_gen = 0;
	u->rec_done = 0;
	rec_seal(u);
	cr_state_dirty(c);
	return u;
}

void cr_target_ulog(struct craft *c)
{
	uint64_t ino = c->f[CP_ULOG_FILE].ino;
	struct umfs_inode *in = cr_inode(c, ino);
	struct umfs_ulog *u;
	unsigned how = PICK(11);

	c->strict = true;
	if (!in->ulog || in->ulog >= c->pool) {
		cr_say(c, "ulog: no U-Log page to craft (0x%" PRIx64 ")", in->ulog);
		return;
	}
	u = ulog_record(c, in);
	cr_say(c, "ulog @0x%" PRIx64 " with a no-op BYTES record: ", in->ulog);
	switch (how) {
	case 0:
		cr_say(c, "left as it is (control)");
		return;
	case 1: {
		enum cr_place p = (enum cr_place)PICK(P_PLACES);

		u->next = cr_place_off(c, CP_ULOG_FILE, p) + (PICK(4) ? 0 : 8);
		cr_say(c, "next aimed at %s: 0x%" PRIx64, cr_place_name[p], u->next);
		return;
	}
	case 2: {
		uint64_t v[] = { UMFS_MAX_FILE_SIZE, UMFS_MAX_FILE_SIZE - 100, UINT64_MAX - 50,
				 1ull << 63 };

		u->rec_off = v[PICK(4)];
		cr_say(c, "rec_off -> 0x%" PRIx64, u->rec_off);
		break;
	}
	case 3:
		c->strict = false; /* a record of another range: legal, restores it */
		u->rec_off = PICK(2) ? 4000 : 1 << 20;
		cr_say(c, "rec_off -> %" PRIu64 " (another range)", u->rec_off);
		break;
	case 4: {
		uint64_t v[] = { 0, UMFS_ULOG_DATA_SIZE + 1, 64 * 4096, UINT64_MAX };

		u->rec_len = v[PICK(4)];
		cr_say(c, "rec_len -> %" PRIu64, u->rec_len);
		break;
	}
	case 5:
		u->rec_kind = PICK(2) ? UMFS_ULOG_REC_PTES : 99;
		cr_say(c, "rec_kind -> %u", u->rec_kind);
		break;
	case 6: {
		uint64_t v[] = { ino, c->inode_count, UINT64_MAX, c->f[0].ino, 0 };

		u->rec_kind = UMFS_ULOG_REC_SWAP;
		u->rec_off = 0, u->rec_len = 1 + PICK(3);
		u->rec_aux_ino = v[PICK(5)];
		u->rec_done = PICK(2) ? 0 : 1000;
		cr_say(c, "a SWAP record, aux_ino %" PRIu64 ", done %" PRIu64, u->rec_aux_ino,
		       u->rec_done);
		break;
	}
	case 7:
		u->rec_old_size = PICK(2) ? UINT64_MAX : UMFS_MAX_FILE_SIZE + 1;
		cr_say(c, "rec_old_size -> 0x%" PRIx64, u->rec_old_size);
		break;
	case 8: {
		enum cr_place p = (enum cr_place)PICK(P_PLACES);

		in->ulog = cr_place_off(c, CP_ULOG_FILE, p) + (PICK(4) ? 0 : 8);
		cr_inode_seal(in);
		cr_say(c, "inode's ulog aimed at %s: 0x%" PRIx64, cr_place_name[p], in->ulog);
		return;
	}
	case 9:
		u->ino = PICK(2) ? c->f[0].ino : c->inode_count + 5;
		u->csum = umfs_ulog_csum(u);
		cr_say(c, "page's ino -> %" PRIu64 ", page checksum resealed", u->ino);
		return;
	default:
		u->rec_seq = 1000;
		u->rec_csum ^= 1;
		cr_say(c, "record checksum broken (a torn record)");
		return;
	}
	rec_seal(u);
}

/* ------------------------------------------------------------------ */
/* Journal                                                              */
/* ------------------------------------------------------------------ */

/* Slot 0 with an active transaction of one record that saved the bytes at
 * off (a no-op to replay), the pool marked for recovery. */
static struct umfs_jrec *journal_record(struct craft *c, uint64_t off, uint32_t len)
{
	struct umfs_jslot_hdr *h = (struct umfs_jslot_hdr *)(c->base + c->journal_off);
	struct umfs_jrec *r = (struct umfs_jrec *)(h + 1);

	h->active_seq = 77;
	r->seq = 77;
	r->off = off;
	r->len = len;
	memcpy(r + 1, c->base + off, len);
	r->csum = umfs_jrec_csum(r, r + 1);
	cr_state_dirty(c);
	return r;
}

void cr_target_journal(struct craft *c)
{
	uint64_t ino_off = c->inode_off + c->f[0].ino * sizeof(struct umfs_inode);
	struct umfs_jrec *r = journal_record(c, ino_off, sizeof(struct umfs_inode));
	unsigned how = PICK(6);
	uint8_t keep[sizeof(struct umfs_inode)];

	memcpy(keep, r + 1, sizeof(keep));
	c->strict = true;
	cr_say(c, "journal slot 0, one no-op record of inode %" PRIu64 ": ", c->f[0].ino);
	switch (how) {
	case 0:
		cr_say(c, "left as it is (control)");
		return;
	case 1: {
		enum cr_place p = (enum cr_place)PICK(P_PLACES);

		r->off = cr_place_off(c, 0, p) + PICK(2) * 8;
		if (r->off >= c->inode_off && r->off < c->pool - PG)
			c->strict = false; /* a range a transaction may change */
		cr_say(c, "off aimed at %s: 0x%" PRIx64, cr_place_name[p], r->off);
		break;
	}
	case 2:
		r->off = c->pool - PG - 8;
		cr_say(c, "a range running into the backup superblock: 0x%" PRIx64, r->off);
		break;
	case 3:
		r->off = UINT64_MAX - 100;
		cr_say(c, "off -> 0x%" PRIx64 " (wraps)", r->off);
		break;
	case 4:
		r->len = PICK(2) ? 0xffffffffu : (uint32_t)c->slot_size;
		cr_say(c, "len -> %u", r->len);
		break;
	default:
		r->off = c->state_off + 8 * PICK(8);
		r->len = 8;
		cr_say(c, "an 8-byte record of the state page +%" PRIu64, r->off - c->state_off);
		break;
	}
	if (r->len <= sizeof(keep))
		memcpy(r + 1, keep, r->len);
	r->csum = r->len <= c->slot_size ? umfs_jrec_csum(r, r + 1) : r->csum;
}

