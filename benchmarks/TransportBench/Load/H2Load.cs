namespace TransportBench.Load;

/// <summary>Latency at a fixed offered rate, from h2load's log (µs); the achieved rate is 2xx responses over their starts' span.</summary>
internal sealed record FixedRateResult(
    long Requests, long Failed, double OfferedRate, double AchievedRate, long P50Micros, long P90Micros, long P99Micros, long P999Micros, long MaxMicros);

/// <summary>h2load, two ways: at saturation over h2c (its summary has counts, not percentiles), and at a fixed rate over
/// HTTP/1.1, the percentiles computed from <c>--log-file</c> (docs/benchmarks.md, "The latency client").</summary>
internal static partial class H2Load
{
    /// <summary>h2load processes per fixed-rate run, started one after another so that their rate timers do not fire
    /// together: bursts of 8 at 64 connections, ~30 % of one load CPU at 10,000 req/s.</summary>
    private const int Processes = 8;

    public static async Task<FixedRateResult> RunFixedRateAsync(
        string baseUrl, Scenario scenario, double rate, TimeSpan duration, CoreLayout cores, CancellationToken cancellationToken)
    {
        string prefix = Path.Combine(Path.GetTempPath(), $"transportbench-h2load-{Environment.ProcessId}-{Guid.NewGuid():N}");
        string perConnection = (rate / scenario.Connections).ToString("0.###", CultureInfo.InvariantCulture);
        int millis = Math.Max(1000, (int)duration.TotalMilliseconds);
        var limit = TimeSpan.FromMilliseconds(millis) + TimeSpan.FromSeconds(30);
        var logs = new List<string>();
        var runs = new List<Task<ToolResult>>();
        try
        {
            int processes = Math.Min(Processes, scenario.Connections);
            for (int i = 0; i < processes; i++)
            {
                // Spread connections evenly: 64 over 8 processes is 8 each.
                int clients = (scenario.Connections * (i + 1) / processes) - (scenario.Connections * i / processes);
                string log = $"{prefix}-{i}.log";
                logs.Add(log);
                (string file, List<string> args) = CoreLayout.Pin(cores.LoadCpus, "h2load",
                    ["--h1", "-c", Format.Inv($"{clients}"), "-t", "1", "--rps", perConnection, "-D", Format.Inv($"{millis}") + "ms", "--log-file", log, baseUrl + scenario.Path]);
                runs.Add(ChildProcesses.RunAsync(file, args, limit, cancellationToken));
            }
            ToolResult[] results = await Task.WhenAll(runs);
            if (results.FirstOrDefault(r => r.ExitCode != 0) is { } failed)
            {
                throw failed.Failure("h2load");
            }
            string[][] read = await Task.WhenAll(logs.Where(File.Exists).Select(log => File.ReadAllLinesAsync(log, cancellationToken)));
            return SummarizeLog([.. read.SelectMany(lines => lines)], rate);
        }
        finally
        {
            logs.ForEach(File.Delete);
        }
    }

    /// <summary>The latencies of h2load's <c>--log-file</c> rows: start (µs since the epoch) TAB status (-1: failed)
    /// TAB µs to the end of the response. Requests with a status other than 2xx count as failed; nearest-rank
    /// percentiles.</summary>
    /// <exception cref="InvalidOperationException">No request completed.</exception>
    internal static FixedRateResult SummarizeLog(IReadOnlyList<string> lines, double rate)
    {
        var latencies = new List<long>(lines.Count);
        long failed = 0;
        long firstStart = long.MaxValue, lastStart = long.MinValue;
        foreach (string line in lines)
        {
            string[] fields = line.Split('\t');
            // A row cut short (h2load killed while writing its log) is left out rather than misread.
            if (fields.Length < 3 || !long.TryParse(fields[0], CultureInfo.InvariantCulture, out long start)
                || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out int status)
                || !long.TryParse(fields[2], CultureInfo.InvariantCulture, out long latency))
            {
                continue;
            }
            if (status is < 200 or > 299)
            {
                failed++;
                continue;
            }
            latencies.Add(latency);
            firstStart = Math.Min(firstStart, start);
            lastStart = Math.Max(lastStart, start);
        }
        if (latencies.Count == 0)
        {
            throw new InvalidOperationException($"h2load completed no request ({failed} failed).");
        }
        latencies.Sort();
        double span = Math.Max(1, lastStart - firstStart) / 1e6;
        return new FixedRateResult(latencies.Count, failed, rate, latencies.Count / span, Percentiles.NearestRank(latencies, 0.50),
            Percentiles.NearestRank(latencies, 0.90), Percentiles.NearestRank(latencies, 0.99), Percentiles.NearestRank(latencies, 0.999), latencies[^1]);
    }

    public static async Task<LoadResult> RunThroughputAsync(
        string baseUrl, Scenario scenario, TimeSpan duration, CoreLayout cores, CancellationToken cancellationToken)
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        int threads = Math.Min(cores.LoadCpuCount, scenario.Connections);
        (string file, List<string> args) = CoreLayout.Pin(cores.LoadCpus, "h2load",
            ["-c", Format.Inv($"{scenario.Connections}"), "-m", Format.Inv($"{scenario.Streams}"), "-t", Format.Inv($"{threads}"), "-D", Format.Inv($"{seconds}"), baseUrl + scenario.Path]);
        ToolResult run = await ChildProcesses.RunAsync(file, args, TimeSpan.FromSeconds(seconds + 30), cancellationToken);
        return ParseSummary(run);
    }

    /// <summary>h2load's summary: the "finished in", "requests:" and "status codes:" lines (and "traffic:", when there).</summary>
    /// <exception cref="InvalidOperationException">h2load failed, or its summary is missing or cut short.</exception>
    internal static LoadResult ParseSummary(ToolResult run)
    {
        Match finished = Finished().Match(run.Stdout);
        Match requests = Requests().Match(run.Stdout);
        Match status = StatusCodes().Match(run.Stdout);
        if (run.ExitCode != 0 || !finished.Success || !requests.Success || !status.Success)
        {
            throw run.Failure("h2load");
        }
        Match traffic = Traffic().Match(run.Stdout);
        return new LoadResult("h2load", Number(status, "ok"), double.Parse(finished.Groups["seconds"].Value, CultureInfo.InvariantCulture),
            traffic.Success ? Number(traffic, "bytes") : 0, Number(requests, "errored"), Number(requests, "timeout"),
            Number(status, "s3") + Number(status, "s4") + Number(status, "s5"), P50Micros: null, P99Micros: null, P999Micros: null);
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
