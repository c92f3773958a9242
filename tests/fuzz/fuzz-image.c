/* fuzz-image.c: libFuzzer target over reading an image file as the command
 * line reads its INPUT (tools/picture.c).
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The bytes become a file named by their magic (PNG, JPEG, TIFF, OpenEXR,
 * WebP; others get an extension from their first byte, so that garbage
 * reaches every loader too), which goes through the same steps as INPUT:
 * dd_image_check_file, the size from GEGL's loader reading the header,
 * then the decode. Refusals are fine; a crash, a sanitizer report or a
 * hang is not.
 *
 * libjpeg, and babl on a damaged ICC profile (babl_fatal), call exit()
 * under GEGL, which the command line turns into its one line (picture.c):
 * so every input is decoded in a child process, whose ending by exit() is
 * that refusal and whose crash or sanitizer report fails the parent. Only our code carries coverage
 * counters, so the child loses the fuzzer no guidance.
 */
#include <errno.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "picture.h"

/* The command line refuses a dream bigger than its memory budget from the
 * header; the fuzzer decodes at most this much, so that a header claiming
 * a huge image costs neither memory nor time. */
#define MAX_PIXELS (1 << 20)

/* A child's exit status when a library ended it with exit(). */
#define DECODER_EXITED 3

static char *folder;
static guint serial;

static const char *
extension_for (const uint8_t *data, size_t size)
{
  static const char *const any[] = { ".png", ".jpg", ".tif", ".exr", ".webp" };
  if (size >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return ".png";
  if (size >= 2 && data[0] == 0xff && data[1] == 0xd8)
    return ".jpg";
  if (size >= 4 && (memcmp (data, "II*\0", 4) == 0 || memcmp (data, "MM\0*", 4) == 0))
    return ".tif";
  if (size >= 4 && memcmp (data, "\x76\x2f\x31\x01", 4) == 0)
    return ".exr";
  if (size >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return ".webp";
  return any[size ? data[0] % G_N_ELEMENTS (any) : 0];
}

/* INPUT's path through the command line, up to the pixels in memory. */
static void
read_input (const char *path)
{
  g_autoptr (GeglNode) graph = gegl_node_new ();
  GeglRectangle extent;
  Picture picture = { 0 };
  GeglNode *load = open_picture (graph, path, &extent, NULL);
  if (load && (gint64) extent.width * extent.height <= MAX_PIXELS &&
      read_picture (load, path, &picture, NULL))
    picture_clear (&picture);
}

static void
remove_folder (void)
{
  g_rmdir (folder);
}

static void
decoder_exited (void)
{
  _exit (DECODER_EXITED);
}

/* read_input in a child process; aborts when the child crashed. */
static void
read_input_apart (const char *path)
{
  fflush (NULL);
  pid_t child = fork ();
  if (child == 0) {
    /* Runs before picture.c's handler, which would print the line. */
    atexit (decoder_exited);
    read_input (path);
    _exit (0);
  }
  g_assert_cmpint (child, >, 0);
  int status;
  while (waitpid (child, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  if (!WIFEXITED (status) || (WEXITSTATUS (status) != 0 && WEXITSTATUS (status) != DECODER_EXITED))
    g_error ("reading %s in a child process: %s %d", path,
             WIFSIGNALED (status) ? "killed by signal" : "exit status",
             WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc, (void) argv;
  picture_setup ();
  gegl_init (NULL, NULL);
  /* One thread: a fork copies only the calling one. */
  g_object_set (gegl_config (), "threads", 1, NULL);
  folder = g_dir_make_tmp ("fuzz-image-XXXXXX", NULL);
  g_assert_nonnull (folder);
  atexit (remove_folder);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *extension = extension_for (data, size);
  /* A new name for each input: nothing GEGL might remember of a file
   * applies to the next. */
  g_autofree char *name = g_strdup_printf ("in-%u%s", serial++, extension);
  g_autofree char *path = g_build_filename (folder, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) size, NULL));
  read_input_apart (path);
  g_unlink (path);
  return 0;
}
