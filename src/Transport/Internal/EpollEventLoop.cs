using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using KestrelEpollTransport.Interop;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// One event loop: a named background thread that owns an epoll instance, an eventfd to wake it, a queue of posted
/// work and a table of registrations. The loop body is <c>epoll_wait</c> → handle every event → run posted work.
/// The loop is also a <see cref="PipeScheduler"/>: continuations scheduled on it run as the loop.
/// </summary>
/// <remarks>
/// Threading. Handler callbacks, timers and posted work run as the loop: on the loop thread, or, while the loop is
/// busy, on the thread-pool thread running its poll (<see cref="HandOffToThreadPool"/>); one thread at a time, and
/// <see cref="IsLoopThread"/> is true only there. <see cref="Schedule"/> and
/// <see cref="Register"/> may be called from any thread. The eventfd is written only when the loop is (about to be)
/// blocked in <c>epoll_wait</c>: <see cref="_blocked"/> is set with a full fence before the loop's last look at the
/// queue, and a poster enqueues before it reads the flag, so either the loop sees the work or the poster sees the
/// flag; a busy loop costs posters no syscall.
/// Registrations. <c>epoll_data</c> carries slot + generation (<see cref="IEpollHandler.EpollToken"/>), never a bare fd:
/// the kernel reuses fd numbers at once, and an event fetched before a close can be handled after it. An event whose
/// token does not match the handler now in its slot is dropped.
/// </remarks>
internal sealed unsafe partial class EpollEventLoop : PipeScheduler
{
    /// <summary>Events taken per epoll_wait. 256 × 12 bytes fits in a few cache lines and is rarely filled.</summary>
    private const int MaxEvents = 256;

    /// <summary>The epoll_data of the eventfd; no table token can be this (slot ulong.MaxValue's low half is never used).</summary>
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>The loop the current thread runs as now: the loop thread, or a thread-pool thread polling for it.</summary>
    [ThreadStatic]
    private static EpollEventLoop? t_currentLoop;

    private readonly int _epollFd;
    private readonly int _eventFd;

    /// <summary>epoll_wait's output; used by whichever thread runs as the loop.</summary>
    private readonly byte* _events;

    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly EpollTransportMetrics _metrics;

    /// <summary>Work posted from any thread; drained only by the loop.</summary>
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _queue = new();

    /// <summary>1 while the loop is in, or about to enter, a blocking epoll_wait; a poster that clears it writes the eventfd.</summary>
    private int _blocked;

    /// <summary>Set once by <see cref="Stop"/>; the loop exits after its current pass.</summary>
    private volatile bool _stopping;

    /// <summary>1 once the loop thread ended: from then on the thread that posts work runs it (see <see cref="RunPostedWorkAfterEnd"/>).</summary>
    private int _ended;

    /// <summary>1 while a thread runs posted work after the end; the others leave their work to it.</summary>
    private int _drainingAfterEnd;

    /// <summary>
    /// Guards the registration table (<see cref="_handlers"/> growth and slot writes, <see cref="_freeSlots"/>,
    /// <see cref="_generation"/>) and the lifetime of the loop's own fds: every use of <see cref="_epollFd"/> or
    /// <see cref="_eventFd"/> from a thread other than the loop's (epoll_ctl, the wake-up write) happens under it and
    /// after a look at <see cref="_fdsClosed"/>, and <see cref="Stop"/> closes them under it. Otherwise a poster that
    /// won the <see cref="_blocked"/> exchange and was preempted could write 8 bytes into a number that by then belongs
    /// to a new client's socket.
    /// </summary>
    private readonly Lock _tableLock = new();

    /// <summary>Set (under <see cref="_tableLock"/>) when <see cref="Stop"/> closed the epoll fd and the eventfds.</summary>
    private bool _fdsClosed;

    /// <summary>
    /// Set (under <see cref="_tableLock"/>) when the stopping loop took the snapshot of registrations it stops: a handler
    /// registered after it would never be told to stop, so <see cref="Register"/> refuses from then on.
    /// </summary>
    private bool _registrationsStopped;

    /// <summary>Handler per slot; read lock-free by the loop (array reference and element reads are atomic).</summary>
    private IEpollHandler?[] _handlers = new IEpollHandler?[64];

    /// <summary>Slots free for reuse.</summary>
    private readonly Stack<int> _freeSlots = new();

    /// <summary>Slots ever handed out: the next new slot's index.</summary>
    private int _slotsUsed;

    /// <summary>Incremented per registration; the high half of a token.</summary>
    private uint _generation;

    /// <summary>Live registrations (connections and listeners) on this loop.</summary>
    private int _registrationCount;

    /// <param name="id">The loop's number: its thread is named epoll-loop-<paramref name="id"/>.</param>
    /// <param name="memoryPool">The pool this loop's connections rent from.</param>
    /// <param name="logger">Category KestrelEpollTransport.EventLoop.</param>
    /// <param name="metrics">The transport's meter.</param>
    /// <param name="handOffWhenBusy">Whether busy passes hand polling to the thread pool (<see cref="HandOffToThreadPool"/>).</param>
    /// <param name="queueWorkItem">Queues the poll; null: the thread pool. Tests pass a stand-in to hold or run it.</param>
    /// <param name="reclaimAfterMilliseconds">See <see cref="DefaultReclaimAfterMilliseconds"/>.</param>
    public EpollEventLoop(
        int id,
        MemoryPool<byte> memoryPool,
        ILogger logger,
        EpollTransportMetrics metrics,
        bool handOffWhenBusy = true,
        Action<IThreadPoolWorkItem>? queueWorkItem = null,
        int reclaimAfterMilliseconds = DefaultReclaimAfterMilliseconds)
    {
        Id = id;
        _handOff = handOffWhenBusy;
        _queueWorkItem = queueWorkItem ?? (static item => System.Threading.ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false));
        _reclaimAfterMilliseconds = reclaimAfterMilliseconds;
        _poller = new ThreadPoolPoller(this);
        MemoryPool = memoryPool;
        SendScheduler = new SendScheduler(this);
        _logger = logger;
        _metrics = metrics;
        _epollFd = Epoll.Create();
        if (_epollFd < 0)
        {
            throw new IOException($"epoll_create1 failed: {Errno.Describe(-_epollFd)}");
        }
        _eventFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_eventFd < 0)
        {
            Libc.Close(_epollFd);
            throw new IOException($"eventfd failed: {Errno.Describe(-_eventFd)}");
        }
        _handBackFd = Libc.EventFd(0, Libc.EFD_CLOEXEC);
        if (_handBackFd < 0)
        {
            Libc.Close(_eventFd);
            Libc.Close(_epollFd);
            throw new IOException($"eventfd failed: {Errno.Describe(-_handBackFd)}");
        }
        // The eventfd is level-triggered: the loop reads it to zero after each wake-up. Without it the loop could
        // never be woken, so a failure here is the constructor's, with what it made freed.
        int result = Epoll.Control(_epollFd, Epoll.EPOLL_CTL_ADD, _eventFd, Epoll.EPOLLIN, WakeToken);
        if (result < 0)
        {
            Libc.Close(_handBackFd);
            Libc.Close(_eventFd);
            Libc.Close(_epollFd);
            throw new IOException($"epoll_ctl(ADD eventfd) failed: {Errno.Describe(-result)}");
        }
        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * Epoll.EventSize));
        _thread = new Thread(Run) { IsBackground = true, Name = $"epoll-loop-{id}" };
    }

    public int Id { get; }

    /// <summary>The loop's logger (category KestrelEpollTransport.EventLoop), for faults in work it runs.</summary>
    public ILogger Logger => _logger;

    /// <summary>The output pipes' reader scheduler for this loop's connections: see <see cref="Internal.SendScheduler"/>.</summary>
    public SendScheduler SendScheduler { get; }

    /// <summary>The pool connections on this loop rent from (pinned blocks, so syscalls use them directly).</summary>
    public MemoryPool<byte> MemoryPool { get; }

    /// <summary>Live registrations; for tests and metrics.</summary>
    public int RegistrationCount => Volatile.Read(ref _registrationCount);

    /// <summary>
    /// True on the thread that runs as this loop now: the loop thread, or the thread-pool thread polling for it while
    /// it is busy. Exactly one thread at a time; loop-owned state may be touched only there.
    /// </summary>
    public bool IsLoopThread => t_currentLoop == this;

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="action"/> as the loop (its thread, or its poll), after the events being handled now.</summary>
    public override void Schedule(Action<object?> action, object? state)
    {
        _queue.Enqueue((action, state));
        if (Volatile.Read(ref _blocked) == 1 && Interlocked.Exchange(ref _blocked, 0) == 1)
        {
            Wake();
        }
        // The enqueue is a full fence, and the loop sets _ended before its last look at the queue: either it runs this
        // work, or this thread sees the end and runs it.
        if (Volatile.Read(ref _ended) != 0)
        {
            RunPostedWorkAfterEnd();
        }
    }

    /// <summary>
    /// Runs work posted after the loop thread ended, on the posting thread, as the loop (one thread at a time, never
    /// nested: work that posts more leaves it to the loop below). Without it, a connection started on a stopping loop (a
    /// listener disposed while an accept was between accept4 and Start) or aborted after the stop would never close:
    /// its fd would stay open, and its input, ConnectionClosed and DisposeAsync would never complete.
    /// </summary>
    private void RunPostedWorkAfterEnd()
    {
        while (!_queue.IsEmpty && Interlocked.CompareExchange(ref _drainingAfterEnd, 1, 0) == 0)
        {
            var previous = t_currentLoop;
            t_currentLoop = this;
            try
            {
                while (_queue.TryDequeue(out var work))
                {
                    RunWorkItem(work);
                }
            }
            finally
            {
                t_currentLoop = previous;
                Volatile.Write(ref _drainingAfterEnd, 0);
            }
        }
    }

    /// <summary>Reserves a table slot and returns the token a handler must report before <see cref="Register"/>. Any thread.</summary>
    public ulong ReserveToken()
    {
        lock (_tableLock)
        {
            if (!_freeSlots.TryPop(out int slot))
            {
                slot = _slotsUsed++;
                if (slot == _handlers.Length)
                {
                    var grown = new IEpollHandler?[_handlers.Length * 2];
                    _handlers.CopyTo(grown, 0);
                    Volatile.Write(ref _handlers, grown);
                }
            }
            _generation++;
            _registrationCount++;
            return ((ulong)_generation << 32) | (uint)slot;
        }
    }

    /// <summary>
    /// Publishes <paramref name="handler"/> in the slot of its token and adds <paramref name="fd"/> to epoll, once for
    /// the fd's lifetime. Events may reach the handler on the loop thread before this returns. Any thread.
    /// </summary>
    /// <returns>0, or <c>-errno</c> from epoll_ctl (EBADF once the loop is stopping); the slot is then released.</returns>
    public int Register(int fd, uint events, IEpollHandler handler)
    {
        ulong token = handler.EpollToken;
        int slot = (int)(uint)token;
        lock (_tableLock)
        {
            Debug.Assert(_handlers[slot] is null, "Registering into a slot that is in use.");
            // Published and added in one step under the lock: an Unregister sees either neither or both.
            Volatile.Write(ref _handlers[slot], handler);
            int result = _fdsClosed || _registrationsStopped ? -Errno.EBADF : Epoll.Control(_epollFd, Epoll.EPOLL_CTL_ADD, fd, events, token);
            if (result < 0)
            {
                ReleaseSlotUnsynchronized(slot);
            }
            return result;
        }
    }

    /// <summary>
    /// Removes <paramref name="handler"/>'s fd from epoll and frees its slot, if the slot still holds it: a handler whose
    /// <see cref="Register"/> failed, or that was unregistered already, is not in the table and nothing happens. Call
    /// before the fd is closed. Loop thread for connections; a listener may call it from any thread (a late event then
    /// finds no handler).
    /// </summary>
    public void Unregister(int fd, IEpollHandler handler)
    {
        int slot = (int)(uint)handler.EpollToken;
        lock (_tableLock)
        {
            if (!ReferenceEquals(_handlers[slot], handler))
            {
                return;
            }
            if (!_fdsClosed)
            {
                // EPOLL_CTL_DEL before close: an fd whose file is shared (dup, fork) would otherwise stay in the set.
                _ = Epoll.Control(_epollFd, Epoll.EPOLL_CTL_DEL, fd, 0, 0);
            }
            ReleaseSlotUnsynchronized(slot);
        }
    }

    private void ReleaseSlotUnsynchronized(int slot)
    {
        _handlers[slot] = null;
        _freeSlots.Push(slot);
        _registrationCount--;
    }

    /// <summary>Asks the loop to stop and waits for its thread to end. Any thread but the loop's own.</summary>
    public void Stop()
    {
        Debug.Assert(!IsLoopThread, "A loop cannot wait for its own thread to end.");
        _stopping = true;
        Wake();
        if (_thread.ThreadState != System.Threading.ThreadState.Unstarted)
        {
            _thread.Join();
        }
        // No poll can still be running: the loop thread ends only after a hand-off was handed back or taken back, and
        // a taken-back poll does nothing when it finally runs.
        lock (_tableLock)
        {
            _fdsClosed = true;
            Libc.Close(_handBackFd);
            Libc.Close(_eventFd);
            Libc.Close(_epollFd);
        }
        NativeMemory.Free(_events);
    }

    /// <summary>Writes the eventfd, unless <see cref="Stop"/> closed it (then its number may be someone else's). Any thread.</summary>
    private void Wake()
    {
        lock (_tableLock)
        {
            if (_fdsClosed)
            {
                return;
            }
            ulong one = 1;
            nint result = Libc.Write(_eventFd, &one, sizeof(ulong));
            // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
            Debug.Assert(result == sizeof(ulong) || result == -Errno.EAGAIN, $"eventfd write failed: {result}");
        }
        _metrics.LoopWakeup();
    }

    private void Run()
    {
        t_currentLoop = this;
        EpollTransportLog.LoopStarted(_logger, Id);
        while (!_stopping)
        {
            int timeout = NextTimerTimeout();
            if (!_queue.IsEmpty)
            {
                timeout = 0;
            }
            else
            {
                Interlocked.Exchange(ref _blocked, 1);
                if (!_queue.IsEmpty)
                {
                    Volatile.Write(ref _blocked, 0);
                    timeout = 0;
                }
            }

            int count = Epoll.Wait(_epollFd, _events, MaxEvents, timeout);
            Volatile.Write(ref _blocked, 0);
            int handled = RunPass(count);
            // Not while a poll taken back earlier still waits in the pool's queue: the pool is starved, and a new hand-off
            // would only sleep 10 ms and take the loop back again (one pass per 10 ms). That poll's run (a no-op) clears
            // the flag, and shows the pool is alive again.
            if (handled >= HandOffThreshold && _handOff && !_stopping && Volatile.Read(ref _pollerQueued) == 0)
            {
                HandOffToThreadPool();
            }
        }
        StopRegistrations();
        EpollTransportLog.LoopStopped(_logger, Id);
        t_currentLoop = null;
        Interlocked.Exchange(ref _ended, 1);
        RunPostedWorkAfterEnd();
    }

    /// <summary>Handles the events of one epoll_wait, due timers and posted work; the number of connection events.</summary>
    private int RunPass(int count)
    {
        if (count < 0)
        {
            // EBADF/EINVAL only happen if our own epoll fd is broken: nothing can be served any more.
            Environment.FailFast($"epoll_wait failed on loop {Id}: {Errno.Describe(-count)}");
        }
        if (count > 0)
        {
            // Not the empty polls that end a hand-off, nor timer timeouts: the histogram is about batches.
            _metrics.EventsPerWait(count);
        }

        int handled = 0;
        for (int i = 0; i < count; i++)
        {
            Epoll.GetEvent(_events, i, out uint flags, out ulong token);
            if (token == WakeToken)
            {
                ulong value;
                _ = Libc.Read(_eventFd, &value, sizeof(ulong));
                continue;
            }
            handled++;
            Dispatch(flags, token);
        }

        RunDueTimers();
        RunPostedWork();
        return handled;
    }

    /// <summary>Hands one event to the handler in its slot, unless the token is stale. Loop thread; internal for tests.</summary>
    internal void Dispatch(uint flags, ulong token)
    {
        var handlers = Volatile.Read(ref _handlers);
        int slot = (int)(uint)token;
        var handler = (uint)slot < (uint)handlers.Length ? Volatile.Read(ref handlers[slot]) : null;
        if (handler is null || handler.EpollToken != token)
        {
            // A stale event: its registration was removed (and perhaps the slot reused) after epoll_wait fetched it.
            return;
        }
        try
        {
            handler.OnEvents(flags);
        }
        catch (Exception ex)
        {
            EpollTransportLog.HandlerFault(_logger, Id, ex);
            handler.OnFault(ex);
        }
    }

    private void RunPostedWork()
    {
        // Only what was queued before this pass: work that posts more work cannot starve epoll_wait.
        int count = _queue.Count;
        while (count-- > 0 && _queue.TryDequeue(out var work))
        {
            RunWorkItem(work);
        }
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
            EpollTransportLog.PostedWorkFault(_logger, Id, ex);
        }
    }

    private void StopRegistrations()
    {
        IEpollHandler?[] handlers;
        lock (_tableLock)
        {
            _registrationsStopped = true;
            handlers = (IEpollHandler?[])_handlers.Clone();
        }
        foreach (var handler in handlers)
        {
            handler?.OnLoopStopping();
        }
    }
}
