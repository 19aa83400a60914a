/* SPDX-License-Identifier: MIT */
/*
 * preload_floor.c - a shared library with nothing to do, which process.sh
 * preloads in place of libumfs.so: what loading any LD_PRELOAD library
 * costs a short process (the loader maps it, relocates it, looks every
 * symbol up in it first), the floor under libumfs.so's carried cost.
 */
int umfs_preload_floor(void);

int umfs_preload_floor(void)
{
	return 0;
}
