using System.Globalization;
using TransportBench.Servers;

namespace TransportBench.Measure;

/// <summary>Syscalls a server made during a counting pass.</summary>
/// <param name="Total">All syscalls (raw_syscalls:sys_enter), whatever their kind.</param>
/// <param name="BySyscall">Counts of the syscalls listed in <see cref="PerfStat"/>, by name.</param>
/// <param name="Requests">Requests served during the pass.</param>
internal sealed record SyscallCounts(long Total, IReadOnlyDictionary<string, long> BySyscall, long Requests)
{
    public double PerRequest(long count) => Requests > 0 ? (double)count / Requests : 0;
}

/// <summary>
/// Counts a server's syscalls with <c>perf stat -p PID</c> on syscall tracepoints, in a pass of its own after the
/// timed one: tracepoints cost a little per syscall, far less than strace (which slows a server ~20× and changes its
/// batching), but not nothing. One counter per listed syscall plus <c>raw_syscalls:sys_enter</c> for the total, rather
/// than <c>syscalls:sys_enter_*</c>, which opens ~350 counters per thread and runs out of file descriptors.
/// Note: an eventfd wake-up is a <c>write</c>, so it is counted with socket writes.
/// </summary>
internal static class PerfStat
{
    /// <summary>The syscalls a transport spends time in, per request or per loop iteration.</summary>
    private static readonly string[] Tracked =
    [
        "read", "readv", "recvfrom", "recvmsg", "write", "writev", "sendto", "sendmsg",
        "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "futex", "sched_yield",
        "accept4", "close", "shutdown", "setsockopt", "getsockopt", "ioctl",
        "mmap", "munmap", "mprotect", "madvise", "io_uring_enter",
    ];

    private static string[]? s_available;

    /// <summary>Why syscalls cannot be counted here, or null when they can. Tries to lower perf_event_paranoid once.</summary>
    public static async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        if (!ToolRun.Exists("perf"))
        {
            return "perf is not installed (scripts/install-bench-deps.sh installs linux-perf)";
        }
        const string Events = "/sys/kernel/tracing/events/syscalls";
        if (!Directory.Exists(Events))
        {
            return "syscall tracepoints are not visible: tracefs is not mounted at /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing)";
        }
        s_available = [.. Tracked.Where(name => Directory.Exists(Path.Combine(Events, "sys_enter_" + name)))];
        string? failure = await TryCountAsync(cancellationToken);
        if (failure is not null && Environment.UserName == "root" && File.Exists("/proc/sys/kernel/perf_event_paranoid"))
        {
            try
            {
                await File.WriteAllTextAsync("/proc/sys/kernel/perf_event_paranoid", "-1", cancellationToken);
                failure = await TryCountAsync(cancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A container's /proc/sys is read-only: keep the first failure, which says what perf saw.
            }
        }
        return failure is null ? null : $"perf cannot count syscall tracepoints: {failure}";
    }

    /// <summary>
    /// Counts the syscalls of <paramref name="pid"/> while <paramref name="load"/> runs (it returns the requests it
    /// completed). perf attaches before the load and detaches half a second after it; the idle edges add a handful of
    /// timer syscalls, nothing per request.
    /// </summary>
    public static async Task<SyscallCounts> CountAsync(
        int pid, TimeSpan loadDuration, Func<Task<long>> load, CancellationToken cancellationToken)
    {
        string output = Path.Combine(Path.GetTempPath(), $"transportbench-perf-{Environment.ProcessId}-{Guid.NewGuid():N}.csv");
        // wrk runs whole seconds: the window covers the rounded-up load plus the edges.
        var window = TimeSpan.FromSeconds(Math.Ceiling(loadDuration.TotalSeconds) + 1.5);
        Task<ToolResult> perf = ToolRun.RunAsync("perf",
            ["stat", "-x", ",", "-o", output, "-e", EventList(), "-p", pid.ToString(CultureInfo.InvariantCulture),
             "--", "sleep", window.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)],
            window + TimeSpan.FromSeconds(30),
            cancellationToken);
        try
        {
            await Task.Delay(500, cancellationToken);
            long requests = await load();
            ToolResult result = await perf;
            if (result.ExitCode != 0 || !File.Exists(output))
            {
                throw new InvalidOperationException($"perf stat failed (exit {result.ExitCode}):\n{result.Tail()}");
            }
            return Parse(await File.ReadAllLinesAsync(output, cancellationToken), requests);
        }
        finally
        {
            File.Delete(output);
        }
    }

    private static async Task<string?> TryCountAsync(CancellationToken cancellationToken)
    {
        ToolResult result = await ToolRun.RunAsync("perf", ["stat", "-x", ",", "-e", EventList(), "true"],
            TimeSpan.FromSeconds(30), cancellationToken);
        bool counted = result.Stderr.Contains("raw_syscalls:sys_enter", StringComparison.Ordinal)
            && !result.Stderr.Contains("<not supported>", StringComparison.Ordinal);
        return result.ExitCode == 0 && counted ? null : result.Tail(3);
    }

    private static string EventList() =>
        "raw_syscalls:sys_enter," + string.Join(',', (s_available ?? Tracked).Select(name => "syscalls:sys_enter_" + name));

    /// <summary>perf's CSV: "count,unit,event,…"; count is "&lt;not counted&gt;" for an event that never ran.</summary>
    private static SyscallCounts Parse(string[] lines, long requests)
    {
        long total = 0;
        var bySyscall = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in lines)
        {
            string[] fields = line.Split(',');
            if (fields.Length < 3 || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long count))
            {
                continue;
            }
            string name = fields[2];
            if (name == "raw_syscalls:sys_enter")
            {
                total = count;
            }
            else if (name.StartsWith("syscalls:sys_enter_", StringComparison.Ordinal) && count > 0)
            {
                bySyscall[name["syscalls:sys_enter_".Length..]] = count;
            }
        }
        return new SyscallCounts(total, bySyscall, requests);
    }
}
