using TransportBench.Cli;
using TransportBench.Results;

namespace TransportBench.Running;

/// <summary>
/// How long a run will take, from its steps: printed before it starts (the full run is long on a small machine), and
/// kept up to date while it runs. A warm-up's length is known only when the server's JIT goes quiet, so the estimate
/// gives the typical figure and the range the warm-up bounds allow.
/// </summary>
internal static class RunEstimate
{
    /// <summary>
    /// Typical warm-ups until the JIT was quiet on the 2-CPU reference VM. A new server process under the page's load:
    /// 29–56 s. One kept from the round's earlier scenarios: 6–26 s, 13 on average over 38 (latency 6 s after the
    /// page, the small shapes 8–15, uploads 11–15, TLS and HTTP/2 12–21, 1 MiB responses 19–26); under the fairness
    /// load 13–30 s. The floor: 26–30 s, then 9–11 s with a least of 5 s, which is most of it. A new process under the
    /// fairness load did not go quiet within 60 s (2 of 2): its typical is --warmup-max.
    /// </summary>
    private static readonly TimeSpan TypicalNewWarmup = TimeSpan.FromSeconds(38);

    private static readonly TimeSpan TypicalReusedWarmup = TimeSpan.FromSeconds(13);

    private static readonly TimeSpan TypicalReusedFairnessWarmup = TimeSpan.FromSeconds(25);

    private static readonly TimeSpan TypicalNewFloorWarmup = TimeSpan.FromSeconds(28);

    private static readonly TimeSpan TypicalReusedFloorWarmup = TimeSpan.FromSeconds(8);

    /// <summary>
    /// A server's start-up and shutdown around a measurement that starts a process. A step lasted its warm-up and load
    /// within a second (the log's resolution) in 41 of 41 steps of the calibration runs, new processes or kept ones, so
    /// the counters read around the runs count for nothing.
    /// </summary>
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(1);

    /// <summary>perf's attach and the edges of its window around the syscall pass's load.</summary>
    private static readonly TimeSpan PerfEdges = TimeSpan.FromSeconds(2);

    /// <summary>Opening 10,000 connections in batches, and the waits around reading RSS, on a new process.</summary>
    private static readonly TimeSpan IdleStep = TimeSpan.FromSeconds(12);

    /// <summary>One step's length: at the least warm-up, with a typical one, and at the most.</summary>
    public static (TimeSpan Least, TimeSpan Typical, TimeSpan Most) Of(Step step, BenchOptions options)
    {
        if (step.Scenario.Kind == ScenarioKind.Idle)
        {
            return (IdleStep, IdleStep, IdleStep);
        }
        bool perf = !options.NoPerf && !step.Server.IsFloor && step.Scenario.Kind != ScenarioKind.Fairness;
        TimeSpan rest = options.DurationOf(step.Scenario) + (step.NewProcess ? Start : TimeSpan.Zero)
            + (perf ? options.PerfDuration + PerfEdges : TimeSpan.Zero);
        TimeSpan least = WarmupRule.Shortest(WarmupRule.Least(options.Warmup, step.NewProcess), options.WarmupLimit);
        return (least + rest, TypicalWarmup(step, options) + rest, options.WarmupLimit + rest);
    }

    public static string Describe(IEnumerable<Step> steps, BenchOptions options)
    {
        var each = steps.Select(step => Of(step, options)).ToList();
        TimeSpan least = Sum(each.Select(e => e.Least));
        TimeSpan typical = Sum(each.Select(e => e.Typical));
        TimeSpan most = Sum(each.Select(e => e.Most));
        if (Clock(least) == Clock(most))
        {
            // Fixed warm-ups (--quick): nothing to range over.
            return "~" + Clock(typical);
        }
        return Format.Inv($"~{Clock(typical)} with the warm-ups typical of the 2-CPU reference VM; {Clock(least)}–{Clock(most)} from the warm-up bounds");
    }

    /// <summary>A step's typical warm-up, within the bounds the options set.</summary>
    public static TimeSpan TypicalWarmup(Step step, BenchOptions options)
    {
        TimeSpan shortest = WarmupRule.Shortest(WarmupRule.Least(options.Warmup, step.NewProcess), options.WarmupLimit);
        bool fairness = step.Scenario.Kind == ScenarioKind.Fairness;
        TimeSpan typical = (step.Server.IsFloor, step.NewProcess) switch
        {
            (true, true) => TypicalNewFloorWarmup,
            (true, false) => TypicalReusedFloorWarmup,
            (false, true) => fairness ? options.WarmupLimit : TypicalNewWarmup,
            (false, false) => fairness ? TypicalReusedFairnessWarmup : TypicalReusedWarmup,
        };
        return typical < shortest ? shortest : typical > options.WarmupLimit ? options.WarmupLimit : typical;
    }

    /// <summary>
    /// What is left of a run whose steps typically take <paramref name="typical"/>, <paramref name="finished"/> of
    /// them done at <paramref name="finishedAt"/>, now at <paramref name="elapsed"/>. The steps left are scaled by the
    /// pace of the finished ones (a machine where warm-ups end early, or a noisy one that repeats runs, shows it from
    /// the first step on), less the time already spent in the current step, but never below the steps after it.
    /// </summary>
    public static TimeSpan TimeLeft(IReadOnlyList<TimeSpan> typical, int finished, TimeSpan finishedAt, TimeSpan elapsed)
    {
        TimeSpan estimatedDone = Sum(typical.Take(finished));
        double pace = finished > 0 && estimatedDone > TimeSpan.Zero ? finishedAt / estimatedDone : 1;
        TimeSpan current = finished < typical.Count ? typical[finished] * pace : TimeSpan.Zero;
        TimeSpan after = Sum(typical.Skip(finished + 1)) * pace;
        TimeSpan inCurrent = elapsed - finishedAt;
        return after + (current > inCurrent ? current - inCurrent : TimeSpan.Zero);
    }

    /// <summary>"1 h 05 min", "12 min": the estimate's own precision.</summary>
    public static string Clock(TimeSpan time) => time.TotalHours >= 1
        ? Format.Inv($"{(int)time.TotalHours} h {time.Minutes:00} min")
        : Format.Inv($"{Math.Max(1, (int)Math.Round(time.TotalMinutes))} min");

    private static TimeSpan Sum(IEnumerable<TimeSpan> times) => times.Aggregate(TimeSpan.Zero, (a, b) => a + b);
}
