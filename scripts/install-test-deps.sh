#!/bin/sh
# Installs what the test suite needs beyond the .NET 10 SDK, from Debian packages, only when missing:
#   gcc, libc6-dev  the kernel-ABI unit tests compile a C probe against the libc headers (sizeof/offsetof/flags);
#                   the NativeAOT publish test links SampleWeb with it (ILCompiler falls back to gcc without clang)
#   curl            the sample site checked as a user would, over HTTP/1.1 and h2c (Protocols/CurlSampleWebTests)
#   nghttp2-client  h2load and nghttp, HTTP/2 cleartext clients (Protocols/Http2CleartextTests); h2load is also
#                   the benchmark runner's fixed-rate client
#   wrk             the benchmark runner's throughput client (Packaging/PackagingTests runs the runner's --quick)
# Run as root (CI does) or through sudo. Safe to run again: it installs nothing that is already there.
set -eu

missing=""
# Debian keeps sys/epoll.h under the multiarch folder (/usr/include/x86_64-linux-gnu/sys), so ask the compiler.
if ! command -v cc >/dev/null 2>&1; then
    missing="$missing gcc libc6-dev"
elif ! printf '#include <sys/epoll.h>\n' | cc -E -x c - >/dev/null 2>&1; then
    missing="$missing libc6-dev"
fi
command -v curl >/dev/null 2>&1 || missing="$missing curl"
{ command -v h2load >/dev/null 2>&1 && command -v nghttp >/dev/null 2>&1; } || missing="$missing nghttp2-client"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"

if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing:$missing"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086 # the package list is meant to split
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
