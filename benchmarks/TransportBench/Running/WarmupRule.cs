namespace TransportBench.Running;

/// <summary>What a warm-up does after a step.</summary>
internal enum WarmupDecision
{
    /// <summary>The JIT is still compiling and there is time for another step: load again.</summary>
    LoadAnotherStep,

    /// <summary>Two quiet steps in a row: tiering is done, measure.</summary>
    JitQuiet,

    /// <summary>Another step would pass the warm-up's limit (--warmup-max): measure, JIT quiet or not.</summary>
    OutOfTime,
}

/// <summary>
/// Load at saturation until the server's JIT is quiet: at least --warmup, then in 2-s steps until the JIT has compiled
/// at most <see cref="QuietMethods"/> methods in each of two steps in a row, at most --warmup-max.
/// </summary>
/// <remarks>
/// A short fixed warm-up is not enough on few CPUs: tiered compilation competes with the load for the server's CPU,
/// and pinned to one CPU every server here took 20–30 s to reach its steady CPU per request (2–3× less than after
/// 3 s), at a different moment each run. The JIT's own count of compiled methods says when tiering is done; CPU per
/// request does not (it plateaus between waves). Tiering also pauses between waves (4 s without a compile at
/// 7–11 s, then hundreds of tier-ups), hence the least warm-up and two quiet steps in a row.
/// </remarks>
internal static class WarmupRule
{
    /// <summary>At most this many methods compiled in a step still counts as quiet (late tier-ups of cold paths, timers).</summary>
    public const long QuietMethods = 5;

    /// <summary>Load between two reads of the JIT's count once the least warm-up is done.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(2);

    /// <summary>The decision after the steps so far (methods compiled in each), <paramref name="elapsed"/> into the warm-up.</summary>
    public static WarmupDecision Next(IReadOnlyList<long> compiledPerStep, TimeSpan elapsed, TimeSpan limit)
    {
        if (compiledPerStep.Count >= 2 && compiledPerStep[^1] <= QuietMethods && compiledPerStep[^2] <= QuietMethods)
        {
            return WarmupDecision.JitQuiet;
        }
        return elapsed + Step <= limit ? WarmupDecision.LoadAnotherStep : WarmupDecision.OutOfTime;
    }

    /// <summary>
    /// Warms up: <paramref name="load"/> for <paramref name="least"/>, then step by step as <see cref="Next"/> says.
    /// Returns whether the JIT went quiet; <paramref name="compiledPerStep"/> gets each step's count. A server whose
    /// count cannot be read (null) is warmed up for the least time only.
    /// </summary>
    /// <param name="load">Loads the server for a time, naming the phase for the display.</param>
    /// <param name="compiledMethods">The server's count of methods its JIT compiled so far.</param>
    /// <param name="elapsed">Time since the warm-up started.</param>
    public static async Task<bool> RunAsync(
        TimeSpan least, TimeSpan limit, Func<TimeSpan, string, Task> load, Func<Task<long?>> compiledMethods,
        Func<TimeSpan> elapsed, List<long> compiledPerStep)
    {
        await load(least, "warm-up");
        long? previous = await compiledMethods();
        while (previous is long before)
        {
            switch (Next(compiledPerStep, elapsed(), limit))
            {
                case WarmupDecision.JitQuiet:
                    return true;
                case WarmupDecision.OutOfTime:
                    return false;
            }
            await load(Step, "warm-up: waiting for the JIT to settle");
            previous = await compiledMethods();
            if (previous is long after)
            {
                compiledPerStep.Add(after - before);
            }
        }
        return false;
    }
}
