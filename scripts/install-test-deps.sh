#!/bin/sh
# Installs what the test suite needs beyond the .NET 10 SDK, from Debian packages, only when missing:
#   gcc, libc6-dev  the kernel-ABI unit tests compile a C probe against the libc headers (sizeof/offsetof/flags)
# Run as root (CI does) or through sudo. Safe to run again: it installs nothing that is already there.
set -eu

missing=""
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
[ -f /usr/include/sys/epoll.h ] || missing="$missing libc6-dev"

if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing:$missing"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086 # the package list is meant to split
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
