using System.Buffers;
using System.IO.Pipelines;
using KestrelEpollTransport.Interop;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// One event loop: a named background thread that waits on an epoll instance and runs the handlers of what it
/// reports, then due timers, then posted work. The loop is also a <see cref="PipeScheduler"/>: continuations scheduled
/// on it run as the loop. Glue over three parts: <see cref="LoopExecutor"/> (who runs as the loop now, posted work, the
/// hand-off to the thread pool when busy), <see cref="RegistrationTable"/> (the epoll fd, slots and generation tokens)
/// and <see cref="LoopTimers"/>.
/// </summary>
/// <remarks>
/// Threading. Handler callbacks, timers and posted work run as the loop: on the loop thread, or, while the loop is busy,
/// on the thread-pool thread polling in its place (<see cref="LoopExecutor"/>); one thread at a time, and
/// <see cref="IsLoopThread"/> is true only there. <see cref="Schedule"/>, <see cref="ScheduleAfter"/>,
/// <see cref="ReserveToken"/>, <see cref="Register"/> and <see cref="Unregister"/> may be called from any thread.
/// </remarks>
internal sealed unsafe class EpollEventLoop : PipeScheduler
{
    /// <summary>Events taken per epoll_wait: 3 KiB of epoll_event; a batch this large is rarely filled (docs/architecture.md, "Measurements behind constants").</summary>
    private const int MaxEvents = 256;

    /// <summary>The epoll_data of the eventfd; no table token can be this (slot ulong.MaxValue's low half is never used).</summary>
    private const ulong WakeToken = ulong.MaxValue;

    /// <summary>epoll_wait's output; used by whichever thread runs as the loop.</summary>
    private readonly byte* _events;

    private readonly Thread _thread;
    private readonly ILogger _logger;
    private readonly EpollTransportMetrics _metrics;
    private readonly LoopExecutor _executor;
    private readonly RegistrationTable _table;
    private readonly LoopTimers _timers = new();

    /// <param name="id">The loop's number: its thread is named epoll-loop-<paramref name="id"/>.</param>
    /// <param name="memoryPool">The pool this loop's connections rent from.</param>
    /// <param name="logger">Category KestrelEpollTransport.EventLoop.</param>
    /// <param name="metrics">The transport's meter.</param>
    /// <param name="handOffWhenBusy">Whether busy passes hand polling to the thread pool (<see cref="LoopExecutor.AfterPass"/>).</param>
    /// <param name="queueWorkItem">Queues the poll; null: the thread pool. Tests pass a stand-in to hold or run it.</param>
    /// <param name="reclaimAfterMilliseconds">See <see cref="LoopExecutor.DefaultReclaimAfterMilliseconds"/>.</param>
    /// <param name="queueApplicationWork">Queues the application's continuations; null: the thread pool. Tests pass a stand-in that records.</param>
    public EpollEventLoop(
        int id,
        MemoryPool<byte> memoryPool,
        ILogger logger,
        EpollTransportMetrics metrics,
        bool handOffWhenBusy = true,
        Action<IThreadPoolWorkItem>? queueWorkItem = null,
        int reclaimAfterMilliseconds = LoopExecutor.DefaultReclaimAfterMilliseconds,
        Action<Action<object?>, object?>? queueApplicationWork = null)
    {
        Id = id;
        MemoryPool = memoryPool;
        SendScheduler = new SendScheduler(this);
        ApplicationScheduler = new ApplicationScheduler(this, queueApplicationWork);
        _logger = logger;
        _metrics = metrics;
        _table = new RegistrationTable();
        try
        {
            _executor = new LoopExecutor(id, logger, () => RunPass(Epoll.Wait(_table.EpollFd, _events, MaxEvents, 0)), metrics, handOffWhenBusy, queueWorkItem, reclaimAfterMilliseconds);
        }
        catch
        {
            _table.Close();
            throw;
        }
        // The eventfd is level-triggered: the loop reads it to zero after each wake-up. Without it the loop could
        // never be woken, so a failure here is the constructor's, with what it made freed.
        int result = Epoll.Control(_table.EpollFd, Epoll.EPOLL_CTL_ADD, _executor.WakeFd, Epoll.EPOLLIN, WakeToken);
        if (result < 0)
        {
            _executor.CloseFds();
            _table.Close();
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

    /// <summary>The application's side of this loop's connections' pipes: see <see cref="Internal.ApplicationScheduler"/>.</summary>
    public ApplicationScheduler ApplicationScheduler { get; }

    /// <summary>The pool connections on this loop rent from (pinned blocks, so syscalls use them directly).</summary>
    public MemoryPool<byte> MemoryPool { get; }

    /// <summary>Live registrations; for tests and metrics.</summary>
    public int RegistrationCount => _table.Count;

    /// <summary>
    /// True on the thread that runs as this loop now: the loop thread, or the thread-pool thread polling for it while
    /// it is busy. Exactly one thread at a time; loop-owned state may be touched only there.
    /// </summary>
    public bool IsLoopThread => _executor.IsCurrent;

    /// <summary>Hand-offs so far (tests; the metric is the public view).</summary>
    internal int HandOffCount => _executor.HandOffCount;

    /// <summary>The executor: tests read its eventfd number and force its state. Not used by the transport.</summary>
    internal LoopExecutor Executor => _executor;

    /// <summary>The epoll fd's number: tests check a stopped loop never touches it again. Not used by the transport.</summary>
    internal int EpollFd => _table.EpollFd;

    public void Start() => _thread.Start();

    /// <summary>Runs <paramref name="action"/> as the loop (its thread, or its poll), after the events being handled now.</summary>
    public override void Schedule(Action<object?> action, object? state) => _executor.Post(action, state);

    /// <summary>Runs <paramref name="action"/> as the loop after <paramref name="delay"/>. Any thread.</summary>
    public void ScheduleAfter(TimeSpan delay, Action<object?> action, object? state)
    {
        _timers.Add(delay, action, state);
        // Wake a blocked loop so it shortens its epoll_wait timeout; no-op while it runs.
        _executor.Post(static _ => { }, null);
    }

    /// <inheritdoc cref="RegistrationTable.ReserveToken"/>
    public ulong ReserveToken() => _table.ReserveToken();

    /// <inheritdoc cref="RegistrationTable.Register"/>
    public int Register(int fd, uint events, IEpollHandler handler) => _table.Register(fd, events, handler);

    /// <inheritdoc cref="RegistrationTable.Unregister"/>
    public void Unregister(int fd, IEpollHandler handler) => _table.Unregister(fd, handler);

    /// <summary>Asks the loop to stop and waits for its thread to end. Any thread but the loop's own.</summary>
    public void Stop()
    {
        Debug.Assert(!IsLoopThread, "A loop cannot wait for its own thread to end.");
        _executor.RequestStop();
        if (_thread.ThreadState != System.Threading.ThreadState.Unstarted)
        {
            _thread.Join();
        }
        _executor.CloseFds();
        _table.Close();
        NativeMemory.Free(_events);
    }

    private void Run()
    {
        _executor.EnterLoopThread();
        EpollTransportLog.LoopStarted(_logger, Id);
        while (!_executor.StopRequested)
        {
            int timeout = _executor.PrepareToWait(_timers.NextTimeout());
            int count = Epoll.Wait(_table.EpollFd, _events, MaxEvents, timeout);
            _executor.Woke();
            _executor.AfterPass(RunPass(count));
        }
        foreach (var handler in _table.Stop())
        {
            handler?.OnLoopStopping();
        }
        EpollTransportLog.LoopStopped(_logger, Id);
        _executor.End();
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
        ApplicationScheduler.BeginPass();
        try
        {
            for (int i = 0; i < count; i++)
            {
                Epoll.GetEvent(_events, i, out uint flags, out ulong token);
                if (token == WakeToken)
                {
                    _executor.ConsumeWakeUp();
                    continue;
                }
                handled++;
                Dispatch(flags, token);
            }

            _timers.PostDue(_executor);
            _executor.RunPostedWork();
        }
        finally
        {
            // The application resumes after the pass, every connection it read at once (ApplicationScheduler).
            ApplicationScheduler.EndPass();
        }
        return handled;
    }

    /// <summary>Hands one event to the handler in its slot, unless the token is stale. As the loop; internal for tests.</summary>
    internal void Dispatch(uint flags, ulong token)
    {
        var handler = _table.Find(token);
        if (handler is null)
        {
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
}
