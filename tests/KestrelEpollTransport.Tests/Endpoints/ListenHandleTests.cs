using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Endpoints;

/// <summary>
/// Kestrel's <c>ListenHandle</c>: a socket the host bound (listening or not: both transports call listen(2) on one that
/// is only bound) is served, and is not the server's to close: after the server stops, the owner still has a listening
/// socket (connections then wait in its backlog). Both transports behave so.
/// </summary>
public abstract class ListenHandleTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task ListenHandle_ListeningSocketHandedIn_ServedAndStillListeningAfterStop()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        var endPoint = (IPEndPoint)listener.LocalEndPoint!;
        int fd = (int)listener.Handle;
        string socketInode = FileDescriptors.Target(fd)!;

        var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenHandle((ulong)fd));
        try
        {
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get("/"));
            var response = await connection.ReadResponseAsync();

            // Kestrel reports the address the socket is bound to.
            Assert.Equal($"http://{endPoint}", Assert.Single(host.Addresses));
            Assert.Equal(200, response.StatusCode);
            Assert.Equal(TestApp.MagePage, response.Body);
            await host.StopAsync();
        }
        finally
        {
            await host.DisposeAsync();
        }
        // A handle closed by a finalizer would show only after one ran.
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // Still the same listening socket: a client connecting now waits in its backlog, and the owner accepts it.
        Assert.Equal(socketInode, FileDescriptors.Target(fd));
        Assert.Equal(1, (int)listener.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)!);
        using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await late.ConnectAsync(endPoint).WithTimeout();
        using var accepted = await listener.AcceptAsync().WithTimeout();
        Assert.Equal(late.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public async Task ListenHandle_BoundSocketNotListening_ListenedOnWithTheBacklogAndServed()
    {
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endPoint = (IPEndPoint)bound.LocalEndPoint!;
        int fd = (int)bound.Handle;
        Assert.Equal(0, (int)bound.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)!);
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenHandle((ulong)fd));

        // Both transports call listen(2) on a bound socket handed in (Kestrel's own transport tests rely on it), and serve.
        Assert.Equal(1, (int)bound.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)!);
        using var connection = await RawHttpConnection.ConnectAsync(endPoint);
        await connection.SendAsync(RawHttpConnection.Get("/"));
        var response = await connection.ReadResponseAsync();
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(TestApp.MagePage, response.Body);
        Assert.Equal($"http://{endPoint}", Assert.Single(host.Addresses));
    }

    [Fact]
    public async Task ListenHandle_NotAStreamSocket_StartFailsNamingTheHandle()
    {
        using var datagram = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        datagram.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int fd = (int)datagram.Handle;
        await using var host = TestHost.Build(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenHandle((ulong)fd));

        var e = await Record.ExceptionAsync(() => host.StartBuiltAsync());

        // Neither transport can serve a UDP socket; the start fails instead of serving nothing.
        output.WriteLine($"{transport}: {e}");
        Assert.NotNull(e);
        if (transport == TransportKind.Epoll)
        {
            var notStream = Assert.IsType<InvalidOperationException>(e);
            Assert.Contains($"File handle {fd} is not a stream socket", notStream.Message, StringComparison.Ordinal);
        }
    }
}

/// <summary><see cref="ListenHandleTests"/> on the epoll transport.</summary>
public sealed class EpollListenHandleTests(ITestOutputHelper output) : ListenHandleTests(TransportKind.Epoll, output);

/// <summary><see cref="ListenHandleTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsListenHandleTests(ITestOutputHelper output) : ListenHandleTests(TransportKind.Sockets, output);
