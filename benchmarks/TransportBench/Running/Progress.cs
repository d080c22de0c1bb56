using System.Diagnostics;
using System.Globalization;

namespace TransportBench.Running;

/// <summary>
/// The live display: a line per step with elapsed time and an estimate of what is left, and, on a terminal, a
/// countdown of the current phase rewritten in place once a second. Redirected output gets the step lines only.
/// </summary>
internal sealed class Progress : IDisposable
{
    private readonly int _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _interactive = !Console.IsOutputRedirected;
    private readonly Timer _ticker;

    // Guards the console line and the phase fields: the ticker writes from a timer thread.
    private readonly Lock _gate = new();
    private int _done;
    private string? _phase;
    private long _phaseEndMillis;

    public Progress(int totalSteps)
    {
        _total = totalSteps;
        _ticker = new Timer(_ => Tick(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public void BeginStep(string label)
    {
        lock (_gate)
        {
            ClearLineUnsynchronized();
            _done++;
            double elapsed = _clock.Elapsed.TotalSeconds;
            string eta = _done > 1 ? Clock(elapsed / (_done - 1) * (_total - _done + 1)) : "?";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[{_done,3}/{_total}] {Clock(elapsed)} elapsed, ~{eta} left · {label}"));
        }
    }

    /// <summary>Names what runs now and how long it should take.</summary>
    public void Phase(string name, TimeSpan expected)
    {
        lock (_gate)
        {
            _phase = name;
            _phaseEndMillis = (long)(_clock.Elapsed + expected).TotalMilliseconds;
            WritePhaseUnsynchronized();
        }
    }

    public void EndStep(string result)
    {
        lock (_gate)
        {
            _phase = null;
            ClearLineUnsynchronized();
            Console.WriteLine("          " + result);
        }
    }

    public void Dispose() => _ticker.Dispose();

    private void Tick()
    {
        lock (_gate)
        {
            WritePhaseUnsynchronized();
        }
    }

    private void WritePhaseUnsynchronized()
    {
        if (!_interactive || _phase is null)
        {
            return;
        }
        double left = Math.Max(0, (_phaseEndMillis - _clock.Elapsed.TotalMilliseconds) / 1000);
        Console.Write(string.Create(CultureInfo.InvariantCulture, $"\r          {_phase}… {left:0} s ").PadRight(60));
    }

    private void ClearLineUnsynchronized()
    {
        if (_interactive)
        {
            Console.Write("\r" + new string(' ', 60) + "\r");
        }
    }

    private static string Clock(double seconds) =>
        TimeSpan.FromSeconds(seconds).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);
}
