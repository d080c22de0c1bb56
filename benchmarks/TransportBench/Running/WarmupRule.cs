namespace TransportBench.Running;

/// <summary>Load at saturation until the server's JIT is quiet: at least --warmup, then in 2-s steps until the JIT has
/// compiled at most <see cref="QuietMethods"/> methods in each of two steps in a row, at most --warmup-max.</summary>
/// <remarks>A short fixed warm-up is not enough on few CPUs: tiered compilation competes with the load for the server's
/// CPU, and a pinned server reaches its steady CPU per request only after a run-dependent 20–30 s (docs/benchmarks.md).
/// The JIT's own count of compiled methods says when tiering is done; CPU per request does not (it plateaus between
/// waves). Tiering also pauses for seconds between waves, hence the least warm-up and two quiet steps in a
/// row.</remarks>
internal static class WarmupRule
{
    /// <summary>At most this many methods compiled in a step still counts as quiet (late tier-ups of cold paths, timers).</summary>
    public const long QuietMethods = 5;
    /// <summary>Load between two reads of the JIT's count once the least warm-up is done.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(2);

    /// <summary>The least warm-up of a server process that already served a scenario this round (--warmup when that is
    /// shorter). Kestrel's and the transport's shared paths are tiered by then; what the new scenario adds (its
    /// endpoint, TLS, HTTP/2, uploads, closing connections) is new code, so the JIT must still go quiet under its load,
    /// and it decides; for the scenarios that add nothing, the least is the cost (measurements in
    /// docs/benchmarks.md).</summary>
    public static readonly TimeSpan ReusedLeast = TimeSpan.FromSeconds(3);

    /// <summary>The least warm-up: <paramref name="warmup"/> (--warmup) on a new process, at most <see cref="ReusedLeast"/> on one that served before.</summary>
    public static TimeSpan Least(TimeSpan warmup, bool newProcess) => newProcess || warmup < ReusedLeast ? warmup : ReusedLeast;

    /// <summary>The shortest warm-up the rule allows: the least, then two quiet steps (fewer when <paramref name="limit"/>
    /// comes first); a server whose JIT count cannot be read stops after the least.</summary>
    public static TimeSpan Shortest(TimeSpan least, TimeSpan limit)
    {
        int steps = 0;
        while (steps < 2 && least + ((steps + 1) * Step) <= limit)
        {
            steps++;
        }
        return least + (steps * Step);
    }

    /// <summary>Whether the last two steps (methods compiled in each) were both quiet.</summary>
    public static bool IsQuiet(IReadOnlyList<long> compiledPerStep) =>
        compiledPerStep.Count >= 2 && compiledPerStep[^1] <= QuietMethods && compiledPerStep[^2] <= QuietMethods;

    /// <summary>Warms up: <paramref name="load"/> for <paramref name="least"/>, then a step at a time while the JIT is
    /// not quiet and a step still ends by <paramref name="limit"/>. Returns whether the JIT went quiet; each step's
    /// count goes to <paramref name="compiledPerStep"/>. A server whose count (<paramref name="compiledMethods"/>)
    /// cannot be read (null) gets the least warm-up only.</summary>
    /// <param name="elapsed">Time since the warm-up started.</param>
    public static async Task<bool> RunAsync(
        TimeSpan least, TimeSpan limit, Func<TimeSpan, Task> load, Func<Task<long?>> compiledMethods,
        Func<TimeSpan> elapsed, List<long> compiledPerStep)
    {
        await load(least);
        long? previous = await compiledMethods();
        while (previous is long before && !IsQuiet(compiledPerStep) && elapsed() + Step <= limit)
        {
            await load(Step);
            previous = await compiledMethods();
            if (previous is long after)
            {
                compiledPerStep.Add(after - before);
            }
        }
        return IsQuiet(compiledPerStep);
    }
}
