#!/usr/bin/env bash
# tests/test-gimp3.sh: plug-in-deepdream inside a real GIMP 3; speaks TAP.
#
# Copyright (C) 2026 the gimp-deepdream authors
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Each case starts gimp-console-3.0 in batch mode, in a GIMP profile of its
# own made once per run with the built plug-in and the batch script in it,
# on the sky picture scaled to 256x144. Script-Fu calls the plug-in with
# keyword arguments, as users do, and prints "key: value" lines
# (test-gimp3.scm) and PNGs of the image before and after that the cases
# check; GIMP prints a failing procedure's message itself.
#
# Environment: DD_PLUGIN (the built plug-in), DD_GIMP_HELPERS
# (test-gimp3.scm), DD_BATCH_SCRIPT (GIMP 3's deepdream-batch.scm),
# DD_SHARED_DIR, DEEPDREAM_MODEL_PATH, DD_GUI_SCREENSHOT (the dialog's
# photograph) and DD_GUI_IMAGE (its picture, the sky by default); DD_CASES
# runs only the cases whose names contain it.

set -uo pipefail

gimp=$(command -v gimp-console-3.0) || {
  echo "1..0 # SKIP gimp-console-3.0 is not installed"
  exit 0
}
sky="$DD_SHARED_DIR/images/sky1024px.jpg"
[ -f "$sky" ] || {
  echo "Bail out! no test picture $sky"
  exit 1
}

tmp=$(mktemp -d)
[ -n "${DD_KEEP_TMP:-}" ] || trap 'rm -rf "$tmp"' EXIT
export GIMP3_DIRECTORY="$tmp/profile"
# The users' presets of the engine live there.
export XDG_CONFIG_HOME="$tmp/config"
n=0 failed=0

# run_gimp SCRIPT...: one GIMP 3 batch run of the Script-Fu expressions
# with the helpers loaded; its output (both streams) in $out, its exit
# status in $status.
run_gimp() {
  local args=() expr
  for expr in "$@"; do
    args+=(-b "(begin (load \"$DD_GIMP_HELPERS\") $expr)")
  done
  out=$(timeout 300 "$gimp" -i --quit --batch-interpreter=plug-in-script-fu-eval "${args[@]}" \
    </dev/null 2>&1)
  status=$?
  printf '%s\n' "$out" >"$tmp/gimp.log"
}

# The profile is made by a first start (GIMP wants to create the folder
# itself); the plug-in copied in then registers at the next start.
make_profile() {
  run_gimp '(gimp-message "profile")'
  mkdir -p "$GIMP3_DIRECTORY/plug-ins/plug-in-deepdream" "$GIMP3_DIRECTORY/scripts" &&
    cp "$DD_PLUGIN" "$GIMP3_DIRECTORY/plug-ins/plug-in-deepdream/" &&
    cp "$DD_BATCH_SCRIPT" "$GIMP3_DIRECTORY/scripts/"
}

# run_case NAME FUNCTION: one TAP line; the function's output and what
# GIMP printed last are kept as TAP comments when it fails. A function
# that returns 77 skips, its last line saying why.
run_case() {
  local log start=$SECONDS
  n=$((n + 1))
  rm -f "$tmp/gimp.log"
  if log=$("$2" 2>&1); then
    echo "ok $n $1 # $((SECONDS - start)) s"
    # Figures a case measured, for the log.
    sed -n 's/^figure: /# /p' <<<"$log"
  elif [ $? -eq 77 ]; then
    echo "ok $n $1 # SKIP $(tail -n 1 <<<"$log")"
  else
    echo "not ok $n $1"
    failed=$((failed + 1))
    sed 's/^/# /' <<<"$log"
    [ -f "$tmp/gimp.log" ] && sed 's/^/# gimp: /' "$tmp/gimp.log" | tail -n 30
  fi
}

# expect TEXT: the last GIMP run printed TEXT.
expect() {
  grep -qF -- "$1" <<<"$out" || {
    echo "GIMP did not print: $1"
    return 1
  }
}

# expect_layers "A; B; C": the last GIMP run reported these layers in this
# order (each a report line's start, after "layer: ").
expect_layers() {
  local listed
  listed=$(sed -n 's/^layer: //p' <<<"$out" | tr '\n' ';' | sed 's/;/; /g')
  [[ $listed == "$1"* ]] || [[ $listed == *"; $1"* ]] || {
    echo "GIMP reported the layers: $listed"
    echo "expected, in this order: $1"
    return 1
  }
}

# pixels_differ A B [CROP]: how many pixels differ, within CROP (WxH+X+Y).
pixels_differ() {
  local a=$1 b=$2
  if [ -n "${3:-}" ]; then
    convert "$1" -crop "$3" +repage "$tmp/a.png" && convert "$2" -crop "$3" +repage "$tmp/b.png"
    a="$tmp/a.png" b="$tmp/b.png"
  fi
  compare -metric AE "$a" "$b" null: 2>&1 | cut -d' ' -f1
}

# Pixels outside box X0,Y0,X1,Y1 (inclusive) are painted black in a copy.
outside() {
  convert "$1" -fill black -draw "rectangle $3" "$2"
}

open_sky="(dd3-open \"$sky\")"

# A keyword call as users write it, on a rectangle selection:
# one new layer above, the selection's box, mode, opacity, name and mask
# as asked; pixels outside the selection exactly as before, inside changed.
case_keywords_selection() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 20 10 100 80)
     (dd3-save-composite img \"$tmp/before.png\")
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 2 #:iterations 2 #:layer-mode LAYER-MODE-OVERLAY
                        #:opacity 60.0 #:seed 1)
     (dd3-report img)
     (dd3-say \"selected\" (car (gimp-item-get-name (vector-ref (car (gimp-image-get-selected-drawables img)) 0))))
     (dd3-save-composite img \"$tmp/after.png\"))"
  [ "$status" -eq 0 ] || return 1
  expect "layers: 2" &&
    expect "layer: DeepDream inception_4c|23|60.0|20|10|100|80|mask|1" &&
    expect "selected: DeepDream inception_4c" || return 1
  outside "$tmp/before.png" "$tmp/before-out.png" "20,10 119,89"
  outside "$tmp/after.png" "$tmp/after-out.png" "20,10 119,89"
  local outside_diff inside_diff
  outside_diff=$(pixels_differ "$tmp/before-out.png" "$tmp/after-out.png")
  inside_diff=$(pixels_differ "$tmp/before.png" "$tmp/after.png" 100x80+20+10)
  echo "pixels changed outside: $outside_diff, inside: $inside_diff of 8000"
  [ "$outside_diff" = 0 ] && [ "$inside_diff" -gt 4000 ]
}

# A feathered ellipse: outside its bounding box every pixel is exactly as
# before, whatever the mode; inside, the dream shows through the mask.
case_feathered_ellipse() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 60 30 120 80)
     (gimp-selection-feather img 16)
     (dd3-say \"bounds\" (cdr (gimp-selection-bounds img)))
     (dd3-save-composite img \"$tmp/before.png\")
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 2 #:layers \"inception_3b/output\"
                        #:layer-mode LAYER-MODE-OVERLAY)
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  [ "$status" -eq 0 ] || return 1
  # The mask's box: the feathered selection's bounds, as GIMP gives them.
  local bounds x1 y1 x2 y2
  bounds=$(sed -n 's/^bounds: (\([0-9 ]*\))$/\1/p' <<<"$out")
  read -r x1 y1 x2 y2 <<<"$bounds"
  [ -n "$y2" ] || {
    echo "no selection bounds in GIMP's output"
    return 1
  }
  expect "layer: DeepDream inception_3b|23|100.0|$x1|$y1|$((x2 - x1))|$((y2 - y1))|mask|1" || return 1
  outside "$tmp/before.png" "$tmp/before-out.png" "$x1,$y1 $((x2 - 1)),$((y2 - 1))"
  outside "$tmp/after.png" "$tmp/after-out.png" "$x1,$y1 $((x2 - 1)),$((y2 - 1))"
  local outside_diff centre_diff
  outside_diff=$(pixels_differ "$tmp/before-out.png" "$tmp/after-out.png")
  centre_diff=$(pixels_differ "$tmp/before.png" "$tmp/after.png" 40x30+100+55)
  echo "pixels changed outside the box: $outside_diff, in the centre: $centre_diff of 1200"
  [ "$outside_diff" = 0 ] && [ "$centre_diff" -gt 600 ]
}

# A dream stacked on a dream: each new layer right above the one it was
# made from, with its own mode.
case_stacked_modes() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img))
                   (first (car (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img
                                 #:drawables (vector lyr) #:octaves 1 #:iterations 1
                                 #:layers \"inception_3b/output\"
                                 #:layer-mode LAYER-MODE-OVERLAY #:opacity 60.0))))
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector first)
                        #:octaves 1 #:iterations 1 #:layers \"inception_3a/output\"
                        #:layer-mode LAYER-MODE-SCREEN #:opacity 60.0)
     (dd3-report img))"
  [ "$status" -eq 0 ] && expect "layers: 3" &&
    expect_layers "DeepDream inception_3a|31|60.0|0|0|256|144|nomask|1; DeepDream inception_3b|23|60.0|0|0|256|144|nomask|1; Background|"
}

# Grey images stay grey: a grey layer with alpha above.
case_grey() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (gimp-image-convert-grayscale img)
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1)
     (dd3-report img))"
  [ "$status" -eq 0 ] && expect "layer: DeepDream inception_4c|28|100.0|0|0|256|144|nomask|3"
}

# A layer with holes: the dream keeps its alpha exactly.
case_alpha() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (gimp-layer-add-alpha lyr)
     (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 0 128 144)
     (gimp-drawable-edit-clear lyr)
     (gimp-selection-none img)
     (let ((new (car (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img
                                        #:drawables (vector lyr) #:octaves 1 #:iterations 1))))
       (dd3-say \"alpha\" (list (dd3-alpha-mean lyr) (dd3-alpha-mean new)))))"
  [ "$status" -eq 0 ] || return 1
  local alpha
  alpha=$(sed -n 's/^alpha: (\(.*\))$/\1/p' <<<"$out")
  echo "alpha means (source, dream): $alpha"
  # GIMP gives the mean on a 0..255 scale: half the layer is cleared.
  awk -v a="$alpha" 'BEGIN { split(a, v, " "); exit !(v[1] > 0.45 * 255 && v[1] < 0.55 * 255 && v[1] == v[2]) }'
}

# 16-bit and a layer offset inside a group: the new layer lands in the
# group, right above its source, over the selected part.
case_offset_in_group_16_bit() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)) (group (car (gimp-group-layer-new img \"Group\"))))
     (gimp-image-convert-precision img PRECISION-U16-NON-LINEAR)
     (gimp-image-insert-layer img group 0 0)
     (gimp-image-reorder-item img lyr group 0)
     (gimp-layer-set-offsets lyr 30 20)
     (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 50 40 120 60)
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1)
     (dd3-say \"precision\" (car (gimp-image-get-precision img)))
     (dd3-report img))"
  [ "$status" -eq 0 ] && expect "precision: 250" &&
    expect_layers "Group|28|100.0|30|20|256|144|nomask|1; Group/DeepDream inception_4c|28|100.0|50|40|120|60|mask|1; Group/Background|"
}

# Every argument left out but the first three: the table's defaults (the
# default model and layer, normal mode, full opacity); no selection, so the
# whole layer and no mask.
case_defaults() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1)
     (dd3-report img))"
  [ "$status" -eq 0 ] && expect "layer: DeepDream inception_4c|28|100.0|0|0|256|144|nomask|1"
}

# The new layer carries the dream's settings as a parasite: the arguments
# given, the seed and the model's checksum.
case_settings_parasite() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1 #:seed 7)
     (dd3-say \"settings\" (caddr (car (gimp-item-get-parasite
       (vector-ref (car (gimp-image-get-selected-drawables img)) 0) \"deepdream-settings\")))))"
  [ "$status" -eq 0 ] && expect "[DeepDream]" && expect "seed=7" && expect "octaves=1" &&
    expect "model-sha256="
}

# error_case NAME-OF-ARGUMENTS MESSAGE [PREPARE]: the call fails with
# MESSAGE, and the image has the same layers and pixels as before.
error_case() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)) (two (car (gimp-layer-copy lyr))))
     ${3:-}
     (dd3-save-composite img \"$tmp/before.png\")
     (dd3-try (lambda ()
       (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img $1)))
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  expect "call: failed" && expect "$2" && expect "layers: 1" || return 1
  local diff
  diff=$(pixels_differ "$tmp/before.png" "$tmp/after.png")
  echo "pixels changed: $diff"
  [ "$diff" = 0 ]
}

case_error_unknown_layer() {
  error_case '#:drawables (vector lyr) #:layers "no-such-layer"' \
    "layers: the model has no tensor 'no-such-layer'"
}

case_error_layer_mode() {
  error_case '#:drawables (vector lyr) #:octaves 1 #:layer-mode LAYER-MODE-BEHIND' \
    "layer-mode: "
}

case_error_missing_model() {
  error_case '#:drawables (vector lyr) #:model "/nowhere/model.onnx"' "/nowhere/model.onnx"
}

case_error_indexed() {
  error_case '#:drawables (vector lyr)' "indexed images are not supported" \
    '(gimp-image-convert-indexed img CONVERT-DITHER-NONE CONVERT-PALETTE-GENERATE 16 FALSE FALSE "")'
}

# Two selected layers: refused with a message, not dreamed on silently.
case_error_two_drawables() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)) (two (car (gimp-layer-copy lyr))))
     (gimp-image-insert-layer img two 0 0)
     (dd3-try (lambda ()
       (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img
                          #:drawables (vector lyr two) #:octaves 1 #:iterations 1)))
     (dd3-report img))"
  expect "call: failed" && expect "drawables: 2 are selected" && expect "layers: 2"
}

# The plug-in killed in the middle of a dream, as GIMP 3 does when the user
# cancels the progress: the image is as it was.
case_cancel_killed() {
  (
    # The plug-in's process, a child of this GIMP (whose command line
    # holds the marker), once it has dreamed a moment; killed by its own
    # id. Process names are cut to 15 characters.
    for _ in $(seq 100); do
      sleep 0.2
      pid=$(pgrep -n -x plug-in-deepdre -P "$(pgrep -n -f "$tmp/cancel-marker" || echo 1)")
      [ -n "$pid" ] && break
    done
    sleep 1
    [ -n "$pid" ] && kill -KILL "$pid"
  ) &
  local killer=$!
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (dd3-say \"marker\" \"$tmp/cancel-marker\")
     (dd3-save-composite img \"$tmp/before.png\")
     (dd3-try (lambda ()
       (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                          #:iterations 1000)))
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  wait "$killer"
  expect "call: failed" && expect "layers: 1" || return 1
  local diff
  diff=$(pixels_differ "$tmp/before.png" "$tmp/after.png")
  echo "pixels changed: $diff"
  [ "$diff" = 0 ]
}

# The batch script: a missing output folder is found before any dreaming;
# a folder of two pictures gives two pictures.
case_batch() {
  mkdir -p "$tmp/in" "$tmp/out"
  convert "$sky" -resize 128x72! "PNG24:$tmp/in/a.png" &&
    convert "$sky" -resize 96x96! "PNG24:$tmp/in/b.png" || return 1
  run_gimp "(deepdream-batch \"$tmp/in/*.png\" \"$tmp/missing\" \"\" \"inception_3b/output\" 1 1 1.5 1 LAYER-MODE-NORMAL 100)"
  [ "$status" -ne 0 ] && expect "the output folder $tmp/missing does not exist" || return 1
  run_gimp "(deepdream-batch \"$tmp/in/*.png\" \"$tmp/out\" \"\" \"inception_3b/output\" 1 1 1.5 1 LAYER-MODE-NORMAL 100)"
  [ "$status" -eq 0 ] && expect "2 image(s) written" || return 1
  [ "$(identify -format '%wx%h' "$tmp/out/a.png")" = 128x72 ] &&
    [ "$(identify -format '%wx%h' "$tmp/out/b.png")" = 96x96 ] || return 1
  local diff
  diff=$(pixels_differ "$tmp/in/a.png" "$tmp/out/a.png")
  echo "pixels changed in a.png: $diff of 9216"
  [ "$diff" -gt 4000 ]
}

# The batch script into a folder on a full file system (a small tmpfs,
# filled: only a real file system running out of space shows what GIMP's
# savers do then; mounting needs root): each picture is skipped with the
# reason, an older file of the same name is left as it was, and neither a
# partial file nor a temporary one is left. With room
# again the same batch writes both, a PNG and a BMP (a format whose
# structure nothing checks: the full disk is seen from the file system).
case_batch_full_disk() {
  local full="$tmp/full" in="$tmp/full-in" name
  mkdir -p "$full" "$in"
  mount -t tmpfs -o size=512k,mode=0755 tmpfs "$full" 2>/dev/null || {
    echo "cannot mount a small file system to fill; this case needs root"
    return 77
  }
  trap 'umount -l "$full"' EXIT
  convert "$sky" -resize 256x144! "PNG24:$in/a.png" &&
    convert "$sky" -resize 160x120! "BMP3:$in/b.bmp" || return 1
  # An older a.png, which the failed batch must leave as it was.
  echo "an older a.png" >"$full/a.png"
  local free
  free=$(stat -f -c '%a * %S' "$full")
  head -c $((free - 8192)) /dev/zero >"$full/filler"
  run_gimp "(deepdream-batch \"$in/*\" \"$full\" \"\" \"inception_3b/output\" 1 1 1.5 1 LAYER-MODE-NORMAL 100)"
  [ "$status" -ne 0 ] && expect "no image was written" || return 1
  for name in a.png b.bmp; do
    expect "deepdream-batch: skipped $in/$name" &&
      expect "cannot write '$full/$name': No space left on device" || return 1
  done
  echo "left in the full folder: $(ls -A "$full" | tr '\n' ' ')"
  [ "$(ls -A "$full" | tr '\n' ' ')" = "a.png filler " ] &&
    [ "$(cat "$full/a.png")" = "an older a.png" ] || return 1
  rm "$full/filler"
  run_gimp "(deepdream-batch \"$in/*\" \"$full\" \"\" \"inception_3b/output\" 1 1 1.5 1 LAYER-MODE-NORMAL 100)"
  [ "$status" -eq 0 ] && expect "2 image(s) written" || return 1
  echo "written: $(ls -A "$full" | tr '\n' ' ')"
  [ "$(ls -A "$full" | tr '\n' ' ')" = "a.png b.bmp " ] &&
    [ "$(identify -format '%wx%h' "$full/a.png")" = 256x144 ] &&
    [ "$(identify -format '%wx%h' "$full/b.bmp")" = 160x120 ] || return 1
  local diff
  diff=$(pixels_differ "$in/a.png" "$full/a.png")
  echo "pixels changed in a.png: $diff of 36864"
  [ "$diff" -gt 15000 ]
}

# lab_mae A B CHANNELS: the mean absolute difference of two pictures'
# CIE Lab channels (ImageMagick's G,B are a,b; R is L), 0..1 of each range.
lab_mae() {
  convert "$1" -alpha off -colorspace Lab "$tmp/lab-a.miff" &&
    convert "$2" -alpha off -colorspace Lab "$tmp/lab-b.miff" || return 1
  # compare exits 1 when the pictures differ: its figure is what counts.
  { compare -metric MAE -channel "$3" "$tmp/lab-a.miff" "$tmp/lab-b.miff" null: 2>&1 || true; } |
    sed 's/.*(\(.*\))/\1/'
}

# Keep the source's colours: a and b of the result are the source's within
# 8-bit rounding (a tenth of a Lab unit: 0.3/255 of the range), while its
# lightness carries the dream.
case_keep_colours() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (dd3-save-composite img \"$tmp/before.png\")
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1 #:jitter 0 #:seed 1
                        #:layers \"inception_3b/output\" #:colours 1)
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  [ "$status" -eq 0 ] && expect "layer: DeepDream inception_3b|28|100.0|0|0|256|144|nomask|1" ||
    return 1
  local ab l
  ab=$(lab_mae "$tmp/before.png" "$tmp/after.png" G,B) && l=$(lab_mae "$tmp/before.png" "$tmp/after.png" R) ||
    return 1
  echo "mean a,b change $ab, mean L change $l (of the ranges)"
  awk -v ab="$ab" -v l="$l" 'BEGIN { exit !(ab < 0.3 / 255 && l > 0.3 / 100) }'
}

# A channel black on the left half and white on the right as the strength
# map: the left half of the result is the source's, bit for bit.
case_strength_map() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img))
                   (map (car (gimp-channel-new img \"map\" 256 144 100.0 '(0 0 0)))))
     (gimp-image-insert-channel img map 0 0)
     (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 128 0 128 144)
     (gimp-drawable-edit-fill map FILL-WHITE)
     (gimp-selection-none img)
     (dd3-save-composite img \"$tmp/before.png\")
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1 #:layers \"inception_3b/output\" #:mask map)
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  [ "$status" -eq 0 ] && expect "layers: 2" || return 1
  local left right
  left=$(pixels_differ "$tmp/before.png" "$tmp/after.png" 128x144+0+0)
  right=$(pixels_differ "$tmp/before.png" "$tmp/after.png" 128x144+128+0)
  echo "pixels changed under black: $left, under white: $right of 18432"
  [ "$left" = 0 ] && [ "$right" -gt 9000 ]
}

# A layer is no strength map.
case_error_mask_layer() {
  error_case '#:drawables (vector lyr) #:octaves 1 #:mask lyr' "mask: 'Background' is a layer"
}

case_seamless() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (dd3-save-composite img \"$tmp/before.png\")
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:octaves 1 #:iterations 1 #:layers \"inception_3b/output\" #:seamless 1)
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  [ "$status" -eq 0 ] && expect "layer: DeepDream inception_3b|28|100.0|0|0|256|144|nomask|1" ||
    return 1
  local diff
  diff=$(pixels_differ "$tmp/before.png" "$tmp/after.png")
  echo "pixels changed: $diff of 36864"
  [ "$diff" -gt 18000 ]
}

# A user's preset (as the dialog saves them) wins over the arguments it
# sets: its layer names the new layer. An unknown one is refused.
case_preset() {
  mkdir -p "$XDG_CONFIG_HOME/gimp-deepdream"
  printf '%s\n' "[Preset quick]" "model=googlenet" "Description=test" \
    "layers=inception_3a/output" "octaves=1" "iterations=1" >"$XDG_CONFIG_HOME/gimp-deepdream/presets"
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (plug-in-deepdream #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                        #:layers \"inception_3b/output\" #:preset \"quick\")
     (dd3-report img))"
  [ "$status" -eq 0 ] && expect "layer: DeepDream inception_3a|28|100.0|0|0|256|144|nomask|1" ||
    return 1
  error_case '#:drawables (vector lyr) #:preset "no-such-preset"' \
    "has no preset 'no-such-preset' (it has classic, strokes"
  local ok=$?
  rm -f "$XDG_CONFIG_HOME/gimp-deepdream/presets"
  return $ok
}

# ---- Animations ----

# The panned clip of dd3-open-panned: frame k shows at (x, y) what frame
# k - 1 shows at (x + 4, y + 2).
panned_sky="(dd3-open-panned \"$sky\" 4 -4 -2)"
animation_args='#:layers "inception_3b/output" #:octaves 1 #:jitter 0 #:seed 7'

# pan_psnr PREFIX: the mean PSNR (dB) of each of the 4 frames PREFIX-K.png
# against the one before moved by the pan, over their overlap.
pan_psnr() {
  local k sum=0 db
  for k in 1 2 3; do
    convert "$1-$k.png" -crop 252x142+0+0 +repage "$tmp/psnr-b.png" &&
      convert "$1-$((k - 1)).png" -crop 252x142+4+2 +repage "$tmp/psnr-a.png" || return 1
    db=$(compare -metric PSNR "$tmp/psnr-a.png" "$tmp/psnr-b.png" null: 2>&1 | cut -d' ' -f1)
    [ "$db" = inf ] && db=100
    sum=$(awk -v s="$sum" -v d="$db" 'BEGIN { print s + d }')
  done
  awk -v s="$sum" 'BEGIN { printf "%.1f\n", s / 3 }'
}

# The layers of a panned photo dreamed as frames, carried along the motion
# (blend 0.75) and each anew (blend 0: independent dreams, same seed, all
# the steps): new images of four frames named as their sources, each a
# real dream; the carried ones agree with the pan far better; the source
# image keeps its layers and pixels.
case_animation_frames() {
  run_gimp "(let* ((img $panned_sky))
     (dd3-report img) (dd3-save-frames img \"$tmp/source\")
     (let ((carried (car (plug-in-deepdream-frames #:run-mode RUN-NONINTERACTIVE #:image img
                           #:drawables (vector (dd3-layer img)) #:blend 0.75 #:iterations 4
                           $animation_args)))
           (independent (car (plug-in-deepdream-frames #:run-mode RUN-NONINTERACTIVE #:image img
                               #:drawables (vector (dd3-layer img)) #:blend 0.0 #:iterations 4
                               $animation_args))))
       (dd3-say \"carried\" \"\") (dd3-report carried) (dd3-save-frames carried \"$tmp/carried\")
       (dd3-save-frames independent \"$tmp/independent\")
       (dd3-say \"source after\" \"\") (dd3-report img) (dd3-save-frames img \"$tmp/after\")))"
  [ "$status" -eq 0 ] || return 1
  local before after
  before=$(sed -n '/^carried: /q; /^layer: /p' <<<"$out")
  after=$(sed -n '/^source after: /,$ { /^layer: /p }' <<<"$out")
  [ -n "$before" ] && [ "$before" = "$after" ] || {
    echo "the source image's layers changed: $before / $after"
    return 1
  }
  sed -n '/^carried: /,/^source after: /p' <<<"$out" >"$tmp/carried.txt"
  out=$(cat "$tmp/carried.txt")
  expect "layers: 4" &&
    expect_layers "frame 3 (100ms)|28|100.0|0|0|256|144|nomask|1; frame 2 (100ms)|28|100.0|0|0|256|144|nomask|1; frame 1 (100ms)|28|100.0|0|0|256|144|nomask|1; frame 0 (100ms)|28|100.0|0|0|256|144|nomask|1" ||
    return 1
  local k changed mean
  for k in 0 1 2 3; do
    [ "$(pixels_differ "$tmp/source-$k.png" "$tmp/after-$k.png")" = 0 ] || {
      echo "source frame $k changed"
      return 1
    }
    changed=$(pixels_differ "$tmp/source-$k.png" "$tmp/carried-$k.png")
    mean=$(convert "$tmp/carried-$k.png" -colorspace gray -format '%[fx:mean]' info:)
    echo "frame $k: $changed of 36864 pixels dreamed, mean $mean"
    [ "$changed" -gt 18000 ] && awk -v m="$mean" 'BEGIN { exit !(m > 0.1 && m < 0.95) }' || return 1
  done
  local carried independent
  carried=$(pan_psnr "$tmp/carried") && independent=$(pan_psnr "$tmp/independent") || return 1
  echo "figure: PSNR of each frame against the one before moved by the pan: carried" \
    "$carried dB, independent dreams $independent dB"
  awk -v c="$carried" -v i="$independent" 'BEGIN { exit !(c > i + 3) }'
}

# The zoom: N new layers of the layer's size in a new image, the first at
# the bottom, each frame another picture; the source image untouched.
case_animation_zoom() {
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img))
                   (zoom (car (plug-in-deepdream-zoom #:run-mode RUN-NONINTERACTIVE #:image img
                                #:drawables (vector lyr) #:frames 5 #:zoom 1.1 #:angle 2.0
                                #:loop 2 #:iterations 2 $animation_args))))
     (dd3-report zoom) (dd3-save-frames zoom \"$tmp/zoom\")
     (dd3-say \"source layers\" (vector-length (dd3-layers img))))"
  [ "$status" -eq 0 ] && expect "layers: 5" && expect "source layers: 1" &&
    expect_layers "DeepDream zoom 5|28|100.0|0|0|256|144|nomask|1; DeepDream zoom 4|28|100.0|0|0|256|144|nomask|1; DeepDream zoom 3|28|100.0|0|0|256|144|nomask|1; DeepDream zoom 2|28|100.0|0|0|256|144|nomask|1; DeepDream zoom 1|28|100.0|0|0|256|144|nomask|1" ||
    return 1
  local k changed
  for k in 1 2 3 4; do
    changed=$(pixels_differ "$tmp/zoom-$((k - 1)).png" "$tmp/zoom-$k.png")
    echo "zoom frame $k: $changed of 36864 pixels differ from the frame before"
    [ "$changed" -gt 18000 ] || return 1
  done
}

# animation_refused CALL MESSAGE [IMAGE]: the call fails with MESSAGE,
# makes no image, and leaves the image's layers and pixels as they were.
animation_refused() {
  run_gimp "(let* ((img ${3:-$open_sky}) (lyr (dd3-layer img)))
     (dd3-save-composite img \"$tmp/before.png\")
     (dd3-try (lambda () ($1 #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector lyr)
                         $animation_args $2)))
     (dd3-say \"images\" (dd3-image-count))
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
}

case_animation_refused() {
  animation_refused plug-in-deepdream-frames "#:iterations 1" &&
    expect "call: failed" && expect "image: has 1 layer" && expect "images: 1" || return 1
  animation_refused plug-in-deepdream-zoom "#:frames 3 #:loop 3" &&
    expect "call: failed" && expect "loop: 3 must be fewer than the 3 frames" &&
    expect "images: 1" && expect "layers: 1" || return 1
  [ "$(pixels_differ "$tmp/before.png" "$tmp/after.png")" = 0 ]
}

# The frames filter killed in the middle of its run, as GIMP 3 does when
# the user cancels the progress: no new image, the source as it was.
case_animation_cancel_killed() {
  (
    for _ in $(seq 100); do
      sleep 0.2
      pid=$(pgrep -n -x plug-in-deepdre -P "$(pgrep -n -f "$tmp/cancel-frames" || echo 1)")
      [ -n "$pid" ] && break
    done
    sleep 2
    [ -n "$pid" ] && kill -KILL "$pid"
  ) &
  local killer=$!
  run_gimp "(let* ((img $panned_sky))
     (dd3-say \"marker\" \"$tmp/cancel-frames\")
     (dd3-save-composite img \"$tmp/before.png\")
     (dd3-try (lambda () (plug-in-deepdream-frames #:run-mode RUN-NONINTERACTIVE #:image img
                           #:drawables (vector (dd3-layer img)) #:iterations 1000 $animation_args)))
     (dd3-say \"images\" (dd3-image-count))
     (dd3-report img)
     (dd3-save-composite img \"$tmp/after.png\"))"
  wait "$killer"
  expect "call: failed" && expect "images: 1" && expect "layers: 4" || return 1
  [ "$(pixels_differ "$tmp/before.png" "$tmp/after.png")" = 0 ]
}

start=$SECONDS
# seed_last_values SETTINGS...: GimpProcedureConfig's last values of
# plug-in-deepdream, as GIMP 3 writes them after an interactive run (a
# non-interactive one keeps none), so that a case starts from them.
seed_last_values() {
  mkdir -p "$GIMP3_DIRECTORY/plug-in-settings"
  printf '%s\n' "# seeded by test-gimp3.sh" "$@" \
    >"$GIMP3_DIRECTORY/plug-in-settings/GimpProcedureConfigRun-plug-in-deepdream.last"
}

# RUN-WITH-LAST-VALS (Filters > Repeat) runs with the last values.
case_last_values() {
  seed_last_values '(layers "inception_3b/output")' '(octaves 1)' '(iterations 1)' \
    '(layer-mode screen)' '(opacity 42)'
  run_gimp "(let* ((img $open_sky) (lyr (dd3-layer img)))
     (plug-in-deepdream #:run-mode RUN-WITH-LAST-VALS #:image img #:drawables (vector lyr))
     (dd3-report img))"
  [ "$status" -eq 0 ] && expect "layer: DeepDream inception_3b|31|42.0|0|0|256|144|nomask|1"
}

# The dialog in GIMP 3's GUI under Xvfb: it opens with the last values,
# shows its preview (photographed to DD_GUI_SCREENSHOT), and OK adds the
# dream. Without a window manager keys are unreliable: OK is clicked at
# the dialog's bottom right corner.
dialog_driver() {
  local script=$1 shot=$2 log=$3 gimp_pid window
  gimp-3.0 --no-splash --batch-interpreter=plug-in-script-fu-eval \
    -b "(begin (load \"$DD_GIMP_HELPERS\") (load \"$script\"))" </dev/null >"$log" 2>&1 &
  gimp_pid=$!
  window=$(timeout 120 xdotool search --sync --name '^DeepDream$' | head -n 1)
  [ -n "$window" ] || {
    echo "the dialog did not open"
    kill "$gimp_pid"
    return 1
  }
  # Time for the preview to be dreamed and drawn, with the pointer off the
  # dialog so that no tooltip covers it.
  xdotool mousemove 0 0
  sleep 5
  eval "$(xdotool getwindowgeometry --shell "$window")"
  import -window root -crop "${WIDTH}x${HEIGHT}+${X}+${Y}" +repage "$shot"
  xdotool mousemove --sync $((X + WIDTH - 40)) $((Y + HEIGHT - 25)) click 1
  for _ in $(seq 120); do
    kill -0 "$gimp_pid" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$gimp_pid" 2>/dev/null; then
    echo "GIMP did not quit after OK"
    kill "$gimp_pid"
    return 1
  fi
}

case_dialog() {
  if ! command -v gimp-3.0 >/dev/null || ! command -v xvfb-run >/dev/null ||
    ! command -v xdotool >/dev/null; then
    echo "gimp-3.0, xvfb-run or xdotool is missing"
    return 1
  fi
  local shot=${DD_GUI_SCREENSHOT:-$tmp/gui-dialog.png}
  rm -f "$shot"
  # A backup left by a killed GIMP would open a recovery dialog first.
  rm -rf "$GIMP3_DIRECTORY/backups"
  # Quick last values for the dialog to open with; GIMP keeps the ones of
  # the run when OK is pressed.
  seed_last_values '(layers "inception_3b/output")' '(octaves 1)' '(iterations 2)' '(seed 1)'

  cat >"$tmp/dialog.scm" <<SCM
(let* ((img (dd3-open "${DD_GUI_IMAGE:-$sky}")) (lyr (dd3-layer img)))
  (gimp-display-new img)
  (plug-in-deepdream #:run-mode RUN-INTERACTIVE #:image img #:drawables (vector lyr))
  (dd3-report img)
  (gimp-quit 1))
SCM
  xvfb-run -a -s "-screen 0 1280x800x24" \
    bash -c "$(declare -f dialog_driver); dialog_driver \"\$@\"" driver \
    "$tmp/dialog.scm" "$shot" "$tmp/gimp.log" || return 1
  out=$(cat "$tmp/gimp.log")
  echo "screenshot of the dialog: $shot"
  expect "layers: 2" && expect "layer: DeepDream inception_3b|28|100.0|0|0|256|144|nomask|1" &&
    ! grep -q "seeded" "$GIMP3_DIRECTORY/plug-in-settings/GimpProcedureConfigRun-plug-in-deepdream.last" &&
    grep -qF '(layers "inception_3b/output")' \
      "$GIMP3_DIRECTORY/plug-in-settings/GimpProcedureConfigRun-plug-in-deepdream.last"
}

if ! make_profile; then
  echo "Bail out! cannot install the plug-in into $GIMP3_DIRECTORY"
  exit 1
fi
echo "# profile made in $((SECONDS - start)) s"
cases=(
  /gimp3/selection/keywords case_keywords_selection
  /gimp3/selection/feathered-ellipse case_feathered_ellipse
  /gimp3/modes/stacked case_stacked_modes
  /gimp3/image/grey case_grey
  /gimp3/image/alpha case_alpha
  /gimp3/image/offset-in-group-16-bit case_offset_in_group_16_bit
  /gimp3/arguments/defaults case_defaults
  /gimp3/settings/parasite case_settings_parasite
  /gimp3/errors/unknown-layer case_error_unknown_layer
  /gimp3/errors/layer-mode case_error_layer_mode
  /gimp3/errors/missing-model case_error_missing_model
  /gimp3/errors/indexed case_error_indexed
  /gimp3/errors/two-drawables case_error_two_drawables
  /gimp3/cancel/killed case_cancel_killed
  /gimp3/batch/folder case_batch
  /gimp3/batch/full-disk case_batch_full_disk
  /gimp3/controls/keep-colours case_keep_colours
  /gimp3/controls/strength-map case_strength_map
  /gimp3/controls/strength-map-layer case_error_mask_layer
  /gimp3/controls/seamless case_seamless
  /gimp3/controls/preset case_preset
  /gimp3/dialog/ok case_dialog
  /gimp3/settings/last-values case_last_values
  /gimp3/animation/frames case_animation_frames
  /gimp3/animation/zoom case_animation_zoom
  /gimp3/animation/refused case_animation_refused
  /gimp3/animation/cancel-killed case_animation_cancel_killed
)
# DD_CASES: a pattern of the case names to run (all by default).
echo "1..$(for ((i = 0; i < ${#cases[@]}; i += 2)); do [[ ${cases[i]} == *${DD_CASES:-}* ]] && echo; done | wc -l)"
for ((i = 0; i < ${#cases[@]}; i += 2)); do
  [[ ${cases[i]} == *${DD_CASES:-}* ]] && run_case "${cases[i]}" "${cases[i + 1]}"
done
[ "$failed" -eq 0 ]
