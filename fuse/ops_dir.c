/* SPDX-License-Identifier: MIT */
/*
 * ops_dir.c - directory streams: opendir, readdir, releasedir, fsyncdir.
 *
 * readdir hands the kernel the core's cookies as offsets: each entry carries
 * the cookie just after it, and the next call seeks there. Cookies stay valid
 * while entries come and go, so a directory read in several calls (or after
 * telldir/seekdir) neither repeats nor skips an entry that stayed.
 *
 * readdirplus also hands the kernel each entry's node and attributes, as a
 * lookup of its name would (and counted as one), so that ls -l or find
 * need no LOOKUP per name while the kernel may keep them (entry_timeout).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "umfs_fuse.h"

void uf_opendir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct uf_id id = uf_id_of(node);
	struct uf_dir *h = calloc(1, sizeof(*h));
	int err = h ? 0 : -ENOMEM;

	uf_cred_enter(req);
	if (!err)
		err = umfs_open_id(uf_fs(req), id.ino, id.gen, O_RDONLY | O_DIRECTORY, 0, &h->f);
	if (!err) {
		err = umfs_fopendir(h->f, &h->d);
		if (err)
			umfs_close(h->f);
	}
	if (err) {
		free(h);
		uf_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)h;
	uf_nodes_open(node, 1);
	if (fuse_reply_open(req, fi)) {
		uf_nodes_open(node, -1);
		umfs_closedir(h->d);
		umfs_close(h->f);
		free(h);
	}
}

void uf_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct umfs_dir *d = uf_dirh(fi)->d;
	struct umfs_dirent ent;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;
	struct stat st;
	int ret;

	(void)node;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	umfs_seekdir(d, (uint64_t)off);
	while ((ret = umfs_readdir(d, &ent)) > 0) {
		size_t n;

		memset(&st, 0, sizeof(st));
		st.st_ino = ent.ino;
		st.st_mode = DTTOIF(ent.type);
		n = fuse_add_direntry(req, buf + used, size - used, ent.name, &st,
				      (off_t)ent.next_cookie);
		if (n > size - used)
			break; /* the reply is full: the next call resumes at its offset */
		used += n;
	}
	/* An error is answered only when no entry came before it: those go
	 * first, and the next call, from the last one's offset, meets it. */
	if (ret < 0 && used == 0)
		uf_reply_err(req, ret);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

/* The node and attributes of entry name in directory node, as a lookup
 * gives them; e->ino 0 (the kernel looks the name up itself) for "." and
 * "..", which the kernel does not count, and for a name that went away or
 * that the caller may not search. */
static void plus_entry(fuse_req_t req, fuse_ino_t node, const struct umfs_dirent *ent,
		       struct fuse_entry_param *e)
{
	struct stat st;
	uint32_t gen;
	int err;

	memset(e, 0, sizeof(*e));
	e->attr.st_ino = ent->ino;
	e->attr.st_mode = DTTOIF(ent->type);
	if (!strcmp(ent->name, ".") || !strcmp(ent->name, ".."))
		return;
	uf_walk_in(req, node, 0);
	err = umfs_stat_id(uf_fs(req), ent->name, &st, AT_SYMLINK_NOFOLLOW, &gen);
	uf_walk_done();
	if (!err && (uint64_t)st.st_ino == ent->ino)
		uf_entry_fill(req, e, &st, gen);
}

void uf_readdirplus(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct umfs_dir *d = uf_dirh(fi)->d;
	struct fuse_entry_param e;
	struct umfs_dirent ent;
	char *buf = malloc(size ? size : 1);
	fuse_ino_t *counted = NULL;
	size_t used = 0, ncounted = 0, cap = 0;
	int ret;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	uf_cred_enter(req); /* the attributes are the caller's lookups */
	umfs_seekdir(d, (uint64_t)off);
	while ((ret = umfs_readdir(d, &ent)) > 0) {
		size_t n;

		plus_entry(req, node, &ent, &e);
		if (e.ino && ncounted == cap) {
			fuse_ino_t *c = realloc(counted, (cap ? cap * 2 : 64) * sizeof(*c));

			if (!c)
				break; /* answer what is there; the next call goes on */
			counted = c;
			cap = cap ? cap * 2 : 64;
		}
		/* Counted before the reply: the kernel may forget an entry (one
		 * it cannot use) before this thread runs on. Uncounted, the
		 * entry goes without its node, and the kernel looks it up. */
		if (e.ino && uf_nodes_add(e.ino, 1))
			e.ino = 0;
		n = fuse_add_direntry_plus(req, buf + used, size - used, ent.name, &e,
					   (off_t)ent.next_cookie);
		if (n > size - used) {
			if (e.ino)
				uf_nodes_forget(e.ino, 1);
			break; /* the reply is full: the next call resumes at its offset */
		}
		used += n;
		if (e.ino)
			counted[ncounted++] = e.ino;
	}
	if (ret < 0 && used == 0) {
		uf_reply_err(req, ret);
	} else if (fuse_reply_buf(req, buf, used)) {
		for (size_t i = 0; i < ncounted; i++)
			uf_nodes_forget(counted[i], 1);
	}
	free(counted);
	free(buf);
}

void uf_releasedir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct uf_dir *h = uf_dirh(fi);
	int err = umfs_closedir(h->d);

	umfs_close(h->f);
	free(h);
	uf_nodes_open(node, -1); /* due before the answer, as at a file's release */
	uf_reply_err(req, err);
	uf_release_served();
}

/* Metadata is persistent when an operation returns; only a pool on a disk
 * file needs syncing, which the core does for the whole pool at fsync. */
void uf_fsyncdir(fuse_req_t req, fuse_ino_t node, int datasync, struct fuse_file_info *fi)
{
	(void)node;
	uf_reply_err(req, umfs_fsync(uf_dirh(fi)->f, datasync));
}
