#!/usr/bin/env bash
# tests/test-valgrind.sh: the deepdream command under valgrind's memcheck;
# speaks TAP.
#
# Copyright (C) 2026 the gimp-deepdream authors
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   test-valgrind.sh SUPPRESSIONS
#
# A small tiled dream, and runs that fail on bad input, each with no invalid
# access, no use of uninitialised memory and no leak (valgrind's exit status
# 99). SUPPRESSIONS names reports about other libraries (tests/valgrind.supp).
# Environment: DEEPDREAM, the built command line; DD_SHARED_DIR, the test
# data; DEEPDREAM_MODEL_PATH, where the googlenet card and model are.

set -uo pipefail

suppressions=$1
image="${DD_SHARED_DIR:-}/images/flowers.jpg"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

echo "1..3"
if ! command -v valgrind >/dev/null || [ ! -f "$image" ]; then
  for i in 1 2 3; do echo "ok $i # SKIP valgrind or the test data is missing"; done
  exit 0
fi
# GEGL's modules, but for FFmpeg's: they load libhwy, whose start-up reads the
# clock with RDTSCP, an instruction valgrind 3.19 stops at on some CPUs
# (SIGILL before deepdream's main runs).
modules=$(pkg-config --variable=pluginsdir gegl-0.4 2>/dev/null)
if [ -d "$modules" ]; then
  mkdir "$tmp/gegl"
  for module in "$modules"/*; do
    case ${module##*/} in
    ff-*) ;;
    *) ln -s "$module" "$tmp/gegl/" ;;
    esac
  done
  export GEGL_PATH="$tmp/gegl"
fi
# A PNG: GEGL's JPEG loader leaks a buffer of its own on every file.
convert "$image" -resize 100x75! "$tmp/small.png"
head -c 4096 /dev/urandom >"$tmp/corrupt.onnx"

# memcheck NAME WANT_STATUS ARG...: runs deepdream under valgrind and expects
# its own exit status WANT_STATUS with nothing reported.
memcheck() {
  local name=$1 want=$2 status
  shift 2
  n=$((n + 1))
  valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --suppressions="$suppressions" --log-file="$tmp/log-$n.txt" \
    "$DEEPDREAM" "$@" >"$tmp/out-$n.txt" 2>&1
  status=$?
  if [ "$status" -eq "$want" ]; then
    echo "ok $n - $name"
  else
    echo "not ok $n - $name: exit status $status, expected $want"
    sed 's/^/# /' "$tmp/out-$n.txt" "$tmp/log-$n.txt"
    failed=$((failed + 1))
  fi
  grep -h "ERROR SUMMARY\|definitely lost:" "$tmp/log-$n.txt" | sed 's/^/# /'
}

memcheck "a tiled dream of two octaves" 0 --octaves 2 --iterations 1 --tile 48 --laplacian 2 \
  --seed 1 "$tmp/small.png" "$tmp/dream.png"
memcheck "a corrupt model" 1 --model "$tmp/corrupt.onnx" "$tmp/small.png" "$tmp/fail.png"
memcheck "a layer the model does not have" 1 --layer nothing/here "$tmp/small.png" \
  "$tmp/fail.png"
[ "$failed" -eq 0 ]
