/* SPDX-License-Identifier: MIT */
/*
 * umfs-pool - shows what a pool is and changes its label and UUID.
 *
 *   umfs-pool info [--json] POOL
 *   umfs-pool label POOL LABEL
 *   umfs-pool uuid POOL [UUID|random]
 *   umfs-pool clean POOL
 *   umfs-pool grow POOL SIZE
 *
 * info maps the pool read-only and takes no lock, so it works on a pool
 * in use, whose users it names from /proc/locks. label and uuid take the pool's exclusive lock,
 * as a repair does, and refuse a pool in use, damaged or not cleanly
 * unmounted; they rewrite the primary superblock, then the backup, each
 * resealed and made durable before the next; uuid then sweeps the old
 * UUID's runtime directories, as clean does. clean removes the runtime
 * directories of the pool's UUID that no process uses (the core's
 * rundir_sweep.c decides, as the pool's users do among themselves).
 * grow takes the lock and refuses as label does, then extends the pool
 * file and grows the pool in place (the core's grow.c): a crash at any
 * point leaves the pool at the old size or the new, and a GROWING pool is
 * finished by the next mount or fsck.umfs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "umfs_tools.h"
#include "umfs_grow.h"
#include "pool_users.h"
#include "poolpages.h"

#define EXIT_USAGE 2
#define EXIT_FAIL 1
#define EXIT_BUSY 3

static const char *prog = "umfs-pool";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s info [--json] POOL\n"
		"       %s label POOL LABEL\n"
		"       %s uuid POOL [UUID|random]\n"
		"       %s clean POOL\n"
		"       %s grow POOL SIZE\n"
		"Shows a UMFS pool, changes its label or UUID, or grows it.\n"
		"\n"
		"  info     the label, UUID, size, format and features, media, space used,\n"
		"           whether it is clean or in use and by which processes, and its\n"
		"           runtime directory; --json: the same as one JSON object\n"
		"  label    sets the label (at most %d bytes; \"\" clears it)\n"
		"  uuid     sets the UUID, to a random one by default\n"
		"  clean    removes this user's runtime directories of the pool's UUID that\n"
		"           no live process uses (left by crashed processes, or by copies)\n"
		"  grow     grows a pool file to SIZE bytes (K, M, G, T: powers of 1024),\n"
		"           at most its maximum size (mkfs.umfs -G; info shows it)\n"
		"label, uuid and grow need the pool unused and clean (fsck.umfs first).\n"
		"  -h, --help      this help\n"
		"  -V, --version   the version\n"
		"Exit status: 0 done, 1 failed, 2 bad usage, 3 the pool is in use.\n",
		prog, prog, prog, prog, prog, UMFS_LABEL_MAX - 1);
}

/* 32 hex digits, with or without the four dashes of the usual form. */
static bool uuid_parse(const char *s, uint8_t u[16])
{
	int n = 0;

	for (; *s && n < 32; s++) {
		unsigned v;

		if (*s == '-' && (n == 8 || n == 12 || n == 16 || n == 20))
			continue;
		if (sscanf((char[]){ s[0], 0 }, "%1x", &v) != 1)
			return false;
		u[n / 2] = (uint8_t)(n % 2 ? u[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 && !*s;
}

/* ------------------------------------------------------------------ */
/* info                                                                 */
/* ------------------------------------------------------------------ */

struct pool_info {
	const char *path;
	struct umfs_superblock sb;
	struct umfs_state state;
	bool backup_matches;
	uint64_t pages_used, inodes_used;
	const char *media, *page_size;
	struct umfs_pool_users users;
	char rundir[128];
	bool rundir_present;
};

/* The pages the kernel maps the pool with (fd: the pool, open). */
static const char *page_size_of(int fd, const struct stat *st)
{
	if (S_ISCHR(st->st_mode))
		return "2 MiB (device DAX)";
	switch (umfs_pages_of(fd)) {
	case UMFS_PAGES_SMALL:
		return "4 KiB";
	case UMFS_PAGES_HUGE:
		return "2 MiB";
	case UMFS_PAGES_OTHER:
		break;
	}
	return "the file system's";
}

static void rundir_of(struct pool_info *in)
{
	uint64_t id = umfs_le64_to_cpu(in->state.run_id);
	struct stat st;

	in->rundir[0] = '\0';
	if (!id || umfs_rundir_name(in->sb.uuid, id, in->rundir, sizeof(in->rundir)))
		return;
	in->rundir_present = lstat(in->rundir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The superblock rule on a mapped pool, which must hold a page first. */
static int pool_sb_check(const struct umfs_pmem *pm, int rdonly, const char **why)
{
	if (pm->len < UMFS_PAGE_SIZE) {
		*why = "too small to be a UMFS pool";
		return -EINVAL;
	}
	return umfs_sb_check((const void *)pm->base, pm->len, rdonly, why);
}

static int info_read(const char *path, struct pool_info *in)
{
	struct umfs_pmem pm;
	const struct umfs_superblock *sb;
	const char *why;
	int err;

	memset(in, 0, sizeof(*in));
	in->path = path;
	err = umfs_pmem_map_path(path, 0, true, &pm);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-err));
		return EXIT_FAIL;
	}
	sb = (const void *)pm.base;
	err = pool_sb_check(&pm, 1, &why);
	if (err) {
		fprintf(stderr, "%s: %s: %s%s\n", prog, path, why,
			err == -EUCLEAN ? " (fsck.umfs can repair it from the backup superblock)" :
					  "");
		umfs_pmem_unmap(&pm);
		return EXIT_FAIL;
	}
	in->sb = *sb;
	memcpy(&in->state, pm.base + umfs_le64_to_cpu(sb->state_off), sizeof(in->state));
	in->backup_matches =
		!memcmp(pm.base + umfs_le64_to_cpu(sb->backup_sb_off), sb, sizeof(*sb));
	in->pages_used = umfs_bitmap_count((const void *)(pm.base + umfs_le64_to_cpu(sb->pbitmap_off)),
				  umfs_le64_to_cpu(sb->data_pages));
	in->inodes_used = umfs_bitmap_count((const void *)(pm.base + umfs_le64_to_cpu(sb->ibitmap_off)),
				   umfs_le64_to_cpu(sb->inode_count));
	in->media = umfs_media_name(pm.media);
	in->page_size = page_size_of(pm.fd, &pm.st);
	umfs_pool_users_find(path, &pm.st, &in->users);
	umfs_pmem_unmap(&pm);
	rundir_of(in);
	return 0;
}

static const char *state_of(const struct pool_info *in)
{
	if (in->users.count)
		return "in use";
	if (umfs_le64_to_cpu(in->state.state) == UMFS_STATE_CLEAN)
		return "clean";
	return "not cleanly unmounted (the next mount or fsck.umfs recovers it)";
}

static void features_of(const struct umfs_superblock *sb, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} ro[] = {
		{ UMFS_FEATURE_RO_COMPAT_DENTRY_CHECK, "dentry_check" },
		{ UMFS_FEATURE_RO_COMPAT_BITMAP_SUMS, "bitmap_sums" },
		{ UMFS_FEATURE_RO_COMPAT_ULOG_SPARE, "ulog_spare" },
	};
	uint32_t f = umfs_le32_to_cpu(sb->feature_ro_compat), known = 0;
	size_t n = 0;

	buf[0] = '\0';
	if (umfs_le32_to_cpu(sb->feature_compat) & UMFS_FEATURE_COMPAT_GROWABLE)
		n += (size_t)snprintf(buf + n, len - n, "growable");
	if (umfs_sb_growing(sb))
		n += (size_t)snprintf(buf + n, len - n, "%sgrowing", n ? " " : "");
	if (umfs_le32_to_cpu(sb->feature_incompat) & UMFS_FEATURE_INCOMPAT_INLINE_TABLE)
		n += (size_t)snprintf(buf + n, len - n, "%sinline_table", n ? " " : "");
	if (umfs_le32_to_cpu(sb->feature_incompat) & UMFS_FEATURE_INCOMPAT_LEVEL4)
		n += (size_t)snprintf(buf + n, len - n, "%slevel4_table", n ? " " : "");
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		known |= ro[i].bit;
		if (f & ro[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? " " : "", ro[i].name);
	}
	if (f & ~known && n < len)
		snprintf(buf + n, len - n, "%sro_compat_0x%x", n ? " " : "", f & ~known);
}

static void time_of(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "never");
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void info_print(const struct pool_info *in, bool json)
{
	const struct umfs_superblock *sb = &in->sb;
	char uuid[37], label[UMFS_LABEL_MAX], feat[160], made[32], mounted[32], checked[32];
	uint64_t pages = umfs_le64_to_cpu(sb->data_pages);
	uint64_t inodes = umfs_le64_to_cpu(sb->inode_count) - 1; /* inode 0 is never used */
	uint64_t inodes_used = in->inodes_used ? in->inodes_used - 1 : 0;
	const char *mode = umfs_le32_to_cpu(sb->default_flags) & UMFS_SBF_RELAXED ? "relaxed" :
										  "strict";

	umfs_cli_uuid(uuid, sb->uuid);
	memcpy(label, sb->label, sizeof(label));
	label[sizeof(label) - 1] = '\0';
	features_of(sb, feat, sizeof(feat));
	time_of(umfs_le64_to_cpu(sb->mkfs_time_ns), made, sizeof(made));
	time_of(umfs_le64_to_cpu(in->state.last_mount_ns), mounted, sizeof(mounted));
	time_of(umfs_le64_to_cpu(in->state.last_check_ns), checked, sizeof(checked));
	if (!json) {
		printf("pool           %s\n", in->path);
		printf("label          %s\n", label[0] ? label : "(none)");
		printf("UUID           %s\n", uuid);
		printf("format         %u.%u, features: %s\n", umfs_le16_to_cpu(sb->version_major),
		       umfs_le16_to_cpu(sb->version_minor), feat[0] ? feat : "none");
		printf("size           %" PRIu64 " bytes\n", umfs_le64_to_cpu(sb->pool_size));
		printf("max size       %" PRIu64 " bytes (%s)%s\n", umfs_sb_grow_limit(sb),
		       umfs_le32_to_cpu(sb->feature_compat) & UMFS_FEATURE_COMPAT_GROWABLE ?
			       "set by mkfs.umfs -G" : "the room its page bitmap has",
		       umfs_sb_growing(sb) ? "; a grow is unfinished: fsck.umfs or a mount "
					     "finishes it" : "");
		printf("media          %s, mapped in %s pages\n", in->media, in->page_size);
		printf("data pages     %" PRIu64 " of 4 KiB, %" PRIu64 " in use\n", pages,
		       in->pages_used);
		printf("inodes         %" PRIu64 ", %" PRIu64 " in use\n", inodes, inodes_used);
		printf("consistency    %s (the pool's default)\n", mode);
		printf("state          %s\n", state_of(in));
		for (unsigned i = 0; i < in->users.count; i++)
			printf("user           pid %d (%s)\n", (int)in->users.pid[i],
			       in->users.comm[i]);
		if (in->users.more)
			printf("user           and %u more\n", in->users.more);
		printf("errors         %s\n", in->state.errors ? "damage refused since the last "
								    "repair: run fsck.umfs" :
								    "none");
		printf("backup         %s\n", in->backup_matches ? "matches the superblock" :
								   "differs: run fsck.umfs");
		printf("mounts         %" PRIu64 ", last %s\n",
		       umfs_le64_to_cpu(in->state.mount_count), mounted);
		printf("checked        %s\n", checked);
		printf("made           %s\n", made);
		printf("runtime dir    %s%s\n", in->rundir[0] ? in->rundir : "(none)",
		       in->rundir[0] && !in->rundir_present ? " (gone)" : "");
		return;
	}
	printf("{\"pool\": ");
	json_string(in->path);
	printf(", \"label\": ");
	json_string(label);
	printf(", \"uuid\": \"%s\", \"format\": \"%u.%u\", \"features\": ", uuid,
	       umfs_le16_to_cpu(sb->version_major), umfs_le16_to_cpu(sb->version_minor));
	json_string(feat);
	printf(", \"size\": %" PRIu64 ", \"max_size\": %" PRIu64 ", \"growing\": %s, \"media\": ",
	       umfs_le64_to_cpu(sb->pool_size), umfs_sb_grow_limit(sb),
	       umfs_sb_growing(sb) ? "true" : "false");
	json_string(in->media);
	printf(", \"page_size\": ");
	json_string(in->page_size);
	printf(", \"data_pages\": %" PRIu64 ", \"data_pages_used\": %" PRIu64
	       ", \"inodes\": %" PRIu64 ", \"inodes_used\": %" PRIu64 ", \"consistency\": \"%s\"",
	       pages, in->pages_used, inodes, inodes_used, mode);
	printf(", \"clean\": %s, \"in_use\": %s, \"users\": [",
	       umfs_le64_to_cpu(in->state.state) == UMFS_STATE_CLEAN ? "true" : "false",
	       in->users.count ? "true" : "false");
	for (unsigned i = 0; i < in->users.count; i++) {
		printf("%s{\"pid\": %d, \"command\": ", i ? ", " : "", (int)in->users.pid[i]);
		json_string(in->users.comm[i]);
		putchar('}');
	}
	printf("], \"errors\": %" PRIu64 ", \"backup_matches\": %s, \"mount_count\": %" PRIu64,
	       umfs_le64_to_cpu(in->state.errors), in->backup_matches ? "true" : "false",
	       umfs_le64_to_cpu(in->state.mount_count));
	printf(", \"last_mount\": \"%s\", \"last_check\": \"%s\", \"made\": \"%s\"", mounted,
	       checked, made);
	printf(", \"runtime_dir\": ");
	if (in->rundir[0])
		json_string(in->rundir);
	else
		printf("null");
	printf(", \"runtime_dir_present\": %s}\n", in->rundir_present ? "true" : "false");
}

/* ------------------------------------------------------------------ */
/* label, uuid                                                          */
/* ------------------------------------------------------------------ */

/* Maps POOL writable and alone; refuses what a change must not touch. */
static int change_open(const char *path, struct umfs_pmem *pm)
{
	const struct umfs_superblock *sb;
	const struct umfs_state *st;
	struct umfs_pool_users users;
	const char *why;
	int err;

	err = umfs_pmem_map_path(path, 0, false, pm);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-err));
		return EXIT_FAIL;
	}
	err = umfs_pmem_lock(pm, true);
	if (err == -EBUSY) {
		umfs_pool_users_find(path, &pm->st, &users);
		fprintf(stderr, "%s: %s is in use by ", prog, path);
		umfs_pool_users_print(stderr, &users);
		fprintf(stderr, ": change it when no program and no umfs-fuse uses it\n");
		umfs_pmem_unmap(pm);
		return EXIT_BUSY;
	}
	if (!err) {
		err = pool_sb_check(pm, 0, &why);
		if (err == -EUCLEAN)
			why = "damaged superblock: run fsck.umfs first";
	} else {
		why = strerror(-err);
	}
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, why);
		umfs_pmem_unmap(pm);
		return EXIT_FAIL;
	}
	sb = (const void *)pm->base;
	st = (const void *)(pm->base + umfs_le64_to_cpu(sb->state_off));
	if (umfs_le64_to_cpu(st->state) != UMFS_STATE_CLEAN || st->errors) {
		fprintf(stderr, "%s: %s was not cleanly unmounted or has refused damage: "
				"run fsck.umfs on it first\n", prog, path);
		umfs_pmem_unmap(pm);
		return EXIT_FAIL;
	}
	return 0;
}

/* Writes sb over the primary superblock, then the backup: a crash leaves
 * one whole copy, which fsck.umfs restores the other from. */
static int change_write(struct umfs_pmem *pm, struct umfs_superblock *sb)
{
	uint8_t *backup = pm->base + umfs_le64_to_cpu(sb->backup_sb_off);

	sb->csum = umfs_cpu_to_le32(umfs_sb_csum(sb));
	memcpy(pm->base, sb, sizeof(*sb));
	umfs_persist(pm->base, sizeof(*sb));
	int err = umfs_pmem_sync(pm);
	if (err)
		return err;
	memcpy(backup, sb, sizeof(*sb));
	umfs_persist(backup, sizeof(*sb));
	return umfs_pmem_sync(pm);
}

static void clean_seen(void *arg, const char *path, int result);

static int change(const char *path, const char *label, const uint8_t *uuid)
{
	struct umfs_pmem pm;
	struct umfs_superblock sb;
	uint8_t old_uuid[16];
	char text[37];
	int rc = change_open(path, &pm), err;

	if (rc)
		return rc;
	memcpy(&sb, pm.base, sizeof(sb));
	memcpy(old_uuid, sb.uuid, sizeof(old_uuid));
	if (label) {
		memset(sb.label, 0, sizeof(sb.label));
		memcpy(sb.label, label, strlen(label));
	}
	if (uuid)
		memcpy(sb.uuid, uuid, sizeof(sb.uuid));
	err = change_write(&pm, &sb);
	if (!err && uuid) {
		umfs_cli_uuid(text, uuid);
		printf("%s: %s: UUID %s\n", prog, path, text);
		/* the old UUID's runtime directories would outlive it: nobody
		 * uses them while this holds the pool alone (a copy's in use
		 * are kept, as clean keeps them) */
		if (memcmp(old_uuid, uuid, sizeof(old_uuid)))
			umfs_rundir_sweep(old_uuid, 0, clean_seen, NULL);
	}
	umfs_pmem_unmap(&pm);
	if (err) {
		fprintf(stderr, "%s: %s: writing the superblock: %s\n", prog, path, strerror(-err));
		return EXIT_FAIL;
	}
	if (!uuid) {
		printf("%s: %s: label %s%s%s\n", prog, path, label[0] ? "'" : "",
		       label[0] ? label : "cleared", label[0] ? "'" : "");
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* grow                                                                 */
/* ------------------------------------------------------------------ */

/* Why a pool can grow no further than umfs_sb_grow_limit says. */
static const char *limit_why(const struct umfs_superblock *sb)
{
	if (umfs_le32_to_cpu(sb->feature_compat) & UMFS_FEATURE_COMPAT_GROWABLE)
		return "its maximum size, set by mkfs.umfs -G";
	return "what its page bitmap has room for: a pool made before format 1.5 grows "
	       "only within that";
}

/* The size a grow is asked for, against the pool it would grow. */
static int grow_refuse(const char *path, const struct umfs_superblock *sb, uint64_t size)
{
	uint64_t cur = umfs_le64_to_cpu(sb->pool_size), lim = umfs_sb_grow_limit(sb);
	char b1[32], b2[32];

	if (size % UMFS_PAGE_SIZE) {
		fprintf(stderr, "%s: %s: size %" PRIu64 " is not a multiple of the %u-byte page "
				"size\n", prog, path, size, UMFS_PAGE_SIZE);
	} else if (size < cur) {
		fprintf(stderr, "%s: %s: the pool is %s; it cannot shrink to %s\n", prog, path,
			umfs_cli_size_fmt(cur, b1, sizeof(b1)),
			umfs_cli_size_fmt(size, b2, sizeof(b2)));
	} else if (size > lim) {
		fprintf(stderr, "%s: %s: %s is past the largest size this pool can take, %s "
				"(%" PRIu64 " bytes): %s\n", prog, path,
			umfs_cli_size_fmt(size, b1, sizeof(b1)),
			umfs_cli_size_fmt(lim, b2, sizeof(b2)), lim, limit_why(sb));
	} else if (size > SIZE_MAX) {
		fprintf(stderr, "%s: %s: %s cannot be mapped on this machine\n", prog, path,
			umfs_cli_size_fmt(size, b1, sizeof(b1)));
	} else {
		return 0;
	}
	return EXIT_FAIL;
}

static int grow(const char *path, uint64_t size)
{
	struct umfs_pmem pm;
	struct umfs_superblock sb;
	const char *why = NULL;
	char b1[32], b2[32];
	int rc = change_open(path, &pm), err;

	if (rc)
		return rc;
	memcpy(&sb, pm.base, sizeof(sb));
	if (!S_ISREG(pm.st.st_mode)) {
		fprintf(stderr, "%s: %s is a device: a device cannot grow (its pool covers it "
				"whole; only a pool file grows)\n", prog, path);
		rc = EXIT_FAIL;
	} else if (umfs_sb_growing(&sb)) {
		fprintf(stderr, "%s: %s: an interrupted grow is unfinished: fsck.umfs -y (or a "
				"mount) finishes it\n", prog, path);
		rc = EXIT_FAIL;
	} else if (umfs_le64_to_cpu(sb.pool_size) == size) {
		printf("%s: %s: already %s\n", prog, path, umfs_cli_size_fmt(size, b1, sizeof(b1)));
	} else if (!(rc = grow_refuse(path, &sb, size))) {
		err = umfs_pmem_extend(&pm, size);
		if (err)
			fprintf(stderr, "%s: %s: cannot extend the file to %" PRIu64 " bytes: %s "
					"(the pool is unchanged)\n", prog, path, size, strerror(-err));
		else if ((err = umfs_grow(&pm, size, &why)))
			fprintf(stderr, "%s: %s: %s\n", prog, path, why);
		else
			printf("%s: %s: grown from %s to %s\n", prog, path,
			       umfs_cli_size_fmt(umfs_le64_to_cpu(sb.pool_size), b1, sizeof(b1)),
			       umfs_cli_size_fmt(size, b2, sizeof(b2)));
		rc = err ? EXIT_FAIL : 0;
	}
	umfs_pmem_unmap(&pm);
	return rc;
}

/* ------------------------------------------------------------------ */
/* clean                                                                */
/* ------------------------------------------------------------------ */

static void clean_seen(void *arg, const char *path, int result)
{
	(void)arg;
	if (result == 0)
		printf("%s: removed %s\n", prog, path);
	else if (result == -EBUSY)
		printf("%s: kept %s: in use\n", prog, path);
	else if (result == -EPERM)
		printf("%s: left %s: another user's\n", prog, path);
	else
		printf("%s: left %s: %s\n", prog, path, strerror(-result));
}

static int clean(const char *path)
{
	struct pool_info in;
	int rc = info_read(path, &in), n;

	if (rc)
		return rc;
	n = umfs_rundir_sweep(in.sb.uuid, 0, clean_seen, NULL);
	if (n < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-n));
		return EXIT_FAIL;
	}
	printf("%s: %s: %d runtime director%s removed\n", prog, path, n, n == 1 ? "y" : "ies");
	return 0;
}

static int random_uuid(uint8_t u[16])
{
	FILE *f = fopen("/dev/urandom", "rbe");
	size_t n = f ? fread(u, 1, 16, f) : 0;

	if (f)
		fclose(f);
	if (n != 16)
		return -1;
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4: random */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* the RFC 4122 variant */
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
					      UMFS_CLI_STD_OPTIONS,
					      { 0, 0, 0, 0 } };
	bool json = false;
	const char *cmd;
	uint8_t uuid[16];
	struct pool_info in;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hVj", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			umfs_cli_version(prog);
			return 0;
		case 'j':
			json = true;
			break;
		default:
			umfs_cli_bad_option(prog, EXIT_USAGE, c, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		umfs_cli_refuse(prog, EXIT_USAGE, "no command: info, label, uuid, clean or grow");
	cmd = argv[0];
	if (!strcmp(cmd, "info")) {
		if (argc != 2)
			umfs_cli_refuse(prog, EXIT_USAGE, "info takes one pool");
		int rc = info_read(argv[1], &in);
		if (!rc)
			info_print(&in, json);
		return rc;
	}
	if (json)
		umfs_cli_refuse(prog, EXIT_USAGE, "--json goes with info");
	if (!strcmp(cmd, "clean")) {
		if (argc != 2)
			umfs_cli_refuse(prog, EXIT_USAGE, "clean takes one pool");
		return clean(argv[1]);
	}
	if (!strcmp(cmd, "label")) {
		if (argc != 3)
			umfs_cli_refuse(prog, EXIT_USAGE, "label takes a pool and a label");
		if (strlen(argv[2]) >= UMFS_LABEL_MAX)
			umfs_cli_refuse(prog, EXIT_USAGE,
					"label '%s' is %zu bytes long; the limit is %d bytes", argv[2],
					strlen(argv[2]), UMFS_LABEL_MAX - 1);
		return change(argv[1], argv[2], NULL);
	}
	if (!strcmp(cmd, "uuid")) {
		if (argc != 2 && argc != 3)
			umfs_cli_refuse(prog, EXIT_USAGE, "uuid takes a pool and perhaps a UUID");
		if (argc == 3 && strcmp(argv[2], "random")) {
			if (!uuid_parse(argv[2], uuid))
				umfs_cli_refuse(prog, EXIT_USAGE,
						"'%s' is not a UUID (32 hex digits, as "
						"01234567-89ab-cdef-0123-456789abcdef)", argv[2]);
		} else if (random_uuid(uuid)) {
			fprintf(stderr, "%s: cannot read /dev/urandom\n", prog);
			return EXIT_FAIL;
		}
		return change(argv[1], NULL, uuid);
	}
	if (!strcmp(cmd, "grow")) {
		uint64_t size;
		int err;

		if (argc != 3)
			umfs_cli_refuse(prog, EXIT_USAGE, "grow takes a pool and a size");
		err = umfs_cli_size_parse(argv[2], &size);
		if (err || size == 0)
			umfs_cli_refuse(prog, EXIT_USAGE,
					"invalid size '%s': expected a positive number of bytes with "
					"an optional K, M, G or T suffix%s", argv[2],
					err == -ERANGE ? " (that one is too large)" : "");
		return grow(argv[1], size);
	}
	umfs_cli_refuse(prog, EXIT_USAGE,
			"unknown command '%s': info, label, uuid, clean or grow", cmd);
}
