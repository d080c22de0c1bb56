namespace TransportBench.Running;

/// <summary>A plain line per step with the time spent and left, and lines about its result; called one step at a time.</summary>
internal sealed class Progress(TextWriter output, IReadOnlyList<Step> steps, BenchOptions options)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<(bool, bool, ScenarioKind), List<TimeSpan>> _measured = [];
    private int _next;
    private TimeSpan _stepStart;

    public void BeginStep(string label)
    {
        _stepStart = _clock.Elapsed;
        string left = _next > 0 ? "~" + RunEstimate.Clock(RunEstimate.TimeLeft(steps, _next, _measured, options)) : "?";
        output.WriteLine(Format.Inv($"[{_next + 1,3}/{steps.Count}] {Elapsed(_clock.Elapsed)} elapsed, {left} left · {label}"));
    }

    /// <summary>A line about the step under way (a noisy run measured again, the latency scenario's rate).</summary>
    public void Note(string line) => output.WriteLine("          " + line);
    public void EndStep(string result)
    {
        var kind = RunEstimate.KindOf(steps[_next++]);
        (_measured.TryGetValue(kind, out var lengths) ? lengths : _measured[kind] = []).Add(_clock.Elapsed - _stepStart);
        Note(result);
    }

    private static string Elapsed(TimeSpan time) => time.ToString(time.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);
}

/// <summary>How long a run will take: the warm-up bounds, then the mean of the steps of each kind (docs/benchmarks.md).</summary>
internal static class RunEstimate
{
    /// <summary>Steps alike in length: the floor or a server, a new process or a kept one, and the idle and fairness
    /// scenarios, which load differently.</summary>
    public static (bool Floor, bool NewProcess, ScenarioKind Kind) KindOf(Step step) => (step.Server.IsFloor, step.NewProcess, step.Scenario.Kind);

    /// <summary>A step at its shortest and at its longest: the warm-up's bounds plus the timed run and the syscall pass.</summary>
    public static (TimeSpan Least, TimeSpan Most) Bounds(Step step, BenchOptions options)
    {
        if (step.Scenario.Kind == ScenarioKind.Idle)
        {
            return default;
        }
        bool perf = !options.NoPerf && !step.Server.IsFloor && step.Scenario.Kind != ScenarioKind.Fairness;
        TimeSpan rest = options.DurationOf(step.Scenario) + (perf ? options.PerfDuration : TimeSpan.Zero);
        TimeSpan least = WarmupRule.Shortest(WarmupRule.Least(options.Warmup, step.NewProcess), options.WarmupLimit);
        return (least + rest, options.WarmupLimit + rest);
    }

    public static string Describe(IReadOnlyList<Step> steps, BenchOptions options)
    {
        TimeSpan least = Sum(steps.Select(step => Bounds(step, options).Least));
        TimeSpan most = Sum(steps.Select(step => Bounds(step, options).Most));
        return Clock(least) == Clock(most)
            ? "~" + Clock(least)
            : $"{Clock(least)}–{Clock(most)} from the warm-up bounds; the time left follows from the steps measured";
    }

    /// <summary>The steps from <paramref name="next"/> on; <paramref name="measured"/> holds the finished ones by <see cref="KindOf"/>.</summary>
    public static TimeSpan TimeLeft(
        IReadOnlyList<Step> steps, int next, IReadOnlyDictionary<(bool, bool, ScenarioKind), List<TimeSpan>> measured, BenchOptions options) =>
        Sum(steps.Skip(next).Select(step => measured.TryGetValue(KindOf(step), out var lengths) && lengths.Count > 0
            ? Sum(lengths) / lengths.Count
            : Bounds(step, options).Least));

    /// <summary>"1 h 05 min", "12 min": the estimate's own precision.</summary>
    public static string Clock(TimeSpan time) => time.TotalHours >= 1
        ? Format.Inv($"{(int)time.TotalHours} h {time.Minutes:00} min")
        : Format.Inv($"{Math.Max(1, (int)Math.Round(time.TotalMinutes))} min");

    private static TimeSpan Sum(IEnumerable<TimeSpan> times) => times.Aggregate(TimeSpan.Zero, (a, b) => a + b);
}
