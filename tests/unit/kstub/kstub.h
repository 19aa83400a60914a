/* SPDX-License-Identifier: MIT */
/*
 * kstub.h - just enough of the kernel's API, in user space, to compile the
 * module's journal code (kmod/ktx.c, kmod/crc32c.c) into a unit test: every
 * linux/ header of this directory includes it. Only what those files use.
 */
#ifndef UMFS_KSTUB_H
#define UMFS_KSTUB_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
#define __force

struct mutex { int held; };
struct list_head { struct list_head *next, *prev; };
struct mmu_notifier { int unused; };
typedef struct { int refs; } refcount_t;
typedef struct { long v; } atomic64_t;
typedef struct { unsigned long pud; } pud_t;
typedef struct { int lock; } spinlock_t;
struct rw_semaphore { int count; };
struct file;
struct vm_area_struct;
struct vm_operations_struct;

#define GFP_KERNEL 0
#define CAP_FOWNER 3
#define CAP_SYS_ADMIN 21
#define MODULE_PARM_DESC(name, text)
#define module_param(name, type, perm)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define pr_warn(...) fprintf(stderr, __VA_ARGS__)
#define wmb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define max(a, b) ((a) > (b) ? (a) : (b))

static inline void *kvmalloc_array(size_t n, size_t size, int gfp)
{
	(void)gfp;
	return calloc(n, size);
}
static inline void kvfree(void *p) { free(p); }
static inline void arch_wb_cache_pmem(void *addr, size_t len) { (void)addr; (void)len; }
static inline void down_read(struct rw_semaphore *s) { (void)s; }
static inline void up_read(struct rw_semaphore *s) { (void)s; }
static inline void mutex_lock(struct mutex *m) { m->held = 1; }
static inline void mutex_unlock(struct mutex *m) { m->held = 0; }
static inline bool capable(int cap) { (void)cap; return true; }
static inline long atomic64_read(const atomic64_t *a) { return a->v; }
/* the kernel's multiplicative hash: the top bits of val times 2^64/phi */
static inline uint32_t hash_64(uint64_t val, unsigned bits)
{
	return (uint32_t)((val * 0x61C8864680B583EBull) >> (64 - bits));
}

#endif /* UMFS_KSTUB_H */
