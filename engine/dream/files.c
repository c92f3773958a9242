/* files.c: files written whole or not at all.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A file is written to a temporary file in its destination folder, every
 * write checked, then flushed to the disk (fsync), closed (checked too: some
 * file systems report write errors only there) and renamed over the
 * destination. Until the rename the destination is untouched, so a full
 * disk, a crash or a kill never leaves a partial file under the final name,
 * and a program may safely overwrite the file it read. Where the system can
 * (O_TMPFILE), the temporary file has no name until it is complete, so a kill
 * leaves nothing behind at all. g_file_set_contents() does much of this but
 * only for data already in memory and with no control over the destination's
 * mode or symbolic links.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deepdream.h"

struct _DdSafeFile {
  char *path;      /* the destination, symbolic links resolved */
  char *temp_path; /* the temporary file's name, NULL while it has none */
  int fd;
  gboolean failed;  /* a write failed: commit refuses */
  gboolean by_name; /* another program writes the temporary file by its name */
  gboolean keep;    /* the destination exists: its permissions carry over */
  mode_t keep_mode;
};

static gboolean
set_errno_error (GError **error, const char *path, int errsv)
{
  g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot write '%s': %s", path, g_strerror (errsv));
  return FALSE;
}

/* What a path that is not a regular file is, for messages. */
static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

/* The file a symbolic link leads to, so that the rename replaces the file
 * and not the link; the path itself when it is no link or leads nowhere. */
static char *
resolve_destination (const char *path)
{
  GStatBuf st;
  if (g_lstat (path, &st) == 0 && S_ISLNK (st.st_mode)) {
    char *target = realpath (path, NULL);
    if (target) {
      char *copy = g_strdup (target);
      free (target);
      return copy;
    }
  }
  return g_strdup (path);
}

/* A fresh name for the temporary file in the destination's folder. Hidden,
 * so that a file browser or a glob over the folder does not pick it up. */
static char *
temp_name (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  return g_strdup_printf ("%s/.%s.%08x.part", folder, base, g_random_int ());
}

static int
open_unnamed (const char *path)
{
#ifdef O_TMPFILE
  /* Naming it later goes through /proc (linkat with AT_SYMLINK_FOLLOW). */
  if (g_file_test ("/proc/self/fd", G_FILE_TEST_IS_DIR)) {
    g_autofree char *folder = g_path_get_dirname (path);
    return open (folder, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
  }
#endif
  errno = EOPNOTSUPP;
  return -1;
}

/* The destination, checked, in a new DdSafeFile without a temporary file. */
static DdSafeFile *
safe_file_begin (const char *path, GError **error)
{
  g_autofree char *dest = resolve_destination (path);
  GStatBuf st;
  gboolean exists = g_stat (dest, &st) == 0;
  if (exists && !S_ISREG (st.st_mode)) {
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot write '%s': it is %s", path,
                 file_kind (st.st_mode));
    return NULL;
  }
  DdSafeFile *file = g_new0 (DdSafeFile, 1);
  file->path = g_steal_pointer (&dest);
  file->fd = -1;
  file->keep = exists;
  file->keep_mode = exists ? st.st_mode & 07777 : 0;
  return file;
}

/* file once its temporary file is open, or NULL with an error naming path
 * and errsv, the cause of the failed open. */
static DdSafeFile *
safe_file_opened (DdSafeFile *file, const char *path, int errsv, GError **error)
{
  if (file->fd < 0 && errsv == ENOENT) {
    g_autofree char *folder = g_path_get_dirname (path);
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot write '%s': there is no folder '%s'", path,
                 folder);
    dd_safe_file_free (file);
    return NULL;
  }
  if (file->fd < 0) {
    set_errno_error (error, path, errsv);
    dd_safe_file_free (file);
    return NULL;
  }
  /* A file replaced keeps its permissions. */
  if (file->keep)
    (void) fchmod (file->fd, file->keep_mode);
  return file;
}

/* Opens file's temporary file under names made by name_for (its path),
 * tried until one is free; errno tells why when fd stays -1. */
static void
open_named_temp (DdSafeFile *file, char *(*name_for) (const char *path))
{
  for (int tries = 0; tries < 100 && file->fd < 0; tries++) {
    g_free (file->temp_path);
    file->temp_path = name_for (file->path);
    file->fd = open (file->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (file->fd < 0 && errno != EEXIST)
      break;
  }
}

DdSafeFile *
dd_safe_file_new (const char *path, GError **error)
{
  DdSafeFile *file = safe_file_begin (path, error);
  if (!file)
    return NULL;
  file->fd = open_unnamed (file->path);
  if (file->fd < 0 && errno != EACCES && errno != ENOENT && errno != EROFS && errno != ENOSPC &&
      errno != EDQUOT) {
    /* No O_TMPFILE on this file system: a named temporary file. */
    open_named_temp (file, temp_name);
  }
  int errsv = errno;
  if (file->fd < 0)
    g_clear_pointer (&file->temp_path, g_free);
  return safe_file_opened (file, path, errsv, error);
}

/* The temporary file's name ends with the destination's own, so that a
 * writer that picks the format from the name (GIMP's savers) picks the
 * destination's; hidden, so that a glob over the folder does not see it. */
static char *
temp_name_by_name (const char *path)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  return g_strdup_printf ("%s/.part-%08x-%s", folder, g_random_int (), base);
}

DdSafeFile *
dd_safe_file_new_named (const char *path, GError **error)
{
  DdSafeFile *file = safe_file_begin (path, error);
  if (!file)
    return NULL;
  file->by_name = TRUE;
  open_named_temp (file, temp_name_by_name);
  int errsv = errno;
  if (file->fd < 0)
    g_clear_pointer (&file->temp_path, g_free);
  return safe_file_opened (file, path, errsv, error);
}

const char *
dd_safe_file_get_temp_path (DdSafeFile *file)
{
  return file->temp_path;
}

int
dd_safe_file_get_fd (DdSafeFile *file)
{
  return file->fd;
}

gboolean
dd_safe_file_write (DdSafeFile *file, const void *data, gsize size, GError **error)
{
  const char *p = data;
  while (size > 0 && !file->failed) {
    ssize_t n = write (file->fd, p, MIN (size, (gsize) G_MAXSSIZE));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      file->failed = TRUE;
      return set_errno_error (error, file->path, n < 0 ? errno : ENOSPC);
    }
    p += n;
    size -= (gsize) n;
  }
  if (file->failed)
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot write '%s': an earlier write failed",
                 file->path);
  return !file->failed;
}

/* Gives the unnamed temporary file a name beside its destination. */
static gboolean
link_unnamed (DdSafeFile *file, GError **error)
{
  g_autofree char *fd_path = g_strdup_printf ("/proc/self/fd/%d", file->fd);
  for (int tries = 0; tries < 100; tries++) {
    char *name = temp_name (file->path);
    if (linkat (AT_FDCWD, fd_path, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
      file->temp_path = name;
      return TRUE;
    }
    int errsv = errno;
    g_free (name);
    if (errsv != EEXIST)
      return set_errno_error (error, file->path, errsv);
  }
  return set_errno_error (error, file->path, EEXIST);
}

gboolean
dd_safe_file_commit (DdSafeFile *file, GError **error)
{
  if (file->failed)
    return dd_safe_file_write (file, NULL, 0, error);
  if (file->by_name) {
    /* The writer may have replaced the file under the name with a new
     * one (a write to a temporary file and a rename of its own): what is
     * flushed and renamed is what the name holds now. */
    close (file->fd);
    file->fd = open (file->temp_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (file->fd < 0)
      return set_errno_error (error, file->path, errno);
    if (file->keep)
      (void) fchmod (file->fd, file->keep_mode);
  }
  if (fsync (file->fd) != 0)
    return set_errno_error (error, file->path, errno);
  if (!file->temp_path && !link_unnamed (file, error))
    return FALSE;
  int fd = file->fd;
  file->fd = -1;
  if (close (fd) != 0 || g_rename (file->temp_path, file->path) != 0)
    return set_errno_error (error, file->path, errno);
  g_clear_pointer (&file->temp_path, g_free);
  /* The rename itself reaches the disk with its folder; a failure here
   * leaves either the old or the new file, both whole. */
  g_autofree char *folder = g_path_get_dirname (file->path);
  int dir_fd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    (void) fsync (dir_fd);
    close (dir_fd);
  }
  return TRUE;
}

void
dd_safe_file_free (DdSafeFile *file)
{
  if (!file)
    return;
  if (file->fd >= 0)
    close (file->fd);
  if (file->temp_path)
    g_unlink (file->temp_path);
  g_free (file->temp_path);
  g_free (file->path);
  g_free (file);
}

gboolean
dd_file_set_contents (const char *path, const void *data, gsize size, GError **error)
{
  g_autoptr (DdSafeFile) file = dd_safe_file_new (path, error);
  return file && dd_safe_file_write (file, data, size, error) && dd_safe_file_commit (file, error);
}

gboolean
dd_file_check_regular (const char *path, GError **error)
{
  /* stat, not open: opening a FIFO for reading waits for a writer. */
  GStatBuf st;
  if (g_stat (path, &st) != 0) {
    int errsv = errno;
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot read '%s': %s", path,
                 errsv == ENOENT ? "no such file" : g_strerror (errsv));
    return FALSE;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, DD_ERROR, DD_ERROR_IO, "cannot read '%s': it is %s", path,
                 file_kind (st.st_mode));
    return FALSE;
  }
  return TRUE;
}
