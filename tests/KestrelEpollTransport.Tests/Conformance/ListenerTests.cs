using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Conformance;

/// <summary>
/// The transport's <see cref="IConnectionListenerFactory"/> driven directly, as Kestrel drives it: bind, accept,
/// unbind, dispose. The factory comes from a (never started) test host, so it has the DI wiring Kestrel gives it.
/// </summary>
public abstract class ListenerTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Listener_BindPortZero_EndPointReportsRealPort()
    {
        await using var host = TestHost.Build(transport, _ => { }, output);
        await using var listener = new Bounded<IConnectionListener>(await host.ListenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0)).AsTask().WithTimeout());

        var endPoint = Assert.IsType<IPEndPoint>(listener.Value.EndPoint);

        Assert.Equal(IPAddress.Loopback, endPoint.Address);
        Assert.NotEqual(0, endPoint.Port);
        await listener.Value.UnbindAsync().AsTask().WithTimeout();
    }

    [Fact]
    public async Task Listener_Accept_ConnectionReportsBothEndPointsAndAUniqueId()
    {
        await using var host = TestHost.Build(transport, _ => { }, output);
        await using var listener = new Bounded<IConnectionListener>(await host.ListenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0)).AsTask().WithTimeout());
        var endPoint = (IPEndPoint)listener.Value.EndPoint;
        using var client1 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var client2 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        await client1.ConnectAsync(endPoint).WithTimeout();
        await using var connection1 = new Bounded<ConnectionContext>((await listener.Value.AcceptAsync().AsTask().WithTimeout())!);
        await client2.ConnectAsync(endPoint).WithTimeout();
        await using var connection2 = new Bounded<ConnectionContext>((await listener.Value.AcceptAsync().AsTask().WithTimeout())!);

        Assert.Equal(client1.LocalEndPoint, connection1.Value.RemoteEndPoint);
        Assert.Equal(endPoint, connection1.Value.LocalEndPoint);
        Assert.Equal(client2.LocalEndPoint, connection2.Value.RemoteEndPoint);
        Assert.False(string.IsNullOrEmpty(connection1.Value.ConnectionId));
        Assert.NotEqual(connection1.Value.ConnectionId, connection2.Value.ConnectionId);
        Assert.NotNull(connection1.Value.Transport);
        Assert.NotNull(connection1.Value.Features);
    }

    [Fact]
    public async Task Listener_Unbind_AcceptReturnsNullNewConnectionsRefusedOpenConnectionStillWorks()
    {
        await using var host = TestHost.Build(transport, _ => { }, output);
        await using var listener = new Bounded<IConnectionListener>(await host.ListenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0)).AsTask().WithTimeout());
        var endPoint = (IPEndPoint)listener.Value.EndPoint;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint).WithTimeout();
        await using var connection = new Bounded<ConnectionContext>((await listener.Value.AcceptAsync().AsTask().WithTimeout())!);
        var pendingAccept = listener.Value.AcceptAsync().AsTask();

        await listener.Value.UnbindAsync().AsTask().WithTimeout();
        var afterUnbind = await pendingAccept.WithTimeout();
        await client.SendAsync("ping"u8.ToArray()).WithTimeout();
        var read = await connection.Value.Transport.Input.ReadAtLeastAsync(4).AsTask().WithTimeout();
        await connection.Value.Transport.Output.WriteAsync("pong"u8.ToArray()).AsTask().WithTimeout();
        var reply = new byte[4];
        int received = await client.ReceiveAsync(reply).WithTimeout();

        Assert.Null(afterUnbind);
        Assert.True(TcpProbe.IsRefused(endPoint), "The listener still accepts after UnbindAsync.");
        Assert.Equal("ping"u8.ToArray(), System.Buffers.BuffersExtensions.ToArray(read.Buffer));
        Assert.Equal(4, received);
        Assert.Equal("pong"u8.ToArray(), reply);
        connection.Value.Transport.Input.AdvanceTo(read.Buffer.End);
    }

    [Fact]
    public async Task Listener_DisposeAfterUnbind_AcceptReturnsNull()
    {
        await using var host = TestHost.Build(transport, _ => { }, output);
        var listener = await host.ListenerFactory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0)).AsTask().WithTimeout();
        var endPoint = (IPEndPoint)listener.EndPoint;

        await listener.UnbindAsync().AsTask().WithTimeout();
        await listener.DisposeAsync().AsTask().WithTimeout();
        var accepted = await listener.AcceptAsync().AsTask().WithTimeout();

        Assert.Null(accepted);
        Assert.True(TcpProbe.IsRefused(endPoint));
    }
}

/// <summary><see cref="ListenerTests"/> on the epoll transport.</summary>
public sealed class EpollListenerTests(ITestOutputHelper output) : ListenerTests(TransportKind.Epoll, output);

/// <summary><see cref="ListenerTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsListenerTests(ITestOutputHelper output) : ListenerTests(TransportKind.Sockets, output);
