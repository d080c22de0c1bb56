#!/bin/sh
# Installs what benchmarks/TransportBench drives, from Debian packages, when missing:
#   wrk             throughput, with a Lua script for HTTP pipelining
#   nghttp2-client  h2load: latency at a fixed offered rate (see docs/benchmarks.md for why not hey)
#   linux-perf      perf stat on syscall tracepoints (syscalls per request)
# Run as root (or through sudo). Safe to run again: it installs only what is not there.
set -eu

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v h2load >/dev/null 2>&1 || missing="$missing nghttp2-client"
command -v perf >/dev/null 2>&1 || missing="$missing linux-perf"
command -v taskset >/dev/null 2>&1 || missing="$missing util-linux"

if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing:$missing"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086 # the package list is meant to split
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# perf needs the syscall tracepoints: tracefs mounted, and permission to count another process's events.
if [ ! -d /sys/kernel/tracing/events/syscalls ] && [ "$(id -u)" -eq 0 ]; then
    mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
if perf stat -e 'syscalls:sys_enter_read' true >/dev/null 2>&1; then
    echo "perf: syscall tracepoints can be counted"
else
    echo "perf: cannot count syscall tracepoints here (try: sysctl kernel.perf_event_paranoid=-1; mount tracefs);" \
         "the runner reports syscalls as n/a and measures everything else" >&2
fi
echo "wrk: $(command -v wrk)  h2load: $(command -v h2load)  perf: $(command -v perf)"
