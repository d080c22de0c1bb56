using KestrelEpollTransport.Interop;

namespace KestrelEpollTransport.Internal;

// The hand-off: while the loop is busy, a thread-pool work item polls in the loop thread's place
// (docs/architecture.md, "Busy loops: the thread pool polls"). Split from EpollEventLoop.cs by concern.
internal sealed unsafe partial class EpollEventLoop
{
    /// <summary>
    /// Connection events in one blocking wait from which the loop hands polling to the thread pool (see
    /// <see cref="HandOffToThreadPool"/>). A lone event is the sign of light load: handled here, it costs no extra
    /// syscall; two or more mean requests are arriving faster than they are answered.
    /// </summary>
    private const int HandOffThreshold = 2;

    /// <summary>
    /// How long the sleeping loop thread lets a queued poll wait for a pool thread before it takes the loop back
    /// (see <see cref="HandOffToThreadPool"/>): a pool whose threads are all blocked must not stall the I/O.
    /// </summary>
    internal const int DefaultReclaimAfterMilliseconds = 10;

    // _pollState: who runs as the loop while a hand-off lasts.
    private const int PollIdle = 0;     // The loop thread (no hand-off, or handed back / taken back).
    private const int PollQueued = 1;   // Nobody: a poll is queued on the thread pool.
    private const int PollRunning = 2;  // The pool thread running the poll.

    /// <summary>A blocking eventfd the loop thread sleeps on while the thread pool polls; written to hand polling back.</summary>
    private readonly int _handBackFd;

    /// <summary>Whether busy passes hand polling to the thread pool (off with inline scheduling: see <see cref="HandOffToThreadPool"/>).</summary>
    private readonly bool _handOff;

    /// <summary>The thread-pool work item that polls while the loop is busy; one per loop, never allocated again.</summary>
    private readonly ThreadPoolPoller _poller;

    /// <summary>Queues the poll: the thread pool, or a test's stand-in for it.</summary>
    private readonly Action<IThreadPoolWorkItem> _queueWorkItem;

    /// <summary>See <see cref="DefaultReclaimAfterMilliseconds"/>.</summary>
    private readonly int _reclaimAfterMilliseconds;

    /// <summary>PollIdle, PollQueued or PollRunning; moved with compare-exchange only.</summary>
    private int _pollState;

    /// <summary>1 while <see cref="_poller"/> sits in the pool's queue (a taken-back poll may still be there).</summary>
    private int _pollerQueued;

    /// <summary>Polls run so far: the loop thread takes the loop back only when this stood still for a whole wait.</summary>
    private int _polls;

    /// <summary>Hand-offs so far (tests; the metric is the public view).</summary>
    internal int HandOffCount { get; private set; }

    /// <summary>
    /// Busy: lets the thread pool poll in this thread's place until a poll finds nothing, then takes over again.
    /// </summary>
    /// <remarks>
    /// Each event queued the application's work to the thread pool (the input pipe's reader scheduler). Were this
    /// thread to wait in epoll_wait now, every request that arrives while those items run would wake it and preempt
    /// them: two context switches per request on a busy CPU, the largest cost of the hand-off that inline scheduling
    /// avoids (measured: 0.55 switches and ~5 µs per request on one CPU). Instead a poll (epoll_wait with no timeout)
    /// is queued behind that work; it handles what arrived meanwhile, queues itself again behind the new work, and
    /// hands back when a poll finds nothing. The application still runs on the thread pool, never on a poll: a
    /// blocking handler blocks one pool thread, not the loop. The pool thread runs as the loop while it polls
    /// (<see cref="IsLoopThread"/>); this thread sleeps on an eventfd meanwhile, so exactly one thread is the loop.
    /// </remarks>
    private void HandOffToThreadPool()
    {
        _metrics.LoopHandOff();
        HandOffCount++;
        t_currentLoop = null;
        Volatile.Write(ref _pollState, PollQueued);
        QueuePoller();
        int polls = Volatile.Read(ref _polls);
        while (true)
        {
            int ready = Libc.PollOne(_handBackFd, Libc.POLLIN, _reclaimAfterMilliseconds);
            if (ready > 0)
            {
                // Handed back: the poll set PollIdle before writing.
                ulong value;
                nint result = Libc.Read(_handBackFd, &value, sizeof(ulong));
                Debug.Assert(result == sizeof(ulong), $"eventfd read failed: {result}");
                // Acquire, pairing with the poll's release of PollIdle: what its pass wrote is visible here (the eventfd
                // orders it in practice; the .NET memory model promises it only through this pair).
                int state = Volatile.Read(ref _pollState);
                Debug.Assert(state == PollIdle, $"handed back in state {state}");
                break;
            }
            Debug.Assert(ready == 0 || ready == -Errno.EINTR, $"poll failed: {ready}");
            if (ready != 0)
            {
                continue;
            }
            // No poll ran for a whole wait: it sits in the pool's queue behind work that does not finish (every pool
            // thread busy or blocked). Take the loop back; the queued poll will find the state changed and do nothing.
            // A poll that ran meanwhile (it is queued again now, behind new work) is progress: wait on.
            int now = Volatile.Read(ref _polls);
            if (now == polls && Interlocked.CompareExchange(ref _pollState, PollIdle, PollQueued) == PollQueued)
            {
                _metrics.LoopReclaim();
                break;
            }
            polls = now;
        }
        t_currentLoop = this;
    }

    /// <summary>Queues the poll unless it is still in the pool's queue (taken back earlier, not yet run).</summary>
    private void QueuePoller()
    {
        if (Interlocked.Exchange(ref _pollerQueued, 1) == 0)
        {
            _queueWorkItem(_poller);
        }
    }

    /// <summary>One poll on a thread-pool thread, as the loop; see <see cref="HandOffToThreadPool"/>.</summary>
    private void Poll()
    {
        Interlocked.Exchange(ref _pollerQueued, 0);
        if (Interlocked.CompareExchange(ref _pollState, PollRunning, PollQueued) != PollQueued)
        {
            return; // Taken back by the loop thread.
        }
        Interlocked.Increment(ref _polls);
        t_currentLoop = this;
        int handled;
        try
        {
            handled = RunPass(Epoll.Wait(_epollFd, _events, MaxEvents, 0));
        }
        finally
        {
            t_currentLoop = null;
        }
        if ((handled > 0 || !_queue.IsEmpty) && !_stopping)
        {
            // Behind the work this pass queued: the next poll finds what arrives while it runs.
            Volatile.Write(ref _pollState, PollQueued);
            QueuePoller();
            return;
        }
        Volatile.Write(ref _pollState, PollIdle);
        ulong one = 1;
        nint written = Libc.Write(_handBackFd, &one, sizeof(ulong));
        Debug.Assert(written == sizeof(ulong), $"eventfd write failed: {written}");
    }

    private sealed class ThreadPoolPoller(EpollEventLoop loop) : IThreadPoolWorkItem
    {
        public void Execute() => loop.Poll();
    }
}
