namespace TransportBench.Cli;

/// <summary>What one run measures and how, made once from the command line (<see cref="BenchCommand"/>, whose help says
/// what each option does). The initializers are the defaults; <see cref="QuickRun"/> holds what <c>--quick</c> changes.</summary>
internal sealed record BenchOptions
{
    /// <summary>Null: each scenario's own (<see cref="Scenario.DefaultSeconds"/>).</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>20 s: a new process's tiering pauses between waves in its first 10–20 s (docs/benchmarks.md).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan WarmupMax { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan PerfDuration { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Null: 3 pinned, 5 in the other layouts (<see cref="CoreLayout.Rounds"/>).</summary>
    public int? Rounds { get; init; }
    public IReadOnlyList<string> Layouts { get; init; } = ["pinned", "shared"];
    /// <summary>Null: half of the CPUs.</summary>
    public IReadOnlyList<int>? SplitServerCpus { get; init; }
    /// <summary>Scenario names, in run order.</summary>
    public IReadOnlyList<string> Scenarios { get; init; } = Scenario.AllNames;
    public IReadOnlyList<string> Servers { get; init; } = ["sockets", "sockets-tuned", "epoll", "floor"];
    /// <summary>DOTNET_PROCESSOR_COUNT for every server, or null to leave the runtime's own view.</summary>
    public int? ProcessorCount { get; init; }
    /// <summary>Epoll ThreadCount values for a scaling run; null runs epoll once with its default.</summary>
    public IReadOnlyList<int>? Threads { get; init; }
    /// <summary>Null: half of sockets' rate on the page.</summary>
    public int? Rate { get; init; }
    public int IdleConnections { get; init; } = 10_000;
    public int MaxNoisePercent { get; init; } = 10;
    /// <summary>Null: benchmarks/results/&lt;timestamp&gt;/.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>An already published SampleWeb folder (full path); null builds one.</summary>
    public string? SampleDirectory { get; init; }
    public bool NoPerf { get; init; }
    public bool Quick { get; init; }
    public static IReadOnlyList<string> AllLayouts { get; } = ["pinned", "shared", "split"];
    public static IReadOnlyList<string> AllServers { get; } = ["sockets", "sockets-tuned", "epoll", "epoll-inline", "floor"];

    public static BenchOptions QuickRun { get; } = new()
    {
        Quick = true, Duration = TimeSpan.FromSeconds(1), Warmup = TimeSpan.FromSeconds(0.5), WarmupMax = TimeSpan.FromSeconds(0.5),
        PerfDuration = TimeSpan.FromSeconds(1), Rounds = 1, Layouts = ["pinned"], IdleConnections = 256,
        Scenarios = ["page", "hello", "latency", "idle"], MaxNoisePercent = 100,
    };

    public TimeSpan DurationOf(Scenario scenario) => Duration ?? TimeSpan.FromSeconds(scenario.DefaultSeconds);
    /// <summary>The warm-up's upper bound: <see cref="WarmupMax"/>, or <see cref="Warmup"/> when that is longer.</summary>
    public TimeSpan WarmupLimit => WarmupMax > Warmup ? WarmupMax : Warmup;
}
