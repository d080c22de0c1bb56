namespace TransportBench.Cli;

/// <summary>
/// What one run measures and how, made once from the command line (<see cref="BenchCommand"/>, whose help says what
/// each option does). The initializers are the defaults; <see cref="QuickRun"/> holds what <c>--quick</c> changes.
/// </summary>
internal sealed record BenchOptions
{
    /// <summary>Measured time of each load run, or null for each scenario's own (<see cref="Scenario.DefaultSeconds"/>).</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>
    /// Least load before a measurement on a new server process; it goes on until the server's JIT is quiet, up to
    /// <see cref="WarmupMax"/>. 20 s: on one CPU a new process's tiering pauses between waves for several seconds in
    /// the first 10–20 s, so an earlier quiet spell is not the end of it. A process kept from the round's earlier
    /// scenarios starts from less (Running/WarmupRule.ReusedLeast).
    /// </summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan WarmupMax { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Length of the separate syscall-counting pass.</summary>
    public TimeSpan PerfDuration { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Rounds; each round runs every server once per scenario (A B C; the order turns each round). Null: 3 pinned, 5 in
    /// the other layouts (<see cref="CoreLayout.Rounds"/>).
    /// </summary>
    public int? Rounds { get; init; }

    /// <summary>Layouts, each running every scenario: pinned, shared, split (<see cref="LayoutKind"/>).</summary>
    public IReadOnlyList<string> Layouts { get; init; } = ["pinned", "shared"];

    /// <summary>The server's CPU counts of the split layout (<c>--server-cpus</c>); null: half of the CPUs.</summary>
    public IReadOnlyList<int>? SplitServerCpus { get; init; }

    /// <summary>Scenario names, in run order.</summary>
    public IReadOnlyList<string> Scenarios { get; init; } = Scenario.AllNames;

    /// <summary>Server names: epoll-inline only when named.</summary>
    public IReadOnlyList<string> Servers { get; init; } = ["sockets", "sockets-tuned", "epoll", "floor"];

    /// <summary>DOTNET_PROCESSOR_COUNT for every server, or null to leave the runtime's own view.</summary>
    public int? ProcessorCount { get; init; }

    /// <summary>Epoll ThreadCount values for a scaling run; null runs epoll once with its default.</summary>
    public IReadOnlyList<int>? Threads { get; init; }

    /// <summary>Fixed offered load of the latency scenario; null means half of sockets' rate on the page.</summary>
    public int? Rate { get; init; }

    public int IdleConnections { get; init; } = 10_000;

    /// <summary>A timed run during which other processes took more of the server's CPU is measured again (NoiseRetry).</summary>
    public int MaxNoisePercent { get; init; } = 10;

    /// <summary>Results folder; null means benchmarks/results/&lt;timestamp&gt;/.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>An already published SampleWeb folder (full path); null builds one.</summary>
    public string? SampleDirectory { get; init; }

    public bool NoPerf { get; init; }

    /// <summary>A minute in all: proves the runner works, measures nothing worth quoting.</summary>
    public bool Quick { get; init; }

    /// <summary>Every layout name <c>--layout</c> takes.</summary>
    public static IReadOnlyList<string> AllLayouts { get; } = ["pinned", "shared", "split"];

    /// <summary>Every server name <c>--servers</c> takes.</summary>
    public static IReadOnlyList<string> AllServers { get; } = ["sockets", "sockets-tuned", "epoll", "epoll-inline", "floor"];

    /// <summary>The defaults of <c>--quick</c> (CI): 1 s runs, no waiting for the JIT, noisy runs not repeated.</summary>
    public static BenchOptions QuickRun { get; } = new()
    {
        Quick = true,
        Duration = TimeSpan.FromSeconds(1),
        Warmup = TimeSpan.FromSeconds(0.5),
        WarmupMax = TimeSpan.FromSeconds(0.5),
        PerfDuration = TimeSpan.FromSeconds(1),
        Rounds = 1,
        Layouts = ["pinned"],
        IdleConnections = 256,
        Scenarios = ["page", "hello", "latency", "idle"],
        MaxNoisePercent = 100,
    };

    public TimeSpan DurationOf(Scenario scenario) => Duration ?? TimeSpan.FromSeconds(scenario.DefaultSeconds);

    /// <summary>The warm-up's upper bound: <see cref="WarmupMax"/>, or <see cref="Warmup"/> when that is longer.</summary>
    public TimeSpan WarmupLimit => WarmupMax > Warmup ? WarmupMax : Warmup;
}
