using System.Buffers;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Receive flushes once per batch and when the turn ends, not after every read. So: bytes a turn read always reach the
/// reader (no edge comes again for data already read), FIN carries them, and a read error is neither lost behind a
/// flush that pauses nor delivered ahead of the bytes read before it.
/// </summary>
public sealed class ReceiveBatchTests(ITestOutputHelper output)
{
    private const int SocketBuffer = 1024 * 1024;

    /// <summary>How long a burst may take to reach the reader once sent; a batch left unflushed never arrives.</summary>
    private static readonly TimeSpan BurstTimeout = TimeSpan.FromSeconds(10);

    public static TheoryData<bool, int> Shapes => new()
    {
        { false, 0 },
        { true, 0 },
        { false, 4096 },
        { true, 4096 },
        { false, 64 * 1024 },
        { true, 64 * 1024 },
        { false, 1024 * 1024 },
    };

    private static EpollTransportOptions Options(bool inline, int limit) =>
        new() { UnsafePreferInlineScheduling = inline, MaxReadBufferSize = limit == 0 ? null : limit };

    private static byte[] Pattern(long offset, int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)((offset + i) % 251);
        }
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task DataThenFin_QueuedTogether_ReaderSeesEveryByteThenCleanCompletion(bool inline, int limit)
    {
        foreach (int size in new[] { 1, 3000, 4096, 8192, 10000, 60000, 65536, 65536 + 4096, 70000, 300000 })
        {
            var loop = LoopConnections.StartLoop();
            try
            {
                await using var connections = new LoopConnections(loop, Options(inline, limit));
                var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);
                using (await LoopGate.HoldAsync(loop))
                {
                    // Data and FIN both queued before the loop's first read: the turn reads the data, then the 0.
                    Assert.Equal(size, client.Send(Pattern(0, size)));
                    client.Shutdown(SocketShutdown.Send);
                }
                var (bytes, error) = await ReadAllAsync(server);
                Assert.Null(error);
                Assert.Equal(size, bytes.Length);
                Assert.Equal(Pattern(0, size), bytes);
            }
            finally
            {
                loop.Stop();
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task RandomBursts_EveryByteReachesTheReaderWithoutAnotherEdge(bool inline, int limit)
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            await using var connections = new LoopConnections(loop, Options(inline, limit));
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);

            long seen = 0;
            using var progress = new SemaphoreSlim(0);
            var reader = Task.Run(async () =>
            {
                var input = server.Transport.Input;
                while (true)
                {
                    var result = await input.ReadAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                    Interlocked.Add(ref seen, result.Buffer.Length);
                    input.AdvanceTo(result.Buffer.End);
                    progress.Release();
                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
            });

            var random = new Random(1234 + limit + (inline ? 1 : 0));
            int[] special = [1, 2047, 2048, 2049, 4095, 4096, 4097, 8192, 12288, 16384, 60 * 1024, 65535, 65536, 65537, 69632, 131072];
            long sent = 0;
            for (int i = 0; i < 300; i++)
            {
                int size = random.Next(3) == 0 ? random.Next(1, 200_000) : special[random.Next(special.Length)];
                bool hold = random.Next(2) == 0;
                if (hold)
                {
                    using (await LoopGate.HoldAsync(loop))
                    {
                        client.Send(Pattern(sent, size));
                    }
                }
                else
                {
                    client.Send(Pattern(sent, size));
                }
                sent += size;
                // No more data comes until the reader has all of it: a batch left unflushed would wait for ever.
                while (Volatile.Read(ref seen) < sent)
                {
                    Assert.True(await progress.WaitAsync(BurstTimeout),
                        $"burst {i} ({size} B): the reader saw {Volatile.Read(ref seen)} of {sent} bytes, nothing more within {BurstTimeout}");
                }
                Assert.Equal(sent, Volatile.Read(ref seen));
            }
            client.Shutdown(SocketShutdown.Send);
            await reader.WithTimeout();
            Assert.Equal(sent, Volatile.Read(ref seen));
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>
    /// The input holds 62 KiB of its 64 KiB (batch 4 KiB); then 3000 bytes and an RST arrive together. The turn reads
    /// 2048 + 952 bytes (RDHUP: it reads on past the short read), then ECONNRESET; the flush of the 3000 pauses
    /// (65 KiB ≥ 64 KiB). The kernel reported the reset to that read: the next read returns 0.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetReadInATurnWhoseFlushPauses_ReaderGetsConnectionReset(bool inline)
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            const int Limit = 64 * 1024;
            const int First = 62 * 1024;
            const int Second = 3000;
            await using var connections = new LoopConnections(loop, Options(inline, Limit));
            var (server, client) = await connections.ConnectWithBuffersAsync(SocketBuffer);
            var input = server.Transport.Input;

            using (await LoopGate.HoldAsync(loop))
            {
                Assert.Equal(First, client.Send(Pattern(0, First)));
            }
            // All of the first part in the input, neither consumed nor examined (that would release the backpressure).
            Assert.Equal(First, await InputPeek.WaitBufferedAsync(input, First));

            using (await LoopGate.HoldAsync(loop))
            {
                Assert.Equal(Second, client.Send(Pattern(First, Second)));
                client.LingerState = new LingerOption(true, 0);
                client.Close();
            }
            // The turn: 3000 bytes, then ECONNRESET; their flush crosses the limit, so it pauses (as Pipe pauses any
            // flush that leaves the unexamined bytes at or above the threshold).
            long buffered = await InputPeek.WaitBufferedAsync(input, First + Second);
            Assert.Equal(First + Second, buffered);
            Assert.True(buffered >= Limit, "the flush of the last turn did not pause");
            long total = 0;
            Exception? error = null;
            bool cleanEnd = false;
            try
            {
                while (true)
                {
                    var result = await input.ReadAsync().AsTask().WithTimeout().ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.ForceYielding);
                    total += result.Buffer.Length;
                    input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                    {
                        cleanEnd = true;
                        break;
                    }
                }
            }
            catch (Exception ex)
            {
                error = ex;
            }
            output.WriteLine($"inline={inline}: read {total} bytes; clean end: {cleanEnd}; error: {error?.GetType().Name} {error?.Message}");
            Assert.False(cleanEnd, $"the input completed cleanly after {total} bytes: the reset was lost");
            Assert.IsType<ConnectionResetException>(error);
            // As before batching: what the turn read before the reset reaches the reader first.
            Assert.Equal(First + Second, total);
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>
    /// Kestrel completed its reader with an error; then data and an RST come. The flush of the turn throws the reader's
    /// error: the input must still complete (ConnectionClosed fires), nothing hangs.
    /// </summary>
    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 64 * 1024)]
    [InlineData(true, 64 * 1024)]
    public async Task ReaderFailed_ThenDataAndReset_InputCompletes(bool inline, int limit)
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            await using var connections = new LoopConnections(loop, Options(inline, limit));
            var (server, client) = await connections.ConnectAsync();
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            server.ConnectionClosed.Register(() => closed.TrySetResult());
            server.Transport.Input.Complete(new InvalidOperationException("the app failed"));
            using (await LoopGate.HoldAsync(loop))
            {
                client.Send(Pattern(0, 10000));
                client.LingerState = new LingerOption(true, 0);
                client.Close();
            }
            await closed.Task.WithTimeout();
        }
        finally
        {
            loop.Stop();
        }
    }


    private static async Task<(byte[] Bytes, Exception? Error)> ReadAllAsync(EpollConnection connection)
    {
        var input = connection.Transport.Input;
        var all = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().AsTask().WithTimeout().ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext | ConfigureAwaitOptions.ForceYielding);
                foreach (var segment in result.Buffer)
                {
                    all.Write(segment.Span);
                }
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return (all.ToArray(), null);
                }
            }
        }
        catch (Exception ex)
        {
            return (all.ToArray(), ex);
        }
    }
}
