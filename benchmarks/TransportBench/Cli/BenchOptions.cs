using System.Globalization;

namespace TransportBench.Cli;

/// <summary>What one run of the runner measures and how; parsed once from the command line.</summary>
internal sealed class BenchOptions
{
    /// <summary>
    /// Measured time of each load run, or null for each scenario's own: 10 s, 5 s for the shapes added for issue 9
    /// (<see cref="Scenario.DefaultSeconds"/>; 1 s with <c>--quick</c>).
    /// </summary>
    public TimeSpan? Duration { get; private set; }

    /// <summary>
    /// Least load before each measurement. The warm-up goes on until the server's JIT is quiet (tiered compilation
    /// done), up to <see cref="WarmupMax"/>. Defaults to 20 s (0.5 s quick): on one CPU tiering pauses between waves
    /// for several seconds in the first 10–20 s, so an earlier quiet spell is not the end of it.
    /// </summary>
    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(20);

    /// <summary>Most load before each measurement. Defaults to 60 s (quick: <see cref="Warmup"/>, no waiting for the JIT).</summary>
    public TimeSpan WarmupMax { get; private set; } = TimeSpan.FromSeconds(60);

    /// <summary>Length of the separate syscall-counting pass. Defaults to 3 s (1 s quick).</summary>
    public TimeSpan PerfDuration { get; private set; } = TimeSpan.FromSeconds(3);

    /// <summary>Rounds; each round runs every server once per scenario (A B C A B C …). Defaults to 3.</summary>
    public int Rounds { get; private set; } = 3;

    /// <summary>Scenario names, in run order. Defaults to all of them.</summary>
    public IReadOnlyList<string> Scenarios { get; private set; } = Scenario.AllNames;

    /// <summary>Server names: sockets, sockets-tuned, epoll, epoll-inline, floor. Defaults to all but epoll-inline.</summary>
    public IReadOnlyList<string> Servers { get; private set; } = ["sockets", "sockets-tuned", "epoll", "floor"];

    /// <summary>CPUs for the server and for the load generator, taskset syntax; null picks them (see CoreLayout).</summary>
    public string? ServerCpus { get; private set; }

    /// <summary>See <see cref="ServerCpus"/>.</summary>
    public string? LoadCpus { get; private set; }

    /// <summary>DOTNET_PROCESSOR_COUNT for every server, or null to leave the runtime's own view.</summary>
    public int? ProcessorCount { get; private set; }

    /// <summary>Epoll ThreadCount values for a scaling run; null runs epoll once with its default.</summary>
    public IReadOnlyList<int>? Threads { get; private set; }

    /// <summary>Fixed offered load of the latency scenario; null means half of sockets' rate on the page.</summary>
    public int? Rate { get; private set; }

    /// <summary>Idle keep-alive connections to open. Defaults to 10,000 (256 quick).</summary>
    public int IdleConnections { get; private set; } = 10_000;

    /// <summary>
    /// A timed run during which other processes took more than this share of the server's CPU is measured again,
    /// up to twice, keeping the quietest. Defaults to 10 %; 100 turns it off.
    /// </summary>
    public int MaxNoisePercent { get; private set; } = 10;

    /// <summary>Results folder; null means benchmarks/results/&lt;timestamp&gt;/.</summary>
    public string? OutputDirectory { get; private set; }

    /// <summary>An already published SampleWeb folder; null builds one.</summary>
    public string? SampleDirectory { get; private set; }

    /// <summary>Skip the perf pass.</summary>
    public bool NoPerf { get; private set; }

    /// <summary>A few seconds in all: proves the runner works, measures nothing worth quoting.</summary>
    public bool Quick { get; private set; }

    /// <summary>The measured time of a scenario's load runs.</summary>
    public TimeSpan DurationOf(Scenario scenario) => Duration ?? TimeSpan.FromSeconds(scenario.DefaultSeconds);

    public const string Usage = """
        TransportBench: Kestrel Sockets (default and tuned) against the epoll transport, plus an in-memory floor.

        Usage: dotnet run -c Release --project benchmarks/TransportBench -- [options]

          --duration SECONDS        measured time per load run, every scenario (default 10; 5 for the shapes)
          --warmup SECONDS          least load before each measurement (default 20); it goes on until the
                                    server's JIT has compiled nothing for a while (tiering done)
          --warmup-max SECONDS      most load before each measurement (default 60)
          --perf-duration SECONDS   syscall-counting pass per measurement (default 3)
          --rounds N                rounds, servers alternating A B C A B C (default 3)
          --scenarios LIST          page,plaintext,json,large,latency,idle, and the shapes of real apps:
                                    hello,stream,sse,chunks,churn,session,upload-4k,upload-1m,tls,tls-churn,h2,
                                    fairness (default all)
          --servers LIST            sockets,sockets-tuned,epoll,floor (default), and epoll-inline (epoll with
                                    UnsafePreferInlineScheduling, the counterpart of sockets-tuned)
          --cores SERVER/LOAD       CPUs in taskset syntax, e.g. 1/0 or 2-3/0-1 (default: upper half for the
                                    server, lower half for the load; no pinning on one CPU)
          --processor-count N       DOTNET_PROCESSOR_COUNT=N for every server
          --threads LIST            epoll ThreadCount values to compare, e.g. 1,2,4
          --rate N                  offered req/s of the latency scenario (default: half of sockets on page)
          --idle-connections N      idle keep-alive connections (default 10000)
          --max-noise PERCENT       measure a run again (twice at most) when other processes took more than this
                                    share of the server CPU (default 10; 100 turns it off)
          --out DIR                 results folder (default benchmarks/results/<timestamp>)
          --sample DIR              use this published SampleWeb instead of building one
          --no-perf                 skip syscall counting
          --quick                   about a minute in all (CI): 1 round, page + hello + latency + idle, tiny loads,
                                    no repeats of noisy runs
        """;

    /// <summary>Parses the arguments; returns null and writes why to <paramref name="error"/> when they are wrong.</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = new BenchOptions();
        error = null;
        // --quick sets defaults first, so explicit flags after it (or before it) still win.
        if (args.Contains("--quick"))
        {
            options.ApplyQuickDefaults();
        }
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            if (flag is "--quick" or "--no-perf")
            {
                options.NoPerf |= flag == "--no-perf";
                continue;
            }
            if (i + 1 >= args.Count)
            {
                error = $"{flag} needs a value (see --help).";
                return null;
            }
            string value = args[++i];
            error = options.Apply(flag, value);
            if (error is not null)
            {
                return null;
            }
        }
        return options;
    }

    private void ApplyQuickDefaults()
    {
        Quick = true;
        Duration = TimeSpan.FromSeconds(1);
        Warmup = TimeSpan.FromSeconds(0.5);
        WarmupMax = Warmup;
        PerfDuration = TimeSpan.FromSeconds(1);
        Rounds = 1;
        IdleConnections = 256;
        Scenarios = ["page", "hello", "latency", "idle"];
        // Proof that it works, not figures: a noisy run is not worth repeating.
        MaxNoisePercent = 100;
    }

    private string? Apply(string flag, string value)
    {
        switch (flag)
        {
            case "--duration": return ParseSeconds(value, v => Duration = v);
            case "--warmup": return ParseSeconds(value, v => Warmup = v);
            case "--warmup-max": return ParseSeconds(value, v => WarmupMax = v);
            case "--perf-duration": return ParseSeconds(value, v => PerfDuration = v);
            case "--rounds": return ParsePositive(value, v => Rounds = v);
            case "--rate": return ParsePositive(value, v => Rate = v);
            case "--idle-connections": return ParsePositive(value, v => IdleConnections = v);
            case "--max-noise": return ParsePositive(value, v => MaxNoisePercent = v);
            case "--processor-count": return ParsePositive(value, v => ProcessorCount = v);
            case "--out": OutputDirectory = value; return null;
            case "--sample":
                SampleDirectory = Path.GetFullPath(value);
                return File.Exists(Path.Combine(SampleDirectory, "SampleWeb.dll")) ? null : $"--sample: no SampleWeb.dll in {SampleDirectory}.";
            case "--scenarios":
                Scenarios = SplitList(value);
                var unknown = Scenarios.FirstOrDefault(s => !Scenario.AllNames.Contains(s));
                return unknown is null ? null : $"Unknown scenario '{unknown}': use {string.Join(", ", Scenario.AllNames)}.";
            case "--servers":
                Servers = SplitList(value);
                var bad = Servers.FirstOrDefault(s => s is not ("sockets" or "sockets-tuned" or "epoll" or "epoll-inline" or "floor"));
                return bad is null ? null : $"Unknown server '{bad}': use sockets, sockets-tuned, epoll, epoll-inline, floor.";
            case "--threads":
                var threads = new List<int>();
                foreach (string item in SplitList(value))
                {
                    if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int t) || t < 1)
                    {
                        return $"--threads takes positive integers, not '{item}'.";
                    }
                    threads.Add(t);
                }
                Threads = threads;
                return null;
            case "--cores":
                string[] parts = value.Split('/');
                if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                {
                    return $"--cores takes SERVER/LOAD in taskset syntax, e.g. 1/0, not '{value}'.";
                }
                ServerCpus = parts[0];
                LoadCpus = parts[1];
                return null;
            default:
                return $"Unknown option '{flag}' (see --help).";
        }
    }

    private static List<string> SplitList(string value) =>
        [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static string? ParseSeconds(string value, Action<TimeSpan> set)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || seconds <= 0)
        {
            return $"Expected a positive number of seconds, not '{value}'.";
        }
        set(TimeSpan.FromSeconds(seconds));
        return null;
    }

    private static string? ParsePositive(string value, Action<int> set)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number < 1)
        {
            return $"Expected a positive integer, not '{value}'.";
        }
        set(number);
        return null;
    }
}
