#!/usr/bin/env bash
# The main job: the demo lab. Builds pxed, creates a private lab network (a network namespace
# with a bridge, 198.18.0.0/24), starts pxed as its DHCP/TFTP/HTTP boot server, PXE-boots three
# QEMU VMs (BIOS pxelinux, UEFI, iPXE over HTTP) with a live progress table, prints each node's
# boot timeline, and cleans everything up. Works with KVM or without (TCG: a few minutes).
# Run as root on Debian 12: bash tools/demo.sh
set -eu
cd "$(dirname "$0")/.."
bash tools/deps.sh test
bash tools/build.sh gcc
exec env PXED="$PWD/build/pxed" bash tests/e2e/demo.sh "$@"
