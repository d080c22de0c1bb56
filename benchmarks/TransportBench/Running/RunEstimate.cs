using TransportBench.Cli;
using TransportBench.Results;
using TransportBench.Servers;

namespace TransportBench.Running;

/// <summary>
/// How long a run will take, from its steps, printed before it starts: the full run is long on a small machine, and a
/// warm-up's length is known only when the server's JIT goes quiet, so the estimate gives the typical figure and the
/// range the warm-up bounds allow.
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

    public static string Describe(IEnumerable<(Scenario Scenario, ServerSpec Server)> steps, BenchOptions options)
    {
        TimeSpan least = TimeSpan.Zero;
        TimeSpan typical = TimeSpan.Zero;
        TimeSpan most = TimeSpan.Zero;
        TimeSpan maxWarmup = options.WarmupMax > options.Warmup ? options.WarmupMax : options.Warmup;
        TimeSpan typicalWarmup = TypicalWarmup < options.Warmup ? options.Warmup : TypicalWarmup > maxWarmup ? maxWarmup : TypicalWarmup;
        foreach ((Scenario scenario, ServerSpec server) in steps)
        {
            TimeSpan duration = options.DurationOf(scenario);
            if (server.IsFloor)
            {
                // The floor warms up for the least warm-up and does not wait for its JIT.
                TimeSpan floor = options.Warmup + duration + Overhead;
                (least, typical, most) = (least + floor, typical + floor, most + floor);
                continue;
            }
            if (scenario.Kind == ScenarioKind.Idle)
            {
                (least, typical, most) = (least + IdleStep, typical + IdleStep, most + IdleStep);
                continue;
            }
            TimeSpan rest = duration + Overhead + (options.NoPerf || scenario.Kind == ScenarioKind.Fairness ? TimeSpan.Zero : options.PerfDuration + PerfEdges);
            least += options.Warmup + rest;
            typical += typicalWarmup + rest;
            most += maxWarmup + rest;
        }
        if (Clock(least) == Clock(most))
        {
            // Fixed warm-ups (--quick): nothing to range over.
            return "~" + Clock(typical);
        }
        return Format.Inv($"~{Clock(typical)} with warm-ups of {typicalWarmup.TotalSeconds:0} s (typical on the 2-CPU reference VM); {Clock(least)}–{Clock(most)} from the warm-up bounds");
    }

    private static string Clock(TimeSpan time) => time.TotalHours >= 1
        ? Format.Inv($"{(int)time.TotalHours} h {time.Minutes:00} min")
        : Format.Inv($"{Math.Max(1, (int)Math.Round(time.TotalMinutes))} min");
}
