using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// The features a transport connection offers to Kestrel and to connection middleware (<c>ListenOptions.Run</c>,
/// <c>ListenOptions.Use</c>), each used for what it is for. Two differences: <see cref="IConnectionSocketFeature"/>
/// (documented in README, Limits): the Sockets transport offers the connection's <see cref="Socket"/>, the epoll
/// transport has no Socket behind a connection and does not; and <see cref="IConnectionEndPointFeature"/>, which the
/// epoll transport offers and the Sockets transport does not (both set ConnectionContext's end points).
/// </summary>
public abstract class ConnectionFeatureTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Features_ConnectionHandler_EveryListedFeaturePresentAndUsable()
    {
        var report = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closedFired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(connection => UseEveryFeatureAsync(connection, report, closedFired));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(host.EndPoint).WithTimeout();

        await client.SendAsync(Encoding.ASCII.GetBytes("hello\n"));
        string reply = await ReadLineAsync(client);
        string features = await report.Task.WithTimeout();
        client.Shutdown(SocketShutdown.Both);
        client.Close();
        await closedFired.Task.WithTimeout();

        output.WriteLine($"{transport}: {features}");
        Assert.Equal("echo hello", reply);
        // A difference: the epoll connection also offers IConnectionEndPointFeature; the Sockets one (.NET 10) does not
        // (its end points are on ConnectionContext only).
        string endPoints = transport == TransportKind.Epoll ? $"end points local {host.EndPoint} remote 127.0.0.1" : "no end point feature";
        Assert.Equal($"id ok; transport ok; items ok; memory pool ok; lifetime ok; {endPoints}", features);
    }

    [Fact]
    public async Task Features_LifetimeAbort_ClientSeesTheConnectionEnd()
    {
        await using var host = await StartAsync(async connection =>
        {
            var read = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(read.Buffer.End);
            connection.Features.GetRequiredFeature<IConnectionLifetimeFeature>().Abort();
        });
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(host.EndPoint).WithTimeout();

        await client.SendAsync(Encoding.ASCII.GetBytes("abort me\n"));
        using var cts = new CancellationTokenSource(Timeouts.Default);
        int received;
        try
        {
            received = await client.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            received = 0;
        }

        Assert.Equal(0, received);
    }

    [Fact]
    public async Task Features_ConnectionSocketFeature_SocketsOffersItEpollDocumentedAbsent()
    {
        // The socket's peer, read while the handler runs (the socket is disposed once the connection ends); null if absent.
        var seen = new TaskCompletionSource<EndPoint?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(connection =>
        {
            seen.TrySetResult(connection.Features.Get<IConnectionSocketFeature>()?.Socket.RemoteEndPoint);
            return Task.CompletedTask;
        });
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(host.EndPoint).WithTimeout();

        var socketPeer = await seen.Task.WithTimeout();

        if (transport == TransportKind.Epoll)
        {
            // README, Limits: no System.Net.Sockets.Socket behind an epoll connection.
            Assert.Null(socketPeer);
        }
        else
        {
            Assert.Equal(client.LocalEndPoint, socketPeer);
        }
    }

    [Fact]
    public async Task Features_HttpMiddleware_SeesTheConnectionsFeaturesThroughKestrel()
    {
        await using var host = await TestHost.StartAsync(transport, app => app.Run(context =>
        {
            var f = context.Features;
            string Has<T>() => f.Get<T>() is null ? "-" : "+";
            return context.Response.WriteAsync(
                $"id {Has<IConnectionIdFeature>()} items {Has<IConnectionItemsFeature>()} lifetime {Has<IConnectionLifetimeFeature>()} " +
                $"endpoints {Has<IConnectionEndPointFeature>()} memory {Has<IMemoryPoolFeature>()} transport {Has<IConnectionTransportFeature>()} " +
                $"socket {Has<IConnectionSocketFeature>()} http-connection {Has<IHttpConnectionFeature>()}");
        }), output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/"));
        string features = (await connection.ReadResponseAsync()).BodyText;

        // Kestrel's HTTP feature collection falls back to the connection's, so the two differences show here too:
        // IConnectionEndPointFeature (epoll only) and IConnectionSocketFeature (Sockets only).
        output.WriteLine($"{transport}: {features}");
        Assert.Equal(transport == TransportKind.Epoll
            ? "id + items + lifetime + endpoints + memory + transport + socket - http-connection +"
            : "id + items + lifetime + endpoints - memory + transport + socket + http-connection +", features);
    }

    private Task<TestHost> StartAsync(Func<ConnectionContext, Task> handler) =>
        TestHost.StartAsync(transport, _ => { }, output, o => o.ConfigureKestrel = kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Run(handler)));

    /// <summary>
    /// Uses each feature for its purpose: reads a line and answers through the transport feature's pipe, stores and
    /// reads an item, rents and returns a block, reads the end points, and waits for ConnectionClosed.
    /// </summary>
    private static async Task UseEveryFeatureAsync(ConnectionContext connection, TaskCompletionSource<string> report, TaskCompletionSource closedFired)
    {
        var f = connection.Features;
        var checks = new List<string>();

        var id = f.GetRequiredFeature<IConnectionIdFeature>();
        checks.Add(id.ConnectionId.Length > 0 && id.ConnectionId == connection.ConnectionId ? "id ok" : $"id '{id.ConnectionId}' vs '{connection.ConnectionId}'");

        IDuplexPipe pipe = f.GetRequiredFeature<IConnectionTransportFeature>().Transport;
        checks.Add(ReferenceEquals(pipe, connection.Transport) ? "transport ok" : "transport differs");

        var items = f.GetRequiredFeature<IConnectionItemsFeature>();
        items.Items["test"] = 42;
        checks.Add(connection.Items.TryGetValue("test", out var value) && Equals(value, 42) ? "items ok" : "items not shared");

        var pool = f.GetRequiredFeature<IMemoryPoolFeature>().MemoryPool;
        using (var block = pool.Rent())
        {
            block.Memory.Span.Fill(0xA5);
            checks.Add(block.Memory.Length > 0 && block.Memory.Span[0] == 0xA5 ? "memory pool ok" : "memory pool block unusable");
        }

        var lifetime = f.GetRequiredFeature<IConnectionLifetimeFeature>();
        lifetime.ConnectionClosed.Register(() => closedFired.TrySetResult());
        checks.Add(lifetime.ConnectionClosed == connection.ConnectionClosed ? "lifetime ok" : "lifetime token differs");

        var endPoints = f.Get<IConnectionEndPointFeature>();
        checks.Add(endPoints is null
            ? "no end point feature"
            : $"end points local {endPoints.LocalEndPoint} remote {((IPEndPoint?)endPoints.RemoteEndPoint)?.Address}");

        // Echo one line through the transport feature's pipe.
        while (true)
        {
            var read = await pipe.Input.ReadAsync();
            var buffer = read.Buffer;
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is { } end)
            {
                string line = Encoding.ASCII.GetString(buffer.Slice(0, end));
                pipe.Input.AdvanceTo(buffer.GetPosition(1, end));
                await pipe.Output.WriteAsync(Encoding.ASCII.GetBytes($"echo {line}\n"));
                break;
            }
            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }
        report.TrySetResult(string.Join("; ", checks));

        // Keep the connection until the client closes it, so ConnectionClosed fires while the handler still runs.
        while (true)
        {
            var rest = await pipe.Input.ReadAsync();
            pipe.Input.AdvanceTo(rest.Buffer.End);
            if (rest.IsCompleted)
            {
                break;
            }
        }
        await closedFired.Task.WithTimeout();
    }

    private static async Task<string> ReadLineAsync(Socket socket)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        using var cts = new CancellationTokenSource(Timeouts.Default);
        while (await socket.ReceiveAsync(one, SocketFlags.None, cts.Token) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }
        return line.ToString();
    }
}

/// <summary><see cref="ConnectionFeatureTests"/> on the epoll transport.</summary>
public sealed class EpollConnectionFeatureTests(ITestOutputHelper output) : ConnectionFeatureTests(TransportKind.Epoll, output);

/// <summary><see cref="ConnectionFeatureTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsConnectionFeatureTests(ITestOutputHelper output) : ConnectionFeatureTests(TransportKind.Sockets, output);
