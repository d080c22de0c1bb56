using System.Text.Json;

namespace TransportBench.LoadHelper;

/// <summary>The floor's work in one scenario (a name of <see cref="TransportBench.Scenario.All"/>): warm up until the
/// JIT is quiet, then time it. The first job's SampleDirectory starts the floor's app; later jobs reuse it.</summary>
internal sealed record FloorJob(string SampleDirectory, string Scenario, double LeastWarmupSeconds, double WarmupLimitSeconds, double Seconds);

/// <summary>The fairness clients' work: flood an upload and time small round trips against a server's port.</summary>
internal sealed record FairnessJob(int Port, string Scenario, double Seconds);

/// <summary>One job: exactly one of the two is set.</summary>
internal sealed record HelperJob(FloorJob? Floor = null, FairnessJob? Fairness = null);

/// <summary>The answer to one job: its result, or why there is none.</summary>
internal sealed record HelperReply(FloorResult? Floor = null, FairnessResult? Fairness = null, string? Error = null);

/// <summary>What the floor measured in one scenario. Kestrel's CPU is the process's minus the client thread's; the
/// client allocates nothing, so the allocations are Kestrel's and the app's. PeakRssKib is null where the kernel would
/// not reset VmHWM.</summary>
internal sealed record FloorResult(
    long Requests, double Seconds, double KestrelCpuMicrosPerRequest, double ClientCpuMicrosPerRequest, double AllocatedBytesPerRequest,
    long? PeakRssKib, int ProcessorCount, bool ServerGc, double WarmupSeconds, IReadOnlyList<long> WarmupJitSteps, bool JitSettled, string? Error);

/// <summary>What the fairness clients measured (docs/benchmarks.md, "Fairness"); latencies in microseconds.</summary>
/// <param name="Starved">A small round trip got no response within the client's limit: a finding, not a failure.</param>
internal sealed record FairnessResult(
    long RoundTrips, double Seconds, long P50Micros, long P99Micros, long P999Micros, long MaxMicros, long FloodBytes, bool Starved, string? Error)
{
    public double RoundTripsPerSecond => Seconds > 0 ? RoundTrips / Seconds : 0;
    public double FloodMiBPerSecond => Seconds > 0 ? FloodBytes / Seconds / (1024 * 1024) : 0;
}

/// <summary>The runner's protocol with its load helper (docs/benchmarks.md, "The load helper"), compiled into both: one
/// JSON line per job in, one per reply out, marked with <see cref="Prefix"/> because the floor's Kestrel may log there too.</summary>
internal static class HelperProtocol
{
    public const string Prefix = "TRANSPORTBENCH_REPLY ";
    private static readonly JsonSerializerOptions Json = new();
    public static string Write<T>(T message) => JsonSerializer.Serialize(message, Json);
    public static T? Read<T>(string line) => JsonSerializer.Deserialize<T>(line, Json);
}
