namespace TransportBench.Running;

/// <summary>Load at saturation for at least --warmup, then in 2-s steps until the JIT was quiet in two steps in a row, at
/// most --warmup-max. Tiering pauses for seconds between waves, hence both (docs/benchmarks.md, "Warm-up").</summary>
internal static class WarmupRule
{
    /// <summary>At most this many methods compiled in a step still counts as quiet (late tier-ups of cold paths, timers).</summary>
    public const long QuietMethods = 5;
    /// <summary>Load between two reads of the JIT's count once the least warm-up is done.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(2);
    /// <summary>The least warm-up of a process kept from the round's earlier scenarios: its shared paths are tiered, and
    /// the JIT decides on what the new scenario adds (docs/benchmarks.md, "Rounds, processes and warm-ups").</summary>
    public static readonly TimeSpan ReusedLeast = TimeSpan.FromSeconds(3);
    /// <summary>The least warm-up: <paramref name="warmup"/> (--warmup) on a new process, at most <see cref="ReusedLeast"/> on one that served before.</summary>
    public static TimeSpan Least(TimeSpan warmup, bool newProcess) => newProcess || warmup < ReusedLeast ? warmup : ReusedLeast;
    /// <summary>The shortest warm-up the rule allows: the least, then two quiet steps (fewer when <paramref name="limit"/>
    /// comes first); a server whose JIT count cannot be read stops after the least.</summary>
    public static TimeSpan Shortest(TimeSpan least, TimeSpan limit) => least + (Math.Clamp((int)Math.Floor((limit - least) / Step), 0, 2) * Step);

    /// <summary>Whether the last two steps (methods compiled in each) were both quiet.</summary>
    public static bool IsQuiet(IReadOnlyList<long> compiledPerStep) =>
        compiledPerStep.Count >= 2 && compiledPerStep[^1] <= QuietMethods && compiledPerStep[^2] <= QuietMethods;

    /// <summary>Warms up: <paramref name="load"/> for <paramref name="least"/>, then a step at a time while the JIT is
    /// not quiet and a step still ends by <paramref name="limit"/>. Returns whether the JIT went quiet; each step's
    /// count goes to <paramref name="compiledPerStep"/>. A server whose count (<paramref name="compiledMethods"/>)
    /// cannot be read (null) gets the least warm-up only.</summary>
    /// <param name="elapsed">Time since the warm-up started.</param>
    public static async Task<bool> RunAsync(
        TimeSpan least, TimeSpan limit, Func<TimeSpan, Task> load, Func<Task<long?>> compiledMethods, Func<TimeSpan> elapsed, List<long> compiledPerStep)
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
