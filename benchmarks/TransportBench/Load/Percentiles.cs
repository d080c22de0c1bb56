namespace TransportBench.Load;

/// <summary>Nearest-rank percentiles of sorted latencies the runner records itself (h2load's log, the fairness client).</summary>
internal static class Percentiles
{
    public static long NearestRank(List<long> sorted, double fraction) =>
        sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Count) - 1, 0, sorted.Count - 1)];
}
