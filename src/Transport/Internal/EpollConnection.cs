using System.IO.Pipelines;
using System.Net;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// One accepted TCP connection, handed to Kestrel as a <see cref="ConnectionContext"/> whose transport is a pair of
/// pipes: <see cref="_input"/> (socket → Kestrel) and <see cref="_output"/> (Kestrel → socket).
/// </summary>
/// <remarks>
/// <para>Registration: the fd is added to its loop's epoll once, edge-triggered, for IN | OUT | RDHUP; never modified.</para>
/// <para>Receive (loop thread only, EpollConnection.Receive.cs): on a readable edge, read into the input pipe until a
/// read comes back short (drained: the next data brings a new edge), 0 (peer FIN: input completes cleanly, output goes
/// on), or the turn's read budget is spent (the rest is read by posted work, behind the loop's other events). The turn
/// flushes what it read when it ends (and every batch of bytes in between), not after each read. When a
/// flush does not complete at once (the reader is <c>MaxReadBufferSize</c> behind) reading pauses until it does.</para>
/// <para>Send (EpollConnection.Send.cs): an async loop reads the output pipe and writes what it holds with one
/// sendmsg. Its reader scheduler (<see cref="SendScheduler"/>) runs it after the work that flushed (the pool's global
/// queue: usually on that thread), so a burst of flushes goes out in one write. On EAGAIN (or a short write) it waits for the next writable
/// edge and goes on on the loop thread. A call from a thread other than the loop holds a reference on the fd, so it
/// can never be closed (and its number reused) under the call.</para>
/// <para>The application's side of both pipes (the input's reader, the output's writer) resumes on the thread pool
/// through <see cref="ApplicationScheduler"/>: what a pass of the loop schedules is queued when the pass ends.</para>
/// <para>Close (EpollConnection.Lifecycle.cs): the states, who moves them, the fields they read and the three rules
/// (input completes exactly once; one close, one RST or FIN; one place releases the fd) are written there.</para>
/// <para>Semantics follow Kestrel's Sockets transport: ECONNRESET/EPIPE complete the input with
/// <see cref="ConnectionResetException"/>; an abort with the abort's <see cref="ConnectionAbortedException"/>;
/// <see cref="ConnectionClosed"/> fires once, on the thread pool, when the input completes.</para>
/// </remarks>
internal sealed partial class EpollConnection : ConnectionContext, IEpollHandler
{
    /// <summary>
    /// The pool's block size (at least 1): what one read may always take, whatever its budget. A read asks the input
    /// pipe for at least half of it, as the Sockets transport does.
    /// </summary>
    private readonly int _blockSize;

    private readonly SafeFdHandle _handle;

    /// <summary>The fd number; used directly on the loop thread (which alone closes it), under a reference elsewhere.</summary>
    private readonly int _fd;

    private readonly EpollEventLoop _loop;
    private readonly ILogger _logger;
    private readonly EpollTransportMetrics _metrics;

    /// <summary>Socket → Kestrel. Writer: the loop. Reader: Kestrel, on the thread pool (<see cref="ApplicationScheduler"/>; inline if unsafe).</summary>
    private readonly Pipe _input;

    /// <summary>Kestrel → socket. Writer: Kestrel. Reader: the send loop, scheduled by <see cref="SendScheduler"/>.</summary>
    private readonly Pipe _output;

    /// <summary>Writable edges; the send loop waits on it after EAGAIN and resumes inline on the loop thread.</summary>
    private readonly ReadinessSignal _writable = new(runContinuationsAsynchronously: false);

    /// <summary>The registration's token; reserved by <see cref="Start"/> before the fd is added to epoll.</summary>
    private ulong _epollToken;

    private readonly CancellationTokenSource _connectionClosedTokenSource = new();

    /// <summary>Read once: DisposeAsync disposes the source, and its Token getter then throws (Sockets keeps the token).</summary>
    private readonly CancellationToken _connectionClosed;

    public EpollConnection(SafeFdHandle handle, EpollEventLoop loop, EpollTransportOptions options, EndPoint? localEndPoint, EndPoint? remoteEndPoint, ILogger logger, EpollTransportMetrics metrics)
    {
        _handle = handle;
        _fd = handle.Fd;
        _connectionClosed = _connectionClosedTokenSource.Token;
        _loop = loop;
        _logger = logger;
        _metrics = metrics;
        _localEndPoint = localEndPoint;
        RemoteEndPoint = remoteEndPoint;

        var pool = loop.MemoryPool;
        int segmentSize = pool.MaxBufferSize is > 0 and < 1024 * 1024 ? pool.MaxBufferSize : 4096;
        _blockSize = segmentSize;
        PipeScheduler applicationScheduler = options.UnsafePreferInlineScheduling ? PipeScheduler.Inline : loop.ApplicationScheduler;
        long maxRead = options.MaxReadBufferSize ?? 0;
        long maxWrite = options.MaxWriteBufferSize ?? 0;
        _flushBatchBytes = maxRead > 0 ? (int)Math.Min(ReadBudgetBytes, maxRead / 16) : ReadBudgetBytes;
        _input = new Pipe(new PipeOptions(pool, applicationScheduler, _loop, maxRead, maxRead / 2, segmentSize, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, loop.SendScheduler, applicationScheduler, maxWrite, maxWrite / 2, segmentSize, useSynchronizationContext: false));
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        _onFlushCompleted = OnFlushCompleted;
        InitializeFeatures();
    }

    public ulong EpollToken => _epollToken;

    /// <summary>The loop this connection is registered with (tests hold it to order events).</summary>
    internal EpollEventLoop Loop => _loop;

    /// <summary>The fd number (tests check it is closed at the end). Not used by the transport.</summary>
    internal int Fd => _fd;

    public override CancellationToken ConnectionClosed
    {
        get => _connectionClosed;
        set => throw new NotSupportedException("The epoll transport owns ConnectionClosed.");
    }

    /// <summary>Registers the fd with its loop and starts the send loop. Called once, by the listener.</summary>
    public void Start()
    {
        // Reserved here, not in the constructor: a constructor that throws must not leave a slot behind.
        _epollToken = _loop.ReserveToken();
        int result = _loop.Register(_fd, Epoll.EPOLLIN | Epoll.EPOLLOUT | Epoll.EPOLLRDHUP | Epoll.EPOLLET, this);
        if (result < 0)
        {
            // ENOMEM/ENOSPC (max_user_watches), or EBADF (the loop is stopping): the connection cannot be served; reset
            // it. Register released the slot; a loop that ended runs the posted Close on this thread.
            Abort(new ConnectionAbortedException($"epoll_ctl(ADD) failed: {Errno.Describe(-result)}"));
        }
        _sendTask = ProcessSendsAsync();
    }

    /// <summary>The pair of pipe ends Kestrel uses.</summary>
    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
