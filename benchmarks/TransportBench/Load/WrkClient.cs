using System.Text.Json;

namespace TransportBench.Load;

/// <summary>Saturating HTTP/1.1 load with wrk and Load/bench.lua, one thread per load CPU; durations round up to seconds.</summary>
internal static class WrkClient
{
    private const string ResultPrefix = "WRK_RESULT ";
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };
    /// <summary>What bench.lua's done() prints.</summary>
    private sealed record WrkSummary(
        long Requests, long DurationMicros, long Bytes, long SocketErrors, long Timeouts, long Non2xx, long P50Micros, long P99Micros, long P999Micros);

    public static async Task<LoadResult> RunAsync(
        string baseUrl, Scenario scenario, TimeSpan duration, CoreLayout cores, CancellationToken cancellationToken)
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        int threads = Math.Min(cores.LoadCpuCount, scenario.Connections);
        string script = Path.Combine(AppContext.BaseDirectory, "Load", "bench.lua");
        (string file, List<string> args) = CoreLayout.Pin(cores.LoadCpus, "wrk",
        [
            "-t", Format.Inv($"{threads}"), "-c", Format.Inv($"{scenario.Connections}"), "-d", Format.Inv($"{seconds}s"), "--timeout", "5s",
            "-s", script, baseUrl + scenario.Path,
            "--", Format.Inv($"{scenario.PipelineDepth}"), Format.Inv($"{scenario.RequestsPerConnection}"), Format.Inv($"{scenario.BodyBytes}"),
        ]);
        // Bounded: wrk stops itself after -d; the limit only catches a wedged run.
        ToolResult run = await ChildProcesses.RunAsync(file, args, TimeSpan.FromSeconds(seconds + 30), cancellationToken);
        return Parse(run);
    }

    /// <summary>The WRK_RESULT line bench.lua's done() prints. wrk's own error lines ("Socket errors: connect N, read
    /// N, write N, timeout N", "Non-2xx or 3xx responses: N") carry the same counts, and the line adds them up the same
    /// way.</summary>
    /// <exception cref="InvalidOperationException">wrk failed, or its output has no whole result line (cut short).</exception>
    internal static LoadResult Parse(ToolResult run)
    {
        string? line = run.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
        WrkSummary? wrk = null;
        try
        {
            wrk = run.ExitCode == 0 && line is not null ? JsonSerializer.Deserialize<WrkSummary>(line[ResultPrefix.Length..], Json) : null;
        }
        catch (JsonException)
        {
            // A line cut short (wrk killed while writing it): reported below as a failed run, with its output.
        }
        return wrk is null
            ? throw run.Failure("wrk")
            : new LoadResult("wrk", wrk.Requests, wrk.DurationMicros / 1e6, wrk.Bytes, wrk.SocketErrors, wrk.Timeouts, wrk.Non2xx,
                wrk.P50Micros, wrk.P99Micros, wrk.P999Micros);
    }
}
