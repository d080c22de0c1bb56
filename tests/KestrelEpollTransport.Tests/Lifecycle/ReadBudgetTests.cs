using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using KestrelEpollTransport.Tests.Infrastructure;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Fairness on one loop: a connection whose peer keeps its receive queue full gets one read budget per turn, and the
/// rest of its data waits behind the loop's other work, so a neighbour's event is handled long before the flood is
/// drained.
/// </summary>
public sealed class ReadBudgetTests
{
    private const int SocketBuffer = 1024 * 1024;

    [Fact]
    public async Task Flood_NeighboursEventArrivesSecond_HandledAfterOneBudgetOfTheFloodNotAfterAllOfIt()
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            // Inline scheduling: the neighbour's read continuation runs on the loop, between two turns, where it can
            // look at how much of the flood has been read so far. Unlimited read buffer: the flood never pauses.
            var options = new EpollTransportOptions { UnsafePreferInlineScheduling = true, MaxReadBufferSize = null };
            await using var connections = new LoopConnections(loop, options);
            var (flood, floodClient) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var (neighbour, neighbourClient) = await connections.ConnectAsync();

            var floodReadAtNeighbour = new TaskCompletionSource<(long Read, bool OnLoop)>(TaskCreationOptions.RunContinuationsAsynchronously);
            // The ValueTask is consumed once, by this awaiter.
#pragma warning disable CA2012
            var neighbourRead = neighbour.Transport.Input.ReadAsync().GetAwaiter();
#pragma warning restore CA2012
            neighbourRead.UnsafeOnCompleted(() =>
            {
                var input = flood.Transport.Input;
                long read = input.TryRead(out var result) ? result.Buffer.Length : 0;
                if (read > 0)
                {
                    input.AdvanceTo(result.Buffer.Start);
                }
                neighbour.Transport.Input.AdvanceTo(neighbourRead.GetResult().Buffer.End);
                floodReadAtNeighbour.SetResult((read, loop.IsLoopThread));
            });

            long sent;
            using (await LoopGate.HoldAsync(loop))
            {
                // Both edges queue while the loop is held: the flood's first, the neighbour's second.
                sent = FillWithoutBlocking(floodClient);
                Assert.True(sent >= 3 * EpollConnection.ReadBudgetBytes, $"only {sent} bytes were queued: the test needs several budgets' worth");
                Assert.Equal(1, neighbourClient.Send(new byte[] { 42 }));
            }

            var (floodReadFirst, onLoop) = await floodReadAtNeighbour.Task.WithTimeout();
            floodClient.Shutdown(SocketShutdown.Send);
            long floodTotal = await ReadToEndAsync(flood);

            Assert.True(onLoop, "the neighbour's read did not continue on the loop (inline scheduling)");
            Assert.True(floodReadFirst > 0, "the flood, first in the ready list, was not read first");
            // One turn: the budget, give or take the read that crossed it (a pool block at most).
            Assert.InRange(floodReadFirst, 1, EpollConnection.ReadBudgetBytes + 4096);
            Assert.True(floodReadFirst < sent, $"the neighbour waited for the whole flood ({floodReadFirst} of {sent} bytes)");
            Assert.Equal(sent, floodTotal);
        }
        finally
        {
            loop.Stop();
        }
    }

    [Fact]
    public async Task BulkData_FlushedToTheReaderOncePerTurn_ReadInTwoCalls_NotABlockAtATime()
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            // Inline scheduling: the reader's continuation runs inside the flush, so what it sees is what one flush
            // published, segment by segment, each segment one read's buffer. Unlimited read buffer: the batch is the
            // whole budget.
            var options = new EpollTransportOptions { UnsafePreferInlineScheduling = true, MaxReadBufferSize = null };
            await using var connections = new LoopConnections(loop, options);
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);

            var firstFlush = new TaskCompletionSource<(long Length, int Segments)>(TaskCreationOptions.RunContinuationsAsynchronously);
#pragma warning disable CA2012 // The ValueTask is consumed once, by this awaiter.
            var read = server.Transport.Input.ReadAsync().GetAwaiter();
#pragma warning restore CA2012
            read.UnsafeOnCompleted(() =>
            {
                var buffer = read.GetResult().Buffer;
                int segments = 0;
                foreach (var segment in buffer)
                {
                    segments++;
                }
                long length = buffer.Length;
                server.Transport.Input.AdvanceTo(buffer.End);
                firstFlush.SetResult((length, segments));
            });

            long sent;
            using (await LoopGate.HoldAsync(loop))
            {
                // Everything is queued before the loop reads: the turn reads full blocks until its budget is spent.
                sent = FillWithoutBlocking(client);
                Assert.True(sent >= 2 * EpollConnection.ReadBudgetBytes, $"only {sent} bytes were queued: the test needs two budgets' worth");
            }

            var (firstSeen, firstSegments) = await firstFlush.Task.WithTimeout();
            client.Shutdown(SocketShutdown.Send);
            long rest = await ReadToEndAsync(server);

            // One flush for the turn's budget, not one per read; and two reads: a block (4 KiB), then the budget's rest
            // in one. Read a block at a time, the budget is 16 segments.
            Assert.Equal(EpollConnection.ReadBudgetBytes, firstSeen);
            Assert.Equal(2, firstSegments);
            Assert.Equal(sent, firstSeen + rest);
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>Writes until the kernel takes no more (both socket buffers full); returns the bytes it took.</summary>
    private static long FillWithoutBlocking(Socket client)
    {
        client.Blocking = false;
        var chunk = new byte[64 * 1024];
        long sent = 0;
        while (true)
        {
            int n = client.Send(chunk, 0, chunk.Length, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                client.Blocking = true;
                return sent;
            }
            Assert.Equal(SocketError.Success, error);
            sent += n;
        }
    }

    /// <summary>Reads the input to its end (the peer's FIN), counting what was read before and since.</summary>
    private static async Task<long> ReadToEndAsync(EpollConnection connection)
    {
        var input = connection.Transport.Input;
        long total = 0;
        while (true)
        {
            // Forced off the completing thread: with inline scheduling that is the loop, which this test must never block.
            var result = await input.ReadAsync().AsTask().WithTimeout().ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return total;
            }
        }
    }
}
