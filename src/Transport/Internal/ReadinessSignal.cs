using System.Threading.Tasks.Sources;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// Turns edge-triggered readiness into an awaitable for one waiter at a time: used for "the socket became writable
/// again" (the send path) and "a connection is waiting to be accepted" (the accept path).
/// </summary>
/// <remarks>
/// Protocol. The waiter calls <see cref="Reset"/> before the syscall that may fail with EAGAIN, and after an EAGAIN calls
/// <see cref="WaitAsync"/>. The loop thread calls <see cref="Signal"/> on every edge. An edge between Reset and
/// WaitAsync leaves the state <see cref="State.Ready"/>, so WaitAsync completes at once and the waiter retries: no edge
/// is lost, and no extra syscall is made when none came. <see cref="Close"/> is final and wakes a waiter with false.
/// Allocation-free: the awaitable is this object (<see cref="IValueTaskSource{TResult}"/>).
/// </remarks>
internal sealed class ReadinessSignal : IValueTaskSource<bool>
{
    private enum State
    {
        /// <summary>No edge since the last <see cref="Reset"/>, nobody waiting.</summary>
        Idle,
        /// <summary>An edge arrived since the last <see cref="Reset"/>; nobody is waiting.</summary>
        Ready,
        /// <summary>A waiter is registered in <see cref="_source"/> and will be completed by the next edge or close.</summary>
        Waiting,
        /// <summary>Closed: every wait completes at once with false. Final.</summary>
        Closed,
    }

    /// <summary>A <see cref="State"/>; changed only by Interlocked operations.</summary>
    private int _state;

    /// <summary>The pending wait; reset by the waiter (the only thread that starts a wait) before each one.</summary>
    private ManualResetValueTaskSourceCore<bool> _source;

    /// <param name="runContinuationsAsynchronously">
    /// False: the waiter resumes inline on the thread that signals (the loop), e.g. to go on writing there.
    /// True: it resumes on the thread pool, keeping its work off the loop.
    /// </param>
    public ReadinessSignal(bool runContinuationsAsynchronously)
    {
        _source.RunContinuationsAsynchronously = runContinuationsAsynchronously;
    }

    public bool IsClosed => Volatile.Read(ref _state) == (int)State.Closed;

    /// <summary>Forgets edges seen so far; called by the waiter right before its syscall.</summary>
    public void Reset() => Interlocked.CompareExchange(ref _state, (int)State.Idle, (int)State.Ready);

    /// <summary>
    /// Waits for the next edge since <see cref="Reset"/>: true when one came (retry the syscall), false when closed.
    /// One waiter at a time.
    /// </summary>
    public ValueTask<bool> WaitAsync()
    {
        _source.Reset();
        int previous = Interlocked.CompareExchange(ref _state, (int)State.Waiting, (int)State.Idle);
        Debug.Assert(previous != (int)State.Waiting, "ReadinessSignal supports one waiter at a time.");
        return previous switch
        {
            (int)State.Idle => new ValueTask<bool>(this, _source.Version),
            (int)State.Ready => new ValueTask<bool>(true),
            _ => new ValueTask<bool>(false),
        };
    }

    /// <summary>An edge: wakes the waiter, or remembers it for the next <see cref="WaitAsync"/>.</summary>
    public void Signal()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state is (int)State.Ready or (int)State.Closed)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _state, (int)State.Ready, state) == state)
            {
                if (state == (int)State.Waiting)
                {
                    _source.SetResult(true);
                }
                return;
            }
        }
    }

    /// <summary>Closes the signal for good; a waiter wakes with false.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _state, (int)State.Closed) == (int)State.Waiting)
        {
            _source.SetResult(false);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _source.OnCompleted(continuation, state, token, flags);
}
