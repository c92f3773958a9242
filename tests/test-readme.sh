#!/usr/bin/env bash
# tests/test-readme.sh: runs every shell command the user documents show,
# so that they cannot drift from the programs; speaks TAP.
#
# Copyright (C) 2026 the gimp-deepdream authors
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   test-readme.sh SOURCE_DIR BUILD_DIR DOCUMENT...
#
# Environment: DEEPDREAM, the built command line; DD_SHARED_DIR, the test
# data (without it every case is skipped). DEEPDREAM_MODEL_PATH as meson's
# test environment sets it.
#
# Each line of a fenced block that is not marked as another language
# (```scheme blocks are Script-Fu) is a command, continuation lines joined.
# A command is either run or named below as not run, with the reason; a
# command of any other kind fails, so a new kind of example must be placed
# here first. Commands run in order, in one folder holding small stand-ins
# for the documents' pictures (sky.jpg and flowers.jpg at 160x120, in.png at
# 224x224 as a class needs, fade.png, the frames clip/*.png, photos/*.jpg,
# GoogLeNet's bvlc_googlenet.onnx and .caffemodel);
# HOME and the XDG folders point into it. Each must exit 0, so an option the
# program does not know fails the case. What is changed before running:
#
#   deepdream            the built command line (DEEPDREAM)
#   deepdream-fetch      models/fetch of the source tree
#   models/fetch, scripts/bench-pytorch
#                        the source tree's
#   build/tools/         BUILD_DIR/tools/
#   ../shared            DD_SHARED_DIR
#   build/tools/bench, scripts/bench-pytorch
#                        --width 224 --height 224 --runs 1 --warmup 0 added
#                        (and --no-sgemm for bench): the option parsing and
#                        one small step, not the measurement
#   --case default       --case small (one step instead of a whole dream)
#
# scripts/bench-pytorch is skipped where python3-torch or python3-onnx is
# missing (they are no test dependency). The pictures the documents show
# must be tracked files that scripts/readme-pictures (or a script it runs)
# writes.

set -uo pipefail

src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
shift 2
shared=${DD_SHARED_DIR:-}
[ -x "${DEEPDREAM:-}" ] || {
  echo "Bail out! DEEPDREAM must name the built deepdream command"
  exit 1
}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1))
  echo "not ok $n - $1"
  printf '%s\n' "${2:-}" | sed 's/^/# /'
  failed=$((failed + 1))
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

# Commands not run here, and why.
not_run_reason() {
  case $1 in
  "scripts/demo"*) echo "installs into the user's home: scripts/test runs the same build" ;;
  "scripts/test"* | "meson "* | "apt-get "*) echo "building and installing" ;;
  "gimp-console-"*) echo "deepdream-batch runs in test-gimp (2.10) and test-gimp3.sh (3)" ;;
  "deepdream-fetch googlenet") echo "downloads: test-fetch.sh fetches from file:// addresses" ;;
  *) return 1 ;;
  esac
}

# The lines of the plain fenced blocks of a Markdown file, continuations joined.
commands_of() {
  awk '
    /^```/ {
      if (!in_block) { in_block = 1; plain = ($0 ~ /^```(sh|shell|bash)?[ \t]*$/) }
      else in_block = 0
      next
    }
    !in_block || !plain { next }
    {
      line = $0
      if (line ~ /\\$/) { sub(/\\$/, "", line); pending = pending line; next }
      line = pending line; pending = ""
      sub(/^[ \t]+/, "", line)
      if (line == "" || line ~ /^#/) next
      print line
    }' "$1"
}

# The word the shell runs: after any VAR=VALUE assignments.
command_word() {
  local word
  for word in $1; do
    [[ $word == [A-Za-z_]*=* ]] || { echo "$word"; return; }
  done
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Pictures: every one a document shows is tracked and made by readme-pictures.
picture_scripts="$src/scripts/readme-pictures"
for s in $(grep -o 'scripts/[a-z-]*-pictures' "$src/scripts/readme-pictures" | sort -u); do
  picture_scripts+=" $src/$s"
done
# The scripts' lines without comments and the closing message, which name
# pictures without making them.
# shellcheck disable=SC2086 # a list of paths without spaces
making_lines=$(grep -hv -e '^[[:space:]]*#' -e 'wrote' -e '^[[:space:]]*"doc/' $picture_scripts)
in_git=$([ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ] && echo yes)
for doc in "$@"; do
  dir=$(dirname "$doc")
  for picture in $(grep -o '](\([a-z0-9/._-]*\.\(jpg\|png\)\))' "$doc" | sed 's/^](//; s/)$//'); do
    rel=$(realpath -m --relative-to="$src" "$dir/$picture")
    name=$(basename "$rel")
    # tracked in a checkout (so meson dist ships it), present in a tarball
    if [ ! -f "$src/$rel" ] || { [ -n "$in_git" ] &&
      ! git -C "$src" ls-files --error-unmatch "$rel" >/dev/null 2>&1; }; then
      not_ok "picture $rel of $(basename "$doc") is tracked"
    elif ! grep -q "doc/$name" <<<"$making_lines"; then
      not_ok "picture $rel of $(basename "$doc") is made by scripts/readme-pictures"
    else
      ok "picture $rel of $(basename "$doc")"
    fi
  done
done

if [ -z "$shared" ] || [ ! -f "$shared/models/bvlc_googlenet/bvlc_googlenet.onnx" ]; then
  skip "the documents' commands" "no model data (DD_SHARED_DIR)"
  echo "1..$n"
  exit $((failed > 0))
fi

# The stand-ins, and programs under the documents' names.
work="$tmp/work"
mkdir -p "$work/bin" "$work/clip" "$work/photos" "$work/dreams" "$work/home"
ln -s "$DEEPDREAM" "$work/bin/deepdream"
printf '#!/bin/sh\nexec "%s/models/fetch" "$@"\n' "$src" >"$work/bin/deepdream-fetch"
chmod +x "$work/bin/deepdream-fetch"
sky="$shared/images/sky1024px.jpg"
convert "$sky" -resize '160x120!' "$work/sky.jpg" &&
  convert "$shared/images/flowers.jpg" -resize '160x120!' "$work/flowers.jpg" &&
  convert "$shared/images/flowers.jpg" -resize '224x224!' "$work/in.png" &&
  convert -size 120x160 gradient:black-white -rotate -90 "$work/fade.png" &&
  for i in 1 2 3; do
    convert "$work/sky.jpg" -roll "+$((3 * i))+$i" "$work/clip/frame$i.png" || exit 1
  done &&
  cp "$work/sky.jpg" "$work/photos/a.jpg" && cp "$work/flowers.jpg" "$work/photos/b.jpg" &&
  ln -s "$shared/models/bvlc_googlenet/bvlc_googlenet.onnx" \
    "$shared/models/bvlc_googlenet/bvlc_googlenet.caffemodel" "$work/" || {
  echo "Bail out! could not make the stand-in pictures with ImageMagick's convert"
  exit 1
}
export HOME="$work/home" XDG_DATA_HOME="$work/home/data" XDG_CONFIG_HOME="$work/home/config"
export XDG_CACHE_HOME="$work/home/cache" DEEPDREAM="$DEEPDREAM"
export PATH="$work/bin:$PATH"
have_torch=0
/usr/bin/python3 -c 'import torch, onnx, numpy' 2>/dev/null && have_torch=1

small=" --width 224 --height 224 --runs 1 --warmup 0"
run_commands=0
for doc in "$@"; do
  while IFS= read -r line; do
    name="$(basename "$doc"): $line"
    word=$(command_word "$line")
    if reason=$(not_run_reason "$line"); then
      skip "$name" "not run: $reason"
      continue
    fi
    case $word in
    deepdream | deepdream-fetch | models/fetch | build/tools/bench | build/tools/bench-dream | \
      scripts/bench-pytorch | for) ;;
    *)
      not_ok "$name" "a command of a kind this test does not know: run it here or say why not"
      continue
      ;;
    esac
    if [ "$word" = for ] && [[ $line != *deepdream* ]]; then
      not_ok "$name" "a loop that runs no deepdream command"
      continue
    fi
    cmd=$line
    cmd=${cmd//build\/tools\//$build/tools/}
    cmd=${cmd//..\/shared/$shared}
    cmd=${cmd//--case default/--case small}
    case $word in
    models/fetch | scripts/bench-pytorch) cmd="$src/$cmd" ;;
    esac
    case $word in
    build/tools/bench) cmd+="$small --no-sgemm" ;;
    scripts/bench-pytorch)
      if [ $have_torch = 0 ]; then
        skip "$name" "python3-torch and python3-onnx are not installed"
        continue
      fi
      cmd+=$small
      ;;
    esac
    run_commands=$((run_commands + 1))
    if out=$(cd "$work" && bash -ec "$cmd" 2>&1); then
      ok "$name"
    else
      not_ok "$name" "$cmd
$out"
    fi
  done < <(commands_of "$doc")
done

# A document whose blocks stopped being found would pass on nothing.
if [ $run_commands -ge 10 ]; then
  ok "the documents show commands ($run_commands run)"
else
  not_ok "the documents show commands" "only $run_commands commands found"
fi
echo "1..$n"
exit $((failed > 0))
