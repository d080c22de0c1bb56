using TransportBench.Cli;
using TransportBench.Results;
using TransportBench.Servers;

namespace TransportBench.Running;

/// <summary>
/// How long a run will take, from its steps: printed before it starts (the full run is long on a small machine), and
/// kept up to date while it runs. A warm-up's length is known only when the server's JIT goes quiet, so the estimate
/// gives the typical figure and the range the warm-up bounds allow.
/// </summary>
internal static class RunEstimate
{
    /// <summary>Warm-up until the JIT was quiet, typically, on the 2-CPU reference VM: 29–56 s per measurement.</summary>
    private static readonly TimeSpan TypicalWarmup = TimeSpan.FromSeconds(38);

    /// <summary>Start-up, the stats reads and the shutdown around each server measurement.</summary>
    private static readonly TimeSpan Overhead = TimeSpan.FromSeconds(2);

    /// <summary>perf's attach and the edges of its window around the syscall pass's load.</summary>
    private static readonly TimeSpan PerfEdges = TimeSpan.FromSeconds(2);

    /// <summary>Opening 10,000 connections in batches, and the waits around reading RSS.</summary>
    private static readonly TimeSpan IdleStep = TimeSpan.FromSeconds(12);

    /// <summary>One step's length: at the least warm-up, with a typical one, and at the most.</summary>
    public static (TimeSpan Least, TimeSpan Typical, TimeSpan Most) Of(Scenario scenario, ServerSpec server, BenchOptions options)
    {
        TimeSpan duration = options.DurationOf(scenario);
        if (server.IsFloor)
        {
            // The floor warms up for the least warm-up and does not wait for its JIT.
            TimeSpan floor = options.Warmup + duration + Overhead;
            return (floor, floor, floor);
        }
        if (scenario.Kind == ScenarioKind.Idle)
        {
            return (IdleStep, IdleStep, IdleStep);
        }
        TimeSpan rest = duration + Overhead + (options.NoPerf || scenario.Kind == ScenarioKind.Fairness ? TimeSpan.Zero : options.PerfDuration + PerfEdges);
        return (options.Warmup + rest, TypicalWarmupWithin(options) + rest, options.WarmupLimit + rest);
    }

    public static string Describe(IEnumerable<(Scenario Scenario, ServerSpec Server)> steps, BenchOptions options)
    {
        var each = steps.Select(step => Of(step.Scenario, step.Server, options)).ToList();
        TimeSpan least = Sum(each.Select(e => e.Least));
        TimeSpan typical = Sum(each.Select(e => e.Typical));
        TimeSpan most = Sum(each.Select(e => e.Most));
        if (Clock(least) == Clock(most))
        {
            // Fixed warm-ups (--quick): nothing to range over.
            return "~" + Clock(typical);
        }
        return Format.Inv($"~{Clock(typical)} with warm-ups of {TypicalWarmupWithin(options).TotalSeconds:0} s (typical on the 2-CPU reference VM); {Clock(least)}–{Clock(most)} from the warm-up bounds");
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

    /// <summary>The typical warm-up, within the bounds the options set.</summary>
    private static TimeSpan TypicalWarmupWithin(BenchOptions options) =>
        TypicalWarmup < options.Warmup ? options.Warmup : TypicalWarmup > options.WarmupLimit ? options.WarmupLimit : TypicalWarmup;

    private static TimeSpan Sum(IEnumerable<TimeSpan> times) => times.Aggregate(TimeSpan.Zero, (a, b) => a + b);
}
