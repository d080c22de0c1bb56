using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Reflection;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// The bounds a bulk read (one read of the turn's rest into an array the pipe rents) must keep: what one flush adds
/// (how far the input may pass MaxReadBufferSize: a flush batch plus a block), what one turn reads (the budget plus a
/// block), never a read of 0 bytes taken for the peer's FIN, and what an idle connection keeps once the reader
/// consumed everything (at most a block, never a rented array); and a reset after a turn that read nothing. Every turn
/// here reads data queued in full before the loop runs (the loop is held while the client sends), so its reads are the
/// same on every run.
/// </summary>
public sealed class BulkReadBoundTests(ITestOutputHelper output)
{
    private const int SocketBuffer = 1024 * 1024;
    private const int Block = 4096;

    /// <summary>
    /// MaxReadBufferSize 600 000: a flush batch of 37 500 bytes. Nine turns of 64 KiB fill the input to 589 824 bytes
    /// (below the limit, so nothing pauses). A turn of 4097 bytes reads 4096, then 1 byte into a bulk read of 33 404
    /// (an array of 64 KiB): 65 535 bytes of room are left at the tail. The next turn's first read takes that whole
    /// room, 65 535 bytes, before its flush: the input holds 659 456 bytes when it pauses, 59 456 past the limit,
    /// where a batch plus a block is 41 596.
    /// </summary>
    [Fact]
    public async Task NonPowerOfTwoLimit_ShortBulkReadThenFlood_InputPassesTheLimitByAtMostABatchAndABlock()
    {
        const int Limit = 600_000;
        const int Batch = Limit / 16;
        var loop = LoopConnections.StartLoop();
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions { MaxReadBufferSize = Limit });
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var input = server.Transport.Input;

            long sent = await SendTurnsAsync(loop, client, input, 9, 64 * 1024);
            sent += await SendHeldAsync(loop, client, sent, Block + 1);
            Assert.Equal(sent, await InputPeek.WaitBufferedAsync(input, sent));
            Assert.True(sent < Limit);

            await SendHeldAsync(loop, client, sent, 100_000);
            // The flush that crosses the limit pauses reading: what it published is what the input holds from then on.
            long buffered = await InputPeek.WaitBufferedAsync(input, Limit);
            output.WriteLine($"input at pause: {buffered} bytes, {buffered - Limit} past the limit (batch {Batch} + block {Block} = {Batch + Block})");
            Assert.InRange(buffered, Limit, Limit + Batch + Block);

            await DrainAndCheckAsync(server, client, sent + 100_000);
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>
    /// MaxReadBufferSize 300 000: a batch of 18 750. A turn of 42 233 bytes ends with a short bulk read (4733 of 18 750,
    /// into an array of 32 KiB): 28 035 bytes of room at the tail. The flood's turn then reads 28 035 (the room), 18 750,
    /// 18 750, and with 3 bytes of budget left, a read of at least a block (unsliced below 2048) that returns the rest of
    /// the second array: 14 018 bytes. The turn reads 79 553 bytes, past the budget by more than a block.
    /// </summary>
    [Fact]
    public async Task NonPowerOfTwoLimit_ShortBulkReadThenFlood_ATurnReadsAtMostTheBudgetAndABlock()
    {
        const int Limit = 300_000;
        const int First = 42_233;
        var loop = LoopConnections.StartLoop();
        try
        {
            // Inline scheduling: the neighbour's read continuation runs on the loop right after the flood's turn.
            var options = new EpollTransportOptions { UnsafePreferInlineScheduling = true, MaxReadBufferSize = Limit };
            await using var connections = new LoopConnections(loop, options);
            var (flood, floodClient) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var (neighbour, neighbourClient) = await connections.ConnectAsync();
            var floodInput = flood.Transport.Input;

            await SendHeldAsync(loop, floodClient, 0, First);
            Assert.Equal(First, await InputPeek.WaitBufferedAsync(floodInput, First));

            var floodReadAtNeighbour = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
#pragma warning disable CA2012 // The ValueTask is consumed once, by this awaiter.
            var neighbourRead = neighbour.Transport.Input.ReadAsync().GetAwaiter();
#pragma warning restore CA2012
            neighbourRead.UnsafeOnCompleted(() =>
            {
                long read = floodInput.TryRead(out var result) ? result.Buffer.Length : 0;
                if (read > 0)
                {
                    floodInput.AdvanceTo(result.Buffer.Start);
                }
                neighbour.Transport.Input.AdvanceTo(neighbourRead.GetResult().Buffer.End);
                floodReadAtNeighbour.SetResult(read);
            });

            using (await LoopGate.HoldAsync(loop))
            {
                // Edges in this order: the flood's, then the neighbour's.
                Assert.Equal(150_000, floodClient.Send(Pattern(First, 150_000)));
                Assert.Equal(1, neighbourClient.Send(new byte[] { 42 }));
            }
            long turn = await floodReadAtNeighbour.Task.WithTimeout() - First;
            output.WriteLine($"the flood's turn read {turn} bytes (budget {EpollConnection.ReadBudgetBytes})");
            Assert.InRange(turn, 1, EpollConnection.ReadBudgetBytes + Block);

            await DrainAndCheckAsync(flood, floodClient, First + 150_000);
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>
    /// Exactly one turn's data, then nothing: what does the idle connection keep once the reader consumed everything?
    /// The pipe keeps its last segment while a write is open (GetMemory without a flush since), and a read that finds
    /// nothing (EAGAIN) follows a GetMemory. At most a block, never a rented array:
    /// - an exact budget (default options): the turn reads a block and 61 440 into a 64 KiB array; its continuation's
    ///   read finds nothing;
    /// - exactly one batch at 512 KiB (a batch of 32 KiB, less than the budget): the flush comes inside the turn, and a
    ///   bulk read after it would link a new 32 KiB array before finding nothing;
    /// - exactly one block: the read after it is a bulk read that links a 64 KiB array and finds nothing.
    /// </summary>
    [Theory]
    [InlineData(1024 * 1024, EpollConnection.ReadBudgetBytes)]
    [InlineData(512 * 1024, 512 * 1024 / 16)]
    [InlineData(1024 * 1024, Block)]
    public async Task ExactlyOneTurnThenIdle_AfterTheReaderConsumedEverything_TheInputKeepsAtMostABlock(int limit, int size)
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions { MaxReadBufferSize = limit });
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var input = server.Transport.Input;
            await SendHeldAsync(loop, client, 0, size);
            Assert.Equal(size, await InputPeek.WaitBufferedAsync(input, size));
            // The turn's last read (its continuation's, when the budget ran out) runs before this item: it finds nothing.
            using (await LoopGate.HoldAsync(loop))
            {
            }
            await ConsumeAllThenAssertKeepsAtMostABlockAsync(server, size, $"{size} bytes (limit {limit})");
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>
    /// Default MaxReadBufferSize (1 MiB): sixteen turns of 64 KiB fill the input to the limit, and the last flush pauses
    /// reading. The reader consumes down past the resume threshold: the resumed read finds nothing (EAGAIN) after asking
    /// the pipe for room (the 4 KiB left in the last 64 KiB array). The reader then consumes the rest and the connection
    /// is idle, as a keep-alive connection after an upload that paused. What does it keep?
    /// </summary>
    [Fact]
    public async Task PausedUploadThenIdle_AfterTheReaderConsumedEverything_TheInputKeepsAtMostABlock()
    {
        const int Limit = 1024 * 1024;
        var loop = LoopConnections.StartLoop();
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions { MaxReadBufferSize = Limit });
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var input = server.Transport.Input;
            await SendTurnsAsync(loop, client, input, Limit / EpollConnection.ReadBudgetBytes, EpollConnection.ReadBudgetBytes);
            var result = await input.ReadAsync().AsTask().WithTimeout();
            Assert.Equal(Limit, result.Buffer.Length);
            // Below the resume threshold (half the limit): the flush completes and the loop reads again, finding nothing.
            input.AdvanceTo(result.Buffer.GetPosition(Limit - 100_000));
            using (await LoopGate.HoldAsync(loop))
            {
            }
            await ConsumeAllThenAssertKeepsAtMostABlockAsync(server, 100_000, "a paused upload");
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>
    /// A pool whose blocks are 1 byte (so the connection's minimum read, half a block, is 0) and MaxReadBufferSize
    /// under 16 (a batch of 0): after a full read, the bulk read's wanted size is 0. The read must still have room: a
    /// read of 0 bytes returns 0, which the connection takes for the peer's FIN.
    /// </summary>
    [Fact]
    public async Task OneBytePoolAndTinyLimit_AfterAFullRead_NoZeroLengthReadIsTakenForFin()
    {
        var loop = new EpollEventLoop(9, new OneBytePool(), NullLogger.Instance, new EpollTransportMetrics(), handOffWhenBusy: false);
        loop.Start();
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions { MaxReadBufferSize = 8 });
            var (server, client) = await connections.ConnectAsync();
            const int Size = 100;
            await SendHeldAsync(loop, client, 0, Size);
            var all = new MemoryStream();
            var input = server.Transport.Input;
            while (all.Length < Size)
            {
                var result = await input.ReadAsync().AsTask().WithTimeout();
                foreach (var segment in result.Buffer)
                {
                    all.Write(segment.Span);
                }
                input.AdvanceTo(result.Buffer.End);
                Assert.False(result.IsCompleted && all.Length < Size, $"the input ended after {all.Length} of {Size} bytes (no FIN was sent)");
            }
            Assert.Equal(Pattern(0, Size), all.ToArray());
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>An RST with nothing read in the turn (the reader waiting, everything before consumed): ConnectionResetException.</summary>
    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(false, 65536)]
    [InlineData(true, 65536)]
    public async Task ResetAfterNothingRead_InputFailsWithConnectionResetException(bool inline, int before)
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions { UnsafePreferInlineScheduling = inline });
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var input = server.Transport.Input;
            if (before > 0)
            {
                // An exact budget: the continuation's read finds nothing (the empty flush), then the reader consumes all.
                await SendHeldAsync(loop, client, 0, before);
                Assert.Equal(before, await InputPeek.WaitBufferedAsync(input, before));
                using (await LoopGate.HoldAsync(loop))
                {
                }
                var r = await input.ReadAsync().AsTask().WithTimeout();
                input.AdvanceTo(r.Buffer.End);
            }
            var read = input.ReadAsync().AsTask();
            client.LingerState = new LingerOption(true, 0);
            client.Close();
            Exception? error = null;
            bool clean = false;
            try
            {
                var result = await read.WithTimeout();
                clean = result.IsCompleted && result.Buffer.IsEmpty;
            }
            catch (Exception ex)
            {
                error = ex;
            }
            output.WriteLine($"inline={inline} before={before}: clean={clean} error={error?.GetType().Name}: {error?.Message}");
            Assert.IsType<ConnectionResetException>(error);
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            server.ConnectionClosed.Register(() => closed.TrySetResult());
            await closed.Task.WithTimeout();
        }
        finally
        {
            loop.Stop();
        }
    }

    private sealed class OneBytePool : MemoryPool<byte>
    {
        public override int MaxBufferSize => 1;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => new Owner(Math.Max(1, minBufferSize));

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Owner(int size) : IMemoryOwner<byte>
        {
            public Memory<byte> Memory { get; } = new byte[size];

            public void Dispose()
            {
            }
        }
    }

    /// <summary>Reads the <paramref name="expected"/> bytes left, consumes them, and asserts that the idle input keeps at
    /// most a block as its last segment.</summary>
    private async Task ConsumeAllThenAssertKeepsAtMostABlockAsync(EpollConnection server, long expected, string after)
    {
        var input = server.Transport.Input;
        var result = await input.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(expected, result.Buffer.Length);
        input.AdvanceTo(result.Buffer.End);
        int held = WritingHeadCapacity(server);
        output.WriteLine($"idle after {after}: the input's writing head holds {held} bytes");
        Assert.InRange(held, 0, Block);
    }

    private static int WritingHeadCapacity(EpollConnection connection)
    {
        var pipe = (Pipe)typeof(EpollConnection).GetField("_input", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(connection)!;
        var head = typeof(Pipe).GetField("_writingHead", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(pipe);
        if (head is null)
        {
            return 0;
        }
        var available = (Memory<byte>)head.GetType().GetProperty("AvailableMemory", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance)!.GetValue(head)!;
        return available.Length;
    }

    private static byte[] Pattern(long offset, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((offset + i) % 251);
        }
        return bytes;
    }

    /// <summary>
    /// Sends <paramref name="turns"/> times <paramref name="size"/> bytes, each queued whole while the loop is held and
    /// in the input before the next; returns the bytes sent.
    /// </summary>
    private static async Task<long> SendTurnsAsync(EpollEventLoop loop, Socket client, PipeReader input, int turns, int size)
    {
        long sent = 0;
        for (int i = 0; i < turns; i++)
        {
            sent += await SendHeldAsync(loop, client, sent, size);
            Assert.Equal(sent, await InputPeek.WaitBufferedAsync(input, sent));
        }
        return sent;
    }

    /// <summary>Sends while the loop is held, so the loop's turn finds all of it queued.</summary>
    private static async Task<int> SendHeldAsync(EpollEventLoop loop, Socket client, long offset, int size)
    {
        using (await LoopGate.HoldAsync(loop))
        {
            Assert.Equal(size, client.Send(Pattern(offset, size)));
        }
        return size;
    }

    /// <summary>Reads everything after the peer's FIN and checks every byte, in order.</summary>
    private static async Task DrainAndCheckAsync(EpollConnection server, Socket client, long total)
    {
        client.Shutdown(SocketShutdown.Send);
        var input = server.Transport.Input;
        long offset = 0;
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WithTimeout().ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            foreach (var segment in result.Buffer)
            {
                Assert.Equal(Pattern(offset, segment.Length), segment.ToArray());
                offset += segment.Length;
            }
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        Assert.Equal(total, offset);
    }
}
