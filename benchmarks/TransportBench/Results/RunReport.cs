using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TransportBench.Results;

/// <summary>Everything a run produced: what results.json holds (<see cref="JsonReport"/>) and the other reports draw from.</summary>
internal sealed record RunReport(
    MachineInfo Machine, bool Quick, double? LatencyRate, string? LatencyRateSource, IReadOnlyList<ScenarioSummary> Scenarios, IReadOnlyList<RoundSample> Samples)
{
    /// <summary>Every server that ran, in order of appearance: the columns of the cross-scenario tables.</summary>
    public List<string> ServerNames() => [.. Scenarios.SelectMany(s => s.Servers).Select(s => s.Server).Distinct()];
}

/// <summary>results.json: the whole <see cref="RunReport"/>, every round included, for later analysis.</summary>
internal static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Converters = { new JsonStringEnumConverter() },
    };

    public static string Serialize(RunReport report) => JsonSerializer.Serialize(report, Options);
}
