using TransportBench.Servers;

namespace TransportBench.Results;

/// <summary>A syscall and how many of it a request costs.</summary>
internal sealed record SyscallShare(string Name, double PerRequest);

/// <summary>One server in one scenario: medians over its successful rounds, and ratios against sockets.</summary>
internal sealed record ServerSummary
{
    public required string Server { get; init; }

    /// <summary>Rounds that produced a measurement.</summary>
    public int Rounds { get; init; }

    public ServerIdentity? Identity { get; init; }

    public double? RequestsPerSecond { get; init; }

    public double? RequestsPerSecondMin { get; init; }

    public double? RequestsPerSecondMax { get; init; }

    public double? RequestsPerSecondRatio { get; init; }

    public double? CpuMicrosPerRequest { get; init; }

    public double? CpuRatio { get; init; }

    /// <summary>The kernel's part of <see cref="CpuMicrosPerRequest"/> (stime per request).</summary>
    public double? KernelMicrosPerRequest { get; init; }

    /// <summary>
    /// User CPU per request above the floor's whole cost: what the transport and the runtime add in user code
    /// (utime per request minus the floor's CPU per request). Null without a floor in this scenario.
    /// </summary>
    public double? UserAboveFloorMicrosPerRequest { get; init; }

    public double? ClientCpuMicrosPerRequest { get; init; }

    public double? AllocatedBytesPerRequest { get; init; }

    public double? PeakRssMib { get; init; }

    /// <summary>Median seconds of warm-up before the timed runs.</summary>
    public double? WarmupSeconds { get; init; }

    public double? OfferedRate { get; init; }

    public double? P50Millis { get; init; }

    public double? P99Millis { get; init; }

    public double? P999Millis { get; init; }

    /// <summary>The slowest request (fairness: the small connection's slowest round trip).</summary>
    public double? MaxMillis { get; init; }

    /// <summary>Fairness: what the flood pushed through while the small connection was timed.</summary>
    public double? FloodMiBPerSecond { get; init; }

    /// <summary>Fairness: rounds in which a small round trip got no answer within the client's limit.</summary>
    public int StarvedRounds { get; init; }

    public double? P99Ratio { get; init; }

    public int? IdleConnections { get; init; }

    public double? IdleBytesPerConnection { get; init; }

    public double? IdleRatio { get; init; }

    public string? IdleNote { get; init; }

    public double? SyscallsPerRequest { get; init; }

    /// <summary>Calls that sent response bytes (writev, sendmsg, sendto, socket writes) per response.</summary>
    public double? WritesPerResponse { get; init; }

    /// <summary>Context switches (voluntary and not) of the server's threads per request, from the syscall pass.</summary>
    public double? ContextSwitchesPerRequest { get; init; }

    /// <summary>Moves of the server's threads from one CPU to another per request, from the syscall pass.</summary>
    public double? MigrationsPerRequest { get; init; }

    public IReadOnlyList<SyscallShare> TopSyscalls { get; init; } = [];

    public string? SyscallsUnavailable { get; init; }

    /// <summary>Median share of the server CPUs the server used during timed rounds, percent.</summary>
    public double? ServerBusyPercent { get; init; }

    /// <summary>Median busy share of the load CPUs during timed rounds, percent.</summary>
    public double? LoadBusyPercent { get; init; }

    /// <summary>The most CPU other processes took on the server's CPUs during any timed round, percent.</summary>
    public double? ForeignCpuPercentMax { get; init; }

    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>Every server in one scenario, in one layout (pinned, shared, split-N).</summary>
internal sealed record ScenarioSummary(Scenario Scenario, IReadOnlyList<ServerSummary> Servers, string Layout = "pinned")
{
    public ServerSummary? Find(string server) => Servers.FirstOrDefault(s => s.Server == server);
}
