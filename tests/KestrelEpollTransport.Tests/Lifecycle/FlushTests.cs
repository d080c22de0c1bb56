using System.Net;
using System.Text;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Flushes as the send scheduling sees them (docs/architecture.md, "Sending"): bursts from many threads, pool and not,
/// each byte on its own connection and in order; a flush racing the connection's close; a flush from a thread that
/// carries a synchronization context.
/// </summary>
public abstract class FlushTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task ManyConnections_BurstsOfSmallFlushesFromPoolAndOtherThreads_EveryByteOnItsConnectionInOrder()
    {
        const int Connections = 24;
        const int Flushes = 300;
        await using var host = await StartAsync(async connection =>
        {
            var input = connection.Transport.Input;
            var result = await input.ReadAsync();
            int index = result.Buffer.FirstSpan[0];
            input.AdvanceTo(result.Buffer.GetPosition(1));
            if (index % 2 == 0)
            {
                await WriteBurstAsync(connection, index, Flushes);
            }
            else
            {
                // Not a pool thread: its sends go through the pool's global queue.
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var thread = new Thread(() =>
                {
                    try
                    {
                        WriteBurstAsync(connection, index, Flushes).Wait(Timeouts.Default);
                        done.SetResult();
                    }
                    catch (Exception e)
                    {
                        done.SetException(e);
                    }
                }) { IsBackground = true, Name = "test-flusher" };
                thread.Start();
                await done.Task.WithTimeout();
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Connections).Select(index => Task.Run(async () =>
        {
            using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);
            await client.SendAsync(new[] { (byte)index });
            var received = new MemoryStream();
            await client.ReadToEndAsync(span => received.Write(span));
            Assert.Equal(Expected(index, Flushes), Encoding.ASCII.GetString(received.ToArray()));
        }))).WithTimeout(Timeouts.Bulk);
    }

    [Fact]
    public async Task FlushingInALoop_AbortFromAnotherThread_FlushesEndAndTheConnectionCloses()
    {
        var flushesEnded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            // Not disposed with the handler: ConnectionClosed may fire after the handler returned.
            connection.ConnectionClosed.Register(() => closed.TrySetResult());
            var go = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(go.Buffer.End);
            var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var flusher = Task.Run(async () =>
            {
                try
                {
                    var piece = new byte[512];
                    for (int i = 0; !(await connection.Transport.Output.WriteAsync(piece)).IsCompleted; i++)
                    {
                        if (i == 100)
                        {
                            flowing.SetResult();
                        }
                    }
                    flushesEnded.TrySetResult(null);
                }
                catch (Exception e)
                {
                    flushesEnded.TrySetResult(e);
                }
            });
            // Once sends are flowing, abort with the loop held, so the close lands among queued sends.
            await flowing.Task.WithTimeout();
            using (await LoopGate.HoldAsync(connection))
            {
                connection.Abort(new ConnectionAbortedException("The test aborted the connection."));
            }
            await flusher.WithTimeout();
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);
        await client.SendAsync("go");

        var ended = await flushesEnded.Task.WithTimeout();
        await closed.Task.WithTimeout();
        // A flush after the abort either reports completion or throws the abort; it never hangs.
        Assert.True(ended is null or ConnectionAbortedException or OperationCanceledException, $"flush ended with {ended}");
        await host.StopAsync();
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, host.MemoryPool.Describe);
    }

    [Fact]
    public async Task FlushOnAThreadWithASynchronizationContext_SendResumesWithoutPostingToIt()
    {
        const int Size = 8 * 1024 * 1024;
        var context = new CountingSynchronizationContext();
        await using var host = await StartAsync(async connection =>
        {
            var result = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            await Task.Run(async () =>
            {
                // The flush starts the send on this thread: a send that resumes after EAGAIN must not come back here.
                SynchronizationContext.SetSynchronizationContext(context);
                await connection.Transport.Output.WriteAsync(new byte[Size]).ConfigureAwait(false);
            });
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint, socket => socket.ReceiveBufferSize = 64 * 1024);
        await client.SendAsync("go");

        long received = await client.ReadToEndAsync();

        Assert.Equal(Size, received);
        Assert.Equal(0, context.Posts);
    }

    private static async Task WriteBurstAsync(ConnectionContext connection, int index, int flushes)
    {
        for (int i = 0; i < flushes; i++)
        {
            await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes(Piece(index, i)));
        }
    }

    private static string Piece(int index, int i) => $"{index}:{i};";

    private static string Expected(int index, int flushes) => string.Concat(Enumerable.Range(0, flushes).Select(i => Piece(index, i)));

    private Task<TestHost> StartAsync(Func<ConnectionContext, Task> handler) =>
        TestHost.StartAsync(transport, _ => { }, output, o =>
            o.ConfigureKestrel = kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Run(handler)));

    /// <summary>Counts posts, and runs them on the pool so nothing waits for a thread that does not exist.</summary>
    private sealed class CountingSynchronizationContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ => d(state));
        }
    }
}

/// <summary><see cref="FlushTests"/> on the epoll transport.</summary>
public sealed class EpollFlushTests(ITestOutputHelper output) : FlushTests(TransportKind.Epoll, output);

/// <summary><see cref="FlushTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsFlushTests(ITestOutputHelper output) : FlushTests(TransportKind.Sockets, output);
