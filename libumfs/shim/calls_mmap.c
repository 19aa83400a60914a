/* SPDX-License-Identifier: MIT */
/*
 * calls_mmap.c - mmap, munmap, msync, mprotect, pkey_mprotect, mremap of UMFS
 * files.
 *
 * Without the kernel module the kernel cannot map a UMFS file, so:
 *
 * MAP_SHARED maps a host file standing for the inode, map-INO-GEN-INST in
 * the helper directory (tmpfs), which the first mapper (across processes)
 * fills with the file's data; each mapping takes the pages of its own
 * range's holes (host_reserve). Every process that maps the inode maps
 * that one host file, so stores are seen by all of them at once, as with
 * the kernel's page cache; pages past the end of the file fault with SIGBUS
 * because the host file has the file's size. While any process maps the
 * inode, every process keeps the host file in step with the UMFS file:
 * write() also writes it, truncation and hole punching apply to it. Its
 * stores go back to the UMFS file at msync, fsync, and when the last
 * mapping goes away (then the host file is removed); a process that dies
 * with a mapping leaves the host file, which the next lone mount writes
 * back. Only stores go back: once a mapping that can store exists, a base
 * (mapb-INO-GEN-INST) holds what the host file held before any store,
 * kept in step by the same hooks, and a write-back writes the bytes where
 * the two differ, so that a write to the file through another front end
 * (umfs-fuse, which knows no host file) is not undone. read() takes the
 * same stores (host file unlike base) over the file's bytes, so it sees
 * both; msync and fsync bring such writes into the host file (where the
 * file is unlike the base). A host file without a base has nothing to
 * write back, and read() needs nothing from it.
 *
 * MAP_PRIVATE is private anonymous memory filled from the file as read()
 * sees it: copy-on-write by construction. Pages wholly past the end of
 * the file are mapped from an empty memfd, so that touching them raises
 * SIGBUS, as the kernel's would.
 *
 * Mapping the pool's pages directly was not chosen: a plain mapping of the
 * pool file would outlive truncation and the U-Log's page swaps and expose
 * other files' data; the kernel module is the way to that.
 */
#include <dirent.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define COPY_CHUNK (1u << 20)
#define READ_CHUNK (32u << 10)
#define PRIVATE_STEP (64u << 10)
#define HOLE_COPY (64u << 10)
/* The pages a mapping's reserve takes at a time (host_reserve_range): a
 * millisecond or two of the kernel's allocation, where a GiB of holes
 * took 80-100 ms whole. */
#define RESERVE_STEP (16u << 20)

struct umap {
	char *addr;
	size_t len;              /* page multiple */
	off_t off;               /* file offset of addr */
	uint64_t ino;
	uint32_t gen;
	uint64_t inst;           /* the host file mapped */
	bool stores;             /* made or turned PROT_WRITE: the host file has a base */
	struct umfs_file *uf;    /* own open file: positional writes, no O_APPEND */
	struct umap *next;
};

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct umap *maps;
_Atomic int mmap_shared_count;

static size_t page_size(void)
{
	static size_t pg;

	if (!pg)
		pg = (size_t)sysconf(_SC_PAGESIZE);
	return pg;
}

static size_t page_up(size_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

static off_t file_size(struct umfs_file *uf)
{
	struct stat st;

	return umfs_fstat(uf, &st) ? 0 : st.st_size;
}

/* ------------------------------------------------------------------ */
/* Host files                                                           */
/* ------------------------------------------------------------------ */

/* "map-INO-GEN-INST" in the helper directory, the host file; its base,
 * with kind HOST_BASE. */
#define HOST_FILE "map"
#define HOST_BASE "mapb"
static int host_name(char *buf, size_t size, const char *kind, uint64_t ino, uint32_t gen,
		     uint64_t inst)
{
	char base[64];
	int n, err = shim_helper_name(base, sizeof(base), kind, ino, gen);

	if (err)
		return err;
	n = snprintf(buf, size, "%s-%llu", base, (unsigned long long)inst);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Descriptors of host files and their bases, per process: a small cache
 * (round robin). */
struct hfd {
	uint64_t ino, inst;
	uint32_t gen;
	int fd, bfd;
	uint32_t bseq; /* the mappings' sequence when a base was last looked for */
	bool stepped;  /* this process brought the whole host file in step... */
	uint64_t step; /* ...with the file at this umfs_unmirrored_writes count */
};

/* Apart from the small variables: only a process that maps a UMFS file
 * uses it, and in .bss it would push the ones every joining process
 * writes onto a page more (an anonymous fault each). */
UMFS_BSS_LARGE static struct hfd hcache[16];
static unsigned hnext;
static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;

/* The host file (kind) of (ino, gen, inst) opened with access mode
 * accmode: the descriptor, or -errno. */
static int host_open_as(const char *kind, uint64_t ino, uint32_t gen, uint64_t inst, int accmode)
{
	char name[96];
	int err = host_name(name, sizeof(name), kind, ino, gen, inst);

	return err ? err : shim_helper_open(name, accmode, S_IFREG);
}

/* The same for the cache, open for writing and kept as the library's own:
 * the descriptor, or -1. */
static int host_open(const char *kind, uint64_t ino, uint32_t gen, uint64_t inst)
{
	int fd = host_open_as(kind, ino, gen, inst, O_RDWR);

	if (fd < 0)
		return -1;
	uinfo_mark_internal(fd);
	return fd;
}

static void host_close(int fd)
{
	if (fd > 0) {
		uinfo_unmark_internal(fd);
		sys_close_quiet(fd);
	}
}

/* With hlock held: the cache entry of the host file of (ino, gen, inst),
 * or NULL when there is none; its bfd is the base, or -1 while there is
 * none (no mapping could store). pool_locked: the caller holds the pool
 * lock (a reader may not). */
static struct hfd *host_entry_locked(uint64_t ino, uint32_t gen, uint64_t inst, bool pool_locked)
{
	struct hfd *h = NULL;
	uint32_t seq;
	int fd;

	for (unsigned i = 0; i < ARRAY_SIZE(hcache) && !h; i++)
		if (hcache[i].fd > 0 && hcache[i].ino == ino && hcache[i].gen == gen &&
		    hcache[i].inst == inst)
			h = &hcache[i];
	if (!h) {
		fd = host_open(HOST_FILE, ino, gen, inst);
		if (fd < 0)
			return NULL;
		h = &hcache[hnext++ % ARRAY_SIZE(hcache)];
		host_close(h->fd);
		host_close(h->bfd);
		*h = (struct hfd){ .ino = ino, .gen = gen, .inst = inst, .fd = fd, .bfd = -1 };
		h->bseq = map_seq_read() - 1; /* not looked for yet */
	}
	/* Another process may have made the base since: only a mapping
	 * does (map_hold, under the pool lock, with the sequence odd
	 * meanwhile). A reader without the lock does not keep a base it may
	 * have found half made, or about to be removed again (its maker
	 * failed). */
	seq = map_seq_read();
	if (h->bfd < 0 && h->bseq != seq && (pool_locked || !(seq & 1))) {
		h->bfd = host_open(HOST_BASE, ino, gen, inst);
		if (pool_locked || map_seq_read() == seq) {
			h->bseq = seq;
		} else {
			host_close(h->bfd);
			h->bfd = -1;
		}
	}
	return h;
}

/* host_entry_locked's host file, or -1, and its base in *bfd. */
static int host_fd_locked(uint64_t ino, uint32_t gen, uint64_t inst, int *bfd, bool pool_locked)
{
	struct hfd *h = host_entry_locked(ino, gen, inst, pool_locked);

	*bfd = h ? h->bfd : -1;
	return h ? h->fd : -1;
}

static void host_forget(uint64_t ino, uint32_t gen)
{
	pthread_mutex_lock(&hlock);
	for (unsigned i = 0; i < ARRAY_SIZE(hcache); i++) {
		if (hcache[i].fd > 0 && hcache[i].ino == ino && hcache[i].gen == gen) {
			host_close(hcache[i].fd);
			host_close(hcache[i].bfd);
			hcache[i].fd = 0;
			hcache[i].bfd = 0;
		}
	}
	pthread_mutex_unlock(&hlock);
}

/* A host file or base could not take bytes: its file system is full, said
 * once per process. */
static int host_full(int err)
{
	static _Atomic bool said;

	if (err == -ENOSPC && !atomic_exchange(&said, true))
		SHIM_LOG(LOG_ERROR, "%s: its file system is full: mmap MAP_SHARED of a UMFS file "
			 "fails (ENOMEM), so does a write that its mappings could not show "
			 "(ENOSPC)", shim_helper_dir());
	return err;
}

/* A host file that finds its file system full (-ENOSPC) fails a mapping
 * with mmap's word for it, -ENOMEM; other errors stay. */
static int map_err(int err)
{
	return err == -ENOSPC ? -ENOMEM : err;
}

/* Writes n bytes at off of a host file or base: 0 or -errno. */
static int host_write(int fd, const void *buf, size_t n, off_t off)
{
	ssize_t r = sys_write_full(fd, buf, n, off);

	return r < 0 ? (int)r : 0;
}

/* The file's next data at or after off, within [off, end): end when
 * there is none. */
static off_t file_data_next(struct umfs_file *uf, off_t off, off_t end)
{
	off_t at = umfs_seek_data(uf, off, SEEK_DATA);

	return at == -ENXIO || at > end ? end : at;
}

/* Copies [off, off+len) of the UMFS file into the host file and its base
 * if it has one (pool lock held). Only the file's data is copied, at most
 * a chunk at a time, and the holes shorter than HOLE_COPY within it as
 * zeros; the others stay holes, whose pages each mapping takes for its
 * own range (host_reserve). 0 or -errno; a file cut short meanwhile
 * ends the copy early. */
static int host_fill(int fd, int bfd, struct umfs_file *uf, off_t off, off_t len)
{
	off_t end = off + len;
	char *buf = NULL;
	int err = 0;

	while (off < end && !err) {
		off_t data = file_data_next(uf, off, end), hole;
		size_t want;
		ssize_t n;

		if (data < 0) {
			err = (int)data;
			break;
		}
		if (data >= end)
			break;
		off = data;
		want = end - off < (off_t)COPY_CHUNK ? (size_t)(end - off) : COPY_CHUNK;
		/* up to the next hole of HOLE_COPY or more: the shorter ones
		 * go as zeros, a copy for a run of small extents, not two
		 * calls and a search each */
		hole = umfs_seek_data(uf, off, SEEK_HOLE);
		while (hole > off && hole < off + (off_t)want) {
			off_t next = file_data_next(uf, hole, off + (off_t)want);

			if (next < 0 || next - hole >= (off_t)HOLE_COPY || next >= off + (off_t)want)
				break;
			hole = umfs_seek_data(uf, next, SEEK_HOLE);
		}
		if (hole > off && hole - off < (off_t)want)
			want = (size_t)(hole - off);
		if (!buf && !(buf = malloc(COPY_CHUNK))) {
			err = -ENOMEM;
			break;
		}
		n = umfs_pread(uf, buf, want, off);
		if (n <= 0) {
			err = n < 0 ? (int)n : 0;
			break;
		}
		err = host_write(fd, buf, (size_t)n, off);
		if (!err && bfd >= 0)
			err = host_write(bfd, buf, (size_t)n, off);
		off += n;
	}
	free(buf);
	return host_full(err);
}

/* The next data (whence SEEK_DATA) or hole (SEEK_HOLE) of host file fd
 * at or after off, within [off, end): end when there is none; off when the
 * kernel cannot say. Data is where the next store may be: tmpfs makes a
 * page data at its first touch, a fault's (read or store) or a write's; a
 * page host_reserve only allocated stays a hole until then, and a hole
 * holds no store. */
static off_t host_seek(int fd, off_t off, off_t end, int whence)
{
	int saved = errno;
	off_t at = SYS(lseek)(fd, off, whence);

	if (at < 0)
		at = errno == ENXIO ? end : off;
	errno = saved;
	return at < end ? at : end;
}

/* The next run of host file fd within [*off, end) that is data (whence
 * SEEK_DATA) or holes (SEEK_HOLE): true with its start in *off and its
 * end in *stop, or false when there is none. */
static bool host_run_next(int fd, off_t *off, off_t end, int whence, off_t *stop)
{
	off_t at = host_seek(fd, *off, end, whence);

	if (at >= end)
		return false;
	*stop = host_seek(fd, at, end, whence == SEEK_DATA ? SEEK_HOLE : SEEK_DATA);
	if (*stop <= at)
		*stop = end; /* the kernel cannot say: all of it */
	*off = at;
	return true;
}

/* Gives the holes of host file fd within [off, off + len) and the file's
 * size their pages (pool lock held): tmpfs takes a page at the first fault
 * on a hole, a read's as a store's, so a mapping of a hole on a full file
 * system would fault with SIGBUS. Each mapping takes the pages of its own
 * range as it is made, and fails (ENOMEM) when there is no room: a window
 * onto a large sparse file takes the window's pages, not the file's. The
 * kernel allocates them without writing them (fallocate), far cheaper
 * than a copy of zeros. A file system without fallocate (the runtime
 * directory on NFSv3) takes a page at its first touch, as the kernel's
 * own mappings of files there do. *more: whether the file past the range
 * may still want pages (not when it ends within it, or has them all).
 * 0 or -errno. */
static int host_reserve(int fd, off_t off, off_t len, bool *more)
{
	struct stat st;
	off_t end;

	*more = false;
	if (SYS(fstat)(fd, &st) < 0)
		return -errno;
	/* every page of the file has its own already: all of it was mapped
	 * (each of a database's readers maps the whole file), and the walk
	 * below would find the pages only allocated to be holes and allocate
	 * them again (65 ms a GiB). Pages past the end count too, which only
	 * a write that failed after its reserve leaves (mmap_write_reserve) */
	if ((uint64_t)st.st_blocks * 512 >= page_up((size_t)st.st_size))
		return 0;
	*more = len < st.st_size - off;
	end = *more ? off + len : st.st_size;
	for (off_t stop; off < end && host_run_next(fd, &off, end, SEEK_HOLE, &stop); off = stop)
		if (SYS(fallocate)(fd, FALLOC_FL_KEEP_SIZE, off, stop - off) < 0)
			return errno == EOPNOTSUPP ? 0 : host_full(-errno);
	return 0;
}

/* The first of the n bytes where h and b differ (n if none). */
static size_t diff_first(const char *h, const char *b, size_t n)
{
	size_t i = 0;

	while (i + 64 <= n && memcmp(h + i, b + i, 64) == 0)
		i += 64;
	while (i < n && h[i] == b[i])
		i++;
	return i;
}

/* One past the last of the n bytes where h and b differ (0 if none). */
static size_t diff_last(const char *h, const char *b, size_t n)
{
	while (n >= 64 && memcmp(h + n - 64, b + n - 64, 64) == 0)
		n -= 64;
	while (n > 0 && h[n - 1] == b[n - 1])
		n--;
	return n;
}

/*
 * The write-back of one chunk of n bytes at off: h the host file's, b the
 * base's. Only the mappings' stores, the bytes where h and b differ, go
 * into the UMFS file, byte for byte (umfs_write_changed): a write that
 * reached the file another way (umfs-fuse, which does not know the host
 * file) is not overwritten with the bytes the mapping was made from. The
 * base takes them too (pool lock held).
 */
static void stores_write_back(int bfd, struct umfs_file *uf, const char *h, const char *b,
			      size_t n, off_t off)
{
	size_t lo = diff_first(h, b, n), hi = lo < n ? diff_last(h, b, n) : lo;

	if (lo < hi && umfs_write_changed(uf, h + lo, b + lo, hi - lo, off + (off_t)lo) >= 0)
		OS(pwrite)(bfd, h + lo, hi - lo, off + (off_t)lo);
}

/* Reads n bytes of the base at off into b; the bytes of a base cut short
 * all differ from the host file's h (stores), past hm, the host file's
 * end, none do. false on a read error. */
static bool base_read(int bfd, char *b, const char *h, ssize_t hm, size_t n, off_t off)
{
	ssize_t m = sys_read_full(bfd, b, n, off);

	if (m < 0)
		return false;
	for (ssize_t i = m; i < (ssize_t)n; i++)
		b[i] = i < hm ? (char)~h[i] : 0;
	return true;
}

/* A write-back's place between two chunks, where it lets a process that
 * waits for the pool lock in (host_turn_take): the host file instance and
 * its cache entry e; last: the inode's last mapping went, and a new one
 * may take the host file over meanwhile (host_take_over), the rest of
 * the write-back with it, which ends the slot's turn this one holds. */
struct host_turn {
	uint64_t ino, inst, turn;
	uint32_t gen;
	bool last;
	struct hfd *e;
};

static bool host_turn_take(struct host_turn *t);

/*
 * Writes [off, off+len) of the host file back into the UMFS file
 * (stores_write_back) and brings the base along (pool lock held). bfd < 0:
 * all of it goes back (a host file an older library left, which made no
 * base). With turn, other processes get the pool lock between chunks.
 */
static void host_copy_back(int fd, int bfd, struct umfs_file *uf, off_t off, off_t len,
			   struct host_turn *turn)
{
	char *h = malloc(2 * (size_t)COPY_CHUNK), *b;

	if (!h)
		return;
	b = h + COPY_CHUNK;
	while (len > 0) {
		off_t at = host_seek(fd, off, off + len, SEEK_DATA);
		size_t want;
		ssize_t n;

		len -= at - off;
		off = at;
		if (len <= 0)
			break;
		want = len < (off_t)COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		n = sys_read_full(fd, h, want, off);

		if (n <= 0)
			break;
		if (bfd < 0)
			umfs_write_stores(uf, h, (size_t)n, off);
		else if (base_read(bfd, b, h, n, (size_t)n, off))
			stores_write_back(bfd, uf, h, b, (size_t)n, off);
		off += n;
		len -= n;
		if (turn && len > 0) {
			/* a base goes only with its host file: none now would
			 * send the rest back whole */
			if (!host_turn_take(turn) || turn->e->bfd < 0)
				break;
			fd = turn->e->fd;
			bfd = turn->e->bfd;
		}
	}
	free(h);
}

static void host_unlink(const char *kind, uint64_t ino, uint32_t gen, uint64_t inst)
{
	char name[96];

	if (!host_name(name, sizeof(name), kind, ino, gen, inst))
		SYS(unlinkat)(shim_helper_dfd(), name, 0);
}

/* Whether the host file of (ino, gen, inst) is in the helper directory
 * dfd: 0, or -errno (-ENOENT: it is gone). */
static int host_there(int dfd, uint64_t ino, uint32_t gen, uint64_t inst)
{
	char name[96];
	int err = host_name(name, sizeof(name), HOST_FILE, ino, gen, inst);

	if (!err && SYS(faccessat)(dfd, name, F_OK, AT_EACCESS) < 0)
		err = -errno;
	return err;
}

/* Removes the host file of (ino, gen, inst) and its base. */
static void host_remove(uint64_t ino, uint32_t gen, uint64_t inst)
{
	host_unlink(HOST_BASE, ino, gen, inst);
	host_unlink(HOST_FILE, ino, gen, inst);
}

/* Makes a host file or its base of size bytes: its descriptor, or -errno. */
static int host_make(const char *kind, uint64_t ino, uint32_t gen, uint64_t inst, off_t size)
{
	char name[96];
	int fd, err = host_name(name, sizeof(name), kind, ino, gen, inst);

	if (err)
		return err;
	fd = shim_helper_open(name, O_RDWR | O_CREAT | O_TRUNC, S_IFREG);
	if (fd < 0)
		return fd;
	err = umfs_os_ftruncate_own(fd, size);
	if (err < 0) {
		OS(close)(fd);
		SYS(unlinkat)(shim_helper_dfd(), name, 0);
		return err;
	}
	return fd;
}

/* The first mapper makes the host file, and its base if the mapping can
 * store, of the file's size, to be filled (host_fill_rest; pool lock
 * held). */
static int host_create(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf,
		       bool writable)
{
	off_t size = file_size(uf);
	int bfd = writable ? host_make(HOST_BASE, ino, gen, inst, size) : -1, fd;

	if (writable && bfd < 0)
		return bfd;
	fd = host_make(HOST_FILE, ino, gen, inst, size);
	sys_close_quiet(bfd);
	if (fd < 0) {
		host_remove(ino, gen, inst);
		return fd;
	}
	sys_close_quiet(fd);
	return 0;
}

/*
 * Copies the file into the host file instance inst (and its base) from
 * where its slot says the copy is, a chunk at a time under the pool lock,
 * which may be let go of between two (yield): other processes' calls do
 * not wait for the whole of a large file. Each chunk is the file's bytes
 * at that moment, and a write of the file meanwhile (under the pool lock,
 * the inode being mapped) goes into the copy as well, wherever it lands:
 * copied, or still to be copied from the file, which has it. Whoever maps
 * the inode while it is being copied copies the rest too, one chunk after
 * another's, and maps it only once all is there; so does one that finds a
 * copy a dead process left half done. Readers of the inode meanwhile take
 * the pool lock (mmap_read), under which the copy and its base agree.
 * Pool lock held. 0 or -errno.
 */
static int host_fill_rest(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf,
			  bool yield)
{
	uint64_t at;
	int err = 0;

	while (!err && (at = map_slot_filled(ino, gen, inst)) != MAP_FILLED) {
		off_t size = file_size(uf), len, data;
		int fd, bfd;

		/* a hole is in the host file as it is: the mark passes it */
		data = (off_t)at < size ? file_data_next(uf, (off_t)at, size) : size;
		if (data < 0)
			return (int)data;
		if (data >= size) {
			map_slot_fill(ino, gen, inst, MAP_FILLED);
			break;
		}
		at = (uint64_t)data & ~(uint64_t)(COPY_CHUNK - 1);
		len = size - (off_t)at < (off_t)COPY_CHUNK ? size - (off_t)at : COPY_CHUNK;
		pthread_mutex_lock(&hlock);
		fd = host_fd_locked(ino, gen, inst, &bfd, true);
		err = fd < 0 ? -ENOENT : host_fill(fd, bfd, uf, (off_t)at, len);
		pthread_mutex_unlock(&hlock);
		if (!err)
			map_slot_fill(ino, gen, inst, at + (uint64_t)len);
		if (yield)
			pool_lock_yield();
	}
	return err;
}

/* A mapping that can store joins one made read-only: the base, a copy
 * of the host file's data, which nothing has stored to; what reads as a
 * hole there (SEEK_DATA) stays one in the base (pool lock held). */
static int host_base_make(uint64_t ino, uint32_t gen, uint64_t inst)
{
	struct stat st;
	int fd, bfd = host_open(HOST_BASE, ino, gen, inst), err = 0;
	char *buf = NULL;
	off_t off = 0;

	if (bfd >= 0) {
		host_close(bfd);
		return 0;
	}
	fd = host_open(HOST_FILE, ino, gen, inst);
	if (fd < 0)
		return -ENOENT;
	bfd = SYS(fstat)(fd, &st) < 0 ? -errno : host_make(HOST_BASE, ino, gen, inst, st.st_size);
	if (bfd >= 0 && st.st_size > 0 && !(buf = malloc(COPY_CHUNK)))
		err = -ENOMEM;
	while (buf && (off = host_seek(fd, off, st.st_size, SEEK_DATA)) < st.st_size) {
		ssize_t n = sys_read_full(fd, buf, COPY_CHUNK, off);

		err = n <= 0 ? -EIO : host_write(bfd, buf, (size_t)n, off);
		if (err)
			break;
		off += n;
	}
	free(buf);
	if (bfd < 0)
		err = bfd;
	else
		sys_close_quiet(bfd);
	if (err)
		host_unlink(HOST_BASE, ino, gen, inst);
	host_close(fd);
	return host_full(err);
}

/* The first and one past the last byte of [from, n) where the file's
 * bytes p differ from the base's b and the host file's h agree with b:
 * bytes that reached the file another way (to == from when none). */
static size_t foreign_run(const char *p, const char *h, const char *b, size_t from, size_t n,
			  size_t *to)
{
	size_t i = from;

	while (i < n && (p[i] == b[i] || h[i] != b[i])) {
		if (i + 64 <= n && memcmp(p + i, b + i, 64) == 0)
			i += 64;
		else
			i++;
	}
	*to = i;
	while (*to < n && p[*to] != b[*to] && h[*to] == b[*to])
		(*to)++;
	return i;
}

/*
 * A hook could not bring the host file fd and its base bfd along with a
 * change of [off, off+len) (the helper directory's file system full, or no
 * descriptor): the host file takes the base's bytes back over the range,
 * so that no write-back mistakes bytes that one of them took for stores
 * and undoes the change, and the change is counted as one no hook
 * mirrored: every process's next msync or fsync brings it in
 * (host_refresh). Where the host file cannot take them it has a hole,
 * which reads as zeros, as the base does there.
 */
static void host_missed(uint64_t ino, int fd, int bfd, off_t off, off_t len)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct stat st;
	char *buf = fd >= 0 && bfd >= 0 && len > 0 ? malloc(COPY_CHUNK) : NULL;

	if (buf && SYS(fstat)(fd, &st) == 0 && SYS(ftruncate)(bfd, st.st_size) == 0) {
		for (off_t end = off + len; off < end;) {
			size_t want = end - off < (off_t)COPY_CHUNK ? (size_t)(end - off) : COPY_CHUNK;
			ssize_t n = sys_read_full(bfd, buf, want, off);

			if (n < 0)
				break;
			memset(buf + n, 0, want - (size_t)n);
			OS(pwrite)(fd, buf, want, off);
			off += (off_t)want;
		}
	}
	free(buf);
	if (fs)
		umfs_mirror_failed(fs, ino);
}

/*
 * Brings into the host file h and its base b what reached the file another
 * way (one chunk of n bytes at off; p the file's): a write through
 * umfs-fuse, which knows no host file, changes the file alone, so that the
 * file differs from the base where the host file does not. Where a store
 * and such a write hit the same byte the store stays, and wins at the
 * write-back. Into the host file go only the bytes that differ, run by
 * run: stores into its other bytes, which take no lock, are not undone. It
 * goes first, so that a reader that finds it unlike the base meanwhile
 * takes its bytes, which are the file's. Without a base (b == h) nothing
 * could store: the host file is the base. h and b are brought along.
 * The error of a host file or base that could not take them all (its file
 * system full): the base is then left as it was where the host file did not
 * take them, so that they do not go back as stores over the file.
 */
static int host_refresh(int fd, int bfd, const char *p, char *h, char *b, size_t n, off_t off)
{
	size_t lo, hi, at, last;
	int err;

	lo = foreign_run(p, h, b, 0, n, &hi);
	if (lo == hi)
		return 0;
	for (at = lo; at < hi; at = foreign_run(p, h, b, hi, n, &hi)) {
		err = host_write(fd, p + at, hi - at, off + (off_t)at);
		if (err)
			return err;
		memcpy(h + at, p + at, hi - at);
	}
	if (bfd < 0)
		return 0;
	/* the base is the file's bytes, stores or not: a store still differs
	 * from it, and goes back */
	last = diff_last(p, b, n);
	err = host_write(bfd, p + lo, last - lo, off + (off_t)lo);
	if (!err)
		memcpy(b + lo, p + lo, last - lo);
	return err;
}

/* What stores go back through: uf, or when it is open read-only a
 * writable open of the inode in *wf (the caller closes it), since the
 * stores may be another process's and go back whoever syncs or unmaps,
 * as the kernel writes back a shared page. uf when none can be had. */
static struct umfs_file *host_writer(uint64_t ino, uint32_t gen, struct umfs_file *uf,
				     struct umfs_file **wf)
{
	struct umfs_fs *fs = shim_fs_peek();

	*wf = NULL;
	if (fs && (umfs_file_flags(uf) & O_ACCMODE) == O_RDONLY &&
	    umfs_open_id(fs, ino, gen, O_RDWR, UMFS_OPEN_ID_NOCHECK, wf) == 0)
		return *wf;
	return uf;
}

/* Lets a process that waits for the pool lock in between two chunks of a
 * write-back or msync (hlock held, let go of for the time, as it comes
 * after the pool lock): the host file's entry, looked up again (NULL:
 * gone). The mappings' sequence, odd while the caller changes the files,
 * is even for the pause and moves again after it, so that a read that
 * spans the pause is done again, and one in it takes no lock. */
static struct hfd *host_yield(uint64_t ino, uint32_t gen, uint64_t inst, struct hfd *e)
{
	if (!pool_lock_wanted())
		return e;
	pthread_mutex_unlock(&hlock);
	map_seq_bump();
	pool_lock_yield();
	map_seq_bump();
	pthread_mutex_lock(&hlock);
	return host_entry_locked(ino, gen, inst, true);
}

/* host_yield for a write-back (hlock held): false when it is to stop, its
 * host file gone or, for a last mapping's, taken over by a new mapping. */
static bool host_turn_take(struct host_turn *t)
{
	t->e = host_yield(t->ino, t->gen, t->inst, t->e);
	return t->e && (!t->last || map_slot_idle(t->ino, t->gen, t->turn));
}

/* Writes the host file back into the file (host_writer), letting a process
 * that waits for the pool lock in between chunks (yield). Whether, for
 * the inode's last mapping (last), the host file is still this
 * write-back's to remove: not when a new mapping took it over meanwhile,
 * with what is not back yet (pool lock held). */
static bool host_writeback(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf,
			   off_t off, off_t len, bool last, bool yield)
{
	struct host_turn turn = { .ino = ino, .inst = inst, .gen = gen, .last = last,
				  .turn = last ? map_slot_turn(ino, gen) : 0 };
	struct umfs_file *wf = NULL;
	off_t size;

	pthread_mutex_lock(&hlock);
	/* no base: no mapping of the inode could store, nothing goes back;
	 * nothing to write through (a failed mapping's undo): no lookup */
	turn.e = uf ? host_entry_locked(ino, gen, inst, true) : NULL;
	if (turn.e && turn.e->bfd >= 0) {
		uf = host_writer(ino, gen, uf, &wf);
		size = file_size(uf);
		if (off < size)
			host_copy_back(turn.e->fd, turn.e->bfd, uf, off,
				       len < size - off ? len : size - off, yield ? &turn : NULL);
	}
	pthread_mutex_unlock(&hlock);
	if (wf)
		umfs_close(wf);
	if (!last)
		return true;
	host_forget(ino, gen);
	return map_slot_idle(ino, gen, turn.turn);
}

/*
 * msync and fsync (pool lock held): chunk by chunk, what reached the file
 * another way comes into the host file (host_refresh), then the stores go
 * back (stores_write_back) through host_writer, from
 * one read of the file, the host file and the base. The refresh is left
 * out while nothing reached the file another way (the core's count of
 * changes no hook mirrored, umfs_unmirrored_writes, has not moved) since
 * this process last brought the whole host file in step: a file that a
 * program maps read-only and writes with pwrite and fdatasync at every
 * commit (LMDB) is not read whole at each. The mappings' sequence is odd
 * meanwhile, as for a last unmap: a reader that read the file before a
 * store went into it, and the host file and base after, would miss the
 * store. Between two chunks another process waiting for the pool lock
 * gets it (host_yield): each chunk is whole under the lock.
 */
static void host_sync(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf, off_t off,
		      off_t len)
{
	struct umfs_fs *fs = shim_fs_peek();
	/* read before the file's bytes: a change after it moves it */
	uint64_t unmirrored = fs ? umfs_unmirrored_writes(fs, ino) : 0;
	struct umfs_file *wf = NULL;
	off_t size = file_size(uf), end;
	bool refresh, whole;
	struct hfd *e;
	char *p = NULL;
	struct stat st;
	size_t chunk;
	int fd, bfd, missed = 0;

	map_seq_bump();
	pthread_mutex_lock(&hlock);
	e = host_entry_locked(ino, gen, inst, true);
	fd = e ? e->fd : -1;
	bfd = e ? e->bfd : -1;
	refresh = !fs || !e || !e->stepped || e->step != unmirrored;
	if (bfd >= 0)
		uf = host_writer(ino, gen, uf, &wf);
	if (fd >= 0 && SYS(fstat)(fd, &st) == 0 && st.st_size != size) {
		SYS(ftruncate)(fd, size);
		if (bfd >= 0)
			SYS(ftruncate)(bfd, size);
	}
	end = off < size ? (len < size - off ? off + len : size) : off;
	whole = off == 0 && end == size;
	chunk = end - off < (off_t)COPY_CHUNK ? (size_t)(end - off) : COPY_CHUNK;
	/* no base: no mapping could store, and only a refresh is left */
	if (fd >= 0 && chunk && (refresh || bfd >= 0))
		p = malloc(3 * chunk);
	for (; p && off < end;) {
		size_t want;
		char *h = p + chunk, *b = bfd >= 0 ? h + chunk : h;
		ssize_t n, hm;

		/* with nothing to bring in, only stores are looked for */
		if (!refresh && (off = host_seek(fd, off, end, SEEK_DATA)) >= end)
			break;
		want = end - off < (off_t)chunk ? (size_t)(end - off) : chunk;
		n = refresh ? umfs_pread(uf, p, want, off) : (ssize_t)want;

		if (n <= 0 || (hm = sys_read_full(fd, h, (size_t)n, off)) < 0)
			break;
		memset(h + hm, 0, (size_t)(n - hm));
		if (bfd >= 0 && !base_read(bfd, b, h, hm, (size_t)n, off))
			break;
		/* one that failed leaves nothing in h and b that would go back
		 * but stores and the file's own bytes: the stores still go */
		if (refresh && (missed = host_refresh(fd, bfd, p, h, b, (size_t)n, off)))
			refresh = false;
		if (bfd >= 0)
			stores_write_back(bfd, uf, h, b, (size_t)n, off);
		off += n;
		if (off >= end)
			break;
		e = host_yield(ino, gen, inst, e);
		if (!e)
			break; /* its last mapping went meanwhile, written back */
		/* a mapping that can store may have made a base meanwhile */
		fd = e->fd;
		bfd = e->bfd;
		if (bfd >= 0 && !wf)
			uf = host_writer(ino, gen, uf, &wf);
	}
	free(p);
	if (e && whole && off >= end && !missed) { /* every byte went through */
		e->stepped = true;
		e->step = unmirrored;
	}
	if (missed) /* every process's next msync or fsync tries again */
		host_missed(ino, -1, -1, 0, 0);
	pthread_mutex_unlock(&hlock);
	if (wf)
		umfs_close(wf);
	map_seq_bump();
	host_full(missed);
}

/* ------------------------------------------------------------------ */
/* Hooks: every process keeps a mapped inode's host file in step         */
/* ------------------------------------------------------------------ */

/* Puts into dst the bytes where host file h and base b differ: a
 * mapping's stores. The host bytes past a base cut short (hm > bm) are
 * stores too; past the host file's end there are none. */
static void stores_apply(char *dst, const char *h, ssize_t hm, const char *b, ssize_t bm)
{
	size_t i = 0, n = hm > 0 ? (size_t)hm : 0, same = bm > 0 ? (size_t)bm : 0;

	if (same > n)
		same = n;
	while (i < same) {
		size_t end = i + 64 < same ? i + 64 : same;

		if (end - i == 64 && memcmp(h + i, b + i, 64) == 0) {
			i = end;
			continue;
		}
		for (; i < end; i++)
			if (h[i] != b[i])
				dst[i] = h[i];
	}
	if (same < n)
		memcpy(dst + same, h + same, n - same);
}

/*
 * The stores of a mapping of the inode over what was read into buf from
 * the file: false when the inode is mapped but its host file could not be
 * read (gone with a last mapping meanwhile). The stores are the bytes
 * where the host file differs from its base; every other byte is the
 * file's, which may hold a write that reached it through umfs-fuse since
 * the mapping was made (the host file does not). Without a base no
 * mapping could store: the file has every byte.
 */
static bool mmap_read_hook(uint64_t ino, uint32_t gen, void *buf, size_t len, off_t off,
			   bool pool_locked)
{
	uint64_t inst = map_slot_find(ino, gen);
	char small[2 * 4096], *h = small;
	size_t chunk = sizeof(small) / 2;
	int fd, bfd;

	if (!inst)
		return true;
	pthread_mutex_lock(&hlock);
	fd = host_fd_locked(ino, gen, inst, &bfd, pool_locked);
	if (fd >= 0 && bfd >= 0 && len > chunk) {
		/* a large read compares in larger steps (from the heap, not a
		 * mapping of its own to fault in each time); short of memory,
		 * in small ones */
		size_t want = len < READ_CHUNK ? len : READ_CHUNK;
		char *big = malloc(2 * want);

		if (big) {
			h = big;
			chunk = want;
		}
	}
	for (size_t done = 0; fd >= 0 && bfd >= 0 && done < len; done += chunk) {
		size_t want = len - done < chunk ? len - done : chunk;
		ssize_t hm = sys_read_full(fd, h, want, off + (off_t)done);
		ssize_t bm = hm > 0 ? sys_read_full(bfd, h + chunk, (size_t)hm, off + (off_t)done)
				    : 0;

		if (hm <= 0)
			break;
		stores_apply((char *)buf + done, h, hm, h + chunk, bm);
	}
	pthread_mutex_unlock(&hlock);
	if (h != small)
		free(h);
	return fd >= 0;
}

/*
 * A read of the file of uf (inode ino, gen) while some process maps files
 * of the pool shared (umfs_pread_out with out): the pool's bytes, then a
 * mapping's stores not yet written back over them. Reads take no lock,
 * so one that raced a process making a host file (found before it is
 * whole), letting go of a mapping (the last writes the host file back
 * and removes it) or writing stores back (the file's bytes read before,
 * host file and base after) may have read either half wrong: such a
 * read, told by the mappings' sequence, is done again under the pool
 * lock, which all of those hold throughout; so is a read while the host
 * file is still being copied (host_fill_rest), which lets the lock go
 * between its steps. A file nobody maps, nor lets go of, has every store
 * in it: its read is the pool's bytes alone, whatever other files'
 * mappings do meanwhile (one mapped after the look is as if mapped after
 * the read).
 */
ssize_t mmap_read(uint64_t ino, uint32_t gen, struct umfs_file *uf, void *buf, size_t len,
		  off_t off, const struct umfs_out *out)
{
	uint32_t seq = map_seq_read();
	ssize_t n;

	if (!map_slot_held(ino))
		return umfs_pread_out(uf, buf, len, off, out);
	if (!(seq & 1) && map_slot_filled(ino, gen, 0) == MAP_FILLED) {
		n = umfs_pread_out(uf, buf, len, off, out);
		if (n <= 0 || (mmap_read_hook(ino, gen, buf, (size_t)n, off, false) &&
			       map_seq_read() == seq))
			return n;
	}
	pool_lock();
	n = umfs_pread_out(uf, buf, len, off, out);
	if (n > 0)
		mmap_read_hook(ino, gen, buf, (size_t)n, off, true);
	pool_unlock_ro();
	return n;
}

int mmap_write_reserve(uint64_t ino, uint32_t gen, off_t off, size_t len)
{
	uint64_t inst = map_slot_find(ino, gen);
	int fd[2], err = 0, saved = errno;

	if (!inst || !len)
		return 0;
	pthread_mutex_lock(&hlock);
	fd[0] = host_fd_locked(ino, gen, inst, &fd[1], true);
	for (int i = 0; i < 2 && !err && fd[i] >= 0; i++)
		if (SYS(fallocate)(fd[i], FALLOC_FL_KEEP_SIZE, off, (off_t)len) < 0 && errno == ENOSPC)
			err = -ENOSPC;
	pthread_mutex_unlock(&hlock);
	errno = saved;
	return host_full(err);
}

/* Called with the pool lock held, after the write. */
void mmap_write_hook(uint64_t ino, uint32_t gen, const void *buf, size_t len, off_t off,
		     off_t size)
{
	uint64_t inst = map_slot_find(ino, gen);
	struct stat st;
	int fd[2], err, saved = errno;

	if (!inst)
		return;
	pthread_mutex_lock(&hlock);
	fd[0] = host_fd_locked(ino, gen, inst, &fd[1], true);
	err = fd[0] < 0 ? -EBADF : 0;
	/* the file has these bytes: the base too, so they do not go back */
	for (int i = 0; i < 2 && !err && fd[i] >= 0; i++) {
		if (SYS(fstat)(fd[i], &st) == 0 && st.st_size < size)
			SYS(ftruncate)(fd[i], size);
		err = host_write(fd[i], buf, len, off);
	}
	if (err)
		host_missed(ino, fd[0], fd[1], off, (off_t)len);
	pthread_mutex_unlock(&hlock);
	host_full(err);
	errno = saved;
}

/* The file has size bytes now (pool lock held): pages past it fault. */
void mmap_size_hook(uint64_t ino, uint32_t gen, off_t size)
{
	uint64_t inst = map_slot_find(ino, gen);
	int fd[2], err, saved = errno;

	if (!inst)
		return;
	pthread_mutex_lock(&hlock);
	fd[0] = host_fd_locked(ino, gen, inst, &fd[1], true);
	err = fd[0] < 0 ? -EBADF : 0;
	for (int i = 0; i < 2 && !err && fd[i] >= 0; i++)
		err = SYS(ftruncate)(fd[i], size) < 0 ? -errno : 0;
	if (err)
		host_missed(ino, fd[0], fd[1], 0, 0);
	pthread_mutex_unlock(&hlock);
	errno = saved;
}

/* A hole was punched, or a range zeroed (pool lock held): the data of the
 * range goes, and its pages are taken again at once, so that a store
 * there does not meet a full file system (SIGBUS) while the pool has room.
 * Only the data: a page that holds none reads as zeros already, and one no
 * mapping took (host_reserve) is not taken now. */
static int host_punch(int fd, off_t off, off_t len)
{
	off_t end = off + len;
	struct stat st;

	if (SYS(fstat)(fd, &st) < 0)
		return -errno;
	if (end > st.st_size) {
		/* past the end no data is seen, yet the last page may hold
		 * bytes a mapping stored past it, which a growth would show */
		off_t from = off > st.st_size ? off : st.st_size;

		if (SYS(fallocate)(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, end - from) < 0)
			return -errno;
		end = st.st_size;
	}
	for (off_t stop; off < end && host_run_next(fd, &off, end, SEEK_DATA, &stop); off = stop) {
		if (SYS(fallocate)(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, stop - off) < 0)
			return -errno;
		SYS(fallocate)(fd, FALLOC_FL_KEEP_SIZE, off, stop - off);
	}
	return 0;
}

void mmap_punch_hook(uint64_t ino, uint32_t gen, off_t off, off_t len)
{
	uint64_t inst = map_slot_find(ino, gen);
	int fd[2], err, saved = errno;

	if (!inst)
		return;
	pthread_mutex_lock(&hlock);
	fd[0] = host_fd_locked(ino, gen, inst, &fd[1], true);
	err = fd[0] < 0 ? -EBADF : 0;
	for (int i = 0; i < 2 && !err && fd[i] >= 0; i++)
		err = host_punch(fd[i], off, len);
	if (err)
		host_missed(ino, fd[0], fd[1], off, len);
	pthread_mutex_unlock(&hlock);
	errno = saved;
}

/* fsync of a mapped file: its mapped stores go back first (the pool lock
 * taken here). */
void mmap_sync_hook(uint64_t ino, uint32_t gen, struct umfs_file *uf)
{
	struct umfs_fs *fs = shim_fs_peek();
	struct umfs_file *wf = NULL;
	uint64_t inst = map_slot_find(ino, gen);

	if (!inst || !fs)
		return;
	(void)uf;
	pool_lock();
	inst = map_slot_find(ino, gen);
	if (inst && umfs_open_id(fs, ino, gen, O_RDWR, UMFS_OPEN_ID_NOCHECK, &wf) == 0) {
		host_sync(ino, gen, inst, wf, 0, INT64_MAX);
		umfs_close(wf);
	}
	pool_unlock();
}

/* ------------------------------------------------------------------ */
/* Private mappings and SIGBUS past the end                              */
/* ------------------------------------------------------------------ */

static int sigbus_fd = -1;
static pthread_mutex_t sigbus_lock = PTHREAD_MUTEX_INITIALIZER;

/* Maps [addr, addr+len) from an empty file: every access is SIGBUS. */
static void map_sigbus(char *addr, size_t len, int prot)
{
	if (len == 0)
		return;
	pthread_mutex_lock(&sigbus_lock);
	if (sigbus_fd < 0) {
		int fd;

		shim_fdguard_own();
		fd = SYS(memfd_create)("umfs-sigbus", MFD_CLOEXEC);
		sigbus_fd = shim_fd_move_high(fd);
		uinfo_mark_internal(sigbus_fd);
	}
	pthread_mutex_unlock(&sigbus_lock);
	if (sigbus_fd >= 0)
		SYS(mmap)(addr, len, prot, MAP_SHARED | MAP_FIXED, sigbus_fd, 0);
}

/* Reads len bytes of the file at off into mem, fresh anonymous memory,
 * 64 KiB from each data found on (holes within it read as zeros; a hole's
 * own search would run to the hole, the whole file at worst): other holes
 * stay untouched pages, which take no memory until touched, as in the
 * kernel's private mapping of a sparse file. Each step's pages are made
 * present in one call rather than a fault each (a hint: where it fails,
 * they fault). A file mapped shared too, whose stores read() takes as
 * well (mmap_read), is read whole. A file with no data there is read for
 * nothing, which its atime records as the kernel's mmap does. The count
 * read, or -errno. */
static ssize_t private_fill(struct ofd *o, char *mem, size_t len, off_t off)
{
	off_t end = off + (off_t)len, at = off;
	int saved = errno;
	bool read_any = false;

	if (mmap_any() && map_slot_held(o->ino)) {
		SYS(madvise)(mem, len, MADV_POPULATE_WRITE);
		errno = saved;
		return mmap_read(o->ino, o->gen, o->uf, mem, len, off, NULL);
	}
	while (at < end) {
		off_t data = file_data_next(o->uf, at, end);
		size_t want;
		ssize_t n;

		if (data < 0)
			return data;
		if (data >= end)
			break;
		want = end - data < (off_t)PRIVATE_STEP ? (size_t)(end - data) : PRIVATE_STEP;
		SYS(madvise)(mem + (data - off), want, MADV_POPULATE_WRITE);
		errno = saved;
		n = umfs_pread(o->uf, mem + (data - off), want, data);
		read_any = true;
		if (n <= 0) {
			if (n < 0)
				return n;
			break;
		}
		at = data + n;
	}
	if (!read_any) {
		ssize_t n = umfs_pread(o->uf, mem, 0, off);

		if (n < 0)
			return n;
	}
	return (ssize_t)len;
}

static void *map_private(struct ofd *o, void *addr, size_t len, int prot, int flags, off_t off,
			 int *err)
{
	off_t size = ofd_size(o);
	size_t valid = size > off ? page_up((size_t)(size - off)) : 0;
	void *mem;

	mem = SYS(mmap)(addr, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS |
				(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE |
					  MAP_POPULATE | MAP_LOCKED | MAP_32BIT | MAP_STACK)),
			-1, 0);
	if (mem == MAP_FAILED) {
		*err = -errno;
		return MAP_FAILED;
	}
	if (off < size) {
		size_t want = (size_t)(size - off) < len ? (size_t)(size - off) : len;
		ssize_t n = private_fill(o, mem, want, off);

		if (n < 0) {
			SYS(munmap)(mem, len);
			*err = (int)n;
			return MAP_FAILED;
		}
	}
	if (prot != (PROT_READ | PROT_WRITE))
		SYS(mprotect)(mem, len, prot);
	if (valid < page_up(len))
		map_sigbus((char *)mem + valid, page_up(len) - valid, prot);
	return mem;
}

/* ------------------------------------------------------------------ */
/* Shared mappings                                                       */
/* ------------------------------------------------------------------ */

/* Whether uf, a mapping's own open of its inode, is open for writing: the
 * mapping may then store (now or after mprotect). */
static bool map_file_rdwr(struct umfs_file *uf)
{
	return (umfs_file_flags(uf) & O_ACCMODE) == O_RDWR;
}

/* A mapping through uf, its own open of the inode, that could store (uf
 * open for writing) claims the inode's memory for the host file
 * (umfs_hostmap_claim; the first such across the pool's processes, the
 * others find it claimed): refused, as the kernel refuses a shared mapping
 * of a umfs-fuse file it serves without its cache, while a process has the
 * file open for writing through umfs-fuse, whose clients store into the
 * kernel's page cache, memory this mapping cannot share. Said once per
 * process. */
static int hostmap_claim(uint64_t ino, struct umfs_file *uf)
{
	static _Atomic bool said;
	struct umfs_fs *fs = shim_fs_peek();
	int err = fs && map_file_rdwr(uf) ? umfs_hostmap_claim(fs, ino, true) : 0;

	if (err == -EBUSY) {
		if (!atomic_exchange(&said, true))
			SHIM_LOG(LOG_WARN, "mmap MAP_SHARED of inode %llu refused (ENODEV): a "
				 "process has it open for writing through umfs-fuse, whose page "
				 "cache shares no memory with this mapping",
				 (unsigned long long)ino);
		err = -ENODEV;
	}
	return err;
}

/* The inode's last mapping went: its memory is nobody's. */
static void hostmap_unclaim(uint64_t ino)
{
	struct umfs_fs *fs = shim_fs_peek();

	if (fs)
		umfs_hostmap_claim(fs, ino, false);
}

/* A mapping through uf counted in: the first makes the host file, a
 * later one that can store (writable) its base (pool lock held). */
static int host_join(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf,
		     bool first, bool writable)
{
	if (!first)
		return writable ? host_base_make(ino, gen, inst) : 0;
	/* writes that did not see the slot end before the copy; those after
	 * see it and come back for the pool lock (ofd_write) */
	umfs_file_writers_drain(uf);
	return host_create(ino, gen, inst, uf, writable);
}

/*
 * A mapping came while the last one's write-back was not done (it lets
 * the pool lock go between chunks, or its process died): the stores not
 * yet back are in the host file of instance inst, which the new mapping
 * takes over as it is, with its base, and the write-back leaves to it
 * (pool lock held). -ENOENT when the host file is gone: a new one is made
 * and filled.
 */
static int host_take_over(uint64_t ino, uint32_t gen, uint64_t inst)
{
	int err = host_there(shim_helper_dfd(), ino, gen, inst);

	if (!err)
		return 0;
	host_unlink(HOST_BASE, ino, gen, inst); /* its host file is gone */
	map_slot_fill(ino, gen, inst, 0);
	return err;
}

/* Counts delta mappings of the inode in (map_slot_add; pool lock held):
 * the instance, or 0 when the shared area has no room. *first: they make
 * its host file, which nobody maps, nor leaves to take over (*taken). */
static uint64_t map_count_in(uint64_t ino, uint32_t gen, int delta, bool *first, bool *taken)
{
	uint32_t users;
	uint64_t inst = map_slot_add(ino, gen, delta, &users, taken);

	*taken = *taken && host_take_over(ino, gen, inst) == 0;
	*first = inst && users == (uint32_t)delta && !*taken;
	return inst;
}

/* The inode's last mapping went (pool lock held): its stores go back,
 * then its claim and slot, unless a new mapping took the host file over
 * meanwhile (yield: other processes get the lock between chunks). Whether
 * the host file (instance inst) is the caller's to remove: nobody finds
 * it once the slot is gone, so that may wait until the lock is let go,
 * as freeing its pages takes a while (a tenth of a second for 512 MiB). */
static bool map_last_gone(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf,
			  bool yield)
{
	if (!host_writeback(ino, gen, inst, uf, 0, INT64_MAX, true, yield))
		return false;
	hostmap_unclaim(ino);
	map_slot_gone(ino, gen);
	return true;
}

/* The mapping's undoing of map_hold's count, after a failure (pool lock
 * held): the last takes the host file away, with the stores in it that a
 * host file taken over (taken) may hold. */
static void map_hold_undo(uint64_t ino, uint32_t gen, uint64_t inst, struct umfs_file *uf,
			  bool taken)
{
	uint32_t users;

	if (map_slot_add(ino, gen, -1, &users, NULL) && users == 0 &&
	    map_last_gone(ino, gen, inst, taken ? uf : NULL, false))
		host_remove(ino, gen, inst);
}

/* host_reserve of the host file of (ino, gen, inst) (pool lock held);
 * nothing for an empty range (a mapping cut in two, whose pages are
 * taken), not even a look for the host file. A step at a time, and with
 * yield another process that waits for the pool lock gets it between two:
 * the caller's mapping is counted already, so the host file stays, and a
 * size changed meanwhile is found again at the next step. It stops where
 * the host file ends, or at once when it has all its pages: a second
 * process's mapping of a whole file looks once, not once a step. */
static int host_reserve_range(uint64_t ino, uint32_t gen, uint64_t inst, off_t off, off_t len,
			      bool yield)
{
	bool more = len > 0;
	int fd, bfd, err = 0;

	while (more) {
		off_t step = len < (off_t)RESERVE_STEP ? len : (off_t)RESERVE_STEP;

		pthread_mutex_lock(&hlock);
		fd = host_fd_locked(ino, gen, inst, &bfd, true);
		err = fd < 0 ? -ENOENT : host_reserve(fd, off, step, &more);
		pthread_mutex_unlock(&hlock);
		off += step;
		len -= step;
		more = more && !err && len > 0;
		if (more && yield)
			pool_lock_yield();
	}
	return err;
}

/* Counts one more mapping of the inode, making the host file for the
 * first, and its base for the first that can store (writable: the host
 * file opened for writing), and takes the pages of the file's range
 * [off, off + len) in the host file (pool lock held). Returns the
 * instance, or 0 with *err. The slot is found by readers before its host
 * file is made: the mappings' sequence, odd meanwhile, sends such a
 * reader to read again, locked; then, while the copy goes on in steps,
 * the slot's fill mark does (host_fill_rest). A mapping that joins
 * others brings in nothing that reached the file another way (msync
 * does): that would cost every process that maps a large file (a
 * database's readers) a comparison of all of it, where joining costs
 * nothing. */
static uint64_t map_hold(uint64_t ino, uint32_t gen, struct umfs_file *uf, bool writable,
			 off_t off, off_t len, int *err)
{
	bool first, taken;
	uint64_t inst;

	*err = 0;
	map_seq_bump();
	inst = map_count_in(ino, gen, 1, &first, &taken);
	if (!inst) {
		*err = -ENOMEM; /* more inodes mapped at once than the shared area holds */
	} else {
		*err = hostmap_claim(ino, uf);
		*err = *err ? *err : host_join(ino, gen, inst, uf, first, writable);
		if (*err)
			map_hold_undo(ino, gen, inst, uf, taken);
	}
	map_seq_bump();
	if (inst && !*err) {
		/* the copy, in steps with the lock let go between them: the
		 * sequence is even again, readers look at the slot's fill */
		*err = host_fill_rest(ino, gen, inst, uf, true);
		*err = *err ? *err : host_reserve_range(ino, gen, inst, off, len, true);
		if (*err) {
			map_seq_bump();
			map_hold_undo(ino, gen, inst, uf, taken);
			map_seq_bump();
		}
	}
	*err = map_err(*err);
	if (*err)
		return 0;
	registry_add(ino, 1);
	return inst;
}

/* One mapping less (pool lock held): the last writes back, letting
 * waiting processes in between chunks; with own_range (an exec's, for
 * the image it runs, which may read the file without the library) one
 * that others still map writes back its own range. Either way each store
 * goes back once. The instance of the host file left for the caller to
 * remove once it lets the lock go (0: none). */
static uint64_t map_release(struct umap *m, bool own_range)
{
	uint32_t users;
	uint64_t inst, gone = 0;

	map_seq_bump();
	inst = map_slot_add(m->ino, m->gen, -1, &users, NULL);
	if (inst && users == 0 && map_last_gone(m->ino, m->gen, inst, m->uf, true))
		gone = inst;
	else if (inst && users > 0 && own_range)
		(void)host_writeback(m->ino, m->gen, inst, m->uf, m->off, (off_t)m->len, false,
				     true);
	map_seq_bump();
	registry_add(m->ino, -1);
	return gone;
}

static void umap_free(struct umap *m)
{
	uint64_t gone;

	pool_lock();
	gone = map_release(m, false);
	umfs_close(m->uf);
	pool_unlock();
	if (gone)
		host_remove(m->ino, m->gen, gone);
	free(m);
	atomic_fetch_sub(&mmap_shared_count, 1);
}

/* Forgets [a, a+len) of this process's shared mappings (map_lock held). */
static void umap_remove_range(char *a, size_t len)
{
	char *end = a + len;
	struct umap **p = &maps;

	while (*p) {
		struct umap *m = *p;
		char *ms = m->addr, *me = m->addr + m->len;
		char *lo = a > ms ? a : ms, *hi = end < me ? end : me;

		if (lo >= hi) {
			p = &m->next;
			continue;
		}
		if (lo == ms && hi == me) {
			*p = m->next;
			umap_free(m);
			continue;
		}
		if (lo == ms) { /* front cut */
			m->off += hi - ms;
			m->addr = hi;
			m->len = (size_t)(me - hi);
		} else if (hi == me) { /* tail cut */
			m->len = (size_t)(lo - ms);
		} else { /* a hole in the middle: two mappings, each counted */
			struct umap *t = malloc(sizeof(*t));
			struct umfs_fs *fs = shim_fs_peek();
			int err = 0;

			if (t && fs) {
				*t = *m;
				t->addr = hi;
				t->len = (size_t)(me - hi);
				t->off = m->off + (hi - ms);
				pool_lock();
				if (umfs_open_id(fs, m->ino, m->gen, O_RDWR, UMFS_OPEN_ID_NOCHECK, &t->uf) &&
				    umfs_open_id(fs, m->ino, m->gen, O_RDONLY, UMFS_OPEN_ID_NOCHECK, &t->uf))
					t->uf = NULL;
				/* the same kernel mapping, cut in two: its base is there */
				if (t->uf && !map_hold(m->ino, m->gen, t->uf, false, 0, 0, &err)) {
					umfs_close(t->uf);
					t->uf = NULL;
				}
				pool_unlock();
				if (t->uf) {
					t->next = m->next;
					m->next = t;
					atomic_fetch_add(&mmap_shared_count, 1);
				} else {
					free(t);
				}
			} else {
				free(t);
			}
			m->len = (size_t)(lo - ms);
		}
		p = &m->next;
	}
}

static void *map_shared(struct ofd *o, void *addr, size_t len, int prot, int flags, off_t off,
			int *err)
{
	int accmode = atomic_load(&o->sh->flags) & O_ACCMODE;
	struct umfs_fs *fs = shim_fs(err);
	struct umfs_file *uf = NULL;
	struct umap *m;
	uint64_t inst = 0;
	void *mem = MAP_FAILED;
	bool stores;
	int fd;

	if (!fs)
		return MAP_FAILED;
	m = calloc(1, sizeof(*m));
	if (!m) {
		*err = -ENOMEM;
		return MAP_FAILED;
	}
	/* one that cannot store until mprotect says so makes no base: at
	 * msync and fsync nothing is compared (LMDB maps its file read-only
	 * through a descriptor open for writing) */
	stores = accmode == O_RDWR && (prot & PROT_WRITE);
	pool_lock();
	*err = umfs_open_id(fs, o->ino, o->gen, accmode == O_RDWR ? O_RDWR : O_RDONLY,
			    UMFS_OPEN_ID_NOCHECK, &uf);
	if (!*err)
		inst = map_hold(o->ino, o->gen, uf, stores, off, (off_t)len, err);
	pool_unlock();
	if (!inst)
		goto fail;
	/* the host file is opened as the description is, so that the kernel
	 * refuses PROT_WRITE (now or by mprotect) on a read-only open */
	fd = host_open_as(HOST_FILE, o->ino, o->gen, inst, accmode == O_RDWR ? O_RDWR : O_RDONLY);
	if (fd < 0) {
		*err = fd;
		goto fail_release;
	}
	if ((flags & MAP_FIXED) && atomic_load(&mmap_shared_count)) {
		pthread_mutex_lock(&map_lock);
		umap_remove_range(addr, page_up(len));
		pthread_mutex_unlock(&map_lock);
	}
	mem = SYS(mmap)(addr, len, prot, flags, fd, off);
	if (mem == MAP_FAILED)
		*err = -errno;
	OS(close)(fd);
	if (mem == MAP_FAILED)
		goto fail_release;
	m->addr = mem;
	m->len = page_up(len);
	m->off = off;
	m->ino = o->ino;
	m->gen = o->gen;
	m->inst = inst;
	m->stores = stores;
	m->uf = uf;
	pthread_mutex_lock(&map_lock);
	m->next = maps;
	maps = m;
	atomic_fetch_add(&mmap_shared_count, 1);
	pthread_mutex_unlock(&map_lock);
	return mem;

fail_release:
	m->ino = o->ino;
	m->gen = o->gen;
	m->uf = uf;
	pool_lock();
	inst = map_release(m, false);
	pool_unlock();
	if (inst)
		host_remove(m->ino, m->gen, inst);
fail:
	if (uf) {
		pool_lock();
		umfs_close(uf);
		pool_unlock();
	}
	free(m);
	return MAP_FAILED;
}

/* The flags MAP_SHARED_VALIDATE accepts on a file without MAP_SYNC (the
 * kernel's LEGACY_MAP_MASK). */
#define MAP_LEGACY_FLAGS                                                                   \
	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |            \
	 MAP_EXECUTABLE | 0x4000000 /* MAP_UNINITIALIZED */ | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | \
	 MAP_POPULATE | MAP_NONBLOCK | MAP_STACK | MAP_HUGETLB)

SHIM_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int type = flags & MAP_TYPE, accmode, err = 0;
	bool shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
	struct ofd *o;
	void *mem = MAP_FAILED;
	SHIM_SERVE();

	if (likely((flags & MAP_ANONYMOUS) || (o = fd_get_fast(fd)) == NULL)) {
		if (unlikely((flags & MAP_FIXED) &&
			     atomic_load_explicit(&mmap_shared_count, memory_order_relaxed))) {
			pthread_mutex_lock(&map_lock);
			umap_remove_range(addr, page_up(len));
			pthread_mutex_unlock(&map_lock);
		}
		TRACE_PASS(mmap, "%d", fd);
		return SYS(mmap)(addr, len, prot, flags, fd, off);
	}
	/* the kernel's order: offset, descriptor, length, type, access */
	accmode = atomic_load(&o->sh->flags) & O_ACCMODE;
	if ((off & (off_t)(page_size() - 1)) || off < 0)
		err = -EINVAL;
	else if (atomic_load(&o->sh->flags) & O_PATH)
		err = -EBADF;
	else if (!o->uf)
		err = -EIO;
	else if (len == 0)
		err = -EINVAL;
	else if (type == MAP_SHARED_VALIDATE && (flags & ~MAP_LEGACY_FLAGS))
		err = -EOPNOTSUPP;
	else if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		err = -EINVAL;
	else if (shared && (prot & PROT_WRITE) && accmode != O_RDWR)
		err = -EACCES;
	else if (!acc_reads(accmode))
		err = -EACCES; /* not open for reading */
	else if (o->type != S_IFREG)
		err = -ENODEV;
	if (!err)
		mem = shared ? map_shared(o, addr, len, prot, flags, off, &err)
			     : map_private(o, addr, len, prot, flags, off, &err);
	ofd_put(o);
	TRACE_SERVED(mmap, mem == MAP_FAILED ? err : 0, 0, "%d, %zu, %lld -> %p", fd, len,
		     (long long)off, mem);
	if (mem == MAP_FAILED)
		errno = -err;
	return mem;
}

SHIM_API int munmap(void *addr, size_t len)
{
	if (likely(atomic_load_explicit(&mmap_shared_count, memory_order_relaxed) == 0))
		return SYS(munmap)(addr, len);
	SHIM_SERVE();
	if (((uintptr_t)addr & (page_size() - 1)) || len == 0) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&map_lock);
	umap_remove_range(addr, page_up(len));
	pthread_mutex_unlock(&map_lock);
	TRACE_SERVED(munmap, 0, 0, "%p, %zu", addr, len);
	return SYS(munmap)(addr, len);
}

SHIM_API int msync(void *addr, size_t len, int flags)
{
	char *a = addr, *end = a + len;
	bool found = false;

	if (likely(atomic_load_explicit(&mmap_shared_count, memory_order_relaxed) == 0))
		return SYS(msync)(addr, len, flags);
	SHIM_CANCEL_POINT();
	SHIM_SERVE();
	if (((uintptr_t)addr & (page_size() - 1)) ||
	    (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC))) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m; m = m->next) {
		char *lo = a > m->addr ? a : m->addr;
		char *hi = end < m->addr + m->len ? end : m->addr + m->len;

		if (lo >= hi)
			continue;
		found = true;
		pool_lock();
		host_sync(m->ino, m->gen, m->inst, m->uf, m->off + (lo - m->addr), hi - lo);
		pool_unlock();
		umfs_fsync(m->uf, 1);
	}
	pthread_mutex_unlock(&map_lock);
	if (!found)
		return SYS(msync)(addr, len, flags);
	/* the host files' mappings are the kernel's: it says ENOMEM for a
	 * range that is not all mapped, after the rest was synced */
	if (SYS(msync)(addr, len, flags) < 0) {
		int e = errno;

		TRACE_SERVED(msync, -e, 0, "%p, %zu", addr, len);
		return -1;
	}
	TRACE_SERVED(msync, 0, 0, "%p, %zu", addr, len);
	return 0;
}

/* Before PROT_WRITE comes to [addr, addr+len): every UMFS mapping there
 * that could not store until now gets its base (host_base_make), so that
 * its stores go back. 0 or -errno (-ENOMEM: no room for a base). The
 * kernel enforces the protections itself: a host file is opened
 * read-only for a read-only description. */
static int map_may_store(char *addr, size_t len)
{
	char *end = addr + len;
	int err = 0;

	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m && !err; m = m->next) {
		if (m->addr >= end || m->addr + m->len <= addr || m->stores ||
		    !map_file_rdwr(m->uf))
			continue;
		pool_lock();
		map_seq_bump();
		err = host_base_make(m->ino, m->gen, m->inst);
		map_seq_bump();
		pool_unlock();
		m->stores = !err;
	}
	pthread_mutex_unlock(&map_lock);
	return map_err(err);
}

/* Before mprotect or pkey_mprotect gives [addr, addr+len) prot: 0, or -1
 * with errno when a base could not be made (map_may_store). */
static int map_protect_prepare(void *addr, size_t len, int prot)
{
	int err;

	if (likely(!(prot & PROT_WRITE) ||
		   atomic_load_explicit(&mmap_shared_count, memory_order_relaxed) == 0))
		return 0;
	err = map_may_store(addr, len);
	if (err) {
		errno = -err;
		return -1;
	}
	return 0;
}

SHIM_API int mprotect(void *addr, size_t len, int prot)
{
	return map_protect_prepare(addr, len, prot) ? -1 : SYS(mprotect)(addr, len, prot);
}

SHIM_API int pkey_mprotect(void *addr, size_t len, int prot, int pkey)
{
	return map_protect_prepare(addr, len, prot) ? -1
						    : SYS(pkey_mprotect)(addr, len, prot, pkey);
}

SHIM_API void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	struct umap *m = NULL;
	void *want = NULL, *mem;
	va_list ap;
	SHIM_SERVE();

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (likely(atomic_load_explicit(&mmap_shared_count, memory_order_relaxed) == 0))
		return SYS(mremap)(old, oldlen, newlen, flags, want);
	pthread_mutex_lock(&map_lock);
	for (m = maps; m; m = m->next)
		if ((char *)old < m->addr + m->len && (char *)old + oldlen > m->addr)
			break;
	if (!m) {
		pthread_mutex_unlock(&map_lock);
		return SYS(mremap)(old, oldlen, newlen, flags, want);
	}
	if ((char *)old != m->addr || page_up(oldlen) != m->len) {
		pthread_mutex_unlock(&map_lock);
		errno = EINVAL; /* only a whole UMFS mapping moves or resizes */
		return MAP_FAILED;
	}
	if (page_up(newlen) > m->len) {
		/* the pages of the range it grows into, as mmap takes them */
		int err;

		pool_lock();
		err = host_reserve_range(m->ino, m->gen, m->inst, m->off + (off_t)m->len,
					 (off_t)(page_up(newlen) - m->len), false);
		pool_unlock();
		if (err) {
			pthread_mutex_unlock(&map_lock);
			errno = -map_err(err);
			return MAP_FAILED;
		}
	}
	mem = SYS(mremap)(old, oldlen, newlen, flags, want); /* a host file mapping */
	if (mem != MAP_FAILED) {
		m->addr = mem;
		m->len = page_up(newlen);
	}
	pthread_mutex_unlock(&map_lock);
	return mem;
}

/* ------------------------------------------------------------------ */
/* fork, exec, exit, recovery                                            */
/* ------------------------------------------------------------------ */

/* posix_spawn: the mapped stores go back to the files, which the image
 * it runs may read without the library (an exec's go as its mappings are
 * counted out, mmap_registry_all). */
void mmap_writeback_all(void)
{
	if (atomic_load(&mmap_shared_count) == 0)
		return;
	pthread_mutex_lock(&map_lock);
	pool_lock();
	map_seq_bump(); /* as host_sync */
	for (struct umap *m = maps; m; m = m->next)
		(void)host_writeback(m->ino, m->gen, m->inst, m->uf, m->off, (off_t)m->len, false,
				     true);
	map_seq_bump();
	pool_unlock();
	pthread_mutex_unlock(&map_lock);
}

/* /proc/self/maps whole, NUL-terminated (malloc'd), or NULL. */
static char *proc_maps_read(void)
{
	size_t size = 64 << 10, len = 0;
	char *buf = malloc(size);
	int fd = sys_open_cloexec("/proc/self/maps", O_RDONLY, 0);
	ssize_t n = 0;

	while (buf && fd >= 0 && (n = sys_read_full(fd, buf + len, size - len - 1, -1)) > 0) {
		char *more;

		len += (size_t)n;
		if (len + 1 < size)
			break;
		more = realloc(buf, size * 2);
		if (!more)
			n = -ENOMEM;
		buf = more;
		size *= 2;
	}
	if (fd >= 0)
		sys_close_quiet(fd);
	if (!buf || fd < 0 || n < 0) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* Maps [m->addr, +m->len) anew onto host file instance inst, each piece
 * with the protection it has now (/proc/self/maps): 0 or -errno. */
static int umap_remap(struct umap *m, uint64_t inst)
{
	uintptr_t lo = (uintptr_t)m->addr, hi = lo + m->len;
	char *maps_text, *line, *next;
	int fd = host_open_as(HOST_FILE, m->ino, m->gen, inst,
			      map_file_rdwr(m->uf) ? O_RDWR : O_RDONLY), err = 0;

	if (fd < 0)
		return fd;
	maps_text = proc_maps_read();
	if (!maps_text)
		err = -EIO;
	for (line = maps_text; !err && line && *line; line = next) {
		unsigned long a, b;
		char perms[5];
		int prot = 0;

		next = strchr(line, '\n');
		next = next ? next + 1 : NULL;
		if (sscanf(line, "%lx-%lx %4s", &a, &b, perms) != 3 || b <= lo || a >= hi)
			continue;
		a = a < lo ? lo : a;
		b = b > hi ? hi : b;
		prot |= perms[0] == 'r' ? PROT_READ : 0;
		prot |= perms[1] == 'w' ? PROT_WRITE : 0;
		prot |= perms[2] == 'x' ? PROT_EXEC : 0;
		if (SYS(mmap)((void *)a, b - a, prot, MAP_SHARED | MAP_FIXED, fd,
			      m->off + (off_t)(a - lo)) == MAP_FAILED)
			err = -errno;
	}
	free(maps_text);
	OS(close)(fd);
	return err;
}

/* fork (+1: the child maps them too, counted before the fork), exec (-1:
 * the mappings go, their stores back in the files; +1 if exec failed).
 * An exec that held an inode's last mappings removed its host file: if it
 * fails, the mappings stand on that removed file, so the first counted in
 * again makes the host file anew (from the file, which has the stores) and
 * each is mapped onto it, as it was (a store by another thread meanwhile
 * is lost), and they claim the inode's memory again, as they can. */
void mmap_registry_all(int delta)
{
	if (atomic_load(&mmap_shared_count) == 0)
		return;
	pthread_mutex_lock(&map_lock);
	pool_lock();
	if (delta > 0)
		map_seq_bump(); /* odd while a host file may be made anew: readers wait */
	for (struct umap *m = maps; m; m = m->next) {
		bool first, taken;
		uint64_t inst;
		int err = 0;

		if (delta < 0) {
			uint64_t gone = map_release(m, true);

			if (gone)
				host_remove(m->ino, m->gen, gone);
			continue;
		}
		inst = map_count_in(m->ino, m->gen, delta, &first, &taken);
		if (inst && inst != m->inst) {
			(void)hostmap_claim(m->ino, m->uf);
			err = host_join(m->ino, m->gen, inst, m->uf, first, m->stores);
			err = err ? err : host_fill_rest(m->ino, m->gen, inst, m->uf, false);
			err = err ? err : host_reserve_range(m->ino, m->gen, inst, m->off,
							     (off_t)m->len, false);
			err = err ? err : umap_remap(m, inst);
			if (err)
				SHIM_LOG(LOG_ERROR, "a shared mapping of inode %llu after a failed "
					 "exec: %s; its stores from now on may not reach the file",
					 (unsigned long long)m->ino, strerror(-err));
		}
		if (inst)
			m->inst = inst;
		registry_add(m->ino, delta);
	}
	if (delta > 0)
		map_seq_bump();
	pool_unlock();
	pthread_mutex_unlock(&map_lock);
}

bool mmap_idle(void)
{
	return shim_mutex_idle(&map_lock) && shim_mutex_idle(&hlock);
}

/* The process is leaving: its mappings let go of their files. */
void mmap_shutdown(void)
{
	pthread_mutex_lock(&map_lock);
	while (maps) {
		struct umap *m = maps;

		maps = m->next;
		umap_free(m);
	}
	pthread_mutex_unlock(&map_lock);
}

/* Host file name in the helper directory dfd, if it is one behind a
 * mapping (map-INO-GEN-N) of a process that died: its stores go to the
 * file, and it goes with its base (mapb-INO-GEN-N). Without a base, no
 * mapping of it could store, unless an older library, which made none,
 * left it (baseless_stores): then all of it goes back. A base whose host
 * file is gone goes too. */
void mmap_recover_orphan(struct umfs_fs *fs, int dfd, const char *name, bool baseless_stores)
{
	unsigned long long ino, inst;
	struct umfs_file *uf;
	unsigned gen;
	int fd, bfd;

	if (sscanf(name, HOST_BASE "-%llu-%u-%llu", &ino, &gen, &inst) == 3) {
		if (host_there(dfd, ino, gen, inst))
			SYS(unlinkat)(dfd, name, 0);
		return;
	}
	if (sscanf(name, HOST_FILE "-%llu-%u-%llu", &ino, &gen, &inst) != 3)
		return;
	fd = host_open(HOST_FILE, ino, gen, inst);
	bfd = host_open(HOST_BASE, ino, gen, inst);
	if (fd >= 0 && (bfd >= 0 || baseless_stores) &&
	    umfs_open_id(fs, ino, gen, O_RDWR, UMFS_OPEN_ID_NOCHECK, &uf) == 0) {
		host_copy_back(fd, bfd, uf, 0, file_size(uf), NULL);
		umfs_close(uf);
		SHIM_LOG(LOG_INFO, "wrote back the mapped stores of inode %llu", ino);
	}
	host_close(fd);
	host_close(bfd);
	host_remove(ino, gen, inst);
}

struct orphan_scan {
	struct umfs_fs *fs;
	bool baseless_stores;
};

static int orphan_recover(int dfd, const char *name, void *arg)
{
	const struct orphan_scan *sc = arg;

	mmap_recover_orphan(sc->fs, dfd, name, sc->baseless_stores);
	return 0;
}

void mmap_recover_orphans(bool baseless_stores)
{
	struct orphan_scan sc = { .fs = shim_fs_peek(), .baseless_stores = baseless_stores };
	int dfd = shim_helper_dfd();

	if (sc.fs && dfd >= 0)
		(void)sys_dir_each(dfd, orphan_recover, &sc);
}
