/* SPDX-License-Identifier: MIT */
/*
 * coldio.c - file data to and from pool pages this process has not mapped.
 *
 * In software mode the pool is one shared mapping of the pool file. The
 * first touch of each page by a process costs a page fault where the kernel
 * maps the file with 4 KiB pages (a tmpfs without huge pages, a file on a
 * page-cache file system): a new process streaming a large file through the
 * mapping pays several times the copy itself. The kernel copies through the
 * pool's descriptor (pread/pwrite at the pool offset) from the same page
 * cache the mapping shows, without mapping anything; so bytes in 2 MiB
 * chunks of the pool that are cold for this process move that way.
 *
 * A chunk turns warm after enough such copies (COLD_WARM_AT): it is
 * populated whole (MADV_POPULATE_READ or _WRITE), and served through the
 * mapping from then on, where a small copy costs no system call. On 4 KiB
 * pages, a chunk that reads made warm is populated in a second, read-only
 * mapping of the pool and read through it: in the VM of
 * docs/performance.md the first read of a page populated in a read-only
 * mapping costs 1.4 us, in the writable one 4-4.5 us. A write to such a
 * chunk populates it in the writable mapping, which serves the chunk
 * from then on. A stream
 * touches each chunk a few times and stays on the descriptor; a process
 * that keeps coming back to a chunk maps it once. Writes differ:
 *  - on 4 KiB pages, a write of fresh bytes (past the old end of the file,
 *    a copy-on-write shadow) counts little: a stream writes each page
 *    once, and the first touch of a mapped 4 KiB page costs more than the
 *    system call. A page that takes fresh bytes a third time is
 *    populated alone and mapped from then on;
 *  - on a pool the kernel maps with 2 MiB pages (st_blksize), a small
 *    write warms its chunk at once: populating it is one page, cheaper
 *    than a few system calls; so does a read that moves COLD_COPY_UNIT
 *    or more of the chunk in a run shorter than COLD_LARGE_READ, and
 *    sixteen smaller reads do (COLD_SMALL_READ). Longer runs count as on
 *    4 KiB pages: the first touch of each 4 KiB of a 2 MiB page just
 *    mapped still costs (about 20 us a chunk), which the kernel's copy
 *    saves where a few calls cover a chunk;
 *  - pages known present (prefault.c populated them, as a strict
 *    overwrite's undo copy does) use the mapping whatever their chunk's
 *    state. On 4 KiB pages populating a page alone costs far more than a
 *    system call, so each one the undo copy needs counts more towards
 *    its chunk (COLD_MAPPED).
 * docs/design.md has the figures.
 *
 * hugetlbfs has no write(2), DAX files and devices would need the CPU
 * caches flushed by whoever writes, and module mode maps through
 * /dev/umfs: those always use the mapping.
 * UMFS_COLDIO=0 makes every pool use the mapping (comparisons, tests).
 *
 * Persistence: a pwrite returns once the bytes are in the pages the mapping
 * shows, before the caller's later stores and fence, so the order "data,
 * fence, size or table" holds (docs/consistency.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "coldio.h"
#include "fault.h"
#include "os.h"
#include "persist.h"
#include "prefault.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define COLD_CHUNK_SHIFT UMFS_HUGE_SHIFT
/* A chunk is populated once the copies through the descriptor it took
 * add up to COLD_WARM_AT: a read or an overwrite counts COLD_COPY (one
 * populate costs about as much as 128 system calls), a write of whole
 * fresh pages 1, so that only twice the chunk's pages in such writes warm
 * it: a stream that writes each page once (an append) never does, a
 * process that keeps reusing freed pages (small files created and deleted)
 * does. A page that takes fresh bytes through the descriptor a third time
 * is populated alone (media_fresh_again). */
#define COLD_WARM_AT 1024
#define COLD_COPY 8
#define COLD_FRESH 1
/* A read or an overwrite counts COLD_COPY for each COLD_COPY_UNIT bytes
 * it moves in the chunk (at least once): the kernel's copy of a large one
 * costs more than its system call (reads: about 0.55 ms per 2 MiB against
 * 0.19 ms through a warm mapping), so a process that comes back to a
 * chunk again and again in large calls maps it as one that does in small
 * calls does. On 4 KiB pages any stream in calls of 64 KiB or more
 * counts 256 per pass over a chunk: a single pass (dd, cp, cat) never
 * maps it, a fourth pass does (on 2 MiB pages, runs under
 * COLD_LARGE_READ map it at once, chunk_path). */
#define COLD_COPY_UNIT (64u << 10)
/* A strict overwrite loads its page's old bytes through the mapping (the
 * undo record), so a cold page is populated alone: 11-25 us with its first
 * store, against 180-270 us for its whole chunk and then 4 us a page at
 * the first store. About fifteen such pages buy the chunk: each counts
 * COLD_MAPPED, and its write COLD_COPY besides. */
#define COLD_MAPPED 64
#define COLD_WARM 0xffff      /* a chunk's state once populated in the mapping */
#define COLD_READ_WARM 0xfffe /* populated in the read-only view only */
static_assert(COLD_WARM_AT < COLD_READ_WARM, "the counter must stay below the warm marks");
/* On 2 MiB pages, populating costs about six system calls: a write up to
 * this size populates its chunk at once, a larger one counts as a copy,
 * the system call being small beside its copy. */
#define COLD_SMALL_WRITE (64u << 10)
/* On 2 MiB pages a read of a run this long or longer counts as a copy:
 * the kernel's copy pays a system call per run (about 1.7 us more than
 * a copy from the mapping), the mapping about 20 us per chunk at its
 * first touch. A new process reading 1 GiB, CPU time, through the
 * mapping against the kernel, by call size: 128 KiB 48 / 62 ms, 256 KiB
 * 49 / 53, 512 KiB 64 / 57, 1 MiB 55 / 49, 2 MiB 74 / 59 (docs/design.md). */
#define COLD_LARGE_READ (512u << 10)
/* On 2 MiB pages a read of less than COLD_COPY_UNIT of a chunk counts
 * this much: sixteen buy the chunk, which costs there about as much as a
 * dozen such calls through the kernel. A new process reading 256 MiB,
 * CPU time, with 8 (the 4 KiB pages' count) against this: 4 KiB calls in
 * order 140 / 113 ms, 16 KiB calls 73 / 44, 20,000 random 4 KiB calls
 * 47.6 / 21.4, 2,000 7.5 / 8.0 (huge tmpfs 185, 56, 41.8, 5.9). */
#define COLD_SMALL_READ (COLD_WARM_AT / 16)

enum media_access { MEDIA_READ, MEDIA_OVERWRITE, MEDIA_FRESH };
/* How a chunk is reached for an access (media_span). */
enum media_path { MEDIA_KERNEL, MEDIA_VIEW, MEDIA_MAP };

struct umfs_coldio {
	uint64_t nchunks;
	bool huge; /* the kernel maps the pool with 2 MiB pages */
	/* the read-only mapping of the pool (4 KiB pools only), made as the
	 * first chunk is warmed for reads; NULL before, or where it failed */
	const uint8_t *_Atomic view;
	_Atomic bool view_tried;
	/* per 4 KiB pool page, two bits: this process wrote fresh bytes to it
	 * through the descriptor once, and twice (4 KiB pools only); made at
	 * the first such write */
	_Atomic uint64_t *_Atomic rewritten;
	_Atomic bool rewritten_tried;
	uint16_t state[]; /* per 2 MiB chunk: copies so far, weighted, or COLD_WARM */
};

/* The kernel's pread and pwrite, not a front end's interposers of them
 * (libumfs.so exports both): the core's table (os.h). */
static bool media_resolve(void)
{
	return OS(pread) && OS(pwrite);
}

/* *huge: the kernel maps the pool file with 2 MiB pages (st_blksize). */
static bool coldio_wanted(const struct umfs_fs *fs, bool *huge)
{
	const char *env = getenv("UMFS_COLDIO");
	const struct stat *st = &fs->pm.st; /* taken as the pool was mapped */
	struct statx sx;

	if (fs->pm.fd < 0 || (env && strcmp(env, "0") == 0) || !media_resolve())
		return false;
	/* a pool file only: not a device, nor /dev/umfs (the module's mount) */
	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size < fs->pm.len || !fs->pm.fs_type)
		return false;
	*huge = st->st_blksize >= (1 << UMFS_HUGE_SHIFT);
	if (fs->pm.fs_type == HUGETLBFS_MAGIC)
		return false; /* no write(2) there */
	if (!umfs_pmem_on_memfs(&fs->pm) && OS(statx)(fs->pm.fd, "", AT_EMPTY_PATH, 0, &sx) == 0 &&
	    (sx.stx_attributes & STATX_ATTR_DAX))
		return false;
	return true;
}

/* Words of one bit per pool page: rewritten holds two such maps. */
static size_t page_map_words(const struct umfs_fs *fs)
{
	return (fs->pm.len >> UMFS_PAGE_SHIFT) / 64 + 1;
}

static size_t rewritten_size(const struct umfs_fs *fs)
{
	return 2 * page_map_words(fs) * sizeof(uint64_t);
}

void umfs_coldio_open(struct umfs_fs *fs)
{
	uint64_t n = UMFS_DIV_ROUND_UP(fs->pm.len, (uint64_t)1 << COLD_CHUNK_SHIFT);
	int saved = errno;
	bool huge = false;

	fs->cold = NULL;
	if (coldio_wanted(fs, &huge))
		fs->cold = calloc(1, sizeof(*fs->cold) + n * sizeof(fs->cold->state[0]));
	if (fs->cold) {
		fs->cold->nchunks = n;
		fs->cold->huge = huge;
	}
	umfs_fsize_changed();
	errno = saved;
}

/* The read-only view, mapped by the first caller: a process that warms
 * no chunk for reads never maps it. NULL where it cannot be had, or while
 * another thread maps it: the mapping serves then. */
static const uint8_t *coldio_view(struct umfs_fs *fs)
{
	const uint8_t *v = atomic_load_explicit(&fs->cold->view, memory_order_acquire);
	void *p;

	if (v || fs->cold->huge || atomic_exchange(&fs->cold->view_tried, true))
		return v;
	p = OS(mmap)(NULL, fs->pm.len, PROT_READ, MAP_SHARED, fs->pm.fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	umfs_fault_watch(fs, p, fs->pm.len, PROT_READ, UMFS_FAULT_POOL, "the pool");
	atomic_store_explicit(&fs->cold->view, p, memory_order_release);
	return p;
}

/* The rewritten maps, made by the first fresh write: NULL where they
 * cannot be had, or while another thread makes them (the write then goes
 * through the kernel). */
static _Atomic uint64_t *coldio_rewritten(struct umfs_fs *fs)
{
	_Atomic uint64_t *r = atomic_load_explicit(&fs->cold->rewritten, memory_order_acquire);

	if (r || atomic_exchange(&fs->cold->rewritten_tried, true))
		return r;
	r = umfs_os_zalloc(rewritten_size(fs));
	atomic_store_explicit(&fs->cold->rewritten, r, memory_order_release);
	return r;
}

void umfs_coldio_close(struct umfs_fs *fs)
{
	const uint8_t *view = fs->cold ? atomic_load(&fs->cold->view) : NULL;

	if (view) {
		umfs_fault_unwatch((void *)view);
		OS(munmap)((void *)view, fs->pm.len);
	}
	if (fs->cold)
		umfs_os_zfree((void *)atomic_load(&fs->cold->rewritten), rewritten_size(fs));
	free(fs->cold);
	fs->cold = NULL;
}

void umfs_coldio_forked(struct umfs_fs *fs)
{
	if (fs->cold)
		memset(fs->cold->state, 0, fs->cold->nchunks * sizeof(fs->cold->state[0]));
}

/* Maps chunk i whole, in the read-only view (view) or else in the
 * mapping; a kernel without MADV_POPULATE_* (EINVAL) faults page by page
 * instead. */
static void chunk_populate(struct umfs_fs *fs, uint64_t i, enum media_access how,
			   const uint8_t *view)
{
	uint64_t a = i << COLD_CHUNK_SHIFT;
	uint64_t n = UMFS_MIN(fs->pm.len - a, (uint64_t)1 << COLD_CHUNK_SHIFT);
	int saved = errno;

	if (view)
		OS(madvise)((void *)(view + a), n, MADV_POPULATE_READ);
	else if (OS(madvise)(fs->base + a, n,
			     how == MEDIA_READ ? MADV_POPULATE_READ : MADV_POPULATE_WRITE) == 0)
		umfs_pmem_present_mark(&fs->pm, a, n);
	errno = saved;
}

/* How chunk i is reached for this access, counting w towards populating it
 * while it stays cold (COLD_WARM_AT or more: populated now). */
static enum media_path chunk_charge(struct umfs_fs *fs, uint64_t i, enum media_access how,
				    unsigned w)
{
	uint16_t *s = &fs->cold->state[i];
	/* acquire: a chunk found warm for reads is found with its view made */
	uint16_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);
	bool write = how != MEDIA_READ;
	const uint8_t *view;

	if (v == COLD_WARM)
		return MEDIA_MAP;
	if (v == COLD_READ_WARM && !write)
		return MEDIA_VIEW;
	/* a write to a chunk warm for reads warms it for writes at once */
	if (v != COLD_READ_WARM && v + w < COLD_WARM_AT) {
		__atomic_store_n(s, (uint16_t)(v + w), __ATOMIC_RELAXED); /* a lost count is harmless */
		return MEDIA_KERNEL;
	}
	view = write ? NULL : coldio_view(fs);
	chunk_populate(fs, i, how, view);
	/* release, after the view: whoever reads the state finds the view made */
	__atomic_store_n(s, view ? COLD_READ_WARM : COLD_WARM, __ATOMIC_RELEASE);
	return view ? MEDIA_VIEW : MEDIA_MAP;
}

/* How chunk i is reached for a read or write of len bytes, part of them
 * in the chunk: a copy through the kernel counts COLD_COPY (a read or an
 * overwrite, that per COLD_COPY_UNIT of part; a write of fresh pages on
 * 4 KiB pages, COLD_FRESH). On 2 MiB pages a small write, and a read
 * that moves COLD_COPY_UNIT or more of the chunk in a run shorter than
 * COLD_LARGE_READ, populate it at once; a read of less of it counts
 * COLD_SMALL_READ. */
static enum media_path chunk_path(struct umfs_fs *fs, uint64_t i, enum media_access how,
				  size_t len, uint64_t part)
{
	if (fs->cold->huge) {
		if (how != MEDIA_READ && len <= COLD_SMALL_WRITE)
			return chunk_charge(fs, i, how, COLD_WARM_AT);
		if (how == MEDIA_READ && part < COLD_COPY_UNIT)
			return chunk_charge(fs, i, how, COLD_SMALL_READ);
		if (how == MEDIA_READ && len < COLD_LARGE_READ)
			return chunk_charge(fs, i, how, COLD_WARM_AT);
	}
	if (how == MEDIA_FRESH)
		return chunk_charge(fs, i, how, fs->cold->huge ? COLD_COPY : COLD_FRESH);
	return chunk_charge(fs, i, how, COLD_COPY * (unsigned)UMFS_MAX(1, part / COLD_COPY_UNIT));
}

/* Bytes of [off, end) in chunk i. */
static uint64_t chunk_part(uint64_t i, uint64_t off, uint64_t end)
{
	uint64_t a = i << COLD_CHUNK_SHIFT, b = a + ((uint64_t)1 << COLD_CHUNK_SHIFT);

	return UMFS_MIN(b, end) - UMFS_MAX(a, off);
}

/*
 * The longest span from off (at most len bytes) whose chunks are all
 * reached one way (*path), counting each chunk once per call: *next
 * carries the path of the chunk that ended the span into the next call
 * (-1: none yet).
 */
static size_t media_span(struct umfs_fs *fs, uint64_t off, size_t len, enum media_access how,
			 int *next, enum media_path *path)
{
	uint64_t i = off >> COLD_CHUNK_SHIFT, end = off + len, b;

	*path = *next >= 0 ? (enum media_path)*next
			   : chunk_path(fs, i, how, len, chunk_part(i, off, end));
	*next = -1;
	for (b = (i + 1) << COLD_CHUNK_SHIFT; b < end; b += (uint64_t)1 << COLD_CHUNK_SHIFT) {
		uint64_t j = b >> COLD_CHUNK_SHIFT;
		enum media_path p = chunk_path(fs, j, how, len, chunk_part(j, off, end));

		if (p != *path) {
			*next = (int)p;
			break;
		}
	}
	return (size_t)(UMFS_MIN(b, end) - off);
}

/* Whether this process wrote fresh bytes of a page of [off, off + len)
 * through the descriptor twice before, and counts the writes it does now.
 * Twice, not once: writes in pieces of more than a page (tar's 10 KiB)
 * meet in one page only, and mapping that page (populate, then the first
 * touch) costs more than its second pwrite; writes smaller than a page
 * (postmark's 512 bytes) come back to it many times. */
static bool media_fresh_again(struct umfs_fs *fs, uint64_t off, size_t len)
{
	_Atomic uint64_t *once = coldio_rewritten(fs), *twice;
	bool again = false;

	if (!once)
		return false;
	twice = once + page_map_words(fs);
	for (uint64_t pg = off >> UMFS_PAGE_SHIFT; pg <= (off + len - 1) >> UMFS_PAGE_SHIFT; pg++) {
		uint64_t bit = 1ull << (pg % 64);

		if (atomic_fetch_or_explicit(&once[pg / 64], bit, memory_order_relaxed) & bit)
			again |= atomic_fetch_or_explicit(&twice[pg / 64], bit,
							  memory_order_relaxed) & bit;
	}
	return again;
}

/* memcpy to dst, through out when dst is a program's memory; the bytes
 * stored. */
static size_t media_copy_out(uint8_t *dst, const uint8_t *src, size_t len,
			     const struct umfs_out *out)
{
	if (out)
		return out->copy(dst, src, len);
	memcpy(dst, src, len);
	return len;
}

/* pread of the whole span, what the kernel did not take through the
 * mapping; the bytes stored. The kernel checks a program's buffer itself:
 * its EFAULT ends the copy there. */
static size_t media_kernel_read(struct umfs_fs *fs, uint8_t *dst, uint64_t off, size_t len,
				const struct umfs_out *out)
{
	int saved = errno, err = 0;
	size_t done = 0;

	while (done < len && !err) {
		ssize_t n = OS(pread)(fs->pm.fd, dst + done, len - done, (off_t)(off + done));

		if (n > 0)
			done += (size_t)n;
		else if (n == 0 || errno != EINTR)
			err = n == 0 ? EIO : errno;
	}
	if (done < len && !(out && err == EFAULT))
		done += media_copy_out(dst + done, fs->base + off + done, len - done, out);
	errno = saved;
	return done;
}

static const uint8_t media_zeros[64 << 10];

/* The kernel holds a write to the pool file to the writer's RLIMIT_FSIZE
 * (SIGXFSZ and EFBIG), a limit meant for the UMFS file, not the pool: past
 * it, the mapping writes instead. The limit is read at mount and again
 * when a front end says it changed, not per write: the system call costs
 * more than a 4 KiB copy. */
static _Atomic uint64_t media_fsize_max = RLIM_INFINITY;

void umfs_fsize_changed(void)
{
	struct rlimit rl;
	int saved = errno;

	atomic_store_explicit(&media_fsize_max,
			      OS(getrlimit)(RLIMIT_FSIZE, &rl) == 0 ? (uint64_t)rl.rlim_cur : 0,
			      memory_order_relaxed);
	errno = saved;
}

static bool media_fsize_allows(uint64_t end)
{
	uint64_t max = atomic_load_explicit(&media_fsize_max, memory_order_relaxed);

	return max == RLIM_INFINITY || end <= max;
}

static bool media_kernel_write(struct umfs_fs *fs, const uint8_t *src, uint64_t off, size_t *len)
{
	int saved = errno;

	if (!media_fsize_allows(off + *len)) {
		errno = saved;
		return false;
	}
	while (*len) {
		size_t want = src ? *len : UMFS_MIN(*len, sizeof(media_zeros));
		ssize_t n = OS(pwrite)(fs->pm.fd, src ? src : media_zeros, want, (off_t)off);

		if (n <= 0 && !(n < 0 && errno == EINTR))
			break;
		if (n > 0) {
			umfs_persist_written(fs->base + off, (size_t)n);
			src = src ? src + n : NULL;
			off += (uint64_t)n;
			*len -= (size_t)n;
		}
	}
	errno = saved;
	return *len == 0;
}

size_t umfs_media_read(struct umfs_fs *fs, void *dst, uint64_t off, size_t len,
		       const struct umfs_out *out)
{
	uint8_t *d = dst;
	size_t done = 0;
	int next = -1;

	if (!fs->cold || off + len > fs->pm.len) /* past the pool: only a damaged table */
		return media_copy_out(d, fs->base + off, len, out);
	while (done < len) {
		enum media_path path;
		size_t n = media_span(fs, off + done, len - done, MEDIA_READ, &next, &path), got;

		/* pages present in the mapping are read there, wherever their chunk */
		if (path != MEDIA_MAP && umfs_pmem_present(&fs->pm, off + done, n))
			path = MEDIA_MAP;
		if (path == MEDIA_VIEW)
			got = media_copy_out(d + done,
					     atomic_load_explicit(&fs->cold->view,
								  memory_order_acquire) + off + done,
					     n, out);
		else if (path == MEDIA_MAP)
			got = media_copy_out(d + done, fs->base + off + done, n, out);
		else
			got = media_kernel_read(fs, d + done, off + done, n, out);
		done += got;
		if (got < n)
			break;
	}
	return done;
}

void umfs_media_prefault(struct umfs_fs *fs, uint64_t off, size_t len)
{
	if (fs->cold && !fs->cold->huge && len && off + len <= fs->pm.len &&
	    !umfs_pmem_present(&fs->pm, off, len))
		for (uint64_t i = off >> COLD_CHUNK_SHIFT; i <= (off + len - 1) >> COLD_CHUNK_SHIFT;
		     i++)
			chunk_charge(fs, i, MEDIA_OVERWRITE, COLD_MAPPED);
	umfs_pmem_prefault(&fs->pm, off, len); /* what is still absent */
}

void umfs_media_zero(struct umfs_fs *fs, uint64_t off, size_t len)
{
	if (fs->cold && !fs->cold->huge)
		umfs_media_write(fs, off, NULL, len, false);
	else
		umfs_memset_nodrain(fs->base + off, 0, len);
}

void umfs_media_write(struct umfs_fs *fs, uint64_t off, const void *src, size_t len, bool fresh)
{
	const uint8_t *s = src;
	bool cold = fs->cold && off + len <= fs->pm.len; /* past the pool: a damaged table */
	int next = -1;

	while (len) {
		bool warm = true;
		size_t n = len, left;

		if (cold) {
			enum media_path path;

			n = media_span(fs, off, len, fresh ? MEDIA_FRESH : MEDIA_OVERWRITE, &next,
				       &path);
			warm = path == MEDIA_MAP || umfs_pmem_present(&fs->pm, off, n);
			/* a page written again (small appends, freed pages
			 * reused): mapped from now on, as a warm chunk is */
			if (!warm && fresh && !fs->cold->huge && n && media_fresh_again(fs, off, n)) {
				umfs_pmem_prefault(&fs->pm, off, n);
				warm = true;
			}
		}
		left = n;
		if (!warm && media_kernel_write(fs, s, off, &left))
			left = 0;
		else if (s)
			umfs_memcpy_nodrain(fs->base + off + (n - left), s + (n - left), left);
		else
			umfs_memset_nodrain(fs->base + off + (n - left), 0, left);
		s = s ? s + n : NULL;
		off += n;
		len -= n;
	}
}
