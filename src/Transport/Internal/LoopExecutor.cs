using System.Collections.Concurrent;
using KestrelEpollTransport.Interop;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// Who runs as an event loop right now, and the work posted to it. One field, <see cref="_state"/>, says who: the loop
/// thread (awake or blocked in <c>epoll_wait</c>), a thread-pool thread polling in its place while the loop is busy,
/// nobody (a poll is queued, or the loop ended), or a thread that posted work after the end. Never two at once.
/// </summary>
/// <remarks>
/// <para>Protocol. Every move of <see cref="_state"/> is listed in docs/architecture.md ("The loop's executor"), one row
/// per move, with the method that makes it. Moves that two threads may race for (<see cref="State.Blocked"/> →
/// Running, <see cref="State.PollQueued"/> → PollRunning or Running, <see cref="State.Ended"/> → Draining) are
/// compare-exchanges; every other move is made by the one thread that runs as the loop in the state it leaves.</para>
/// <para>Posting. <see cref="Post"/> enqueues, then looks at the state; the loop thread moves to
/// <see cref="State.Blocked"/> with a full fence before its last look at the queue. So either the loop thread sees the
/// work, or the poster sees Blocked and writes the wake-up eventfd; a loop that is awake costs posters no syscall.</para>
/// <para>Hand-off (docs/architecture.md, "Busy loops: the thread pool polls"). After a pass that handled
/// <see cref="HandOffThreshold"/> or more connection events, the loop thread queues a poll on the thread pool behind
/// the work those events queued there, and sleeps on <see cref="_handBackFd"/>. The poll runs one pass with a zero
/// timeout as the loop, queues itself again while it finds work, and hands the loop back when it finds none.</para>
/// <para><see cref="IsCurrent"/> is true on the thread that runs as the loop in the current state; the thread-static
/// <see cref="t_current"/> behind it is written only by <see cref="Become"/>.</para>
/// </remarks>
internal sealed unsafe class LoopExecutor
{
    /// <summary>
    /// Connection events in one pass of the loop thread from which it hands polling to the thread pool. A lone event
    /// is the sign of light load: handled by the loop thread, it costs no extra syscall; two or more mean requests are
    /// arriving faster than they are answered.
    /// </summary>
    private const int HandOffThreshold = 2;

    /// <summary>
    /// How long the sleeping loop thread lets a queued poll wait for a pool thread before it takes the loop back: a pool
    /// whose threads are all blocked must not stall the I/O.
    /// </summary>
    internal const int DefaultReclaimAfterMilliseconds = 10;

    /// <summary>Who runs as the loop. Each member states who, and what a poster must do.</summary>
    internal enum State
    {
        /// <summary>The loop thread, awake: it looks at the queue before it waits again, so a poster does nothing more.</summary>
        Running,

        /// <summary>The loop thread, in (or about to enter) a blocking <c>epoll_wait</c>: the poster that moves it to Running writes the eventfd.</summary>
        Blocked,

        /// <summary>Nobody: a poll is queued on the thread pool and will run the posted work; the loop thread sleeps.</summary>
        PollQueued,

        /// <summary>The thread-pool thread running the poll; it looks at the queue before it hands back.</summary>
        PollRunning,

        /// <summary>Nobody: the loop thread ended. A poster runs its work itself (<see cref="RunPostedWorkAfterEnd"/>).</summary>
        Ended,

        /// <summary>A thread that posted after the end, running the queue; other posters leave their work to it.</summary>
        Draining,
    }

    /// <summary>The executor the current thread runs as now, if any. Written only by <see cref="Become"/>.</summary>
    [ThreadStatic]
    private static LoopExecutor? t_current;

    /// <summary>Who runs as the loop: a <see cref="State"/>. The only state of this type; see the remarks for who moves it.</summary>
    private int _state = (int)State.Running;

    /// <summary>Work posted from any thread; run only by the thread that runs as the loop.</summary>
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _queue = new();

    /// <summary>Set once by <see cref="RequestStop"/>: a request, read by the loop thread and the poll; not a state of its own.</summary>
    private volatile bool _stopRequested;

    /// <summary>Nonblocking eventfd in the loop's epoll set (level-triggered): written to wake a blocked loop thread.</summary>
    private readonly int _wakeFd;

    /// <summary>A blocking eventfd the loop thread sleeps on while the thread pool polls; written to hand polling back.</summary>
    private readonly int _handBackFd;

    /// <summary>
    /// Guards the lifetime of the two eventfds: a write from another thread (<see cref="Wake"/>) happens under it and after
    /// a look at <see cref="_fdsClosed"/>, and <see cref="CloseFds"/> closes them under it. Otherwise a poster that won
    /// the Blocked exchange and was preempted could write 8 bytes into a number that by then belongs to a new client's
    /// socket.
    /// </summary>
    private readonly Lock _fdLock = new();

    /// <summary>Set under <see cref="_fdLock"/> when <see cref="CloseFds"/> closed the eventfds.</summary>
    private bool _fdsClosed;

    /// <summary>Runs one pass as the loop with a zero timeout; returns the connection events it handled.</summary>
    private readonly Func<int> _pollPass;

    /// <summary>Whether busy passes hand polling to the thread pool (off with inline scheduling: nothing to hand off).</summary>
    private readonly bool _handOff;

    /// <summary>The thread-pool work item that polls; one per loop, never allocated again.</summary>
    private readonly ThreadPoolPoll _poll;

    /// <summary>Queues the poll: the thread pool, or a test's stand-in for it.</summary>
    private readonly Action<IThreadPoolWorkItem> _queueWorkItem;

    /// <summary>See <see cref="DefaultReclaimAfterMilliseconds"/>.</summary>
    private readonly int _reclaimAfterMilliseconds;

    private readonly EpollTransportMetrics _metrics;

    private readonly ILogger _logger;

    /// <summary>The loop's number, for the log.</summary>
    private readonly int _loopId;

    /// <param name="loopId">The loop's number, for the log.</param>
    /// <param name="logger">Where a fault in posted work is logged.</param>
    /// <param name="pollPass">One pass of the loop with a zero timeout, run by the poll.</param>
    /// <param name="metrics">Counts wake-ups, hand-offs and take-backs.</param>
    /// <param name="handOffWhenBusy">Whether busy passes hand polling to the thread pool.</param>
    /// <param name="queueWorkItem">Queues the poll; null: the thread pool's global queue.</param>
    /// <param name="reclaimAfterMilliseconds">See <see cref="DefaultReclaimAfterMilliseconds"/>.</param>
    /// <exception cref="IOException">An eventfd could not be made.</exception>
    public LoopExecutor(int loopId, ILogger logger, Func<int> pollPass, EpollTransportMetrics metrics, bool handOffWhenBusy, Action<IThreadPoolWorkItem>? queueWorkItem, int reclaimAfterMilliseconds)
    {
        _loopId = loopId;
        _logger = logger;
        _pollPass = pollPass;
        _metrics = metrics;
        _handOff = handOffWhenBusy;
        _queueWorkItem = queueWorkItem ?? (static item => ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false));
        _reclaimAfterMilliseconds = reclaimAfterMilliseconds;
        _poll = new ThreadPoolPoll(this);
        _wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            throw new IOException($"eventfd failed: {Errno.Describe(-_wakeFd)}");
        }
        _handBackFd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
        if (_handBackFd < 0)
        {
            Libc.Close(_wakeFd);
            throw new IOException($"eventfd failed: {Errno.Describe(-_handBackFd)}");
        }
    }

    /// <summary>The eventfd to add to the loop's epoll set (for <c>EPOLLIN</c>): readable when a poster woke the loop.</summary>
    public int WakeFd => _wakeFd;

    /// <summary>True on the thread that runs as the loop now (see <see cref="State"/>); loop-owned state is touched only there.</summary>
    public bool IsCurrent => t_current == this;

    /// <summary>Whether <see cref="RequestStop"/> was called.</summary>
    public bool StopRequested => _stopRequested;

    /// <summary>Hand-offs so far (tests; the metric is the public view).</summary>
    internal int HandOffCount { get; private set; }

    /// <summary>
    /// For tests only, never called by the transport: puts <see cref="_state"/> in <paramref name="state"/> without
    /// the move that leads there, to stage a race that a test cannot time (a poster that won the Blocked exchange
    /// before a stop and writes its wake-up only after it).
    /// </summary>
    internal void ForceStateForTest(State state) => Volatile.Write(ref _state, (int)state);

    /// <summary>Runs <paramref name="action"/> as the loop, after the events being handled now. Any thread.</summary>
    public void Post(Action<object?> action, object? state)
    {
        _queue.Enqueue((action, state));
        // The enqueue is a full fence, as is the loop thread's move to Blocked: one of the two sides sees the other.
        if (Volatile.Read(ref _state) == (int)State.Blocked
            && Interlocked.CompareExchange(ref _state, (int)State.Running, (int)State.Blocked) == (int)State.Blocked)
        {
            Wake();
        }
        // The loop thread moves to Ended before its last look at the queue: either it runs this work, or this thread
        // sees the end and runs it.
        if (Volatile.Read(ref _state) >= (int)State.Ended)
        {
            RunPostedWorkAfterEnd();
        }
    }

    /// <summary>Asks the loop thread to end after its current pass, and wakes it. Any thread.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        Wake();
    }

    /// <summary>The loop thread starts: it runs as the loop (state <see cref="State.Running"/> from construction).</summary>
    public void EnterLoopThread()
    {
        Debug.Assert(Volatile.Read(ref _state) == (int)State.Running, $"The loop thread starts in state {(State)_state}.");
        Become(this);
    }

    /// <summary>
    /// Running → Blocked before a wait with <paramref name="timeout"/>, unless work is queued: then the wait must not block
    /// (returns 0). Loop thread.
    /// </summary>
    public int PrepareToWait(int timeout)
    {
        Debug.Assert(IsCurrent && Volatile.Read(ref _state) == (int)State.Running, $"PrepareToWait in state {(State)_state}.");
        if (!_queue.IsEmpty)
        {
            return 0;
        }
        // A full fence before the last look at the queue: a poster that enqueued before it is seen here, one after it
        // sees Blocked.
        Interlocked.Exchange(ref _state, (int)State.Blocked);
        if (!_queue.IsEmpty)
        {
            Volatile.Write(ref _state, (int)State.Running);
            return 0;
        }
        return timeout;
    }

    /// <summary>
    /// Blocked → Running after the wait returned (a poster may have made the move already). Loop thread.
    /// </summary>
    public void Woke()
    {
        Debug.Assert(Volatile.Read(ref _state) is (int)State.Blocked or (int)State.Running, $"Woke in state {(State)_state}.");
        Volatile.Write(ref _state, (int)State.Running);
    }

    /// <summary>Reads the wake-up eventfd back to zero (it is level-triggered). As the loop.</summary>
    public void ConsumeWakeUp()
    {
        ulong value;
        _ = Libc.Read(_wakeFd, &value, sizeof(ulong));
    }

    /// <summary>Runs the work queued before this call (work that posts more cannot starve <c>epoll_wait</c>). As the loop.</summary>
    public void RunPostedWork()
    {
        Debug.Assert(IsCurrent, "Posted work runs as the loop.");
        int count = _queue.Count;
        while (count-- > 0 && _queue.TryDequeue(out var work))
        {
            RunWorkItem(work);
        }
    }

    /// <summary>
    /// After a pass of the loop thread that handled <paramref name="connectionEvents"/>: when busy, lets the thread pool poll in
    /// this thread's place until a poll finds nothing, or until no poll ran for a whole reclaim period. Loop thread.
    /// </summary>
    /// <remarks>
    /// Each event queued the application's work to the thread pool (the input pipe's reader scheduler). Were this
    /// thread to wait in epoll_wait now, every request that arrives while those items run would wake it and preempt
    /// them: two context switches per request on a busy CPU. A poll queued behind that work handles what arrived
    /// meanwhile instead. The application never runs on a poll: a blocking handler blocks one pool thread, not the loop.
    /// Not while a poll taken back earlier still waits in the pool's queue: the pool is starved, and a new hand-off would
    /// only sleep a reclaim period and take the loop back again. That poll's run (a no-op) shows the pool is alive.
    /// </remarks>
    public void AfterPass(int connectionEvents)
    {
        if (connectionEvents < HandOffThreshold || !_handOff || _stopRequested || _poll.IsQueued)
        {
            return;
        }
        _metrics.LoopHandOff();
        HandOffCount++;
        Become(null);
        Debug.Assert(Volatile.Read(ref _state) == (int)State.Running, $"Hand-off in state {(State)_state}.");
        Volatile.Write(ref _state, (int)State.PollQueued);
        _poll.Queue(_queueWorkItem);
        int runs = _poll.Runs;
        while (true)
        {
            int ready = Libc.PollOne(_handBackFd, Libc.POLLIN, _reclaimAfterMilliseconds);
            if (ready > 0)
            {
                // Handed back: the poll moved PollRunning → Running before writing.
                ulong value;
                var result = Libc.Read(_handBackFd, &value, sizeof(ulong));
                Debug.Assert(result.BytesOrError == sizeof(ulong), $"eventfd read failed: {result}");
                // Acquire, pairing with the poll's release of Running: what its pass wrote is visible here (the eventfd
                // orders it in practice; the .NET memory model promises it only through this pair).
                int state = Volatile.Read(ref _state);
                Debug.Assert(state == (int)State.Running, $"Handed back in state {(State)state}.");
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
            int now = _poll.Runs;
            if (now == runs && Interlocked.CompareExchange(ref _state, (int)State.Running, (int)State.PollQueued) == (int)State.PollQueued)
            {
                _metrics.LoopReclaim();
                break;
            }
            runs = now;
        }
        Become(this);
    }

    /// <summary>PollQueued → PollRunning: the queued poll starts, unless the loop thread took the loop back. Pool thread.</summary>
    private bool TryStartPoll()
        => Interlocked.CompareExchange(ref _state, (int)State.PollRunning, (int)State.PollQueued) == (int)State.PollQueued;

    /// <summary>One poll as the loop, then PollRunning → PollQueued (it found work) or → Running (hand back). Pool thread.</summary>
    private void Poll()
    {
        var previous = Become(this);
        int handled;
        try
        {
            handled = _pollPass();
        }
        finally
        {
            Become(previous);
        }
        if ((handled > 0 || !_queue.IsEmpty) && !_stopRequested)
        {
            // Behind the work this pass queued: the next poll finds what arrives while it runs.
            Volatile.Write(ref _state, (int)State.PollQueued);
            _poll.Queue(_queueWorkItem);
            return;
        }
        Volatile.Write(ref _state, (int)State.Running);
        ulong one = 1;
        var written = Libc.Write(_handBackFd, &one, sizeof(ulong));
        Debug.Assert(written.BytesOrError == sizeof(ulong), $"eventfd write failed: {written}");
    }

    /// <summary>
    /// Running → Ended: the loop thread is done; from now on a thread that posts runs its work. Runs what is queued.
    /// Loop thread, last.
    /// </summary>
    public void End()
    {
        Debug.Assert(Volatile.Read(ref _state) == (int)State.Running, $"End in state {(State)_state}.");
        Become(null);
        Interlocked.Exchange(ref _state, (int)State.Ended);
        RunPostedWorkAfterEnd();
    }

    /// <summary>
    /// Ended → Draining → Ended: runs work posted after the loop thread ended, on the posting thread, as the loop (one
    /// thread at a time, never nested: work that posts more leaves it to the loop below). Without it, a connection
    /// started on a stopping loop (a listener disposed while an accept was between accept4 and Start) or aborted after
    /// the stop would never close: its fd would stay open, and its input, ConnectionClosed and DisposeAsync would never
    /// complete.
    /// </summary>
    private void RunPostedWorkAfterEnd()
    {
        while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _state, (int)State.Draining, (int)State.Ended) == (int)State.Ended)
        {
            var previous = Become(this);
            try
            {
                while (_queue.TryDequeue(out var work))
                {
                    RunWorkItem(work);
                }
            }
            finally
            {
                Become(previous);
                Volatile.Write(ref _state, (int)State.Ended);
            }
        }
    }

    /// <summary>Closes the eventfds; the loop thread has ended (or never started). A later <see cref="Wake"/> does nothing.</summary>
    public void CloseFds()
    {
        // No poll can still be running: the loop thread ends only after a hand-off was handed back or taken back, and
        // a taken-back poll does nothing when it finally runs.
        lock (_fdLock)
        {
            _fdsClosed = true;
            Libc.Close(_handBackFd);
            Libc.Close(_wakeFd);
        }
    }

    /// <summary>Writes the wake-up eventfd, unless <see cref="CloseFds"/> closed it. Any thread.</summary>
    private void Wake()
    {
        lock (_fdLock)
        {
            if (_fdsClosed)
            {
                return;
            }
            ulong one = 1;
            var result = Libc.Write(_wakeFd, &one, sizeof(ulong));
            // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
            Debug.Assert(result.BytesOrError == sizeof(ulong) || result.WouldBlock, $"eventfd write failed: {result}");
        }
        _metrics.LoopWakeup();
    }

    private void RunWorkItem((Action<object?> Action, object? State) work)
    {
        try
        {
            work.Action(work.State);
        }
        catch (Exception ex)
        {
            // Pipe continuations and our own callbacks catch their errors; reaching here is a bug. Keep serving.
            EpollTransportLog.PostedWorkFault(_logger, _loopId, ex);
        }
    }

    /// <summary>Makes the current thread run as <paramref name="executor"/> (or as none); returns what it ran as before.</summary>
    private static LoopExecutor? Become(LoopExecutor? executor)
    {
        var previous = t_current;
        t_current = executor;
        return previous;
    }

    /// <summary>
    /// The poll, queued on the thread pool. Its two fields are about the work item, not about who runs as the loop: a
    /// poll taken back by the loop thread may still sit in the pool's queue while the state has moved on.
    /// </summary>
    private sealed class ThreadPoolPoll(LoopExecutor executor) : IThreadPoolWorkItem
    {
        /// <summary>1 while this item sits in the pool's queue; it is queued at most once.</summary>
        private int _queued;

        /// <summary>Polls that ran as the loop: the loop thread takes the loop back only when this stood still for a whole wait.</summary>
        private int _runs;

        public bool IsQueued => Volatile.Read(ref _queued) != 0;

        public int Runs => Volatile.Read(ref _runs);

        /// <summary>Queues this item unless it is still in the pool's queue (taken back earlier, not yet run).</summary>
        public void Queue(Action<IThreadPoolWorkItem> queue)
        {
            if (Interlocked.Exchange(ref _queued, 1) == 0)
            {
                queue(this);
            }
        }

        public void Execute()
        {
            Interlocked.Exchange(ref _queued, 0);
            if (executor.TryStartPoll())
            {
                Interlocked.Increment(ref _runs);
                executor.Poll();
            }
        }
    }
}
