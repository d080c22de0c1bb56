using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace TransportBench.Running;

/// <summary>
/// What the run shows while it runs: a line per step with the time spent and the time left, and a line per result;
/// on a terminal also a live bar under them (Spectre.Console): the share of the run done, the phase under way with its
/// countdown, and the time left (<see cref="RunEstimate.TimeLeft"/>), redrawn ten times a second.
/// </summary>
/// <remarks>
/// Threads: the run calls the step methods one at a time; Spectre's refresh thread reads <see cref="_state"/> to draw
/// the bar, so the state is an immutable record replaced whole.
/// </remarks>
internal sealed class Progress
{
    private readonly IAnsiConsole _console;
    private readonly IReadOnlyList<TimeSpan> _typical;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private volatile State _state = new(0, TimeSpan.Zero, null, TimeSpan.Zero);

    // The live bar; null when the console is not a terminal. Set once, before the run's first step.
    private ProgressTask? _bar;

    private Progress(IAnsiConsole console, IReadOnlyList<TimeSpan> typical) => (_console, _typical) = (console, typical);

    /// <summary>Steps finished and when the last one did; the phase under way and when it should end.</summary>
    private sealed record State(int Finished, TimeSpan FinishedAt, string? Phase, TimeSpan PhaseEnd);

    /// <summary>Runs <paramref name="run"/> with the display; <paramref name="typical"/>: each step's typical length.</summary>
    public static async Task<T> RunAsync<T>(IAnsiConsole console, IReadOnlyList<TimeSpan> typical, Func<Progress, Task<T>> run)
    {
        var progress = new Progress(console, typical);
        if (!console.IsLive())
        {
            return await run(progress);
        }
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new StatusColumn(progress))
            .StartAsync(context =>
            {
                progress._bar = context.AddTask("starting", maxValue: 100);
                return run(progress);
            });
    }

    public void BeginStep(string label)
    {
        State state = _state;
        string step = string.Create(CultureInfo.InvariantCulture, $"[{state.Finished + 1,3}/{_typical.Count}]");
        string left = state.Finished > 0 ? Clock(TimeLeft(state)) : "?";
        _console.WriteLine($"{step} {Clock(_clock.Elapsed)} elapsed, ~{left} left · {label}");
        _bar?.Description = Markup.Escape($"{step} {label}");
    }

    /// <summary>Names what runs now and how long it should take.</summary>
    public void Phase(string name, TimeSpan expected)
    {
        _state = _state with { Phase = name, PhaseEnd = _clock.Elapsed + expected };
        UpdateBar();
    }

    /// <summary>A line about the step under way (a noisy run measured again, the latency scenario's rate).</summary>
    public void Note(string line) => _console.WriteLine("          " + line);

    public void EndStep(string result)
    {
        _state = new State(_state.Finished + 1, _clock.Elapsed, null, TimeSpan.Zero);
        Note(result);
        UpdateBar();
    }

    private TimeSpan TimeLeft(State state) => RunEstimate.TimeLeft(_typical, state.Finished, state.FinishedAt, _clock.Elapsed);

    private void UpdateBar()
    {
        TimeSpan elapsed = _clock.Elapsed;
        _bar?.Value = 100 * (elapsed / (elapsed + TimeLeft(_state) + TimeSpan.FromTicks(1)));
    }

    /// <summary>"warm-up… 12 s · ~1:05:00 left": the phase and its countdown, then the run's time left.</summary>
    private string Status()
    {
        State state = _state;
        string phase = state.Phase is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $"{state.Phase}… {Math.Max(0, (state.PhaseEnd - _clock.Elapsed).TotalSeconds):0} s · ");
        return $"{phase}~{Clock(TimeLeft(state))} left";
    }

    private static string Clock(TimeSpan time) => time.ToString(time.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);

    /// <summary>The bar's last column, worked out anew at each redraw so that the countdown moves.</summary>
    private sealed class StatusColumn(Progress progress) : ProgressColumn
    {
        // One line: the text's length changes with the phase, and a wrapped "left" would make the bar jump.
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(progress.Status(), new Style(Color.Grey));
    }
}
