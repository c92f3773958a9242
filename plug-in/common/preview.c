/* preview.c: a quick, reduced-size dream of the selection, for the dialog.
 *
 * Copyright (C) 2026 the gimp-deepdream authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The selection is read once, shrunk to fit PREVIEW_EDGE pixels. Each
 * change of the settings restarts a short timer; when it fires, a worker
 * thread (GTask) dreams a copy of those pixels with fewer octaves and
 * iterations, so that it takes about a second. The worker owns everything
 * it reads (pixels, guide, settings, a reference to the read-only model)
 * and never touches GTK: its result comes back to the main thread through
 * the GTask callback, which draws it. At most one worker runs at a time; a
 * newer request cancels it and starts when it has stopped.
 *
 * The preview's own run is timed to estimate how long the full-size run
 * take on the user's machine with these layers.
 *
 * Only GTK, libgimpwidgets' preview area and the engine are used here, in
 * calls both GIMPs have: the front ends read the pixels.
 */
#include "preview.h"

#include <gegl.h>
#include <libgimpwidgets/gimpwidgets.h>
#include <math.h>

#include "pixels.h"

#define PREVIEW_OCTAVES 2
#define PREVIEW_ITERATIONS 3
#define DEBOUNCE_MS 300
/* Seconds for one iteration over a million pixels with GoogLeNet's
 * inception_4c/output on 2 cores of an x86-64 laptop-class CPU (deepdream
 * on a 512x288 picture, 4 octaves of 10 iterations, that is 2.8 million
 * pixel-steps: 3.2 s with the model's loading). Only used until the first
 * preview has timed the chosen layers where it runs. */
#define DEFAULT_SECONDS_PER_MPX_STEP 1.2

/* ---- Shared models ------------------------------------------------------------- */

static void
dream_model_clear (gpointer data)
{
  DreamModel *model = data;
  dd_model_unref (model->model);
  dd_model_card_free (model->card);
}

DreamModel *
dream_model_open (const char *name_or_file, GError **error)
{
  DdModelCard *card = NULL;
  DdModel *model = dd_model_open (name_or_file, &card, error);
  if (!model)
    return NULL;
  DreamModel *shared = g_atomic_rc_box_new0 (DreamModel);
  shared->model = model;
  shared->card = card;
  return shared;
}

DreamModel *
dream_model_ref (DreamModel *model)
{
  return model ? g_atomic_rc_box_acquire (model) : NULL;
}

void
dream_model_unref (DreamModel *model)
{
  if (model)
    g_atomic_rc_box_release_full (model, dream_model_clear);
}

/* ---- Pixels ---------------------------------------------------------------------- */

/* 8-bit pixels in GIMP's layouts, which GimpPreviewArea draws. */
typedef struct {
  guchar *bytes;
  int width, height, channels;
} Shown;

static void
shown_set (Shown *shown, const DdImage *image)
{
  int row_values = image->width * image->channels;
  g_free (shown->bytes);
  shown->bytes = g_new (guchar, (gsize) row_values * image->height);
  shown->width = image->width;
  shown->height = image->height;
  shown->channels = image->channels;
  for (int y = 0; y < image->height; y++) {
    const float *row = (const float *) ((const char *) image->pixels + y * image->stride);
    for (int i = 0; i < row_values; i++)
      shown->bytes[(gsize) y * row_values + i] = (guchar) CLAMP (lroundf (row[i] * 255), 0, 255);
  }
}

static void
shown_draw (const Shown *shown, GtkWidget *area)
{
  static const GimpImageType types[] = { GIMP_GRAY_IMAGE, GIMP_GRAYA_IMAGE, GIMP_RGB_IMAGE,
                                         GIMP_RGBA_IMAGE };
  gimp_preview_area_draw (GIMP_PREVIEW_AREA (area), 0, 0, shown->width, shown->height,
                          types[shown->channels - 1], shown->bytes, shown->width * shown->channels);
}

/* ---- Jobs: what a worker owns ------------------------------------------------------- */

typedef struct {
  DreamModel *model;
  DdDreamParams params;
  DdImage image; /* dreamed in place */
  DdImage guide; /* pixels NULL when there is none */
  double seconds;
  int octaves_run;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;
  dream_model_unref (job->model);
  dd_dream_params_clear (&job->params);
  pixels_clear (&job->image);
  pixels_clear (&job->guide);
  g_free (job);
}

/* The user's settings made quick: fewer octaves and iterations, with
 * proportionally larger steps so that the picture changes about as much
 * as in the full run, and a fixed seed so that it does not flicker. */
static void
make_quick (DdDreamParams *p)
{
  int iterations = MIN (p->iterations, PREVIEW_ITERATIONS);
  p->step_size =
      MIN (p->step_size * p->iterations / iterations, dd_dream_param_find ("step-size")->max);
  p->iterations = iterations;
  p->octaves = MIN (p->octaves, PREVIEW_OCTAVES);
  if (p->seed == -1)
    p->seed = 0;
}

static void
run_job (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  DdDreamInfo info;
  gint64 start = g_get_monotonic_time ();
  (void) source;
  if (!dd_dream_run (job->model->model, job->model->card, &job->params,
                     job->guide.pixels ? &job->guide : NULL, &job->image, NULL, NULL, cancellable,
                     &info, &error)) {
    g_task_return_error (task, error);
    return;
  }
  job->seconds = (g_get_monotonic_time () - start) / 1e6;
  job->octaves_run = info.octaves_run;
  g_task_return_boolean (task, TRUE);
}

/* ---- Time estimates ----------------------------------------------------------------- */

/* Millions of pixel-steps of a dream of width x height: each octave is
 * octave_scale smaller than the next, and every one runs every iteration. */
static double
mpx_steps (int width, int height, const DdDreamParams *p, int octaves)
{
  double pixels = 0, area = (double) width * height;
  for (int i = 0; i < octaves; i++, area /= p->octave_scale * p->octave_scale)
    pixels += area;
  return pixels * p->iterations / 1e6;
}

/* The octaves of a width x height dream that the network can take. */
static int
octaves_fitting (int width, int height, const DdDreamParams *p, int min_edge)
{
  int n = 1;
  double w = width, h = height;
  while (n < p->octaves && lround (w / p->octave_scale) >= min_edge &&
         lround (h / p->octave_scale) >= min_edge) {
    w /= p->octave_scale;
    h /= p->octave_scale;
    n++;
  }
  return n;
}

static gchar *
format_duration (double seconds)
{
  if (seconds < 2)
    return g_strdup ("about a second");
  if (seconds < 90)
    return g_strdup_printf ("about %.0f s", seconds);
  if (seconds < 90 * 60)
    return g_strdup_printf ("about %.0f min", seconds / 60);
  return g_strdup_printf ("about %.1f h", seconds / 3600);
}

/* ---- The preview ---------------------------------------------------------------------- */

struct _Preview {
  GtkWidget *box, *area, *spinner, *status, *estimate;
  DdImage original;            /* the selection, shrunk */
  Shown shown;                 /* what the area shows */
  int full_width, full_height; /* the selection at full size */
  double seconds_per_mpx_step; /* measured by the last preview */

  /* The latest request. */
  DreamModel *model;
  DdDreamParams params;
  DdImage guide;  /* pixels NULL when there is none */
  gboolean dirty; /* the request has not been started yet */

  /* dd_dream_min_size, which plans the network a dozen times, for the model,
   * layers and class it was last asked for: settings change on every
   * slider tick, those three seldom. */
  DreamModel *min_model;
  gchar *min_layers;
  int min_class, min_edge;

  guint timeout;
  GCancellable *cancellable; /* of the running worker, NULL when none runs */
  gboolean closing;
};

static void
show_busy (Preview *p, gboolean busy, const gchar *text)
{
  gtk_widget_set_visible (p->spinner, busy);
  if (busy)
    gtk_spinner_start (GTK_SPINNER (p->spinner));
  else
    gtk_spinner_stop (GTK_SPINNER (p->spinner));
  gtk_label_set_text (GTK_LABEL (p->status), text);
}

/* The smallest edge the request's model can dream its layers on, -1 when
 * there is no model or no such layer. */
static int
smallest_edge (Preview *p)
{
  if (!p->model)
    return -1;
  if (p->min_model != p->model || g_strcmp0 (p->min_layers, p->params.layers) != 0 ||
      p->min_class != p->params.class_index) {
    dream_model_unref (p->min_model);
    p->min_model = dream_model_ref (p->model);
    g_free (p->min_layers);
    p->min_layers = g_strdup (p->params.layers);
    p->min_class = p->params.class_index;
    p->min_edge = dd_dream_min_size (p->model->model, p->model->card, &p->params, NULL);
  }
  return p->min_edge;
}

static void
update_estimate (Preview *p)
{
  int min_edge = smallest_edge (p);
  if (min_edge < 0) {
    gtk_label_set_text (GTK_LABEL (p->estimate), "");
    return;
  }
  int octaves = octaves_fitting (p->full_width, p->full_height, &p->params, min_edge);
  double seconds =
      mpx_steps (p->full_width, p->full_height, &p->params, octaves) * p->seconds_per_mpx_step;
  g_autofree gchar *duration = format_duration (seconds);
  g_autofree gchar *text =
      g_strdup_printf ("Full size, %d × %d: %s", p->full_width, p->full_height, duration);
  gtk_label_set_text (GTK_LABEL (p->estimate), text);
}

static void start_job (Preview *p);

static void
show_image (Preview *p, const DdImage *image)
{
  shown_set (&p->shown, image);
  shown_draw (&p->shown, p->area);
}

/* The area keeps no pixels until it has its size, and drops them when the
 * size changes: draw again then. */
static void
area_allocated (GtkWidget *area, GtkAllocation *allocation, gpointer data)
{
  Preview *p = data;
  (void) allocation;
  shown_draw (&p->shown, area);
}

static void
show_result (Preview *p, Job *job)
{
  show_image (p, &job->image);
  double steps = mpx_steps (job->image.width, job->image.height, &job->params, job->octaves_run);
  if (steps > 0)
    p->seconds_per_mpx_step = job->seconds / steps;
  g_autofree gchar *text = g_strdup_printf (
      "%d octave%s × %d iteration%s in %.1f s", job->octaves_run, job->octaves_run == 1 ? "" : "s",
      job->params.iterations, job->params.iterations == 1 ? "" : "s", job->seconds);
  show_busy (p, FALSE, text);
  update_estimate (p);
}

static void
job_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Preview *p = data;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  (void) source;
  g_clear_object (&p->cancellable);
  if (p->closing)
    return;
  if (p->dirty) {
    /* Stale: a newer request waits for this worker to end (or for its timer). */
    if (!p->timeout)
      start_job (p);
    return;
  }
  if (ok) {
    show_result (p, g_task_get_task_data (G_TASK (result)));
  } else {
    show_image (p, &p->original);
    show_busy (p, FALSE, error->message);
    gtk_label_set_text (GTK_LABEL (p->estimate), "");
  }
}

static void
start_job (Preview *p)
{
  p->dirty = FALSE;
  if (!p->model) {
    show_image (p, &p->original);
    show_busy (p, FALSE, "");
    return;
  }
  Job *job = g_new0 (Job, 1);
  job->model = dream_model_ref (p->model);
  dd_dream_params_copy (&job->params, &p->params);
  make_quick (&job->params);
  pixels_copy (&job->image, &p->original);
  pixels_copy (&job->guide, &p->guide);

  p->cancellable = g_cancellable_new ();
  GTask *task = g_task_new (NULL, p->cancellable, job_done, p);
  g_task_set_task_data (task, job, job_free);
  g_task_run_in_thread (task, run_job);
  g_object_unref (task);
}

static gboolean
timeout_fired (gpointer data)
{
  Preview *p = data;
  p->timeout = 0;
  /* A worker still stopping starts the request itself when it ends. */
  if (!p->cancellable)
    start_job (p);
  return G_SOURCE_REMOVE;
}

void
preview_set_guide (Preview *p, DdImage *guide)
{
  pixels_clear (&p->guide);
  p->guide = *guide;
  *guide = (DdImage){ 0 };
}

void
preview_update (Preview *p, DreamModel *model, const DdDreamParams *params)
{
  dream_model_unref (p->model);
  p->model = dream_model_ref (model);
  dd_dream_params_clear (&p->params);
  dd_dream_params_copy (&p->params, params);
  p->dirty = TRUE;
  if (p->cancellable)
    g_cancellable_cancel (p->cancellable);
  if (p->timeout)
    g_source_remove (p->timeout);
  p->timeout = g_timeout_add (DEBOUNCE_MS, timeout_fired, p);
  show_busy (p, model != NULL, model ? "Computing…" : "");
  update_estimate (p);
}

static GtkWidget *
make_widget (Preview *p)
{
  p->area = gimp_preview_area_new ();
  gtk_widget_set_size_request (p->area, p->original.width, p->original.height);
  /* A fixed frame, so that the dialog keeps its layout whatever the shape. */
  GtkWidget *frame = gtk_frame_new (NULL);
  gtk_frame_set_shadow_type (GTK_FRAME (frame), GTK_SHADOW_IN);
  GtkWidget *centre = gtk_alignment_new (0.5, 0.5, 0, 0);
  gtk_widget_set_size_request (centre, PREVIEW_EDGE, PREVIEW_EDGE);
  gtk_container_add (GTK_CONTAINER (centre), p->area);
  gtk_container_add (GTK_CONTAINER (frame), centre);

  p->spinner = gtk_spinner_new ();
  gtk_widget_set_no_show_all (p->spinner, TRUE);
  p->status = gtk_label_new ("");
  gtk_misc_set_alignment (GTK_MISC (p->status), 0, 0.5);
  gtk_label_set_line_wrap (GTK_LABEL (p->status), TRUE);
  gtk_widget_set_size_request (p->status, PREVIEW_EDGE - 24, -1);
  gimp_help_set_help_data (p->status,
                           "The preview dreams a smaller copy with fewer octaves and iterations "
                           "and larger steps: close to the result, not the same",
                           NULL);
  GtkWidget *status_row = gtk_hbox_new (FALSE, 6);
  gtk_box_pack_start (GTK_BOX (status_row), p->spinner, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (status_row), p->status, TRUE, TRUE, 0);

  p->estimate = gtk_label_new ("");
  gtk_misc_set_alignment (GTK_MISC (p->estimate), 0, 0.5);
  gtk_label_set_line_wrap (GTK_LABEL (p->estimate), TRUE);
  gtk_widget_set_size_request (p->estimate, PREVIEW_EDGE, -1);
  /* The kernels in use decide the speed: say which, where the speed shows. */
  g_autofree char *kernels = dd_blas_describe ();
  g_autofree char *estimate_help =
    g_strdup_printf ("Estimated from the time the preview took with the same layers.\n"
                     "Products: %s",
                     kernels);
  gimp_help_set_help_data (p->estimate, estimate_help, NULL);

  GtkWidget *box = gtk_vbox_new (FALSE, 6);
  gtk_box_pack_start (GTK_BOX (box), frame, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), status_row, FALSE, FALSE, 0);
  gtk_box_pack_start (GTK_BOX (box), p->estimate, FALSE, FALSE, 0);
  GtkWidget *titled = gimp_frame_new ("Preview");
  gtk_container_add (GTK_CONTAINER (titled), box);
  return titled;
}

Preview *
preview_new (DdImage *original, int full_width, int full_height)
{
  Preview *p = g_new0 (Preview, 1);
  p->original = *original;
  *original = (DdImage){ 0 };
  p->full_width = full_width;
  p->full_height = full_height;
  p->seconds_per_mpx_step = DEFAULT_SECONDS_PER_MPX_STEP;
  dd_dream_params_init (&p->params);
  p->box = make_widget (p);
  /* The original shows until the first dream is ready. */
  shown_set (&p->shown, &p->original);
  g_signal_connect_after (p->area, "size-allocate", G_CALLBACK (area_allocated), p);
  return p;
}

GtkWidget *
preview_get_widget (Preview *p)
{
  return p->box;
}

void
preview_free (Preview *p)
{
  p->closing = TRUE;
  if (p->timeout)
    g_source_remove (p->timeout);
  if (p->cancellable)
    g_cancellable_cancel (p->cancellable);
  /* The worker holds p until its callback has run. */
  while (p->cancellable)
    g_main_context_iteration (NULL, TRUE);
  dream_model_unref (p->model);
  dream_model_unref (p->min_model);
  g_free (p->min_layers);
  dd_dream_params_clear (&p->params);
  pixels_clear (&p->original);
  pixels_clear (&p->guide);
  g_free (p->shown.bytes);
  g_free (p);
}
