namespace KestrelEpollTransport.Internal;

/// <summary>
/// The transport's share of the process's file descriptor table: listeners accept only while the process keeps a
/// headroom of free fds, so the transport never takes the last ones. Starting a thread takes fds on Linux (pipe2), and
/// the runtime aborts the process ("Out of memory.") when it cannot; a transport that accepts until EMFILE leaves the
/// runtime none. One budget per process (the fd table is the process's), shared by every listener of every host.
/// </summary>
/// <remarks>
/// <para>The rule: <b>free fds never fall below the headroom H while the transport accepts</b>, as long as the rest of
/// the process holds no more fds than when the budget was last calibrated.</para>
/// <para>Accounting. <see cref="_held"/> counts the fds the transport holds or is about to hold: +1 by
/// <see cref="TryTake"/> right before accept4, −1 by <see cref="Return"/> when accept4 took none and by
/// <see cref="Released"/> when an accepted fd is really closed (its handle's last reference let go).
/// <see cref="Calibrate"/> reads the soft RLIMIT_NOFILE L and the fds open now, and sets the cap
/// <c>L − (open − held) − H</c>: what the rest of the process holds is counted once, at calibration; the transport's
/// own fds are counted by the two counters, without a syscall per connection.</para>
/// <para>The reserve: <see cref="ReserveSize"/> fds held while any listener is attached. When the rest of the process
/// grew into the headroom anyway (files, outgoing connections) and accept4 meets EMFILE, <see cref="OnExhausted"/>
/// closes the reserve before anything else runs, so the process has fds again at once. Accepting resumes only when
/// <see cref="TryRecover"/> can take the reserve back <i>and</i> a headroom beyond it is free.</para>
/// <para>Wake-ups. A listener that stops at the cap waits for <see cref="IWaiter.Wake"/>: called by the close path
/// (<see cref="Released"/>) when the transport drops below the cap, not by a timer.</para>
/// <para>Threads. Every method may be called from any thread. <see cref="_held"/> and <see cref="_pending"/> change by
/// Interlocked operations; <see cref="_cap"/> is written under <see cref="_lock"/> and read without it (a stale cap is
/// corrected by the next calibration; the cap only ever errs on the side of accepting less after a calibration that
/// lowered it, because a take re-checks it after incrementing).</para>
/// </remarks>
internal sealed class FdBudget
{
    /// <summary>fds kept as the reserve while any listener is attached: a few thread starts (two fds each) at once.</summary>
    public const int ReserveSize = 16;

    /// <summary>The shortest <see cref="RecheckInterval"/>: fds the rest of the process frees are seen this late at most.</summary>
    public static readonly TimeSpan MinRecheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The smallest default headroom; the default is the larger of this and <see cref="DefaultHeadroomPercent"/> of the limit.</summary>
    public const int MinDefaultHeadroom = 32;

    /// <summary>The default headroom as a share of the soft RLIMIT_NOFILE, in percent.</summary>
    public const int DefaultHeadroomPercent = 5;

    /// <summary>The budget of this process.</summary>
    public static FdBudget Process { get; } = new(ProcessFdTable.Instance);

    private readonly IFdTable _table;

    /// <summary>Guards <see cref="_cap"/>'s writes, <see cref="_reserve"/>, <see cref="_waiters"/> and <see cref="_headrooms"/>.</summary>
    private readonly Lock _lock = new();

    /// <summary>fds the transport holds or has a take for (accept4 running). Interlocked.</summary>
    private int _held;

    /// <summary>Takes whose accept4 has not returned yet (counted in <see cref="_held"/>, not yet in the fd table). Interlocked.</summary>
    private int _pending;

    /// <summary>The most fds the transport may hold; set by <see cref="Calibrate"/>. Written under the lock.</summary>
    private volatile int _cap;

    /// <summary>The soft limit and the headroom as of the last calibration (for <see cref="Accepted"/>'s check). Written under the lock.</summary>
    private volatile int _calibratedLimit = int.MaxValue;
    private volatile int _calibratedHeadroom;

    /// <summary>How long the last calibration took (Stopwatch ticks): counting /proc/self/fd grows with the fds open.</summary>
    private long _calibrationTicks;

    /// <summary>The reserve's fds (<see cref="ReserveSize"/> when taken, none when given back). Under the lock.</summary>
    private readonly List<int> _reserve = [];

    /// <summary>Listeners attached (each with the headroom it asked for); the reserve is held while any is. Under the lock.</summary>
    private readonly List<(IWaiter Waiter, int Headroom)> _headrooms = [];

    /// <summary>Listeners waiting for the transport to drop below the cap. Under the lock.</summary>
    private readonly List<IWaiter> _waiters = [];

    /// <summary><see cref="_waiters"/>' count, read without the lock on the close path.</summary>
    private volatile int _waiting;

    public FdBudget(IFdTable table)
    {
        _table = table;
    }

    /// <summary>Something that waits for room under the cap: a listener. <see cref="Wake"/> must not block.</summary>
    public interface IWaiter
    {
        void Wake();
    }

    /// <summary>The fds the transport holds or is accepting now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>The most the transport may hold, as of the last calibration.</summary>
    public int Cap => _cap;

    /// <summary>
    /// How often a listener held at the cap may recalibrate to see fds the rest of the process gave back: every
    /// <see cref="MinRecheckInterval"/>, or less often where counting the open fds is slow (at most ~5 % of a CPU).
    /// </summary>
    public TimeSpan RecheckInterval
    {
        get
        {
            var cost = Stopwatch.GetElapsedTime(0, Volatile.Read(ref _calibrationTicks));
            return cost * 20 > MinRecheckInterval ? cost * 20 : MinRecheckInterval;
        }
    }

    /// <summary>The headroom in force: the largest any attached listener asked for.</summary>
    public int Headroom
    {
        get
        {
            lock (_lock)
            {
                return HeadroomUnsynchronized(_table.SoftLimit());
            }
        }
    }

    /// <summary>Whether the reserve is held now.</summary>
    public bool HoldsReserve
    {
        get
        {
            lock (_lock)
            {
                return _reserve.Count > 0;
            }
        }
    }

    /// <summary>The default headroom for a soft limit: max(<see cref="MinDefaultHeadroom"/>, <see cref="DefaultHeadroomPercent"/> %).</summary>
    public static int DefaultHeadroom(int softLimit) => Math.Max(MinDefaultHeadroom, (int)((long)softLimit * DefaultHeadroomPercent / 100));

    /// <summary>
    /// A listener starts accepting: its headroom (null: the default) joins the budget, the reserve is taken if it is
    /// not held, and the cap is calibrated. False when the reserve could not be taken (the process is out of fds now):
    /// the listener then starts as after <see cref="OnExhausted"/>.
    /// </summary>
    public bool Attach(IWaiter listener, int? headroom)
    {
        lock (_lock)
        {
            _headrooms.Add((listener, headroom ?? 0));
            bool reserved = TakeReserveUnsynchronized(margin: 0);
            CalibrateUnsynchronized();
            return reserved;
        }
    }

    /// <summary>A listener stops accepting; the reserve goes back to the process with the last one.</summary>
    public void Detach(IWaiter listener)
    {
        lock (_lock)
        {
            _headrooms.RemoveAll(entry => ReferenceEquals(entry.Waiter, listener));
            _waiters.Remove(listener);
            _waiting = _waiters.Count;
            if (_headrooms.Count == 0)
            {
                ReleaseReserveUnsynchronized();
            }
            CalibrateUnsynchronized();
        }
    }

    /// <summary>
    /// Takes room for one accept4 when the transport is under the cap; false at the cap (do not call accept4). A true
    /// must be followed by <see cref="Accepted"/> or <see cref="Return"/>.
    /// </summary>
    public bool TryTake()
    {
        if (Volatile.Read(ref _held) >= _cap)
        {
            return false;
        }
        Interlocked.Increment(ref _pending);
        if (Interlocked.Increment(ref _held) > _cap)
        {
            // Another take (a second listener) got the last room first.
            Interlocked.Decrement(ref _pending);
            Interlocked.Decrement(ref _held);
            return false;
        }
        return true;
    }

    /// <summary>
    /// accept4 returned <paramref name="fd"/> for the room taken: the fd is the transport's until <see cref="Released"/>.
    /// The kernel hands out the lowest free number, so every number below it is in use: a number within the headroom
    /// of the limit means the rest of the process grew since the last calibration, and the cap is recalibrated now
    /// (one comparison per accept otherwise).
    /// </summary>
    public void Accepted(int fd)
    {
        Interlocked.Decrement(ref _pending);
        if (fd >= _calibratedLimit - _calibratedHeadroom)
        {
            Calibrate();
        }
    }

    /// <summary>accept4 returned no fd for the room taken (EAGAIN, an error): the room goes back.</summary>
    public void Return()
    {
        Interlocked.Decrement(ref _pending);
        Released();
    }

    /// <summary>An accepted fd was closed (the close path: its handle's last reference let go). Wakes waiting listeners.</summary>
    public void Released()
    {
        int held = Interlocked.Decrement(ref _held);
        // _waiting is written under the lock before the waiter re-checks the cap; this read is after the decrement
        // (a full fence), so either the waiter's re-check sees the room or this sees the waiter.
        if (_waiting != 0 && held < _cap)
        {
            WakeWaiters();
        }
    }

    /// <summary>
    /// Registers <paramref name="listener"/> to be woken when the transport drops below the cap, then re-checks: true
    /// when there is room already (the listener was not registered; take again).
    /// </summary>
    public bool WaitForRoom(IWaiter listener)
    {
        lock (_lock)
        {
            if (!_waiters.Contains(listener))
            {
                _waiters.Add(listener);
                _waiting = _waiters.Count;
            }
        }
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _held) < _cap)
        {
            StopWaiting(listener);
            return true;
        }
        return false;
    }

    /// <summary>Takes <paramref name="listener"/> off the waiters (it was woken, or it is unbinding).</summary>
    public void StopWaiting(IWaiter listener)
    {
        lock (_lock)
        {
            _waiters.Remove(listener);
            _waiting = _waiters.Count;
        }
    }

    /// <summary>
    /// accept4 failed with EMFILE or ENFILE: the rest of the process took the headroom. Gives the reserve back at once,
    /// then lowers the cap to what is held now minus the headroom the process lacks. Call it before anything else
    /// (a log line, a metric, a hand-off: each may need an fd or a thread).
    /// </summary>
    public void OnExhausted()
    {
        lock (_lock)
        {
            ReleaseReserveUnsynchronized();
            CalibrateUnsynchronized();
        }
    }

    /// <summary>
    /// After <see cref="OnExhausted"/>: takes the reserve back only when the headroom is free beyond it, and
    /// recalibrates. False (nothing held) while the process is still short.
    /// </summary>
    public bool TryRecover()
    {
        lock (_lock)
        {
            bool recovered = TakeReserveUnsynchronized(margin: HeadroomUnsynchronized(_table.SoftLimit()));
            CalibrateUnsynchronized();
            return recovered;
        }
    }

    /// <summary>Re-reads the limit and the fds open now, and sets the cap (the rest of the process may have changed).</summary>
    public void Calibrate()
    {
        lock (_lock)
        {
            CalibrateUnsynchronized();
        }
    }

    private void CalibrateUnsynchronized()
    {
        long start = Stopwatch.GetTimestamp();
        int limit = _table.SoftLimit();
        int headroom = HeadroomUnsynchronized(limit);
        int open = _table.CountOpen();
        Volatile.Write(ref _calibrationTicks, Stopwatch.GetTimestamp() - start);
        // Takes whose accept4 has not returned are in _held but not yet in the table.
        int transport = Volatile.Read(ref _held) - Volatile.Read(ref _pending);
        int rest = Math.Max(0, open - transport);
        _calibratedLimit = limit;
        _calibratedHeadroom = headroom;
        _cap = Math.Max(0, limit - rest - headroom);
    }

    private int HeadroomUnsynchronized(int limit)
    {
        int headroom = 0;
        bool anyDefault = _headrooms.Count == 0;
        foreach (var (_, asked) in _headrooms)
        {
            if (asked == 0)
            {
                anyDefault = true;
            }
            headroom = Math.Max(headroom, asked);
        }
        return anyDefault ? Math.Max(headroom, DefaultHeadroom(limit)) : headroom;
    }

    /// <summary>
    /// Fills the reserve, first checking that <paramref name="margin"/> more fds are free beyond it (opened and closed
    /// again); false, with nothing held, when the process cannot spare them.
    /// </summary>
    private bool TakeReserveUnsynchronized(int margin)
    {
        if (_reserve.Count == ReserveSize)
        {
            return true;
        }
        var probe = new List<int>(margin);
        try
        {
            while (_reserve.Count < ReserveSize || probe.Count < margin)
            {
                int fd = _table.OpenSpare();
                if (fd < 0)
                {
                    ReleaseReserveUnsynchronized();
                    return false;
                }
                (_reserve.Count < ReserveSize ? _reserve : probe).Add(fd);
            }
            return true;
        }
        finally
        {
            foreach (int fd in probe)
            {
                _table.Close(fd);
            }
        }
    }

    private void ReleaseReserveUnsynchronized()
    {
        foreach (int fd in _reserve)
        {
            _table.Close(fd);
        }
        _reserve.Clear();
    }

    private void WakeWaiters()
    {
        IWaiter[] waiters;
        lock (_lock)
        {
            waiters = [.. _waiters];
            _waiters.Clear();
            _waiting = 0;
        }
        // Outside the lock: a waiter's wake-up posts to its loop.
        foreach (var waiter in waiters)
        {
            waiter.Wake();
        }
    }
}
