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
/// <c>L − (open − held) − H − (reserve not held)</c>: what the rest of the process holds is counted at calibration;
/// the transport's own fds are counted by the two counters, without a syscall per connection.</para>
/// <para>The reserve: <see cref="ReserveSize"/> fds held while any listener is attached. When the rest of the process
/// grew into the headroom anyway (files, outgoing connections) and accept4 meets EMFILE, <see cref="OnExhausted"/>
/// closes the reserve before anything else runs, so the process has fds again at once. Accepting resumes only when
/// <see cref="TryRecover"/> finds the reserve <i>and</i> a headroom beyond it free (counted, not probed: a probe that
/// opens fds would itself take the process's last ones). While the reserve is not held, the cap keeps its room free.</para>
/// <para>Wake-ups. A listener that stops at the cap waits for <see cref="IWaiter.Wake"/>: called by the close path
/// (<see cref="Released"/>) when the transport drops below the cap, and by any calibration that raises the cap. The
/// listener's own re-check timer only notices fds the rest of the process gave back.</para>
/// <para>Threads. Every method may be called from any thread. <see cref="_held"/> and <see cref="_pending"/> change by
/// Interlocked operations; <see cref="_cap"/> is written under <see cref="_lock"/> and read without it (a take
/// re-checks it after incrementing, so it never ends above the cap it read). Waiters have their own lock, so the close
/// path never waits for a calibration.</para>
/// </remarks>
internal sealed class FdBudget
{
    /// <summary>fds kept as the reserve while any listener is attached: a few thread starts (two fds each) at once.</summary>
    public const int ReserveSize = 16;

    /// <summary>The smallest default headroom; the default is the larger of this and <see cref="DefaultHeadroomPercent"/> of the limit.</summary>
    public const int MinDefaultHeadroom = 32;

    /// <summary>The default headroom as a share of the soft RLIMIT_NOFILE, in percent.</summary>
    public const int DefaultHeadroomPercent = 5;

    /// <summary>The shortest <see cref="RecheckInterval"/>: fds the rest of the process frees are seen this late at most.</summary>
    public static readonly TimeSpan MinRecheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The budget of this process.</summary>
    public static FdBudget Process { get; } = new(ProcessFdTable.Instance);

    private readonly IFdTable _table;

    /// <summary>Guards the cap's writes, <see cref="_reserve"/> and <see cref="_headrooms"/>.</summary>
    private readonly Lock _lock = new();

    /// <summary>Guards <see cref="_waiters"/>; never held while taking <see cref="_lock"/>.</summary>
    private readonly Lock _waitersLock = new();

    /// <summary>fds the transport holds or has a take for (accept4 running). Interlocked.</summary>
    private int _held;

    /// <summary>Takes whose accept4 has not returned yet (counted in <see cref="_held"/>, not yet in the fd table). Interlocked.</summary>
    private int _pending;

    /// <summary>The most fds the transport may hold; set by calibration. Written under <see cref="_lock"/>.</summary>
    private volatile int _cap;

    /// <summary>The soft limit and the headroom as of the last calibration (for <see cref="Accepted"/>'s check). Written under <see cref="_lock"/>.</summary>
    private volatile int _calibratedLimit = int.MaxValue;
    private volatile int _calibratedHeadroom;

    /// <summary>When the last calibration ended, and how long it took (Stopwatch ticks): counting grows with the fds open.</summary>
    private long _calibratedAt;
    private long _calibrationTicks;

    /// <summary>The reserve's fds (<see cref="ReserveSize"/> when taken, none when given back). Under <see cref="_lock"/>.</summary>
    private readonly List<int> _reserve = [];

    /// <summary>Listeners attached, each with the headroom it asked for (0: the default). Under <see cref="_lock"/>.</summary>
    private readonly List<(IWaiter Listener, int Headroom)> _headrooms = [];

    /// <summary>Listeners waiting for the transport to drop below the cap. Under <see cref="_waitersLock"/>.</summary>
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

    /// <summary>
    /// How often a listener held at the cap or exhausted may recalibrate, to see fds the rest of the process gave back:
    /// every <see cref="MinRecheckInterval"/>, or less often where counting the open fds is slow (at most ~5 % of a CPU).
    /// </summary>
    public TimeSpan RecheckInterval
    {
        get
        {
            var cost = Stopwatch.GetElapsedTime(0, Volatile.Read(ref _calibrationTicks));
            return cost * 20 > MinRecheckInterval ? cost * 20 : MinRecheckInterval;
        }
    }

    /// <summary>Whether half a <see cref="RecheckInterval"/> has passed since the last calibration (a timer a tick early still counts).</summary>
    public bool CalibrationDue => Stopwatch.GetElapsedTime(Volatile.Read(ref _calibratedAt)) >= RecheckInterval / 2;

    /// <summary>The default headroom for a soft limit: max(<see cref="MinDefaultHeadroom"/>, <see cref="DefaultHeadroomPercent"/> %).</summary>
    public static int DefaultHeadroom(int softLimit) => Math.Max(MinDefaultHeadroom, (int)((long)softLimit * DefaultHeadroomPercent / 100));

    /// <summary>
    /// A listener starts accepting: its headroom (null: the default) joins the budget, the reserve is taken if it is
    /// not held and the headroom is free beyond it, and the cap is calibrated. False when the reserve could not be
    /// taken (the process is short of fds now): the listener then starts as after <see cref="OnExhausted"/>.
    /// </summary>
    public bool Attach(IWaiter listener, int? headroom)
    {
        bool reserved;
        lock (_lock)
        {
            _headrooms.Add((listener, headroom ?? 0));
            reserved = TakeReserveUnsynchronized(margin: HeadroomUnsynchronized(_table.SoftLimit()));
            CalibrateUnsynchronized();
        }
        return reserved;
    }

    /// <summary>A listener stops accepting; the reserve goes back to the process with the last one.</summary>
    public void Detach(IWaiter listener)
    {
        StopWaiting(listener);
        lock (_lock)
        {
            _headrooms.RemoveAll(entry => ReferenceEquals(entry.Listener, listener));
            if (_headrooms.Count == 0)
            {
                ReleaseReserveUnsynchronized();
            }
            CalibrateUnsynchronized();
        }
        WakeIfRoom(); // a smaller headroom may have raised the cap
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
            GiveBack();
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
    public void Return() => GiveBack();

    /// <summary>Undoes a take: held first, so a calibration in between counts the room as the rest's (a cap too low, never too high).</summary>
    private void GiveBack()
    {
        Interlocked.Decrement(ref _held);
        Interlocked.Decrement(ref _pending);
        WakeIfRoom();
    }

    /// <summary>An accepted fd was closed (the close path: its handle's last reference let go). Wakes waiting listeners.</summary>
    public void Released()
    {
        Interlocked.Decrement(ref _held);
        // After the decrement (a full fence): either a waiter's re-check sees the room, or this sees the waiter.
        WakeIfRoom();
    }

    /// <summary>
    /// Registers <paramref name="listener"/> to be woken when the transport drops below the cap, then re-checks: true
    /// when there is room already (the listener was not registered; take again).
    /// </summary>
    public bool WaitForRoom(IWaiter listener)
    {
        lock (_waitersLock)
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
        lock (_waitersLock)
        {
            _waiters.Remove(listener);
            _waiting = _waiters.Count;
        }
    }

    /// <summary>
    /// accept4 failed with EMFILE or ENFILE: the rest of the process took the headroom. Gives the reserve back at once,
    /// then recalibrates (the cap then keeps the reserve's room free too). Call it before anything else (a log line, a
    /// metric, a hand-off: each may need an fd or a thread).
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
    /// recalibrates. False (nothing taken) while the process is still short.
    /// </summary>
    public bool TryRecover()
    {
        bool recovered;
        lock (_lock)
        {
            recovered = TakeReserveUnsynchronized(margin: HeadroomUnsynchronized(_table.SoftLimit()));
            CalibrateUnsynchronized();
        }
        WakeIfRoom();
        return recovered;
    }

    /// <summary>Re-reads the limit and the fds open now, and sets the cap (the rest of the process may have changed).</summary>
    public void Calibrate()
    {
        lock (_lock)
        {
            CalibrateUnsynchronized();
        }
        WakeIfRoom();
    }

    private void CalibrateUnsynchronized()
    {
        long start = Stopwatch.GetTimestamp();
        int limit = _table.SoftLimit();
        int headroom = HeadroomUnsynchronized(limit);
        int open = _table.CountOpen();
        long end = Stopwatch.GetTimestamp();
        Volatile.Write(ref _calibrationTicks, end - start);
        Volatile.Write(ref _calibratedAt, end);
        _calibratedLimit = limit;
        _calibratedHeadroom = headroom;
        if (open < 0)
        {
            // The fd table cannot be read (no /proc): no budget; EMFILE and the reserve still protect the process.
            _cap = int.MaxValue;
            return;
        }
        // Takes whose accept4 has not returned are in _held but not yet in the table.
        int transport = Volatile.Read(ref _held) - Volatile.Read(ref _pending);
        int rest = Math.Max(0, open - transport);
        int missingReserve = _headrooms.Count > 0 ? ReserveSize - _reserve.Count : 0;
        _cap = Math.Max(0, limit - rest - headroom - missingReserve);
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
    /// Fills the reserve when the fds it needs and <paramref name="margin"/> more are free (counted first: opening fds
    /// to probe would take the process's last ones); false, with nothing held, when the process cannot spare them.
    /// </summary>
    private bool TakeReserveUnsynchronized(int margin)
    {
        if (_reserve.Count == ReserveSize)
        {
            return true;
        }
        int open = _table.CountOpen();
        if (open >= 0 && _table.SoftLimit() - open < ReserveSize - _reserve.Count + margin)
        {
            return false;
        }
        while (_reserve.Count < ReserveSize)
        {
            int fd = _table.OpenSpare();
            if (fd < 0)
            {
                ReleaseReserveUnsynchronized();
                return false;
            }
            _reserve.Add(fd);
        }
        return true;
    }

    private void ReleaseReserveUnsynchronized()
    {
        foreach (int fd in _reserve)
        {
            _table.Close(fd);
        }
        _reserve.Clear();
    }

    /// <summary>Wakes every waiting listener when the transport is under the cap. Never under <see cref="_lock"/>.</summary>
    private void WakeIfRoom()
    {
        if (_waiting == 0 || Volatile.Read(ref _held) >= _cap)
        {
            return;
        }
        IWaiter[] waiters;
        lock (_waitersLock)
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
