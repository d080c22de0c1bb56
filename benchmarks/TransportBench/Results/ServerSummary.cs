namespace TransportBench.Results;

/// <summary>A syscall and how many of it a request costs.</summary>
internal sealed record SyscallShare(string Name, double PerRequest);

/// <summary>One server in one scenario: medians over its successful rounds (<paramref name="Rounds"/>), and ratios
/// against sockets; the figures are those of <see cref="RoundSample"/> (docs/benchmarks.md, "What is measured").</summary>
/// <param name="UserAboveFloorMicrosPerRequest">utime per request minus the floor's CPU per request: what the transport
/// and the runtime add in user code. Null without a floor in this scenario.</param>
/// <param name="ForeignCpuPercentMax">The most CPU other processes took on the server's CPUs in any timed round.</param>
internal sealed record ServerSummary(
    string Server, int Rounds, ServerIdentity? Identity,
    double? RequestsPerSecond, double? RequestsPerSecondMin, double? RequestsPerSecondMax, double? RequestsPerSecondRatio,
    double? CpuMicrosPerRequest, double? CpuRatio, double? KernelMicrosPerRequest, double? UserAboveFloorMicrosPerRequest, double? ClientCpuMicrosPerRequest,
    double? AllocatedBytesPerRequest, double? PeakRssMib, double? WarmupSeconds,
    double? OfferedRate, double? P50Millis, double? P99Millis, double? P999Millis, double? MaxMillis, double? FloodMiBPerSecond, int StarvedRounds, double? P99Ratio,
    int? IdleConnections, double? IdleBytesPerConnection, double? IdleRatio, string? IdleNote,
    double? SyscallsPerRequest, double? WritesPerResponse, double? ContextSwitchesPerRequest, double? MigrationsPerRequest,
    IReadOnlyList<SyscallShare> TopSyscalls, string? SyscallsUnavailable,
    double? ServerBusyPercent, double? LoadBusyPercent, double? ForeignCpuPercentMax, IReadOnlyList<string> Errors);

/// <summary>Every server in one scenario, in one layout (pinned, shared, split-N).</summary>
internal sealed record ScenarioSummary(Scenario Scenario, IReadOnlyList<ServerSummary> Servers, string Layout = "pinned")
{
    public ServerSummary? Find(string server) => Servers.FirstOrDefault(s => s.Server == server);
}
