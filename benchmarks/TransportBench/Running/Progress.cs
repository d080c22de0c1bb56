using System.Diagnostics;
using TransportBench.Cli;

namespace TransportBench.Running;

/// <summary>
/// What the run shows while it runs, as plain lines (a terminal, a CI log and a file read the same): a line per step
/// with the time spent and the time left (<see cref="RunEstimate.TimeLeft"/>), and lines about its result.
/// </summary>
/// <remarks>Threads: the run calls it one step at a time.</remarks>
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
        output.WriteLine(Results.Format.Inv($"[{_next + 1,3}/{steps.Count}] {Elapsed(_clock.Elapsed)} elapsed, {left} left · {label}"));
    }

    /// <summary>A line about the step under way (a noisy run measured again, the latency scenario's rate).</summary>
    public void Note(string line) => output.WriteLine("          " + line);

    public void EndStep(string result)
    {
        var kind = RunEstimate.KindOf(steps[_next++]);
        (_measured.TryGetValue(kind, out var lengths) ? lengths : _measured[kind] = []).Add(_clock.Elapsed - _stepStart);
        Note(result);
    }

    private static string Elapsed(TimeSpan time) =>
        time.ToString(time.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", System.Globalization.CultureInfo.InvariantCulture);
}
