/* SPDX-License-Identifier: MIT */
/*
 * fsx_model.c - the model of the file: a byte array and a size, and
 * nothing else. Every operation says here what it does to the file as
 * POSIX and Linux define it; whatever the file system keeps past EOF is
 * not modelled, because a correct file system shows none of it: bytes past
 * EOF read as zeros once EOF moves over them.
 */
#include <stdlib.h>
#include <string.h>

#include "fsx.h"


int model_init(struct model *m, uint64_t max)
{
	m->cap = max + FSX_PAGE;
	m->size = 0;
	m->data = calloc(m->cap, 1);
	m->wild = calloc(m->cap, 1);
	m->alt = calloc(m->cap, 1);
	return m->data && m->wild && m->alt ? 0 : -1;
}

/* Bytes [a, b) become definite: what data says. */
static void settle(struct model *m, uint64_t a, uint64_t b)
{
	b = MIN(b, m->cap);
	if (a < b)
		memset(m->wild + a, 0, b - a);
}

/* Bytes [a, b) past EOF go back to what an extension must expose. */
static void clear_past_eof(struct model *m, uint64_t a, uint64_t b)
{
	b = MIN(b, m->cap);
	if (a < b)
		memset(m->data + a, 0, b - a);
}

void model_write(struct model *m, uint64_t off, const uint8_t *p, uint64_t n)
{
	memcpy(m->data + off, p, n);
	settle(m, off, off + n);
	m->size = MAX(m->size, off + n);
}

/* copy_file_range of n bytes that exist in from: a wild byte copied may
 * be either of its values at the destination too. */
void model_copy(struct model *m, const struct model *from, uint64_t soff, uint64_t doff,
		uint64_t n)
{
	memmove(m->data + doff, from->data + soff, n);
	memmove(m->wild + doff, from->wild + soff, n);
	memmove(m->alt + doff, from->alt + soff, n);
	m->size = MAX(m->size, doff + n);
}

/* Down: the cut bytes are gone, and Linux drops (or zeroes, in the new
 * last page) everything past the new EOF, stores through a mapping too. */
void model_truncate(struct model *m, uint64_t size)
{
	if (size < m->size) {
		clear_past_eof(m, size, m->size);
		settle(m, size, m->cap);
	}
	m->size = size;
}

void model_zero(struct model *m, uint64_t off, uint64_t end, bool keep_size)
{
	memset(m->data + off, 0, MIN(end, m->cap) - off);
	settle(m, off, end);
	if (!keep_size)
		m->size = MAX(m->size, end);
}

/* Punch: zeros in [off, end), the size stays. */
void model_punch(struct model *m, uint64_t off, uint64_t end)
{
	model_zero(m, off, end, true);
}

/* fallocate without KEEP_SIZE: the size grows to end, the bytes it exposes
 * are zeros (data past EOF is kept at zero). */
void model_extend(struct model *m, uint64_t end)
{
	m->size = MAX(m->size, end);
}

/* A store through a shared mapping into the last page, past EOF. */
void model_store_past_eof(struct model *m, uint64_t off, const uint8_t *p, uint64_t n)
{
	memcpy(m->alt + off, p, n);
	memset(m->wild + off, 1, n);
}

/* How many bytes a read of n at off returns. */
uint64_t model_readable(const struct model *m, uint64_t off, uint64_t n)
{
	return off >= m->size ? 0 : MIN(n, m->size - off);
}

/* Whether v is what the file may show at off (below EOF, or past it in a
 * page a mapping shows, where data is zero). */
bool model_byte_ok(const struct model *m, uint64_t off, uint8_t v, bool *was_wild)
{
	*was_wild = m->wild[off] != 0;
	if (v == m->data[off])
		return true;
	return m->wild[off] && v == m->alt[off];
}
