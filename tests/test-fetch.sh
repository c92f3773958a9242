#!/usr/bin/env bash
# tests/test-fetch.sh: models/fetch, in throwaway home folders; speaks TAP.
#
# Copyright (C) 2026 the gimp-deepdream authors
# SPDX-License-Identifier: GPL-3.0-or-later
#
#   test-fetch.sh FETCH
#
# FETCH is models/fetch. Environment: DEEPDREAM, the built command line;
# DD_SHARED_DIR, the test data (cases that install a real model are skipped
# without it). Downloads are exercised with file:// addresses.

set -uo pipefail

fetch=$1
shared=${DD_SHARED_DIR:-}
googlenet_dir="$shared/models/bvlc_googlenet"
squeezenet="$shared/models/squeezenet_v1.1/squeezenet_v1.1.onnx"
unset DEEPDREAM_MODEL_PATH
[ -x "${DEEPDREAM:-}" ] || {
  echo "Bail out! DEEPDREAM must name the built deepdream command"
  exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# A home folder of its own for each case, with its data folder in XDG_DATA_HOME.
fresh_home() {
  HOME=$(mktemp -d "$tmp/home.XXXXXX")
  XDG_DATA_HOME="$HOME/data"
  export HOME XDG_DATA_HOME
  models="$XDG_DATA_HOME/gimp-deepdream/models"
}

# run_case NAME FUNCTION: one TAP line; a function printing "skip: why"
# and returning 0 is skipped.
run_case() {
  local out status
  n=$((n + 1))
  out=$("$2" 2>&1)
  status=$?
  if [ $status -eq 0 ] && [[ $out == skip:* ]]; then
    echo "ok $n - $1 # SKIP ${out#skip: }"
  elif [ $status -eq 0 ]; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    printf '%s\n' "$out" | sed 's/^/# /'
    failed=$((failed + 1))
  fi
}

# expect_failure PATTERN COMMAND...: COMMAND fails, saying PATTERN.
expect_failure() {
  local pattern=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "succeeded but should have failed: $out"
    return 1
  fi
  grep -q -- "$pattern" <<<"$out" || {
    echo "expected '$pattern' in: $out"
    return 1
  }
}

# nothing_installed: the model folder is empty (no model, card or leftover).
nothing_installed() {
  [ ! -d "$models" ] || [ -z "$(find "$models" -mindepth 1 -print -quit)" ] || {
    echo "left in $models:"
    ls -A "$models"
    return 1
  }
}

need_shared() {
  [ -f "$googlenet_dir/bvlc_googlenet.onnx" ] && [ -f "$squeezenet" ]
}

# write_card FILE NAME MODEL-FILE DEFAULT-LAYER [KEY=VALUE...]
write_card() {
  local card=$1
  {
    echo "[Model]"
    echo "Name=$2"
    echo "File=$3"
    echo "DefaultLayer=$4"
    echo "ChannelOrder=BGR"
    echo "Mean=104;117;123"
    shift 4
    printf '%s\n' "$@"
    echo "[Layers]"
    echo "fire9/concat=Deepest fire module"
  } >"$card"
}

case_sha_mismatch() {
  fresh_home
  head -c 4096 /dev/urandom >"$tmp/garbage.onnx"
  write_card "$tmp/bad-sha.card" badsha garbage.onnx x \
    "Sha256=0000000000000000000000000000000000000000000000000000000000000000"
  expect_failure "sha256 mismatch" "$fetch" --from "$tmp/garbage.onnx" "$tmp/bad-sha.card" &&
    nothing_installed
}

case_does_not_load() {
  fresh_home
  printf 'not a model at all' >"$tmp/notamodel.onnx"
  write_card "$tmp/noload.card" noload notamodel.onnx x
  expect_failure "does not load" "$fetch" --from "$tmp/notamodel.onnx" "$tmp/noload.card" &&
    nothing_installed
}

case_no_url() {
  fresh_home
  write_card "$tmp/nourl.card" nourl nourl.onnx x
  expect_failure "nourl --from" "$fetch" "$tmp/nourl.card" && nothing_installed
}

case_unknown_name() {
  fresh_home
  expect_failure "no card named 'nosuchmodel'" "$fetch" nosuchmodel
}

case_download_fails() {
  fresh_home
  write_card "$tmp/gone.card" gone gone.onnx x "Url=file://$tmp/no-such-file.onnx"
  expect_failure "could not download" "$fetch" "$tmp/gone.card" && nothing_installed
}

case_wrong_layer() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  write_card "$tmp/wrong-layer.card" wronglayer squeezenet_v1.1.onnx no_such_layer
  expect_failure "has no tensor 'no_such_layer'" "$fetch" --from "$squeezenet" \
    "$tmp/wrong-layer.card" && nothing_installed
}

# The googlenet card from the source tree, its model from the shared folder;
# deepdream then finds both in the user's folder alone.
case_from_folder() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  "$fetch" googlenet --from "$googlenet_dir" || return 1
  if [ ! -f "$models/bvlc_googlenet.onnx" ] || [ ! -f "$models/googlenet.card" ]; then
    echo "not installed into $models"
    return 1
  fi
  local layers
  layers=$(cd "$tmp" && "$DEEPDREAM" --quiet --model googlenet --list-layers) || return 1
  grep -q '^inception_4c/output ' <<<"$layers" || {
    echo "deepdream --model googlenet did not list inception_4c/output"
    return 1
  }
  # Running again is quick and changes nothing.
  local out
  out=$("$fetch" googlenet --from "$googlenet_dir") || return 1
  grep -q "already installed" <<<"$out" || {
    echo "second run: $out"
    return 1
  }
}

# Without XDG_DATA_HOME the model goes to ~/.local/share.
case_from_file_default_home() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  unset XDG_DATA_HOME
  "$fetch" --from "$googlenet_dir/bvlc_googlenet.onnx" googlenet || return 1
  [ -f "$HOME/.local/share/gimp-deepdream/models/bvlc_googlenet.onnx" ] || {
    echo "not installed into ~/.local/share"
    return 1
  }
}

case_download_file_url() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  local sha
  sha=$(sha256sum <"$squeezenet" | cut -d' ' -f1)
  write_card "$tmp/squeeze.card" squeeze squeezenet_v1.1.onnx fire9/concat \
    "Url=file://$squeezenet" "Sha256=$sha"
  "$fetch" "$tmp/squeeze.card" || return 1
  cmp "$squeezenet" "$models/squeezenet_v1.1.onnx" && [ -f "$models/squeeze.card" ] &&
    (cd "$tmp" && "$DEEPDREAM" --quiet --model squeeze --list-layers >/dev/null)
}

# A model zoo style .tar.gz with test data beside the model, no sha256.
case_download_tarball() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  mkdir -p "$tmp/zoo/squeeze/test_data_set_0"
  cp "$squeezenet" "$tmp/zoo/squeeze/model.onnx"
  echo data >"$tmp/zoo/squeeze/test_data_set_0/input_0.pb"
  tar -czf "$tmp/zoo.tar.gz" -C "$tmp/zoo" squeeze
  write_card "$tmp/zoo.card" zoo zoo.onnx fire9/concat "Url=file://$tmp/zoo.tar.gz"
  local out
  out=$("$fetch" "$tmp/zoo.card" 2>&1) || {
    echo "$out"
    return 1
  }
  grep -q "no checksum" <<<"$out" && cmp "$squeezenet" "$models/zoo.onnx"
}

# The googlenet card's .caffemodel is the public file (its sha1); the shared
# one is not, and is refused.
case_caffemodel_checksum() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  expect_failure "sha1 mismatch" "$fetch" googlenet --from "$googlenet_dir/bvlc_googlenet.caffemodel" &&
    nothing_installed
}

# A card naming two files of the same weights, the second a .caffemodel
# with two addresses (the first gone), its size and sha1.
stem_card() {
  local stem=$shared/models/caffe_small/stem_v1.caffemodel size=$1
  write_card "$tmp/stem.card" stem "stem.onnx;stem_v1.caffemodel" conv2/3x3_reduce \
    "[stem_v1.caffemodel]" "Url=file://$tmp/gone.caffemodel;file://$stem" \
    "Sha1=$(sha1sum <"$stem" | cut -d' ' -f1)" "Size=$size"
}

case_download_caffemodel() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  local stem=$shared/models/caffe_small/stem_v1.caffemodel out
  stem_card "$(wc -c <"$stem")"
  out=$("$fetch" "$tmp/stem.card" 2>&1) || {
    echo "$out"
    return 1
  }
  grep -q "could not download file://$tmp/gone.caffemodel" <<<"$out" &&
    cmp "$stem" "$models/stem_v1.caffemodel" &&
    (cd "$tmp" && "$DEEPDREAM" --quiet --model stem --list-layers | grep -q '^conv2/3x3_reduce ')
}

case_download_wrong_size() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  stem_card 1000
  expect_failure "size mismatch" "$fetch" "$tmp/stem.card" && nothing_installed
}

# On a full disk the install fails with the cause and leaves the model
# folder as it was: the old model whole, no temporary file.
case_full_disk() {
  need_shared || { echo "skip: no test data in $shared"; return 0; }
  fresh_home
  mkdir -p "$XDG_DATA_HOME"
  mount -t tmpfs -o size=2m tmpfs "$XDG_DATA_HOME" 2>/dev/null || {
    echo "skip: cannot mount a small file system to fill; this case needs root"
    return 0
  }
  mkdir -p "$models"
  printf 'the old model' >"$models/squeezenet_v1.1.onnx"
  write_card "$tmp/full.card" full squeezenet_v1.1.onnx fire9/concat
  local ok=0 left old
  expect_failure "No space left on device" "$fetch" --from "$squeezenet" "$tmp/full.card" && ok=1
  left=$(ls -A "$models" | tr '\n' ' ')
  old=$(cat "$models/squeezenet_v1.1.onnx")
  umount "$XDG_DATA_HOME"
  [ "$left" = "squeezenet_v1.1.onnx " ] || {
    echo "left in the model folder: $left"
    ok=0
  }
  [ "$old" = "the old model" ] || {
    echo "the old model was changed"
    ok=0
  }
  [ "$ok" = 1 ]
}

run_case "refuses a file whose sha256 differs from the card's" case_sha_mismatch
run_case "refuses a file that does not load" case_does_not_load
run_case "asks for --from when a card has no Url" case_no_url
run_case "names an unknown card" case_unknown_name
run_case "reports a download that fails" case_download_fails
run_case "refuses a model without the card's DefaultLayer" case_wrong_layer
run_case "installs googlenet from a folder, once" case_from_folder
run_case "installs into ~/.local/share without XDG_DATA_HOME" case_from_file_default_home
run_case "downloads a file:// Url and checks its sha256" case_download_file_url
run_case "downloads a .tar.gz and takes the model inside" case_download_tarball
run_case "refuses a .caffemodel whose sha1 differs from the card's" case_caffemodel_checksum
run_case "downloads a card's .caffemodel, trying its addresses in order" case_download_caffemodel
run_case "refuses a download of the wrong size" case_download_wrong_size
run_case "fails whole on a full disk, the old model kept" case_full_disk
echo "1..$n"
[ "$failed" -eq 0 ]
