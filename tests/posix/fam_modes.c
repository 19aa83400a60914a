// SPDX-License-Identifier: MIT
/*
 * fam_modes.c - the "modes" family: the sticky bit on files and
 * directories, and when Linux keeps or clears S_ISUID and S_ISGID:
 * chmod by an owner outside the file's group, chown and fchown, writes
 * and truncates by a non-root user, sticky directories restricting
 * unlink, rmdir and rename to the owners, and what setgid directories
 * hand to new files and directories.
 */
#include "posix.h"

#define GRP 1234
#define OTHER 4321

static void mode_of(const char *name, const char *rel)
{
	if (lstat(P(rel), &S))
		emit(name, "lstat(\"%s\") = -1 %s", rel, ename(errno));
	else
		emit(name, "lstat(\"%s\") = %s", rel, fmt_stat(&S));
}

/* a file of owner:group with mode (chmod after chown: chown may clear) */
static void file_as(const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	put(rel, "data");
	if (chown(P(rel), uid, gid) || chmod(P(rel), mode))
		setup_fail("chown/chmod", rel, errno);
}

static void dir_as(const char *rel, uid_t uid, gid_t gid, mode_t mode)
{
	mk(rel);
	if (chown(P(rel), uid, gid) || chmod(P(rel), mode))
		setup_fail("chown/chmod", rel, errno);
}

/* nobody, in no other group */
static void modes_nobody(void)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	/* chmod by an owner outside the file's group drops S_ISGID */
	R("modes/chmod-sgid-not-member", chmod(P("modes/own-grp"), 02755));
	mode_of("modes/chmod-sgid-not-member-stat", "modes/own-grp");
	R("modes/chmod-sgid-own-group", chmod(P("modes/own-own"), 02755));
	mode_of("modes/chmod-sgid-own-group-stat", "modes/own-own");
	R("modes/chmod-sgid-dir-not-member", chmod(P("modes/own-grp-dir"), 02755));
	mode_of("modes/chmod-sgid-dir-not-member-stat", "modes/own-grp-dir");
	R("modes/chmod-suid-own", chmod(P("modes/own-own2"), 04755));
	mode_of("modes/chmod-suid-own-stat", "modes/own-own2");
	R("modes/chmod-sticky-file-own", chmod(P("modes/own-own3"), 01644));
	mode_of("modes/chmod-sticky-file-own-stat", "modes/own-own3");
	R("modes/chmod-sticky-dir-own", chmod(P("modes/own-dir"), 01777));
	mode_of("modes/chmod-sticky-dir-own-stat", "modes/own-dir");
	fd = open(P("modes/own-grp2"), O_RDONLY);
	R("modes/fchmod-sgid-not-member", fchmod(fd, 02750));
	close(fd);
	mode_of("modes/fchmod-sgid-not-member-stat", "modes/own-grp2");

	/* writes and truncates by non-root drop the set-id bits */
	fd = open(P("modes/w-suid"), O_WRONLY);
	R("modes/write-suid", write(fd, "w", 1));
	close(fd);
	mode_of("modes/write-suid-stat", "modes/w-suid");
	fd = open(P("modes/w-sgid-x"), O_WRONLY);
	R("modes/write-sgid-gx", write(fd, "w", 1));
	close(fd);
	mode_of("modes/write-sgid-gx-stat", "modes/w-sgid-x");
	fd = open(P("modes/w-sgid-nox"), O_WRONLY);
	R("modes/write-sgid-no-gx", write(fd, "w", 1));
	close(fd);
	mode_of("modes/write-sgid-no-gx-stat", "modes/w-sgid-nox");
	R("modes/truncate-suid", truncate(P("modes/t-suid"), 1));
	mode_of("modes/truncate-suid-stat", "modes/t-suid");
	fd = open(P("modes/t-sgid"), O_WRONLY | O_TRUNC);
	R("modes/open-trunc-sgid", fd >= 0 ? 0 : -1);
	close(fd);
	mode_of("modes/open-trunc-sgid-stat", "modes/t-sgid");

	/* chown by the owner to a group of its own (its primary) */
	R("modes/chown-own-suid", chown(P("modes/c-own"), (uid_t)-1, NOBODY));
	mode_of("modes/chown-own-suid-stat", "modes/c-own");
	fd = open(P("modes/c-own2"), O_RDONLY);
	R("modes/fchown-own-noop", fchown(fd, (uid_t)-1, (gid_t)-1));
	close(fd);
	mode_of("modes/fchown-own-noop-stat", "modes/c-own2");

	/* sticky directories */
	R("modes/sticky-unlink-others", unlink(P("modes/sticky/rootfile")));
	R("modes/sticky-rmdir-others", rmdir(P("modes/sticky/rootdir")));
	R("modes/sticky-rename-others", rename(P("modes/sticky/rootfile"), P("modes/sticky/mine2")));
	R("modes/sticky-rename-over-others", rename(P("modes/sticky/mine"), P("modes/sticky/rootfile")));
	R("modes/sticky-unlink-own", unlink(P("modes/sticky/mine")));
	R("modes/sticky-owner-unlink", unlink(P("modes/nsticky/rootfile")));
	R("modes/sticky-owner-rename", rename(P("modes/nsticky/rootfile2"), P("modes/nsticky/moved")));
	R("modes/sticky-file-write", close(open(P("modes/sticky/rootfile"), O_WRONLY | O_APPEND)));
	list("modes/sticky-list", "modes/sticky");
	list("modes/nsticky-list", "modes/nsticky");

	/* setgid directory of a group nobody is not in */
	R("modes/sgid-create", close(open(P("modes/sgid/nf"), O_WRONLY | O_CREAT, 0644)));
	mode_of("modes/sgid-create-stat", "modes/sgid/nf");
	R("modes/sgid-create-sgid-mode", close(open(P("modes/sgid/nf2"), O_WRONLY | O_CREAT, 02755)));
	mode_of("modes/sgid-create-sgid-mode-stat", "modes/sgid/nf2");
	R("modes/sgid-mkdir", mkdir(P("modes/sgid/nd"), 0755));
	mode_of("modes/sgid-mkdir-stat", "modes/sgid/nd");
	R("modes/sgid-mkdir-nested", mkdir(P("modes/sgid/nd/deeper"), 0700));
	mode_of("modes/sgid-mkdir-nested-stat", "modes/sgid/nd/deeper");
	R("modes/sgid-mkfifo", mkfifo(P("modes/sgid/fifo"), 0644));
	mode_of("modes/sgid-mkfifo-stat", "modes/sgid/fifo");
	R("modes/sgid-symlink", symlink("target", P("modes/sgid/ln")));
	mode_of("modes/sgid-symlink-stat", "modes/sgid/ln");
}

/* nobody in group GRP */
static void modes_member(void)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	R("modes/chmod-sgid-member", chmod(P("modes/mem-grp"), 02755));
	mode_of("modes/chmod-sgid-member-stat", "modes/mem-grp");
	R("modes/chown-member-sgid-gx", chown(P("modes/mem-c1"), (uid_t)-1, GRP));
	mode_of("modes/chown-member-sgid-gx-stat", "modes/mem-c1");
	R("modes/chown-member-sgid-no-gx", chown(P("modes/mem-c2"), (uid_t)-1, GRP));
	mode_of("modes/chown-member-sgid-no-gx-stat", "modes/mem-c2");
	fd = open(P("modes/mem-c3"), O_RDONLY);
	R("modes/fchown-member-suid", fchown(fd, (uid_t)-1, GRP));
	close(fd);
	mode_of("modes/fchown-member-suid-stat", "modes/mem-c3");
	R("modes/chown-member-dir", chown(P("modes/mem-dir"), (uid_t)-1, GRP));
	mode_of("modes/chown-member-dir-stat", "modes/mem-dir");
	R("modes/sgid-member-create-sgid-mode", close(open(P("modes/sgid/mf"), O_WRONLY | O_CREAT, 02755)));
	mode_of("modes/sgid-member-create-sgid-mode-stat", "modes/sgid/mf");
	fd = open(P("modes/mem-w"), O_WRONLY);
	R("modes/write-member-sgid-gx", write(fd, "w", 1));
	close(fd);
	mode_of("modes/write-member-sgid-gx-stat", "modes/mem-w");
}

void t_modes(void)
{
	gid_t grp = GRP;
	int fd;

	mk("modes");
	chmod(P("modes"), 0777);

	/* root: sticky on files and directories, chown clearing set-id bits */
	put("modes/rf", "r");
	R("modes/root-chmod-sticky-file", chmod(P("modes/rf"), 01644));
	mode_of("modes/root-chmod-sticky-file-stat", "modes/rf");
	mk("modes/rd");
	R("modes/root-chmod-sticky-dir", chmod(P("modes/rd"), 01755));
	mode_of("modes/root-chmod-sticky-dir-stat", "modes/rd");
	R("modes/root-chmod-all-bits", chmod(P("modes/rf"), 07777));
	mode_of("modes/root-chmod-all-bits-stat", "modes/rf");
	R("modes/root-chmod-type-bits", chmod(P("modes/rf"), S_IFREG | 0640));
	mode_of("modes/root-chmod-type-bits-stat", "modes/rf");
	file_as("modes/rc1", 0, 0, 06755);
	R("modes/root-chown-suid-sgid-gx", chown(P("modes/rc1"), NOBODY, GRP));
	mode_of("modes/root-chown-suid-sgid-gx-stat", "modes/rc1");
	file_as("modes/rc2", 0, 0, 06745);
	R("modes/root-chown-sgid-no-gx", chown(P("modes/rc2"), NOBODY, GRP));
	mode_of("modes/root-chown-sgid-no-gx-stat", "modes/rc2");
	file_as("modes/rc3", 0, 0, 06755);
	R("modes/root-chown-noop", chown(P("modes/rc3"), (uid_t)-1, (gid_t)-1));
	mode_of("modes/root-chown-noop-stat", "modes/rc3");
	file_as("modes/rc4", 0, 0, 06755);
	R("modes/root-chown-same", chown(P("modes/rc4"), 0, 0));
	mode_of("modes/root-chown-same-stat", "modes/rc4");
	file_as("modes/rc5", 0, 0, 06755);
	fd = open(P("modes/rc5"), O_RDONLY);
	R("modes/root-fchown", fchown(fd, OTHER, OTHER));
	close(fd);
	mode_of("modes/root-fchown-stat", "modes/rc5");
	file_as("modes/rc6", 0, 0, 06755);
	R("modes/root-lchown", lchown(P("modes/rc6"), OTHER, (gid_t)-1));
	mode_of("modes/root-lchown-stat", "modes/rc6");
	dir_as("modes/rcd", 0, 0, 07755);
	R("modes/root-chown-dir", chown(P("modes/rcd"), NOBODY, GRP));
	mode_of("modes/root-chown-dir-stat", "modes/rcd");
	file_as("modes/rw", 0, 0, 06777);
	fd = open(P("modes/rw"), O_WRONLY);
	R("modes/root-write-suid", write(fd, "w", 1));
	close(fd);
	mode_of("modes/root-write-suid-stat", "modes/rw");
	R("modes/root-truncate-suid", truncate(P("modes/rw"), 0));
	mode_of("modes/root-truncate-suid-stat", "modes/rw");

	/* for nobody */
	file_as("modes/own-grp", NOBODY, GRP, 0755);
	file_as("modes/own-grp2", NOBODY, GRP, 0755);
	file_as("modes/own-own", NOBODY, NOBODY, 0755);
	file_as("modes/own-own2", NOBODY, NOBODY, 0755);
	file_as("modes/own-own3", NOBODY, NOBODY, 0644);
	dir_as("modes/own-grp-dir", NOBODY, GRP, 0755);
	dir_as("modes/own-dir", NOBODY, NOBODY, 0755);
	file_as("modes/w-suid", 0, 0, 04777);
	file_as("modes/w-sgid-x", 0, 0, 02777);
	file_as("modes/w-sgid-nox", 0, 0, 02767);
	file_as("modes/t-suid", 0, 0, 04777);
	file_as("modes/t-sgid", 0, 0, 02777);
	file_as("modes/c-own", NOBODY, GRP, 06755);
	file_as("modes/c-own2", NOBODY, NOBODY, 06755);
	dir_as("modes/sticky", 0, 0, 01777);
	file_as("modes/sticky/rootfile", 0, 0, 0666);
	dir_as("modes/sticky/rootdir", 0, 0, 0777);
	file_as("modes/sticky/mine", NOBODY, NOBODY, 0644);
	dir_as("modes/nsticky", NOBODY, NOBODY, 01777);
	file_as("modes/nsticky/rootfile", 0, 0, 0644);
	file_as("modes/nsticky/rootfile2", 0, 0, 0644);
	dir_as("modes/sgid", 0, GRP, 02777);
	as_user(NOBODY, NOBODY, NULL, 0, modes_nobody);

	/* for nobody in GRP */
	file_as("modes/mem-grp", NOBODY, OTHER, 0755);
	chown(P("modes/mem-grp"), NOBODY, GRP);
	chmod(P("modes/mem-grp"), 0755);
	file_as("modes/mem-c1", NOBODY, NOBODY, 06755);
	file_as("modes/mem-c2", NOBODY, NOBODY, 06745);
	file_as("modes/mem-c3", NOBODY, NOBODY, 04755);
	dir_as("modes/mem-dir", NOBODY, NOBODY, 07755);
	file_as("modes/mem-w", 0, GRP, 02777);
	as_user(NOBODY, NOBODY, &grp, 1, modes_member);

	/* root creating in a setgid directory */
	R("modes/root-sgid-mkdir", mkdir(P("modes/sgid/rd"), 0755));
	mode_of("modes/root-sgid-mkdir-stat", "modes/sgid/rd");
	R("modes/root-sgid-create-sgid-mode", close(open(P("modes/sgid/rf"), O_WRONLY | O_CREAT, 02755)));
	mode_of("modes/root-sgid-create-sgid-mode-stat", "modes/sgid/rf");
	list("modes/after-list", "modes");
}
