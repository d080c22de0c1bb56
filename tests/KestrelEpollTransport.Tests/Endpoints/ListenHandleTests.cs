using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Endpoints;

/// <summary>
/// Kestrel's <c>ListenHandle</c>: a socket the host bound and put in the listening state is served as it is, and is
/// not the server's to close: after the server stops, the owner still has a listening socket (connections then wait in
/// its backlog). Both transports behave so. They differ on a socket that is bound but not listening: the epoll
/// transport refuses it (it checks SO_ACCEPTCONN), the Sockets transport calls listen(2) on it and serves.
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
    public async Task ListenHandle_BoundSocketNotListening_EpollRefusesItSocketsListensOnIt()
    {
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var endPoint = (IPEndPoint)bound.LocalEndPoint!;
        int fd = (int)bound.Handle;
        await using var host = TestHost.Build(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenHandle((ulong)fd));

        var e = await Record.ExceptionAsync(() => host.StartBuiltAsync());

        output.WriteLine($"{transport}: {e?.ToString() ?? "started"}");
        if (transport == TransportKind.Epoll)
        {
            // By design (it checks SO_ACCEPTCONN): an fd handed in must already listen; the message names the fd.
            var notListening = Assert.IsType<InvalidOperationException>(e);
            Assert.Contains($"File handle {fd} is not a listening socket", notListening.Message, StringComparison.Ordinal);
            Assert.Equal(0, (int)bound.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)!);
        }
        else
        {
            // The Sockets transport calls listen(2) on whatever it is handed, and serves.
            Assert.Null(e);
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get("/"));
            Assert.Equal(TestApp.MagePage, (await connection.ReadResponseAsync()).Body);
        }
    }
}

/// <summary><see cref="ListenHandleTests"/> on the epoll transport.</summary>
public sealed class EpollListenHandleTests(ITestOutputHelper output) : ListenHandleTests(TransportKind.Epoll, output);

/// <summary><see cref="ListenHandleTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsListenHandleTests(ITestOutputHelper output) : ListenHandleTests(TransportKind.Sockets, output);
