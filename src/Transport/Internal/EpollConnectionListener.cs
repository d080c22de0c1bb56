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
/// Kestrel calls <see cref="AcceptAsync"/> in one loop and stops accepting forever if it throws, so every error that
/// concerns a single pending connection or a passing shortage (EMFILE, ENFILE, ENOBUFS, ENOMEM) is handled here:
/// shortages back off on a timer (no spin: edges that arrive meanwhile only set the signal) and are logged once per
/// burst. <c>null</c> is returned once unbound.
/// </remarks>
internal sealed class EpollConnectionListener : IConnectionListener, IEpollHandler
{
    /// <summary>First back-off after EMFILE/ENFILE; doubles per failure up to <see cref="MaxBackoff"/>.</summary>
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(500);

    private readonly ListenSocket _socket;
    private readonly SafeFdHandle _handle;
    private readonly EpollEventLoop _loop;
    private readonly EpollEventLoopGroup _group;
    private readonly Action<EpollEventLoopGroup> _releaseGroup;
    private readonly ILogger _logger;
    private readonly ILogger _connectionLogger;
    /// <summary>The local end point every connection shares, or null when each must ask (wildcard, inherited fd).</summary>
    private readonly EndPoint? _fixedLocalEndPoint;

    /// <summary>Edges of the listen fd, from the loop; the accept thread waits on it. Resumes on the thread pool.</summary>
    private readonly ReadinessSignal _acceptable = new(runContinuationsAsynchronously: true);

    /// <summary>Ends a back-off: set by the loop's timer, closed (waking with false) by unbind. Resumes on the thread pool.</summary>
    private readonly ReadinessSignal _backoffElapsed = new(runContinuationsAsynchronously: true);

    /// <summary>In a burst of EMFILE/ENFILE (logged at its start); cleared when accept4 drains the backlog. Accept thread only
    /// (Kestrel calls AcceptAsync serially).</summary>
    private bool _exhausted;

    /// <summary>
    /// fds held in reserve while accepting, released the moment accept4 reports EMFILE/ENFILE so the rest of the
    /// process is never left with none (starting a thread takes fds, and .NET aborts the process with "Out of memory"
    /// when it cannot). Accepting resumes only once the whole reserve could be taken back. Accept thread only.
    /// </summary>
    private readonly List<SafeFdHandle> _fdReserve = [];

    /// <summary>How many fds <see cref="_fdReserve"/> holds: enough for a few thread starts (two fds each) at once.</summary>
    private const int FdReserveSize = 16;

    /// <summary>The next back-off; doubles within a burst. Accept thread only.</summary>
    private TimeSpan _backoff = MinBackoff;

    /// <summary>0 while bound; 1 once <see cref="UnbindAsync"/> ran. Interlocked.</summary>
    private int _unbound;

    /// <summary>0 until <see cref="DisposeAsync"/>; then 1. Interlocked.</summary>
    private int _disposed;

    private EpollConnectionListener(ListenSocket socket, EpollEventLoopGroup group, Action<EpollEventLoopGroup> releaseGroup, ILoggerFactory loggerFactory)
    {
        _socket = socket;
        _handle = socket.Handle;
        EndPoint = socket.EndPoint;
        _group = group;
        _releaseGroup = releaseGroup;
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
        // Bound while already short of fds: accept nothing until the reserve can be taken.
        _exhausted = !TryTakeFdReserve();
    }

    public EndPoint EndPoint { get; }

    /// <summary>The registration's token; reserved by <see cref="Bind"/> right before the fd is added to epoll.</summary>
    public ulong EpollToken { get; private set; }

    /// <summary>Opens a listening socket for <paramref name="endPoint"/> and registers it with a loop.</summary>
    /// <exception cref="AddressInUseException">The address (or Unix socket path) is in use.</exception>
    public static EpollConnectionListener Bind(EndPoint endPoint, EpollTransportOptions options, EpollEventLoopGroup group, Action<EpollEventLoopGroup> releaseGroup, ILoggerFactory loggerFactory)
    {
        var socket = ListenSocket.Open(endPoint, options.Backlog);
        EpollConnectionListener? listener = null;
        try
        {
            listener = new EpollConnectionListener(socket, group, releaseGroup, loggerFactory);
            listener.EpollToken = listener._loop.ReserveToken();
            int result = listener._loop.Register(socket.Handle.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, listener);
            if (result < 0)
            {
                // Register released the slot; the fd reserve and the socket are released below.
                throw new IOException($"epoll_ctl(ADD) of the listener on {endPoint} failed: {Errno.Describe(-result)}");
            }
            EpollTransportLog.Listening(listener._logger, socket.EndPoint, socket.Handle.Fd);
            return listener;
        }
        catch
        {
            listener?.ReleaseFdReserve();
            socket.RemoveSocketFile();
            socket.Handle.Dispose();
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

            if (_exhausted && !TryTakeFdReserve())
            {
                // Still short of fds: keep the headroom for the rest of the process and wait again.
                if (!await BackOffAsync())
                {
                    return null;
                }
                continue;
            }

            _acceptable.Reset();
            int fd = TryAccept(out var peer);
            if (fd >= 0)
            {
                if (TryCreateConnection(fd, ref peer) is { } connection)
                {
                    return connection;
                }
                continue;
            }

            int errno = -fd;
            if (errno == Errno.EAGAIN)
            {
                // The backlog is drained: a burst of exhaustion, if any, is over.
                _exhausted = false;
                _backoff = MinBackoff;
                if (!await _acceptable.WaitAsync())
                {
                    return null;
                }
            }
            else if (errno == Errno.EBADF || errno == Errno.EINVAL)
            {
                // The listen fd was closed by UnbindAsync.
                return null;
            }
            else if (Errno.IsTransientAcceptError(errno))
            {
                _group.Metrics.AcceptError(Errno.Name(errno));
                EpollTransportLog.AcceptTransientError(_logger, EndPoint, Errno.Describe(errno));
            }
            else if (Errno.IsResourceExhaustion(errno))
            {
                _group.Metrics.AcceptError(Errno.Name(errno));
                ReleaseFdReserve();
                if (!_exhausted)
                {
                    // Once per burst: at the limit, accepts alternate with EMFILE as fds come and go; that is one burst
                    // until the backlog is drained.
                    _exhausted = true;
                    EpollTransportLog.AcceptResourceExhausted(_logger, EndPoint, Errno.Describe(errno), (int)_backoff.TotalMilliseconds);
                }
                if (!await BackOffAsync())
                {
                    return null; // unbound during the back-off
                }
            }
            else
            {
                // ENOTSOCK, EOPNOTSUPP...: the listener itself is broken; nothing will ever be accepted.
                EpollTransportLog.AcceptFailed(_logger, EndPoint, Errno.Describe(errno));
                return null;
            }
        }
    }

    /// <summary>
    /// Waits out one back-off; false when unbound meanwhile. No spin: pending connections raise no new edge meanwhile
    /// (edge-triggered), and the wait is a timer on the loop, which needs no fd or thread (both may be out now).
    /// </summary>
    private async ValueTask<bool> BackOffAsync()
    {
        _backoffElapsed.Reset();
        var elapsed = _backoffElapsed.WaitAsync();
        _loop.ScheduleAfter(_backoff, static s => ((ReadinessSignal)s!).Signal(), _backoffElapsed);
        bool result = await elapsed;
        _backoff = _backoff * 2 < MaxBackoff ? _backoff * 2 : MaxBackoff;
        return result;
    }

    /// <summary>Fills the fd reserve; false (and nothing held) when the process is still out of fds.</summary>
    private bool TryTakeFdReserve()
    {
        lock (_fdReserve)
        {
            while (_fdReserve.Count < FdReserveSize && Volatile.Read(ref _unbound) == 0)
            {
                int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
                if (fd < 0)
                {
                    ReleaseFdReserve();
                    return false;
                }
                _fdReserve.Add(new SafeFdHandle(fd));
            }
            return true;
        }
    }

    /// <summary>Gives the reserve back to the process. Any thread (unbind).</summary>
    private void ReleaseFdReserve()
    {
        lock (_fdReserve)
        {
            foreach (var handle in _fdReserve)
            {
                handle.Dispose();
            }
            _fdReserve.Clear();
        }
    }

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
        var handle = new SafeFdHandle(fd);
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
            _backoffElapsed.Close();
            // Closing the listen fd refuses new connections at once; a concurrent accept4 keeps it open until it returns.
            // An inherited fd is not ours: the handle leaves it open (connections then wait in its backlog).
            _handle.Dispose();
            _socket.RemoveSocketFile();
            ReleaseFdReserve();
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
