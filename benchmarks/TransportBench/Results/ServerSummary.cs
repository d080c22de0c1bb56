namespace TransportBench.Results;

/// <summary>A syscall and how many of it a request costs.</summary>
internal sealed record SyscallShare(string Name, double PerRequest);

/// <summary>One server in one scenario: medians over its successful rounds, and ratios against sockets.</summary>
/// <param name="Rounds">Rounds that produced a measurement.</param>
/// <param name="KernelMicrosPerRequest">The kernel's part of <paramref name="CpuMicrosPerRequest"/> (stime per
/// request).</param>
/// <param name="UserAboveFloorMicrosPerRequest">User CPU per request above the floor's whole cost: what the transport
/// and the runtime add in user code (utime per request minus the floor's CPU per request). Null without a floor in this
/// scenario.</param>
/// <param name="MaxMillis">The slowest request (fairness: the small connection's slowest round trip).</param>
/// <param name="FloodMiBPerSecond">Fairness: what the flood pushed through while the small connection was
/// timed.</param>
/// <param name="StarvedRounds">Fairness: rounds in which a small round trip got no answer within the client's
/// limit.</param>
/// <param name="WritesPerResponse">Calls that sent response bytes (writev, sendmsg, sendto, socket writes) per
/// response.</param>
/// <param name="ContextSwitchesPerRequest">Context switches (voluntary and not) of the server's threads per request,
/// from the syscall pass.</param>
/// <param name="MigrationsPerRequest">Moves of the server's threads from one CPU to another per request, from the
/// syscall pass.</param>
/// <param name="ServerBusyPercent">Median share of the server CPUs the server used during timed rounds,
/// percent.</param>
/// <param name="ForeignCpuPercentMax">The most CPU other processes took on the server's CPUs during any timed round,
/// percent.</param>
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
