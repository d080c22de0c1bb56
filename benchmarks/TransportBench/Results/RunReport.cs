namespace TransportBench.Results;

/// <summary>Everything a run produced: what the JSON file holds and the other reports draw from.</summary>
/// <param name="Machine">Where and how it ran.</param>
/// <param name="Quick">A --quick run: proof that the runner works, not figures.</param>
/// <param name="LatencyRate">The fixed offered load of the latency scenario, req/s.</param>
/// <param name="LatencyRateSource">Where that rate came from.</param>
/// <param name="Scenarios">Medians and ratios.</param>
/// <param name="Samples">Every round of every server, as measured.</param>
internal sealed record RunReport(
    MachineInfo Machine,
    bool Quick,
    double? LatencyRate,
    string? LatencyRateSource,
    IReadOnlyList<ScenarioSummary> Scenarios,
    IReadOnlyList<RoundSample> Samples)
{
    /// <summary>Every server that ran, in order of appearance: the columns of the cross-scenario tables.</summary>
    public List<string> ServerNames() => [.. Scenarios.SelectMany(s => s.Servers).Select(s => s.Server).Distinct()];
}
