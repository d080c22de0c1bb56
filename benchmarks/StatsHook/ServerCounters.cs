using System.Globalization;

namespace TransportBench.StatsHook;

/// <summary>What the runner reads from inside a server, as one line "ALLOCATED_BYTES JIT_COMPILED_METHODS" on the Unix
/// socket named by <see cref="SocketVariable"/>; compiled into the hook and the runner, so both speak the same line.</summary>
internal readonly record struct ServerCounters(long AllocatedBytes, long JitCompiledMethods)
{
    /// <summary>The environment variable that names the socket; the hook stays idle without it.</summary>
    public const string SocketVariable = "TRANSPORTBENCH_COUNTERS_SOCKET";
    public static ServerCounters Read() => new(GC.GetTotalAllocatedBytes(precise: true), System.Runtime.JitInfo.GetCompiledMethodCount());

    public string ToLine() => string.Create(CultureInfo.InvariantCulture, $"{AllocatedBytes} {JitCompiledMethods}\n");
    /// <summary>The counters of a line, or null when it is not one.</summary>
    public static ServerCounters? Parse(string? line) =>
        line?.Split(' ') is [string allocated, string jit]
            && long.TryParse(allocated, NumberStyles.None, CultureInfo.InvariantCulture, out long a)
            && long.TryParse(jit, NumberStyles.None, CultureInfo.InvariantCulture, out long j)
            ? new ServerCounters(a, j)
            : null;
}
