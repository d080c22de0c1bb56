using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using LinuxSocket = KestrelEpollTransport.Interop.Socket;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// One accepted TCP connection, handed to Kestrel as a <see cref="ConnectionContext"/> whose transport is a pair of
/// pipes: <see cref="_input"/> (socket → Kestrel) and <see cref="_output"/> (Kestrel → socket).
/// </summary>
/// <remarks>
/// <para>Protocol.</para>
/// <para>Registration: the fd is added to its loop's epoll once, edge-triggered, for IN | OUT | RDHUP; never modified.</para>
/// <para>Receive (loop thread only, EpollConnection.Receive.cs): on a readable edge, read into the input pipe until a
/// read comes back short (drained: the next data brings a new edge) or 0 (peer FIN: input completes cleanly, output
/// goes on). When a flush does not complete at once (the reader is <c>MaxReadBufferSize</c> behind) reading pauses; the
/// flush's completion, scheduled on the loop, resumes it with a read (edges seen meanwhile were consumed).</para>
/// <para>Send (EpollConnection.Send.cs): an async loop reads the output pipe, whose reader scheduler is inline, so it
/// runs on the thread that flushed and writev()s the buffered segments at once: no thread hop. On EAGAIN it waits for
/// the next writable edge and goes on on the loop thread. A call from a thread other than the loop holds a reference
/// on the fd, so it can never be closed (and its number reused) under the call.</para>
/// <para>Close (loop thread only, <see cref="Close"/>): one place. It runs when the send loop ended (Kestrel completed
/// the output and everything was written, or a send failed) or on <see cref="Abort(ConnectionAbortedException)"/>;
/// graceful ends send FIN (shutdown) after all output, aborts send RST (SO_LINGER 0). It unregisters, closes the fd
/// once, and completes the input with the reason. Transitions that touch the pipes are always posted to the loop,
/// never run nested inside a callback, because with inline scheduling Kestrel runs inside our flush.</para>
/// <para>Semantics follow Kestrel's Sockets transport: ECONNRESET/EPIPE complete the input with
/// <see cref="ConnectionResetException"/>; an abort with the abort's <see cref="ConnectionAbortedException"/>;
/// <see cref="ConnectionClosed"/> fires once, on the thread pool, when the input completes.</para>
/// </remarks>
internal sealed partial class EpollConnection : ConnectionContext, IEpollHandler
{
    /// <summary>What a read asks the input pipe for at least: half a pool block, as the Sockets transport.</summary>
    private readonly int _minAllocSize;

    private readonly SafeFdHandle _handle;

    /// <summary>The fd number; used directly on the loop thread (which alone closes it), under a reference elsewhere.</summary>
    private readonly int _fd;

    private readonly EpollEventLoop _loop;
    private readonly ILogger _logger;
    private readonly EpollTransportMetrics _metrics;

    /// <summary>Socket → Kestrel. Writer: the loop. Reader: Kestrel, scheduled on the thread pool (or inline if unsafe).</summary>
    private readonly Pipe _input;

    /// <summary>Kestrel → socket. Writer: Kestrel. Reader: the send loop, scheduled inline on the flushing thread.</summary>
    private readonly Pipe _output;

    /// <summary>The input's reader as handed to Kestrel; tells the send path whether pipelined requests wait.</summary>
    private readonly InputPipeReader _inputReader;

    /// <summary>Writable edges; the send loop waits on it after EAGAIN and resumes inline on the loop thread.</summary>
    private readonly ReadinessSignal _writable = new(runContinuationsAsynchronously: false);

    /// <summary>Completes when the connection is closed and the send loop has ended; <see cref="DisposeAsync"/> waits for it.</summary>
    private readonly TaskCompletionSource _closedTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Things still to happen before <see cref="_closedTcs"/> completes: close, send loop end, ConnectionClosed callback.</summary>
    private int _pendingCompletions = 3;

    /// <summary>0 until <see cref="Abort(ConnectionAbortedException)"/>; then 1. Interlocked.</summary>
    private int _abortRequested;

    /// <summary>The reason given to the first Abort (null: close gracefully); written before the close is posted.</summary>
    private ConnectionAbortedException? _abortReason;

    /// <summary>Why the send loop ended abnormally; written by the send loop before it posts the close.</summary>
    private Exception? _sendError;

    /// <summary>The reason the input is completed with once closed. Loop thread.</summary>
    private Exception? _shutdownReason;

    /// <summary>Unregistered and fd released. Loop thread.</summary>
    private bool _closed;

    /// <summary>Whether <see cref="Start"/> registered the fd (so <see cref="Close"/> unregisters it).</summary>
    private bool _registered;

    /// <summary>0 until ConnectionClosed is scheduled; then 1. Interlocked.</summary>
    private int _connectionClosedFired;

    private readonly CancellationTokenSource _connectionClosedTokenSource = new();

    public EpollConnection(SafeFdHandle handle, EpollEventLoop loop, EpollTransportOptions options, EndPoint? localEndPoint, EndPoint? remoteEndPoint, ILogger logger, EpollTransportMetrics metrics)
    {
        _handle = handle;
        _fd = handle.Fd;
        _loop = loop;
        _logger = logger;
        _metrics = metrics;
        _localEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;
        EpollToken = loop.ReserveToken();

        var pool = loop.MemoryPool;
        int segmentSize = pool.MaxBufferSize is > 0 and < 1024 * 1024 ? pool.MaxBufferSize : 4096;
        _minAllocSize = segmentSize / 2;
        var applicationScheduler = options.UnsafePreferInlineScheduling ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        long maxRead = options.MaxReadBufferSize ?? 0;
        long maxWrite = options.MaxWriteBufferSize ?? 0;
        _input = new Pipe(new PipeOptions(pool, applicationScheduler, _loop, maxRead, maxRead / 2, segmentSize, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, PipeScheduler.Inline, applicationScheduler, maxWrite, maxWrite / 2, segmentSize, useSynchronizationContext: false));
        _deferLimit = maxWrite > 0 ? maxWrite / 2 : 64 * 1024;
        _inputReader = new InputPipeReader(_input.Reader);
        Transport = new DuplexPipe(_inputReader, _output.Writer);
        _onFlushCompleted = OnFlushCompleted;
        InitializeFeatures();
    }

    public ulong EpollToken { get; }

    public override CancellationToken ConnectionClosed
    {
        get => _connectionClosedTokenSource.Token;
        set => throw new NotSupportedException("The epoll transport owns ConnectionClosed.");
    }

    /// <summary>Registers the fd with its loop and starts the send loop. Called once, by the listener.</summary>
    public void Start()
    {
        int result = _loop.Register(_fd, Epoll.EPOLLIN | Epoll.EPOLLOUT | Epoll.EPOLLRDHUP | Epoll.EPOLLET, this);
        _registered = result == 0;
        if (!_registered)
        {
            // ENOMEM/ENOSPC (max_user_watches): the connection cannot be served; reset it.
            Abort(new ConnectionAbortedException($"epoll_ctl(ADD) failed: {Errno.Describe(-result)}"));
        }
        _sendTask = ProcessSendsAsync();
    }

    /// <summary>
    /// Ends the connection now, discarding output not yet sent. With a reason: RST (SO_LINGER 0), and the input
    /// completes with that reason. With null (Kestrel's "closed gracefully" after a client FIN): FIN. As Sockets.
    /// </summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Interlocked.Exchange(ref _abortRequested, 1) == 0)
        {
            _abortReason = abortReason;
            // Posted, never inline: Abort may be called by Kestrel running inside our own flush on the loop.
            _loop.Schedule(static state => ((EpollConnection)state!).Close(), this);
            // After the close is queued, so the send loop's own close request comes second.
            _output.Reader.CancelPendingRead();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        _input.Reader.Complete();
        _output.Writer.Complete();
        await _closedTcs.Task.ConfigureAwait(false);
        _connectionClosedTokenSource.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The one place a connection closes: FIN after all output (graceful) or RST (abort), unregister, close the fd
    /// once, complete the input. Loop thread only; idempotent.
    /// </summary>
    private void Close()
    {
        Debug.Assert(_loop.IsLoopThread, "Close runs on the connection's loop.");
        if (_closed)
        {
            return;
        }
        _closed = true;

        Exception? error = _abortReason ?? _sendError;
        if (error is not null)
        {
            _shutdownReason = error;
            EpollTransportLog.ConnectionWriteRst(_logger, ConnectionId, error.Message);
            // As Sockets since .NET 8 (Socket.Close(0)): SO_LINGER 0 makes close() send RST and drop unsent data.
            _ = LinuxSocket.SetLingerZero(_fd);
        }
        else
        {
            _shutdownReason = new ConnectionAbortedException("The epoll transport's send loop completed gracefully.");
            EpollTransportLog.ConnectionWriteFin(_logger, ConnectionId, _shutdownReason.Message);
            // As the Sockets transport: shutdown both ways (FIN), then close. Unread input makes the kernel reset.
            _ = LinuxSocket.Shutdown(_fd, LinuxSocket.SHUT_RDWR);
        }

        if (_registered)
        {
            _loop.Unregister(_fd, this);
        }
        _writable.Close();
        _sendDeferral.Close();
        // The fd closes now, or when a send on another thread releases its reference.
        _handle.Dispose();
        _metrics.ConnectionClosed();

        // Ends a send loop still waiting for data (an abort); a no-op once it has ended.
        _output.Reader.CancelPendingRead();
        if (_receivePaused)
        {
            // The pending flush completes as cancelled, on the loop; its callback completes the input.
            _input.Writer.CancelPendingFlush();
        }
        else
        {
            CompleteInput(null);
        }
        CompletionStep();
    }

    /// <summary>Completes the input once (with the shutdown reason if closed) and fires ConnectionClosed. Loop thread.</summary>
    private void CompleteInput(Exception? error)
    {
        if (_inputCompleted)
        {
            return;
        }
        _inputCompleted = true;
        _input.Writer.Complete(_shutdownReason ?? error);
        FireConnectionClosed();
    }

    private void FireConnectionClosed()
    {
        if (Interlocked.Exchange(ref _connectionClosedFired, 1) != 0)
        {
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(static connection =>
        {
            try
            {
                connection._connectionClosedTokenSource.Cancel();
            }
            finally
            {
                connection.CompletionStep();
            }
        }, this, preferLocal: false);
    }

    private void CompletionStep()
    {
        if (Interlocked.Decrement(ref _pendingCompletions) == 0)
        {
            _closedTcs.TrySetResult();
        }
    }

    void IEpollHandler.OnFault(Exception exception)
    {
        Abort(new ConnectionAbortedException("The epoll transport failed handling this connection.", exception));
    }

    void IEpollHandler.OnLoopStopping()
    {
        // The loop stops with this connection still open (its listener was disposed without Kestrel closing it).
        if (Interlocked.Exchange(ref _abortRequested, 1) == 0)
        {
            _abortReason = new ConnectionAbortedException("The epoll transport is stopping.");
        }
        _output.Reader.CancelPendingRead();
        Close();
    }

    /// <summary>The pair of pipe ends Kestrel uses.</summary>
    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
