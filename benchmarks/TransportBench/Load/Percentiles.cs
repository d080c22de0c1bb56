namespace TransportBench.Load;

/// <summary>Percentiles of latencies the runner records itself (h2load's log, the fairness client).</summary>
internal static class Percentiles
{
    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static long NearestRank(List<long> sorted, double fraction) =>
        sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Count) - 1, 0, sorted.Count - 1)];
}
