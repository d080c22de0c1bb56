using System.Globalization;
using System.Text.RegularExpressions;
using TransportBench.Cli;
using TransportBench.Servers;

namespace TransportBench.Load;

/// <summary>
/// Saturating HTTP/2 load with h2load (wrk speaks HTTP/1.1 only): h2c with prior knowledge, the scenario's connections
/// each keeping <see cref="Scenario.Streams"/> requests in flight, for a fixed time (<c>-D</c>). Its summary gives
/// counts, not percentiles, so the result has no latency.
/// </summary>
internal static partial class H2LoadThroughput
{
    public static async Task<LoadResult> RunAsync(
        string baseUrl, Scenario scenario, TimeSpan duration, CoreLayout cores, CancellationToken cancellationToken)
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        int threads = Math.Min(cores.LoadCpuCount, scenario.Connections);
        (string file, List<string> args) = CoreLayout.Pin(cores.LoadCpus, "h2load",
        [
            "-c", scenario.Connections.ToString(CultureInfo.InvariantCulture),
            "-m", scenario.Streams.ToString(CultureInfo.InvariantCulture),
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-D", seconds.ToString(CultureInfo.InvariantCulture),
            baseUrl + scenario.Path,
        ]);
        ToolResult run = await ToolRun.RunAsync(file, args, TimeSpan.FromSeconds(seconds + 30), cancellationToken);
        return Parse(run);
    }

    /// <summary>h2load's summary: the "finished in", "requests:" and "status codes:" lines (and "traffic:", when there).</summary>
    /// <exception cref="InvalidOperationException">h2load failed, or its summary is missing or cut short.</exception>
    internal static LoadResult Parse(ToolResult run)
    {
        Match finished = Finished().Match(run.Stdout);
        Match requests = Requests().Match(run.Stdout);
        Match status = StatusCodes().Match(run.Stdout);
        if (run.ExitCode != 0 || !finished.Success || !requests.Success || !status.Success)
        {
            throw new InvalidOperationException($"h2load failed (exit {run.ExitCode}{(run.TimedOut ? ", timed out" : "")}):\n{run.Tail()}");
        }
        Match traffic = Traffic().Match(run.Stdout);
        return new LoadResult(
            "h2load",
            Number(status, "ok"),
            double.Parse(finished.Groups["seconds"].Value, CultureInfo.InvariantCulture),
            traffic.Success ? Number(traffic, "bytes") : 0,
            Number(requests, "errored"),
            Number(requests, "timeout"),
            Number(status, "s3") + Number(status, "s4") + Number(status, "s5"),
            P50Micros: null,
            P99Micros: null,
            P999Micros: null);
    }

    private static long Number(Match match, string group) => long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    // "finished in 2.00s, 152772.00 req/s, 30.16MB/s"
    [GeneratedRegex(@"finished in (?<seconds>[\d.]+)s,")]
    private static partial Regex Finished();

    // "requests: 305544 total, 305800 started, 305544 done, 305544 succeeded, 0 failed, 0 errored, 0 timeout"
    [GeneratedRegex(@"requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, \d+ failed, (?<errored>\d+) errored, (?<timeout>\d+) timeout")]
    private static partial Regex Requests();

    // "status codes: 305544 2xx, 0 3xx, 0 4xx, 0 5xx"
    [GeneratedRegex(@"status codes: (?<ok>\d+) 2xx, (?<s3>\d+) 3xx, (?<s4>\d+) 4xx, (?<s5>\d+) 5xx")]
    private static partial Regex StatusCodes();

    // "traffic: 60.32MB (63250474) total, …"
    [GeneratedRegex(@"traffic: \S+ \((?<bytes>\d+)\) total")]
    private static partial Regex Traffic();
}
