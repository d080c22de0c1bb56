using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Orders of close events that must still end the connection: the input completes exactly once whatever the order, and
/// the connection is disposed (every block back in the pool). On the epoll transport the loop is held so the order is
/// certain; on Sockets the same calls run in whatever order it takes them.
/// </summary>
public abstract class CloseOrderTests(TransportKind transport, ITestOutputHelper output)
{
    private const int MaxReadBufferSize = 8 * 1024;

    [Fact]
    public async Task AbortThenInputCompletedWithError_WhileReadingIsPaused_ConnectionClosedFiresAndTheConnectionEnds()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            using var registration = connection.ConnectionClosed.Register(() => closed.TrySetResult());
            var input = connection.Transport.Input;
            // Read without consuming until MaxReadBufferSize is buffered: the transport's flush is then pending.
            while (true)
            {
                var result = await input.ReadAsync();
                input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                if (result.Buffer.Length >= MaxReadBufferSize)
                {
                    break;
                }
            }
            // What connection middleware and pipe wrappers do: abort, then complete the input with their error. The
            // abort's close is queued on the loop first, the flush's continuation (reader completed) after it.
            using (await LoopGate.HoldAsync(connection))
            {
                connection.Abort(new ConnectionAbortedException("The test aborted the connection."));
                input.Complete(new InvalidOperationException("A middleware failed."));
            }
            await closed.Task.WithTimeout();
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        var upload = client.SendAsync(new byte[256 * 1024]);

        await closed.Task.WithTimeout();
        await Task.WhenAny(upload).WithTimeout(); // It may fail: the server resets the connection.
        await host.StopAsync();
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, host.MemoryPool.Describe);
    }

    [Fact]
    public async Task PeerReset_InputFailsWithConnectionResetException_WhoseMessageSaysSoOnce()
    {
        var failure = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            try
            {
                while (true)
                {
                    var result = await connection.Transport.Input.ReadAsync();
                    connection.Transport.Input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        break;
                    }
                }
                failure.TrySetResult(null);
            }
            catch (Exception e)
            {
                failure.TrySetResult(e);
            }
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);
        await client.SendAsync("x");

        client.Socket.LingerState = new LingerOption(true, 0);
        client.Socket.Close();

        var reset = Assert.IsType<ConnectionResetException>(await failure.Task.WithTimeout());
        output.WriteLine($"{transport}: {reset.Message}");
        // Epoll said "Connection reset by peer: Connection reset by peer (errno 104)".
        int mentions = reset.Message.Split("reset by peer", StringSplitOptions.None).Length - 1;
        Assert.Equal(1, mentions);
    }

    private Task<TestHost> StartAsync(Func<ConnectionContext, Task> handler) =>
        TestHost.StartAsync(transport, _ => { }, output, o =>
        {
            o.ConfigureEpoll = epoll => epoll.MaxReadBufferSize = MaxReadBufferSize;
            o.ConfigureBuilder = builder => builder.Services.Configure<SocketTransportOptions>(sockets => sockets.MaxReadBufferSize = MaxReadBufferSize);
            o.ConfigureKestrel = kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Run(handler));
        });
}

/// <summary><see cref="CloseOrderTests"/> on the epoll transport.</summary>
public sealed class EpollCloseOrderTests(ITestOutputHelper output) : CloseOrderTests(TransportKind.Epoll, output);

/// <summary><see cref="CloseOrderTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsCloseOrderTests(ITestOutputHelper output) : CloseOrderTests(TransportKind.Sockets, output);
