namespace TransportBench.Measure;

/// <summary>Syscalls a server made during a counting pass, and the requests it served meanwhile.</summary>
/// <param name="Total">All syscalls (raw_syscalls:sys_enter), whatever their kind.</param>
/// <param name="SocketWrites">Calls that send response bytes: writev, sendmsg, sendto, and the writes that are not
/// 8 bytes long (docs/benchmarks.md, "writes/resp").</param>
internal sealed record SyscallCounts(long Total, IReadOnlyDictionary<string, long> BySyscall, long Requests, long SocketWrites)
{
    /// <summary>perf's software events over the pass, or null when it did not count them.</summary>
    public long? ContextSwitches { get; init; }
    public long? CpuMigrations { get; init; }

    public double PerRequest(long count) => Requests > 0 ? (double)count / Requests : 0;
}

/// <summary>Counts a server's syscalls with <c>perf stat</c> on syscall tracepoints (docs/benchmarks.md, "Syscalls").</summary>
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
    /// <summary>Name given to the filtered write counter when parsing (perf prints the same event name twice).</summary>
    private const string SocketWriteKey = "write (not 8 B)";
    /// <summary>Syscalls that put response bytes on a socket, besides the filtered writes.</summary>
    private static readonly string[] SendCalls = ["writev", "sendmsg", "sendto"];

    /// <summary>Why syscalls cannot be counted here, or null when they can. Tries to lower perf_event_paranoid once.</summary>
    public static async Task<string?> ProbeAsync(CancellationToken cancellationToken)
    {
        if (!ChildProcesses.Exists("perf"))
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

    /// <summary>Counts the syscalls of <paramref name="pid"/> while <paramref name="load"/> runs (it returns the
    /// requests it completed). perf attaches before the load and detaches half a second after it; the idle edges add a
    /// handful of timer syscalls, nothing per request.</summary>
    public static async Task<SyscallCounts> CountAsync(int pid, TimeSpan loadDuration, Func<Task<long>> load, CancellationToken cancellationToken)
    {
        string output = Path.Combine(Path.GetTempPath(), $"transportbench-perf-{Environment.ProcessId}-{Guid.NewGuid():N}.csv");
        // wrk runs whole seconds: the window covers the rounded-up load plus the edges.
        var window = TimeSpan.FromSeconds(Math.Ceiling(loadDuration.TotalSeconds) + 1.5);
        Task<ToolResult> perf = ChildProcesses.RunAsync("perf",
            ["stat", "-x", ",", "-o", output, .. EventArguments(), "-p", pid.ToString(CultureInfo.InvariantCulture),
             "--", "sleep", window.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)],
            window + TimeSpan.FromSeconds(30), cancellationToken);
        try
        {
            await Task.Delay(500, cancellationToken);
            long requests = await load();
            ToolResult result = await perf;
            return result.ExitCode == 0 && File.Exists(output)
                ? Parse(await File.ReadAllLinesAsync(output, cancellationToken), requests)
                : throw result.Failure("perf stat");
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>Whether a failed pass failed only because a thread of the server ended while perf attached to each of
    /// its threads (perf lists them, then opens its counters on each: one gone in between is ESRCH, "No such process").
    /// Counting again is then sound; any other failure is the report's.</summary>
    public static bool FailedOnAThreadThatEnded(string failure) =>
        failure.Contains("perf stat failed", StringComparison.Ordinal)
        && failure.Contains("(No such process)", StringComparison.Ordinal);

    private static async Task<string?> TryCountAsync(CancellationToken cancellationToken)
    {
        ToolResult result = await ChildProcesses.RunAsync("perf", ["stat", "-x", ",", .. EventArguments(), "true"],
            TimeSpan.FromSeconds(30), cancellationToken);
        bool counted = result.Stderr.Contains("raw_syscalls:sys_enter", StringComparison.Ordinal)
            && !result.Stderr.Contains("<not supported>", StringComparison.Ordinal);
        return result.ExitCode == 0 && counted ? null : result.Tail(3);
    }

    /// <summary>The scheduler's software events (hardware counters are not there in most VMs), the counters, and a second
    /// write counter filtered to writes that are not 8 bytes.</summary>
    private static string[] EventArguments() =>
    [
        "-e", "context-switches,cpu-migrations",
        "-e", "raw_syscalls:sys_enter," + string.Join(',', (s_available ?? Tracked).Select(name => "syscalls:sys_enter_" + name)),
        "-e", "syscalls:sys_enter_write", "--filter", "count != 8",
    ];

    /// <summary>perf's CSV: "count,unit,event,…"; count is "&lt;not counted&gt;" for an event that never ran.</summary>
    internal static SyscallCounts Parse(IReadOnlyList<string> lines, long requests)
    {
        const string Syscall = "syscalls:sys_enter_";
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string[] fields in lines.Select(line => line.Split(',')))
        {
            if (fields.Length >= 3 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long count))
            {
                // The filtered write counter comes last, under the same name as the plain one.
                counts[fields[2] == Syscall + "write" && counts.ContainsKey(fields[2]) ? SocketWriteKey : fields[2]] = count;
            }
        }
        Dictionary<string, long> bySyscall = counts.Where(pair => pair.Key.StartsWith(Syscall, StringComparison.Ordinal))
            .ToDictionary(pair => pair.Key[Syscall.Length..], pair => pair.Value, StringComparer.Ordinal);
        long socketWrites = counts.GetValueOrDefault(SocketWriteKey) + SendCalls.Sum(bySyscall.GetValueOrDefault);
        return new SyscallCounts(counts.GetValueOrDefault("raw_syscalls:sys_enter"), bySyscall.Where(pair => pair.Value > 0).ToDictionary(), requests, socketWrites)
        {
            ContextSwitches = counts.TryGetValue("context-switches", out long switches) ? switches : null,
            CpuMigrations = counts.TryGetValue("cpu-migrations", out long migrations) ? migrations : null,
        };
    }
}
