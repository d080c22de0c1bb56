namespace KestrelEpollTransport.Internal;

/// <summary>
/// A loop's delayed work (listener back-offs): the loop is the timer, through <c>epoll_wait</c>'s timeout, so a
/// back-off under fd exhaustion needs no new thread or fd (a first .NET timer starts a thread, and thread creation
/// itself can fail then).
/// </summary>
/// <remarks>Few entries, so a list scanned per pass beats a heap. <see cref="Add"/> from any thread; the rest as the loop.</remarks>
internal sealed class LoopTimers
{
    /// <summary>Due time (<see cref="Environment.TickCount64"/>) and work. Guarded by itself.</summary>
    private readonly List<(long Due, Action<object?> Action, object? State)> _timers = [];

    /// <summary>Adds work due after <paramref name="delay"/>; the caller wakes the loop so it shortens its wait. Any thread.</summary>
    public void Add(TimeSpan delay, Action<object?> action, object? state)
    {
        lock (_timers)
        {
            _timers.Add((Environment.TickCount64 + (long)delay.TotalMilliseconds, action, state));
        }
    }

    /// <summary>Milliseconds until the next timer (for epoll_wait), or -1 when none.</summary>
    public int NextTimeout()
    {
        // Unlocked look first: nearly always empty. A timer added meanwhile wakes the loop (the caller of Add posts).
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

    /// <summary>Posts due work to <paramref name="executor"/>, which runs it next. As the loop.</summary>
    public void PostDue(LoopExecutor executor)
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
                    executor.Post(_timers[i].Action, _timers[i].State);
                    _timers.RemoveAt(i);
                }
            }
        }
    }
}
