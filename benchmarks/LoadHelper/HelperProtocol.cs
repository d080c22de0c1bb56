using System.Text.Json;
using TransportBench.Fairness;
using TransportBench.Floor;

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

/// <summary>
/// The one protocol between the runner and its load helper (TransportBench.LoadHelper, started by the runner, pinned
/// where the work belongs): a <see cref="HelperJob"/> as one JSON line on the helper's standard input, a
/// <see cref="HelperReply"/> as one JSON line on its standard output, marked with <see cref="Prefix"/> because the
/// floor's Kestrel may log there too; as many jobs as the runner sends, until it closes the input. This file is
/// compiled into both programs.
/// </summary>
internal static class HelperProtocol
{
    public const string Prefix = "TRANSPORTBENCH_REPLY ";

    private static readonly JsonSerializerOptions Json = new();

    public static string Write<T>(T message) => JsonSerializer.Serialize(message, Json);

    public static T? Read<T>(string line) => JsonSerializer.Deserialize<T>(line, Json);
}
