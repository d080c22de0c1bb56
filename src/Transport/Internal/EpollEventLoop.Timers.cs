namespace KestrelEpollTransport.Internal;

// Timers: the loop is the timer (epoll_wait's timeout and a short list of due times). Split from EpollEventLoop.cs by
// concern; used by the listener's back-off under fd exhaustion.
internal sealed unsafe partial class EpollEventLoop
{
    /// <summary>
    /// Delayed work (listener back-offs): few entries, so a list scanned per pass beats a heap. Guarded by itself.
    /// The loop is the timer so that a back-off under fd exhaustion needs no new thread or fd (a first .NET timer starts
    /// a thread, and thread creation itself can fail then).
    /// </summary>
    private readonly List<(long Due, Action<object?> Action, object? State)> _timers = [];

    /// <summary>Runs <paramref name="action"/> on the loop thread after <paramref name="delay"/>. Any thread.</summary>
    public void ScheduleAfter(TimeSpan delay, Action<object?> action, object? state)
    {
        lock (_timers)
        {
            _timers.Add((Environment.TickCount64 + (long)delay.TotalMilliseconds, action, state));
        }
        // Wake a blocked loop so it shortens its epoll_wait timeout; no-op while it runs.
        Schedule(static _ => { }, null);
    }

    /// <summary>Milliseconds until the next timer (for epoll_wait), or -1 when none.</summary>
    private int NextTimerTimeout()
    {
        // Unlocked look first: nearly always empty. A timer added meanwhile wakes the loop (ScheduleAfter posts).
        if (_timers.Count == 0)
        {
            return -1;
        }
        lock (_timers)
        {
            if (_timers.Count == 0)
            {
                return -1;
            }
            long next = long.MaxValue;
            foreach (var timer in _timers)
            {
                next = Math.Min(next, timer.Due);
            }
            return (int)Math.Clamp(next - Environment.TickCount64, 0, int.MaxValue);
        }
    }

    /// <summary>Moves due timers to the posted-work queue, which runs next. Loop thread.</summary>
    private void RunDueTimers()
    {
        if (_timers.Count == 0)
        {
            return;
        }
        lock (_timers)
        {
            long now = Environment.TickCount64;
            for (int i = _timers.Count - 1; i >= 0; i--)
            {
                if (_timers[i].Due <= now)
                {
                    _queue.Enqueue((_timers[i].Action, _timers[i].State));
                    _timers.RemoveAt(i);
                }
            }
        }
    }
}
