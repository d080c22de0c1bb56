using System.Buffers;
using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using Microsoft.Extensions.Logging.Abstractions;
using Socket = System.Net.Sockets.Socket;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Epoll connections without Kestrel: accepted over loopback TCP by the transport's own interop, registered with a loop
/// the test owns, with a .NET socket as the client. For tests of one loop's order of work (fairness, hand-off).
/// </summary>
internal sealed class LoopConnections : IAsyncDisposable
{
    private readonly ListenSocket _listener;
    private readonly EpollTransportOptions _options;
    private readonly List<(EpollConnection Server, Socket Client)> _pairs = [];

    public LoopConnections(EpollEventLoop loop, EpollTransportOptions options)
    {
        Loop = loop;
        _options = options;
        _listener = ListenSocket.Open(new IPEndPoint(IPAddress.Loopback, 0), 16);
    }

    public EpollEventLoop Loop { get; }

    /// <summary>A loop of its own: started, no hand-off unless asked, its pool <see cref="MemoryPool{T}.Shared"/>.</summary>
    public static EpollEventLoop StartLoop(bool handOffWhenBusy = false)
    {
        var loop = new EpollEventLoop(9, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics(), handOffWhenBusy);
        loop.Start();
        return loop;
    }

    /// <summary>
    /// Connects as <see cref="ConnectAsync"/> with room for <paramref name="bytes"/> queued from the client to the
    /// server (the server's SO_RCVBUF, the client's send buffer): bulk data can wait in the kernel while the loop is held.
    /// </summary>
    public async Task<(EpollConnection Server, Socket Client)> ConnectWithBuffersAsync(int bytes)
    {
        const int SO_RCVBUF = 8;
        var (server, client) = await ConnectAsync(fd => Sock.SetOption(fd, Sock.SOL_SOCKET, SO_RCVBUF, bytes));
        client.SendBufferSize = bytes;
        return (server, client);
    }

    /// <summary>Connects a client, accepts it, and starts the server side on <see cref="Loop"/>.</summary>
    /// <param name="configureServerFd">Runs on the accepted fd before it is registered (e.g. SO_RCVBUF).</param>
    public async Task<(EpollConnection Server, Socket Client)> ConnectAsync(Action<int>? configureServerFd = null)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(_listener.EndPoint).WithTimeout();
        var peer = default(SockAddr);
        int fd;
        // The handshake is done when ConnectAsync returns, so the connection waits in the backlog; accept4 is non-blocking.
        var deadline = DateTime.UtcNow + Timeouts.Default;
        while ((fd = Sock.Accept(_listener.Handle.Fd, ref peer)) == -Errno.EAGAIN && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }
        Assert.True(fd >= 0, $"accept4 failed: {fd}");
        configureServerFd?.Invoke(fd);
        var server = new EpollConnection(new SafeFdHandle(fd), Loop, _options, null, null, NullLogger.Instance, new EpollTransportMetrics());
        server.Start();
        _pairs.Add((server, client));
        return (server, client);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (server, client) in _pairs)
        {
            client.Dispose();
            server.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("The test is over."));
            // Forced off the completing thread, which may be the loop (inline scheduling): the loop must never wait here.
            await server.DisposeAsync().AsTask().WithTimeout().ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        }
        _listener.Dispose();
    }
}
