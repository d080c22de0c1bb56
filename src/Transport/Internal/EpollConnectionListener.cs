using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// One listening socket. Its fd is watched (edge-triggered) by one loop, which only signals readiness; the accept4
/// calls run on the thread that calls <see cref="AcceptAsync"/> (Kestrel's accept loop), never on an event loop.
/// </summary>
/// <remarks>
/// <para>Kestrel calls <see cref="AcceptAsync"/> in one loop and stops accepting forever if it throws, so every error
/// that concerns a single pending connection or a passing shortage is handled here; it throws only for a listener that
/// can never accept again (ENOTSOCK, EOPNOTSUPP...), which Kestrel then logs as an error. <c>null</c> is returned once
/// unbound.</para>
/// <para>File descriptors. Every accept4 first takes room in the process's <see cref="FdBudget"/>: at the budget's cap
/// the listener stops calling accept4 (pending connections wait in the kernel's backlog) until the close path wakes it,
/// so the process always keeps the budget's headroom free. EMFILE/ENFILE still happen when the rest of the process
/// took that headroom: then the budget's reserve is given back before anything else runs, and accepting resumes only
/// once the reserve and a headroom beyond it are free again. Each burst (until the backlog drains) is logged once.</para>
/// <para>Waking up again (<see cref="_retry"/>) needs no pool thread: the loop's timer and the close path signal it on
/// the loop thread, and Kestrel's accept loop resumes inline there, so connections are let in even while handlers block
/// every pool thread.</para>
/// <para>"Accept thread" below means whichever thread runs <see cref="AcceptAsync"/> now: Kestrel calls it serially,
/// and after a retry wait it runs on this listener's loop thread until its next wait.</para>
/// </remarks>
internal sealed class EpollConnectionListener : IConnectionListener, IEpollHandler, FdBudget.IWaiter
{
    /// <summary>First back-off after EMFILE/ENFILE; doubles per failure up to <see cref="MaxBackoff"/>.</summary>
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(10);

    /// <summary>The longest back-off: how late, at most, connections are let in after the rest of the process freed fds.</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(100);

    private readonly ListenSocket _socket;
    private readonly SafeFdHandle _handle;
    private readonly EpollEventLoop _loop;
    private readonly EpollEventLoopGroup _group;
    private readonly Action<EpollEventLoopGroup> _releaseGroup;
    private readonly FdBudget _budget;
    private readonly ILogger _logger;
    private readonly ILogger _connectionLogger;
    /// <summary>The local end point every connection shares, or null when each must ask (wildcard, inherited fd).</summary>
    private readonly EndPoint? _fixedLocalEndPoint;

    /// <summary>Edges of the listen fd, from the loop; the accept thread waits on it. Resumes on the thread pool.</summary>
    private readonly ReadinessSignal _acceptable = new(runContinuationsAsynchronously: true);

    /// <summary>
    /// Try accepting again: signalled on the loop thread by the loop's timer (a back-off, a cap re-check) and by the
    /// budget's close-path wake-up, closed (waking with false) by unbind. Resumes inline, on the loop: needs no pool thread.
    /// </summary>
    private readonly ReadinessSignal _retry = new(runContinuationsAsynchronously: false);

    /// <summary>The rest of the process took the headroom (EMFILE/ENFILE): retry only once the budget recovers. Accept thread only.</summary>
    private bool _exhausted;

    /// <summary>This burst was logged (EMFILE or the cap); cleared when accept4 drains the backlog. Accept thread only.</summary>
    private bool _burstLogged;

    /// <summary>When this listener's pending loop timer is due (Environment.TickCount64), or 0 when none is. Written by the
    /// accept thread when it schedules one, cleared by the timer on the loop.</summary>
    private long _timerDue;

    /// <summary>The next back-off; doubles within a burst. Accept thread only.</summary>
    private TimeSpan _backoff = MinBackoff;

    /// <summary>0 while bound; 1 once <see cref="UnbindAsync"/> ran. Interlocked.</summary>
    private int _unbound;

    /// <summary>0 until <see cref="DisposeAsync"/>; then 1. Interlocked.</summary>
    private int _disposed;

    private EpollConnectionListener(ListenSocket socket, EpollEventLoopGroup group, Action<EpollEventLoopGroup> releaseGroup, ILoggerFactory loggerFactory, FdBudget budget)
    {
        _socket = socket;
        _handle = socket.Handle;
        EndPoint = socket.EndPoint;
        _group = group;
        _releaseGroup = releaseGroup;
        _budget = budget;
        _loop = group.Next();
        _logger = loggerFactory.CreateLogger("KestrelEpollTransport.Listener");
        _connectionLogger = loggerFactory.CreateLogger("KestrelEpollTransport.Connection");
        // Connections of a listener bound to one address share its local end point; others ask getsockname.
        _fixedLocalEndPoint = socket.EndPoint switch
        {
            IPEndPoint ip when socket.UnixPath is null && !ip.Address.Equals(IPAddress.Any) && !ip.Address.Equals(IPAddress.IPv6Any) => ip,
            UnixDomainSocketEndPoint unix => unix,
            _ => null,
        };
    }

    public EndPoint EndPoint { get; }

    /// <summary>The registration's token; reserved by <see cref="Bind"/> right before the fd is added to epoll.</summary>
    public ulong EpollToken { get; private set; }

    /// <summary>Opens a listening socket for <paramref name="endPoint"/> and registers it with a loop.</summary>
    /// <exception cref="AddressInUseException">The address (or Unix socket path) is in use.</exception>
    public static EpollConnectionListener Bind(EndPoint endPoint, EpollTransportOptions options, EpollEventLoopGroup group, Action<EpollEventLoopGroup> releaseGroup, ILoggerFactory loggerFactory, FdBudget? budget = null)
    {
        var socket = ListenSocket.Open(endPoint, options.Backlog);
        EpollConnectionListener? listener = null;
        bool attached = false;
        try
        {
            listener = new EpollConnectionListener(socket, group, releaseGroup, loggerFactory, budget ?? FdBudget.Process);
            // Bound while already short of fds: accept nothing until the budget recovers.
            listener._exhausted = !listener._budget.Attach(listener, options.FdHeadroom);
            attached = true;
            listener.EpollToken = listener._loop.ReserveToken();
            int result = listener._loop.Register(socket.Handle.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, listener);
            if (result < 0)
            {
                // Register released the slot; the budget and the socket are released below.
                throw new IOException($"epoll_ctl(ADD) of the listener on {endPoint} failed: {Errno.Describe(-result)}");
            }
            EpollTransportLog.Listening(listener._logger, socket.EndPoint, socket.Handle.Fd);
            return listener;
        }
        catch
        {
            if (attached)
            {
                listener!._budget.Detach(listener);
            }
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static s => ((ReadinessSignal)s!).Signal(), _acceptable)
            : default;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Volatile.Read(ref _unbound) != 0)
            {
                return null;
            }

            if (_exhausted)
            {
                if (!_budget.CalibrationDue || !_budget.TryRecover())
                {
                    // Still short of fds: keep what headroom there is for the rest of the process and wait again.
                    if (!await WaitAsync(_backoff, untilRoom: false))
                    {
                        return null;
                    }
                    _backoff = _backoff * 2 < MaxBackoff ? _backoff * 2 : MaxBackoff;
                    continue;
                }
                _exhausted = false;
                _backoff = MinBackoff;
            }

            if (!_budget.TryTake() && !TryTakeAfterRecheck())
            {
                // At the cap: pending connections wait in the backlog until the transport closes some of its fds.
                _group.Metrics.AcceptDeferred();
                if (!_burstLogged)
                {
                    _burstLogged = true;
                    EpollTransportLog.AcceptAtFdBudget(_logger, EndPoint, _budget.Held, _budget.Headroom);
                }
                if (!await WaitAsync(_budget.RecheckInterval, untilRoom: true))
                {
                    return null;
                }
                continue;
            }

            _acceptable.Reset();
            int fd = TryAccept(out var peer);
            if (fd >= 0)
            {
                _budget.Accepted(fd);
                if (TryCreateConnection(fd, ref peer) is { } connection)
                {
                    return connection;
                }
                continue;
            }
            int errno = -fd;
            if (Errno.IsResourceExhaustion(errno))
            {
                // First, before a log line, a metric or a hand-off (each may need an fd or a thread): fds back to the process.
                _budget.OnExhausted();
            }
            _budget.Return();

            if (Errno.IsResourceExhaustion(errno))
            {
                _exhausted = true;
                _group.Metrics.AcceptError(Errno.Name(errno));
                if (!_burstLogged)
                {
                    // Once per burst: at the limit, accepts alternate with EMFILE as fds come and go; that is one burst
                    // until the backlog is drained.
                    _burstLogged = true;
                    EpollTransportLog.AcceptResourceExhausted(_logger, EndPoint, Errno.Describe(errno), (int)_backoff.TotalMilliseconds);
                }
            }
            else if (errno == Errno.EAGAIN)
            {
                // The backlog is drained: a burst of exhaustion, if any, is over.
                _burstLogged = false;
                if (!await _acceptable.WaitAsync())
                {
                    return null;
                }
            }
            else if (Volatile.Read(ref _unbound) != 0)
            {
                // EBADF, EINVAL...: the listen fd was closed by UnbindAsync.
                return null;
            }
            else if (Errno.IsTransientAcceptError(errno) || IsStillListening())
            {
                // A pending connection's own error (accept(2) reports those too), or one we do not know on a socket
                // that still listens: that connection is gone, the next one may be fine.
                _group.Metrics.AcceptError(Errno.Name(errno));
                EpollTransportLog.AcceptTransientError(_logger, EndPoint, Errno.Describe(errno));
            }
            else
            {
                if (Volatile.Read(ref _unbound) != 0)
                {
                    return null; // unbound while we looked
                }
                // ENOTSOCK, EOPNOTSUPP, EINVAL on a listener that no longer listens: it is broken and will never accept
                // again. As Sockets, the error escapes: Kestrel logs it and stops accepting on this end point.
                _group.Metrics.AcceptError(Errno.Name(errno));
                throw new IOException($"Accepting on {EndPoint} failed: {Errno.Describe(errno)}. The listener cannot accept any more connections.");
            }
        }
    }

    /// <summary>Whether the listen fd is still a listening socket (SO_ACCEPTCONN), after an error accept4 does not document.</summary>
    private bool IsStillListening()
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return Sock.GetOption(_handle.Fd, Sock.SOL_SOCKET, Sock.SO_ACCEPTCONN, out int listening) == 0 && listening == 1;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// At the cap: when the budget's recheck is due, recalibrates (the rest of the process may have closed or opened
    /// fds since) and takes again. Accept thread.
    /// </summary>
    private bool TryTakeAfterRecheck()
    {
        if (!_budget.CalibrationDue)
        {
            return false;
        }
        _budget.Calibrate();
        return _budget.TryTake();
    }

    /// <summary>
    /// Waits for <see cref="_retry"/>: signalled by the loop's timer after <paramref name="delay"/>, by the budget's
    /// close-path wake-up when <paramref name="untilRoom"/> (true at once if there is room already), or closed by
    /// unbind (false). No spin: pending connections raise no new edge meanwhile (edge-triggered), and the timer is the
    /// loop, which needs no fd or thread (both may be out now).
    /// </summary>
    private async ValueTask<bool> WaitAsync(TimeSpan delay, bool untilRoom)
    {
        // Before registering: a wake-up that comes between the two is kept, not reset away.
        _retry.Reset();
        if (untilRoom && _budget.WaitForRoom(this))
        {
            return true;
        }
        long due = Environment.TickCount64 + (long)delay.TotalMilliseconds;
        long pending = Volatile.Read(ref _timerDue);
        if (pending == 0 || due < pending)
        {
            // One timer at a time, unless this one is due sooner (a back-off while a cap re-check is pending).
            Volatile.Write(ref _timerDue, due);
            _loop.ScheduleAfter(delay, static s =>
            {
                var listener = (EpollConnectionListener)s!;
                Volatile.Write(ref listener._timerDue, 0);
                listener._retry.Signal();
            }, this);
        }
        bool result = await _retry.WaitAsync().ConfigureAwait(false);
        if (untilRoom)
        {
            _budget.StopWaiting(this);
        }
        return result;
    }

    /// <summary>The budget has room again (the close path): retry on the loop thread. Any thread; never blocks.</summary>
    void FdBudget.IWaiter.Wake() => _loop.Schedule(static s => ((ReadinessSignal)s!).Signal(), _retry);

    /// <summary>accept4 holding a reference on the listen fd, so a concurrent unbind cannot close it mid-call.</summary>
    private int TryAccept(out SockAddr peer)
    {
        peer = default;
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return Sock.Accept(_handle.Fd, ref peer);
        }
        catch (ObjectDisposedException)
        {
            return -Errno.EBADF;
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// Wraps an accepted fd; null (the fd closed, the failure logged) when that fails, e.g. out of memory: Kestrel
    /// stops accepting forever if AcceptAsync throws, so one failed connection must not escape.
    /// </summary>
    private EpollConnection? TryCreateConnection(int fd, ref SockAddr peer)
    {
        var handle = new SafeFdHandle(fd, _budget);
        try
        {
            return CreateConnection(handle, ref peer);
        }
        catch (Exception ex)
        {
            handle.Dispose();
            _group.Metrics.AcceptError("setup");
            EpollTransportLog.ConnectionSetupFailed(_logger, EndPoint, ex);
            return null;
        }
    }

    private EpollConnection CreateConnection(SafeFdHandle handle, ref SockAddr peer)
    {
        int fd = handle.Fd;
        var options = _group.Options;
        if (options.NoDelay && _socket.IsTcp)
        {
            _ = Sock.SetOption(fd, Sock.IPPROTO_TCP, Sock.TCP_NODELAY, 1);
        }
        EndPoint? remote = _socket.IsTcp ? peer.ToIPEndPoint() : null;
        // A copy per connection: IPEndPoint is mutable, and a connection's end point must not change under another.
        EndPoint? local = _fixedLocalEndPoint switch
        {
            IPEndPoint ip => new IPEndPoint(ip.Address, ip.Port),
            var other => other,
        };
        var connection = new EpollConnection(handle, _group.Next(), options, local, remote, _connectionLogger, _group.Metrics);
        _group.Metrics.ConnectionAccepted();
        connection.Start();
        return connection;
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        Unbind();
        return default;
    }

    private void Unbind()
    {
        if (Interlocked.Exchange(ref _unbound, 1) == 0)
        {
            _loop.Unregister(_handle.Fd, this);
            _acceptable.Close();
            _retry.Close();
            // Closing the listen fd refuses new connections at once; a concurrent accept4 keeps it open until it returns.
            // An inherited fd is not ours: the handle leaves it open (connections then wait in its backlog).
            _socket.Dispose();
            _budget.Detach(this);
            EpollTransportLog.Unbound(_logger, EndPoint);
        }
    }

    public ValueTask DisposeAsync()
    {
        Unbind();
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _releaseGroup(_group);
        }
        return default;
    }

    void IEpollHandler.OnEvents(uint events) => _acceptable.Signal();

    void IEpollHandler.OnFault(Exception exception) => _acceptable.Signal();

    void IEpollHandler.OnLoopStopping()
    {
        // The group stops only after every listener was disposed; this is a listener someone forgot: stop it.
        Unbind();
    }
}
