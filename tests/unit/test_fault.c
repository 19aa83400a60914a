/* SPDX-License-Identifier: MIT */
/*
 * test_fault.c - the registry of watched mappings (fault.c), past its
 * first slots.
 *
 * A process watches up to 64 mappings; the first few slots sit among the
 * library's small variables and the rest elsewhere, and scans stop at the
 * highest slot ever claimed. Each of 64 mappings (its own memfd, its own
 * mount) is watched; a bus error in each, raised for real by cutting its
 * file, must fail that mount alone and leave zeros in its place. The 65th
 * watch is refused; a slot let go in the middle is claimed again and
 * found.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>

#include "testutil.h"

#include "fault.h"
#include "umfs_frontend.h"

#define MAPS 64
#define MAP_LEN (2 * UMFS_PAGE_SIZE)

static struct umfs_fs mounts[MAPS + 1];
static int fds[MAPS + 1];
static volatile uint8_t *maps[MAPS + 1];
static volatile sig_atomic_t absorbed, refused;

/* A front end's handler: the registry decides. */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (umfs_fault_absorb(sig, si)) {
		absorbed++;
		return;
	}
	refused++;
	signal(SIGBUS, SIG_DFL); /* not ours: the test dies, as it should */
}

static int watch(unsigned i)
{
	return umfs_fault_watch(&mounts[i], (void *)maps[i], MAP_LEN, PROT_READ | PROT_WRITE,
				UMFS_FAULT_POOL, "test");
}

static void map_one(unsigned i)
{
	fds[i] = memfd_create("umfs-test-fault", MFD_CLOEXEC);
	assert_true(fds[i] >= 0);
	assert_int_equal(ftruncate(fds[i], MAP_LEN), 0);
	maps[i] = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
	assert_true(maps[i] != MAP_FAILED);
	memset((void *)maps[i], 0xa5, MAP_LEN);
	mounts[i].pm.fd = -1;
}

/* In each test: cmocka puts its own handler in place around every one. */
static void route_sigbus(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	umfs_fault_routed();
	assert_int_equal(sigaction(SIGBUS, &sa, NULL), 0);
}

static void every_slot_finds_its_mapping(void **state)
{
	(void)state;
	route_sigbus();
	for (unsigned i = 0; i <= MAPS; i++)
		map_one(i);
	for (unsigned i = 0; i < MAPS; i++)
		assert_int_equal(watch(i), 0);
	assert_int_equal(watch(MAPS), -ENOSPC);

	/* from the last slot down, so that every one is met past the rest */
	for (unsigned i = MAPS; i-- > 0;) {
		unsigned before = absorbed;

		assert_int_equal(ftruncate(fds[i], 0), 0);
		assert_int_equal(maps[i][UMFS_PAGE_SIZE + 7], 0); /* the bus error, then zeros */
		assert_int_equal(absorbed, before + 1);
		assert_true(umfs_fs_failed(&mounts[i]));
		assert_int_equal(atomic_load(&mounts[i].fail_off), UMFS_PAGE_SIZE + 7);
		for (unsigned j = 0; j < i; j++)
			assert_false(umfs_fs_failed(&mounts[j]));
	}
	assert_int_equal(refused, 0);
}

static void a_freed_slot_is_claimed_again(void **state)
{
	unsigned mid = 37, before;

	(void)state;
	route_sigbus();
	umfs_fault_unwatch((void *)maps[mid]);
	map_one(mid);
	mounts[mid].failed = 0;
	assert_int_equal(watch(mid), 0);
	assert_int_equal(watch(MAPS), -ENOSPC);
	before = absorbed;
	assert_int_equal(ftruncate(fds[mid], 0), 0);
	assert_int_equal(maps[mid][3], 0);
	assert_int_equal(absorbed, before + 1);
	assert_true(umfs_fs_failed(&mounts[mid]));

	/* every mount let go: none is watched any more */
	for (unsigned i = 0; i < MAPS; i++)
		umfs_fault_unwatch_fs(&mounts[i]);
	for (unsigned i = 0; i < MAPS; i++)
		assert_int_equal(watch(i), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_slot_finds_its_mapping),
		cmocka_unit_test(a_freed_slot_is_claimed_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
