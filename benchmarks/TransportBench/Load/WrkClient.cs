using System.Globalization;
using System.Text.Json;
using TransportBench.Cli;
using TransportBench.Servers;

namespace TransportBench.Load;

/// <summary>What wrk's done() hook reports (see Load/bench.lua); latencies in microseconds.</summary>
internal sealed record WrkResult(
    long Requests,
    long DurationMicros,
    long Bytes,
    long SocketErrors,
    long Timeouts,
    long Non2xx,
    long P50Micros,
    long P99Micros,
    long P999Micros,
    double MeanMicros)
{
    public double RequestsPerSecond => DurationMicros > 0 ? Requests * 1e6 / DurationMicros : 0;

    public long Errors => SocketErrors + Timeouts + Non2xx;
}

/// <summary>
/// Saturating load with wrk: one thread per load CPU, keep-alive connections, pipelining through the Lua script.
/// wrk takes whole seconds, so durations round up.
/// </summary>
internal static class WrkClient
{
    private const string ResultPrefix = "WRK_RESULT ";

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static async Task<WrkResult> RunAsync(
        string baseUrl, Scenario scenario, TimeSpan duration, CoreLayout cores, CancellationToken cancellationToken)
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        int threads = Math.Min(cores.LoadCpuCount, scenario.Connections);
        string script = Path.Combine(AppContext.BaseDirectory, "Load", "bench.lua");
        (string file, List<string> args) = CoreLayout.Pin(cores.LoadCpus, "wrk",
        [
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", scenario.Connections.ToString(CultureInfo.InvariantCulture),
            "-d", seconds.ToString(CultureInfo.InvariantCulture) + "s",
            "--timeout", "5s",
            "-s", script,
            baseUrl + scenario.Path,
            "--", scenario.PipelineDepth.ToString(CultureInfo.InvariantCulture),
        ]);
        // Bounded: wrk stops itself after -d; the limit only catches a wedged run.
        ToolResult run = await ToolRun.RunAsync(file, args, TimeSpan.FromSeconds(seconds + 30), cancellationToken);
        string? line = run.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(ResultPrefix, StringComparison.Ordinal));
        if (run.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"wrk failed (exit {run.ExitCode}{(run.TimedOut ? ", timed out" : "")}):\n{run.Tail()}");
        }
        return JsonSerializer.Deserialize<WrkResult>(line[ResultPrefix.Length..], Json)
            ?? throw new InvalidOperationException("wrk printed an empty result.");
    }
}
