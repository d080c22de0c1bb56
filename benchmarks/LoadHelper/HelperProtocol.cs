using System.Text.Json;

namespace TransportBench.LoadHelper;

/// <summary>The floor's work: warm the in-memory Kestrel up under a scenario's load until its JIT is quiet, then time it.</summary>
/// <param name="SampleDirectory">The published SampleWeb, whose appsettings.json configures the floor's app (the first
/// job's starts it; the app then serves the helper's later floor jobs).</param>
/// <param name="Scenario">A name of <see cref="TransportBench.Scenario.All"/> that the floor serves.</param>
internal sealed record FloorJob(string SampleDirectory, string Scenario, double LeastWarmupSeconds, double WarmupLimitSeconds, double Seconds);

/// <summary>The fairness clients' work: flood an upload and time small round trips against a server's port.</summary>
internal sealed record FairnessJob(int Port, string Scenario, double Seconds);

/// <summary>One job: exactly one of the two is set.</summary>
internal sealed record HelperJob(FloorJob? Floor = null, FairnessJob? Fairness = null);

/// <summary>The answer to one job: its result, or why there is none.</summary>
internal sealed record HelperReply(FloorResult? Floor = null, FairnessResult? Fairness = null, string? Error = null);

/// <summary>What the floor measured in one scenario, the load helper's reply to a <see cref="FloorJob"/>.</summary>
/// <param name="KestrelCpuMicrosPerRequest">Process CPU minus the client thread's, per request.</param>
/// <param name="AllocatedBytesPerRequest">GC allocations of the whole process per request (the client allocates none).</param>
/// <param name="PeakRssKib">VmHWM at the end of the scenario (reset at its start but for the first), or null when the
/// kernel would not reset it.</param>
/// <param name="WarmupJitSteps">Methods the JIT compiled in each warm-up step after the least warm-up.</param>
internal sealed record FloorResult(
    long Requests, double Seconds, double KestrelCpuMicrosPerRequest, double ClientCpuMicrosPerRequest, double AllocatedBytesPerRequest,
    long? PeakRssKib, int ProcessorCount, bool ServerGc, double WarmupSeconds, IReadOnlyList<long> WarmupJitSteps, bool JitSettled, string? Error);

/// <summary>What the fairness clients measured, the load helper's reply to a <see cref="FairnessJob"/>; latencies in microseconds.</summary>
/// <param name="FloodBytes">Body bytes the flood handed to the kernel in the window (what sat in socket buffers at its
/// edges, a few MiB at most, is the error).</param>
/// <param name="Starved">A small round trip got no response within the client's limit (10 s): a finding, not a
/// failure; the latencies then end with that limit.</param>
/// <param name="Error">Why the run failed (a connection broke, nothing completed), or null.</param>
internal sealed record FairnessResult(
    long RoundTrips, double Seconds, long P50Micros, long P99Micros, long P999Micros, long MaxMicros, long FloodBytes, bool Starved, string? Error)
{
    public double RoundTripsPerSecond => Seconds > 0 ? RoundTrips / Seconds : 0;
    public double FloodMiBPerSecond => Seconds > 0 ? FloodBytes / Seconds / (1024 * 1024) : 0;
}

/// <summary>The one protocol between the runner and its load helper (TransportBench.LoadHelper, started by the runner,
/// pinned where the work belongs): a <see cref="HelperJob"/> as one JSON line on the helper's standard input, a <see
/// cref="HelperReply"/> as one JSON line on its standard output, marked with <see cref="Prefix"/> because the floor's
/// Kestrel may log there too; as many jobs as the runner sends, until it closes the input. This file is compiled into
/// both programs.</summary>
internal static class HelperProtocol
{
    public const string Prefix = "TRANSPORTBENCH_REPLY ";
    private static readonly JsonSerializerOptions Json = new();
    public static string Write<T>(T message) => JsonSerializer.Serialize(message, Json);
    public static T? Read<T>(string line) => JsonSerializer.Deserialize<T>(line, Json);
}
