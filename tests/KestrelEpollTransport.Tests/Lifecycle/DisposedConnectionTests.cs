using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// After DisposeAsync, ConnectionClosed is still a (cancelled) token, as Sockets hands it out; the epoll connection once
/// read it from its disposed CancellationTokenSource and threw (found by review).
/// </summary>
public abstract class DisposedConnectionTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task ConnectionClosed_ReadAfterDisposeAsync_IsACancelledToken()
    {
        await using var host = TestHost.Build(transport, _ => { }, output);
        var listener = await host.ListenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.EndPoint).WithTimeout();
            var connection = (await listener.AcceptAsync().AsTask().WithTimeout())!;
            connection.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("test"));
            await connection.DisposeAsync().AsTask().WithTimeout();

            var token = connection.ConnectionClosed;

            Assert.True(token.IsCancellationRequested);
        }
        finally
        {
            await listener.UnbindAsync();
            await listener.DisposeAsync();
        }
    }
}

public sealed class EpollDisposedConnectionTests(ITestOutputHelper output) : DisposedConnectionTests(TransportKind.Epoll, output);

public sealed class SocketsDisposedConnectionTests(ITestOutputHelper output) : DisposedConnectionTests(TransportKind.Sockets, output);
