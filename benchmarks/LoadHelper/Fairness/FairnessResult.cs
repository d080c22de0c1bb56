namespace TransportBench.Fairness;

/// <summary>What the fairness clients measured, the load helper's reply to a <see cref="LoadHelper.FairnessJob"/>; latencies in microseconds.</summary>
/// <param name="RoundTrips">Small round trips completed in the window.</param>
/// <param name="Seconds">Length of the window.</param>
/// <param name="FloodBytes">Body bytes the flood handed to the kernel in the window (what sat in socket buffers at its
/// edges, a few MiB at most, is the error).</param>
/// <param name="Starved">A small round trip got no response within the client's limit (10 s): a finding, not a
/// failure; the latencies then end with that limit.</param>
/// <param name="Error">Why the run failed (a connection broke, nothing completed), or null.</param>
internal sealed record FairnessResult(
    long RoundTrips,
    double Seconds,
    long P50Micros,
    long P99Micros,
    long P999Micros,
    long MaxMicros,
    long FloodBytes,
    bool Starved,
    string? Error)
{
    public double RoundTripsPerSecond => Seconds > 0 ? RoundTrips / Seconds : 0;

    public double FloodMiBPerSecond => Seconds > 0 ? FloodBytes / Seconds / (1024 * 1024) : 0;
}
