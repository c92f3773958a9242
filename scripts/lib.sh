# scripts/lib.sh: what scripts/test and scripts/demo share (sourced, not run):
# the Debian packages the project needs, installing the missing ones, and
# setting up and compiling a meson build folder.
#
# Copyright (C) 2026 the gimp-deepdream authors
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash

# Debian packages for building, testing and the demo; extend here.
# curl downloads models (models/fetch); gegl's command line draws the demo's
# input picture; clang and its runtimes build the fuzzer; xvfb, xdotool,
# x11-utils and imagemagick drive and photograph the plug-in's dialog in the
# GUI test; debootstrap makes the Debian trixie chroot GIMP 3 is tested in;
# libopencv-video-dev (the video module alone, not libopencv-dev's every
# module) gives optical flow for dreaming video frames; GNU time measures
# the command line's peak memory in its tests.
DEPENDENCIES="build-essential meson ninja-build pkg-config libglib2.0-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev libopenblas-openmp-dev libopenblas-dev
  libgegl-dev libgimp2.0-dev gimp gegl curl ca-certificates clang libclang-rt-14-dev
  xvfb xauth xdotool x11-utils imagemagick valgrind debootstrap time
  libopencv-video-dev libdnnl-dev"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}

# Only touches apt when a package is missing, so a ready machine pays nothing.
install_dependencies() {
  local missing=() pkg
  for pkg in $DEPENDENCIES; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' ||
      missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}"
}

# build DIR [MESON OPTION...]: sets DIR up (or reconfigures an earlier
# setup, keeping it) and compiles it. MESON_SETUP_ARGS adds options.
build() {
  local dir=$1 setup=(meson setup)
  shift
  [ -f "$dir/meson-private/coredata.dat" ] && setup+=(--reconfigure)
  # shellcheck disable=SC2086 # MESON_SETUP_ARGS is a list of options
  "${setup[@]}" ${MESON_SETUP_ARGS:-} "$@" "$dir" && meson compile -C "$dir"
}
