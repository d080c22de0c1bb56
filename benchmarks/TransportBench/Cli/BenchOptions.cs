namespace TransportBench.Cli;

/// <summary>
/// What one run of the runner measures and how. Made once from the command line (<see cref="BenchCommand"/>): each
/// property's initializer is the default, and <see cref="QuickRun"/> holds what <c>--quick</c> changes; options given
/// on the command line win over both.
/// </summary>
internal sealed record BenchOptions
{
    /// <summary>
    /// Measured time of each load run, or null for each scenario's own: 10 s, 5 s for the shapes added for issue 9
    /// (<see cref="Scenario.DefaultSeconds"/>; 1 s with <c>--quick</c>).
    /// </summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>
    /// Least load before each measurement. The warm-up goes on until the server's JIT is quiet (tiered compilation
    /// done), up to <see cref="WarmupMax"/>. Defaults to 20 s (0.5 s quick): on one CPU tiering pauses between waves
    /// for several seconds in the first 10–20 s, so an earlier quiet spell is not the end of it.
    /// </summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Most load before each measurement. Defaults to 60 s (quick: 0.5 s, no waiting for the JIT).</summary>
    public TimeSpan WarmupMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Length of the separate syscall-counting pass. Defaults to 3 s (1 s quick).</summary>
    public TimeSpan PerfDuration { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Rounds; each round runs every server once per scenario (A B C A B C …). Defaults to 3 (1 quick).</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Scenario names, in run order. Defaults to all of them (quick: page, hello, latency, idle).</summary>
    public IReadOnlyList<string> Scenarios { get; init; } = Scenario.AllNames;

    /// <summary>Server names: sockets, sockets-tuned, epoll, epoll-inline, floor. Defaults to all but epoll-inline.</summary>
    public IReadOnlyList<string> Servers { get; init; } = DefaultServers;

    /// <summary>CPUs for the server and for the load generator, taskset syntax; null picks them (see CoreLayout).</summary>
    public string? ServerCpus { get; init; }

    /// <summary>See <see cref="ServerCpus"/>.</summary>
    public string? LoadCpus { get; init; }

    /// <summary>DOTNET_PROCESSOR_COUNT for every server, or null to leave the runtime's own view.</summary>
    public int? ProcessorCount { get; init; }

    /// <summary>Epoll ThreadCount values for a scaling run; null runs epoll once with its default.</summary>
    public IReadOnlyList<int>? Threads { get; init; }

    /// <summary>Fixed offered load of the latency scenario; null means half of sockets' rate on the page.</summary>
    public int? Rate { get; init; }

    /// <summary>Idle keep-alive connections to open. Defaults to 10,000 (256 quick).</summary>
    public int IdleConnections { get; init; } = 10_000;

    /// <summary>
    /// A timed run during which other processes took more than this share of the server's CPU is measured again,
    /// up to twice, keeping the quietest. Defaults to 10 %; 100 turns it off (as --quick does).
    /// </summary>
    public int MaxNoisePercent { get; init; } = 10;

    /// <summary>Results folder; null means benchmarks/results/&lt;timestamp&gt;/.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>An already published SampleWeb folder (full path); null builds one.</summary>
    public string? SampleDirectory { get; init; }

    /// <summary>Skip the perf pass.</summary>
    public bool NoPerf { get; init; }

    /// <summary>A few seconds in all: proves the runner works, measures nothing worth quoting.</summary>
    public bool Quick { get; init; }

    /// <summary>The servers a run measures unless told otherwise: epoll-inline only when named.</summary>
    public static IReadOnlyList<string> DefaultServers { get; } = ["sockets", "sockets-tuned", "epoll", "floor"];

    /// <summary>Every server name <c>--servers</c> takes.</summary>
    public static IReadOnlyList<string> AllServers { get; } = ["sockets", "sockets-tuned", "epoll", "epoll-inline", "floor"];

    /// <summary>The defaults of <c>--quick</c>: about a minute in all (CI), proof that the runner works.</summary>
    public static BenchOptions QuickRun { get; } = new()
    {
        Quick = true,
        Duration = TimeSpan.FromSeconds(1),
        Warmup = TimeSpan.FromSeconds(0.5),
        WarmupMax = TimeSpan.FromSeconds(0.5),
        PerfDuration = TimeSpan.FromSeconds(1),
        Rounds = 1,
        IdleConnections = 256,
        Scenarios = ["page", "hello", "latency", "idle"],
        // Proof that it works, not figures: a noisy run is not worth repeating.
        MaxNoisePercent = 100,
    };

    /// <summary>The measured time of a scenario's load runs.</summary>
    public TimeSpan DurationOf(Scenario scenario) => Duration ?? TimeSpan.FromSeconds(scenario.DefaultSeconds);

    /// <summary>The warm-up's upper bound: <see cref="WarmupMax"/>, or <see cref="Warmup"/> when that is longer.</summary>
    public TimeSpan WarmupLimit => WarmupMax > Warmup ? WarmupMax : Warmup;
}
