/* SPDX-License-Identifier: MIT */
/*
 * calls_mmap.c - mmap, munmap, msync, mprotect, mremap of UMFS files.
 *
 * Without the kernel module, a UMFS file cannot be mapped by the kernel, so
 * a mapping is anonymous memory filled from the file:
 *   MAP_PRIVATE  private anonymous memory: copy-on-write by construction;
 *                the shim forgets it at once.
 *   MAP_SHARED   shared anonymous memory (so that fork keeps it shared),
 *                written back to the file at msync, munmap, exec and exit
 *                (the part inside the file's size: stores past the end are
 *                dropped, as the kernel drops them). The process's own
 *                write() and read() calls on the file go through the mapping
 *                too, so they agree with it.
 * Pages wholly past the end of the file are mapped from an empty memfd, so
 * that touching them raises SIGBUS as the kernel's would; for MAP_SHARED
 * the boundary follows ftruncate and writes that grow the file.
 * Mapping the pool's pages directly (contiguous ranges) is left to the
 * kernel module: a plain mmap of the pool file would outlive truncation and
 * page moves (the U-Log's swaps), exposing other files' data.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

struct umap {
	char *addr;
	size_t len;              /* page multiple */
	off_t off;               /* file offset of addr */
	uint64_t ino;
	uint32_t gen;
	struct umfs_file *uf;    /* own open file: positional writes, no O_APPEND */
	int prot;
	size_t valid;            /* bytes from addr inside the file's last page;
				  * the pages after fault with SIGBUS, as past EOF */
	bool writable;           /* the description allows PROT_WRITE */
	bool dirty;              /* was writable at some time: write back */
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

static int sigbus_fd = -1;
static pthread_mutex_t sigbus_lock = PTHREAD_MUTEX_INITIALIZER;

/* Maps [addr, addr+len) from an empty file: every access is SIGBUS. */
static void map_sigbus(char *addr, size_t len, int prot)
{
	if (len == 0)
		return;
	pthread_mutex_lock(&sigbus_lock);
	if (sigbus_fd < 0) {
		int fd = memfd_create("umfs-sigbus", MFD_CLOEXEC);

		sigbus_fd = shim_fd_move_high(fd);
		uinfo_mark_internal(sigbus_fd);
	}
	pthread_mutex_unlock(&sigbus_lock);
	if (sigbus_fd >= 0)
		SYS(mmap)(addr, len, prot, MAP_SHARED | MAP_FIXED, sigbus_fd, 0);
}

/* Bytes of a mapping of len at file offset off that lie in pages the file
 * reaches (size: the file's size). */
static size_t valid_len(off_t off, size_t len, off_t size)
{
	size_t v = size > off ? page_up((size_t)(size - off)) : 0;

	return v < len ? v : len;
}

static off_t file_size(struct umfs_file *uf)
{
	struct stat st;

	return umfs_fstat(uf, &st) ? 0 : st.st_size;
}

/* Writes [start, end) of the mapping back to the file. */
static void writeback(struct umap *m, char *start, char *end)
{
	off_t foff = m->off + (start - m->addr), size = file_size(m->uf), e;
	size_t n;

	if (end > m->addr + m->valid)
		end = m->addr + m->valid;
	if (!m->dirty || foff >= size || start >= end)
		return;
	n = (size_t)(end - start);
	if ((off_t)n > size - foff)
		n = (size_t)(size - foff);
	if (!(m->prot & PROT_READ))
		SYS(mprotect)(m->addr, m->len, m->prot | PROT_READ);
	pool_lock();
	umfs_write_at(m->uf, start, n, foff, &e);
	pool_unlock();
	if (!(m->prot & PROT_READ))
		SYS(mprotect)(m->addr, m->len, m->prot);
}

static void umap_free(struct umap *m)
{
	pool_lock();
	registry_add(m->ino, -1);
	umfs_close(m->uf);
	pool_unlock();
	free(m);
	atomic_fetch_sub(&mmap_shared_count, 1);
}

/* Forgets [a, a+len) of every shared mapping, writing it back first. */
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
		writeback(m, lo, hi);
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
		} else { /* a hole in the middle: two mappings */
			struct umap *t = malloc(sizeof(*t));
			struct umfs_fs *fs = shim_fs_peek();

			if (t && fs) {
				*t = *m;
				t->addr = hi;
				t->len = (size_t)(me - hi);
				t->off = m->off + (hi - ms);
				pool_lock();
				if (umfs_open_id(fs, m->ino, m->gen, m->writable ? O_RDWR : O_RDONLY,
						 UMFS_OPEN_ID_NOCHECK, &t->uf))
					t->uf = NULL;
				if (t->uf)
					registry_add(m->ino, 1);
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

SHIM_API void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int type = flags & MAP_TYPE, accmode, err = 0;
	bool shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
	struct umfs_file *uf = NULL;
	struct umap *m = NULL;
	struct ofd *o;
	void *mem;
	off_t size;

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
	accmode = atomic_load(&o->sh->flags) & O_ACCMODE;
	if (!o->uf)
		err = -EIO;
	else if (atomic_load(&o->sh->flags) & O_PATH)
		err = -EBADF;
	else if (len == 0 || (off & (off_t)(page_size() - 1)) || off < 0)
		err = -EINVAL;
	else if (o->type != S_IFREG)
		err = -ENODEV;
	else if (accmode == O_WRONLY)
		err = -EACCES;
	else if (shared && (prot & PROT_WRITE) && accmode != O_RDWR)
		err = -EACCES;
	else if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
		err = -EINVAL;
	if (err)
		goto fail;
	if (shared) {
		struct umfs_fs *fs = shim_fs(&err);

		if (!fs)
			goto fail;
		m = calloc(1, sizeof(*m));
		if (!m) {
			err = -ENOMEM;
			goto fail;
		}
		pool_lock();
		err = umfs_open_id(fs, o->ino, o->gen, accmode == O_RDWR ? O_RDWR : O_RDONLY,
				   UMFS_OPEN_ID_NOCHECK, &uf);
		if (!err)
			registry_add(o->ino, 1);
		pool_unlock();
		if (err)
			goto fail;
	}
	if ((flags & MAP_FIXED) && atomic_load(&mmap_shared_count)) {
		pthread_mutex_lock(&map_lock);
		umap_remove_range(addr, page_up(len));
		pthread_mutex_unlock(&map_lock);
	}
	mem = SYS(mmap)(addr, len, PROT_READ | PROT_WRITE,
			(shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS |
				(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE |
					  MAP_POPULATE | MAP_LOCKED | MAP_32BIT | MAP_STACK)),
			-1, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	size = ofd_size(o);
	if (off < size) {
		size_t want = (size_t)(size - off) < len ? (size_t)(size - off) : len;
		ssize_t n = umfs_pread(o->uf, mem, want, off);

		if (n < 0) {
			SYS(munmap)(mem, len);
			err = (int)n;
			goto fail;
		}
		if (atomic_load(&mmap_shared_count))
			mmap_read_hook(o->ino, mem, (size_t)n, off);
	}
	if (prot != (PROT_READ | PROT_WRITE))
		SYS(mprotect)(mem, len, prot);
	{
		size_t valid = valid_len(off, page_up(len), size);

		map_sigbus((char *)mem + valid, page_up(len) - valid, prot);
		if (m)
			m->valid = valid;
	}
	if (m) {
		m->addr = mem;
		m->len = page_up(len);
		m->off = off;
		m->ino = o->ino;
		m->gen = o->gen;
		m->uf = uf;
		m->prot = prot;
		m->writable = accmode == O_RDWR;
		m->dirty = (prot & PROT_WRITE) != 0;
		pthread_mutex_lock(&map_lock);
		m->next = maps;
		maps = m;
		atomic_fetch_add(&mmap_shared_count, 1);
		pthread_mutex_unlock(&map_lock);
	}
	ofd_put(o);
	TRACE_SERVED(mmap, 0, 0, "%d, %zu, %lld -> %p", fd, len, (long long)off, mem);
	return mem;

fail:
	if (uf) {
		pool_lock();
		registry_add(o->ino, -1);
		umfs_close(uf);
		pool_unlock();
	}
	free(m);
	ofd_put(o);
	TRACE_SERVED(mmap, err, 0, "%d, %zu, %lld", fd, len, (long long)off);
	errno = -err;
	return MAP_FAILED;
}

SHIM_API void * mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

SHIM_API int munmap(void *addr, size_t len)
{
	if (likely(atomic_load_explicit(&mmap_shared_count, memory_order_relaxed) == 0))
		return SYS(munmap)(addr, len);
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
		writeback(m, lo, hi);
		umfs_fsync(m->uf, 1);
	}
	pthread_mutex_unlock(&map_lock);
	if (!found)
		return SYS(msync)(addr, len, flags);
	TRACE_SERVED(msync, 0, 0, "%p, %zu", addr, len);
	return 0;
}

SHIM_API int mprotect(void *addr, size_t len, int prot)
{
	char *a = addr, *end = a + page_up(len);
	int r;

	if (likely(atomic_load_explicit(&mmap_shared_count, memory_order_relaxed) == 0))
		return SYS(mprotect)(addr, len, prot);
	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m; m = m->next) {
		if (a < m->addr + m->len && end > m->addr && (prot & PROT_WRITE) && !m->writable) {
			pthread_mutex_unlock(&map_lock);
			errno = EACCES; /* a shared map of a file open read-only */
			return -1;
		}
	}
	r = SYS(mprotect)(addr, len, prot);
	if (r == 0) {
		for (struct umap *m = maps; m; m = m->next) {
			if (a < m->addr + m->len && end > m->addr) {
				m->prot = prot;
				m->dirty |= (prot & PROT_WRITE) != 0;
			}
		}
	}
	pthread_mutex_unlock(&map_lock);
	return r;
}

SHIM_API void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	struct umap *m = NULL;
	void *want = NULL, *mem;
	va_list ap;

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
	if (newlen < oldlen)
		writeback(m, m->addr + page_up(newlen), m->addr + m->len);
	mem = SYS(mremap)(old, oldlen, newlen, flags, want);
	if (mem != MAP_FAILED) {
		size_t grown = page_up(newlen) > m->len ? page_up(newlen) - m->len : 0;
		off_t size = file_size(m->uf);

		m->addr = mem;
		if (grown) {
			/* the new part shows the file, as a file mapping would */
			off_t foff = m->off + (off_t)m->len;

			if (!(m->prot & PROT_WRITE))
				SYS(mprotect)(mem, page_up(newlen), m->prot | PROT_WRITE);
			if (foff < size)
				umfs_pread(m->uf, m->addr + m->len,
					   (size_t)(size - foff) < grown ? (size_t)(size - foff) : grown,
					   foff);
			if (!(m->prot & PROT_WRITE))
				SYS(mprotect)(mem, page_up(newlen), m->prot);
		}
		m->len = page_up(newlen);
		m->valid = valid_len(m->off, m->len, size);
		map_sigbus(m->addr + m->valid, m->len - m->valid, m->prot);
	}
	pthread_mutex_unlock(&map_lock);
	return mem;
}

/* The process wrote [off, off+len) of ino: its shared mappings show it. */
void mmap_write_hook(uint64_t ino, const void *buf, size_t len, off_t off)
{
	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m; m = m->next) {
		off_t lo = off > m->off ? off : m->off;
		off_t hi = off + (off_t)len < m->off + (off_t)m->valid ? off + (off_t)len
								      : m->off + (off_t)m->valid;

		if (m->ino != ino || lo >= hi)
			continue;
		if (!(m->prot & PROT_WRITE))
			SYS(mprotect)(m->addr, m->len, PROT_READ | PROT_WRITE);
		memcpy(m->addr + (lo - m->off), (const char *)buf + (lo - off), (size_t)(hi - lo));
		if (!(m->prot & PROT_WRITE))
			SYS(mprotect)(m->addr, m->len, m->prot);
	}
	pthread_mutex_unlock(&map_lock);
}

/* The process reads [off, off+len) of ino: stores in its shared mappings
 * not yet written back are the file's current contents. */
void mmap_read_hook(uint64_t ino, void *buf, size_t len, off_t off)
{
	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m; m = m->next) {
		off_t lo = off > m->off ? off : m->off;
		off_t hi = off + (off_t)len < m->off + (off_t)m->valid ? off + (off_t)len
								      : m->off + (off_t)m->valid;

		if (m->ino != ino || lo >= hi || !m->dirty || (char *)buf == m->addr)
			continue;
		if (!(m->prot & PROT_READ))
			SYS(mprotect)(m->addr, m->len, m->prot | PROT_READ);
		memcpy((char *)buf + (lo - off), m->addr + (lo - m->off), (size_t)(hi - lo));
		if (!(m->prot & PROT_READ))
			SYS(mprotect)(m->addr, m->len, m->prot);
	}
	pthread_mutex_unlock(&map_lock);
}

void mmap_writeback_all(void)
{
	if (atomic_load(&mmap_shared_count) == 0)
		return;
	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m; m = m->next)
		writeback(m, m->addr, m->addr + m->len);
	pthread_mutex_unlock(&map_lock);
}

/* Registry accounting for fork (the child holds the files too) and exec
 * (the mappings go away). */
void mmap_registry_all(int delta)
{
	if (atomic_load(&mmap_shared_count) == 0)
		return;
	pthread_mutex_lock(&map_lock);
	pool_lock();
	for (struct umap *m = maps; m; m = m->next)
		registry_add(m->ino, delta);
	pool_unlock();
	pthread_mutex_unlock(&map_lock);
}

/* The process is leaving: its mappings let go of their files. */
void mmap_shutdown(void)
{
	pthread_mutex_lock(&map_lock);
	while (maps) {
		struct umap *m = maps;

		maps = m->next;
		writeback(m, m->addr, m->addr + m->len);
		umfs_close(m->uf);
		free(m);
	}
	atomic_store(&mmap_shared_count, 0);
	pthread_mutex_unlock(&map_lock);
}

/* The file ino now has size bytes: pages of its shared mappings that came
 * inside the file show its data, pages that fell outside fault (SIGBUS),
 * and the tail of the last page past the end reads as zeros. */
void mmap_size_hook(uint64_t ino, off_t size)
{
	pthread_mutex_lock(&map_lock);
	for (struct umap *m = maps; m; m = m->next) {
		size_t valid;

		if (m->ino != ino)
			continue;
		valid = valid_len(m->off, m->len, size);
		if (valid > m->valid) {
			char *a = m->addr + m->valid;
			size_t n = valid - m->valid;
			off_t foff = m->off + (off_t)m->valid;

			SYS(mmap)(a, n, PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (size > foff)
				umfs_pread(m->uf, a, (size_t)(size - foff) < n ? (size_t)(size - foff) : n,
					   foff);
			if (m->prot != (PROT_READ | PROT_WRITE))
				SYS(mprotect)(a, n, m->prot);
		} else if (valid < m->valid) {
			map_sigbus(m->addr + valid, m->valid - valid, m->prot);
		}
		m->valid = valid;
		if (size > m->off && (size_t)(size - m->off) < valid) {
			/* zeros past the end, inside the last page */
			size_t tail = (size_t)(size - m->off);

			if (!(m->prot & PROT_WRITE))
				SYS(mprotect)(m->addr, m->len, m->prot | PROT_WRITE);
			memset(m->addr + tail, 0, valid - tail);
			if (!(m->prot & PROT_WRITE))
				SYS(mprotect)(m->addr, m->len, m->prot);
		}
	}
	pthread_mutex_unlock(&map_lock);
}
