using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Conformance;

/// <summary>
/// The transport's <see cref="ConnectionContext"/> below HTTP (Kestrel runs a connection handler in place of
/// HTTP/1.1): FIN, RST, abort and close as the transport reports them. The expected values are what Kestrel's
/// Sockets transport does in .NET 10.
/// </summary>
public abstract class ConnectionTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Connection_PeerHalfClose_InputCompletesCleanlyAndOutputStillWorks()
    {
        const int Size = 4 * 1024 * 1024;
        var inputResult = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            long total = await ReadToCompletionAsync(connection);
            inputResult.SetResult(total);
            await WritePayloadAsync(connection, Size);
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await client.SendAsync("hello");
        client.Socket.Shutdown(SocketShutdown.Send);
        long inputBytes = await inputResult.Task.WithTimeout();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = await client.ReadToEndAsync(hash.AppendData);

        Assert.Equal(5, inputBytes);
        Assert.Equal(Size, received);
        Assert.Equal(Payload.Sha256(Size), hash.GetHashAndReset());
    }

    [Fact]
    public async Task Connection_PeerHalfClose_ConnectionClosedFiresOffLoopThreadWhileOutputOpen()
    {
        var closedOnThread = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            using var registration = connection.ConnectionClosed.Register(() => closedOnThread.TrySetResult(Thread.CurrentThread.Name ?? "(unnamed)"));
            await ReadToCompletionAsync(connection);
            // Sockets signals ConnectionClosed once the receive side has ended, before the output is done; it is
            // what makes Kestrel's HTTP/1.1 layer abort a request whose client half-closed.
            await closedOnThread.Task.WithTimeout();
            await connection.Transport.Output.WriteAsync("late"u8.ToArray());
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await client.SendAsync("x");
        client.Socket.Shutdown(SocketShutdown.Send);
        string thread = await closedOnThread.Task.WithTimeout();
        var late = new MemoryStream();
        await client.ReadToEndAsync(chunk => late.Write(chunk));

        output.WriteLine($"{transport}: ConnectionClosed ran on '{thread}'");
        Assert.False(thread.StartsWith("epoll-loop-", StringComparison.Ordinal), $"ConnectionClosed ran on the loop thread '{thread}'.");
        Assert.Equal("late"u8.ToArray(), late.ToArray());
    }

    [Fact]
    public async Task Connection_PeerReset_InputThrowsConnectionResetAndOutputReportsCompleted()
    {
        var gotData = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readError = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var writesCompleted = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            var first = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(first.Buffer.End);
            gotData.SetResult();
            try
            {
                await ReadToCompletionAsync(connection);
                readError.SetResult(null);
            }
            catch (Exception e)
            {
                readError.SetResult(e);
            }
            writesCompleted.SetResult(await WritesReportCompletedAsync(connection));
        });
        using (var client = await RawHttpConnection.ConnectAsync(host.EndPoint))
        {
            await client.SendAsync("x");
            await gotData.Task.WithTimeout();
            client.Socket.LingerState = new LingerOption(true, 0);
        }

        var error = await readError.Task.WithTimeout();
        bool completed = await writesCompleted.Task.WithTimeout();

        output.WriteLine($"{transport}: input failed with {error}");
        Assert.IsType<ConnectionResetException>(error);
        Assert.True(completed, "The output never reported the reader completed after the peer's reset.");
    }

    [Fact]
    public async Task Connection_Abort_PeerSeesResetAndInputThrowsConnectionAborted()
    {
        var afterAbort = new TaskCompletionSource<(Exception? ReadError, bool WriteCompleted)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartAsync(async connection =>
        {
            var first = await connection.Transport.Input.ReadAsync();
            connection.Transport.Input.AdvanceTo(first.Buffer.End);
            connection.Abort(new ConnectionAbortedException("aborted by the test"));
            Exception? readError = null;
            try
            {
                await ReadToCompletionAsync(connection);
            }
            catch (Exception e)
            {
                readError = e;
            }
            afterAbort.SetResult((readError, await WritesReportCompletedAsync(connection)));
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await client.SendAsync("x");
        var reset = await Assert.ThrowsAsync<SocketException>(() => client.ReadToEndAsync());
        var (readError, writeCompleted) = await afterAbort.Task.WithTimeout();

        output.WriteLine($"{transport}: after Abort the input failed with {readError}");
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
        var aborted = Assert.IsType<ConnectionAbortedException>(readError);
        Assert.Equal("aborted by the test", aborted.Message);
        Assert.True(writeCompleted, "Writes after Abort never reported the reader completed.");
    }

    [Fact]
    public async Task Connection_HandlerEndsAfterLargeWrite_PeerReceivesAllOutputThenFin()
    {
        const int Size = 8 * 1024 * 1024;
        await using var host = await StartAsync(connection => WritePayloadAsync(connection, Size));
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = await client.ReadToEndAsync(hash.AppendData);

        Assert.Equal(Size, received);
        Assert.Equal(Payload.Sha256(Size), hash.GetHashAndReset());
    }

    [Fact]
    public async Task Connection_EchoBothWaysAtOnce_AllBytesRoundTrip()
    {
        const int Size = 16 * 1024 * 1024;
        await using var host = await StartAsync(async connection =>
        {
            // Echo through the pipes as they are, so the transport's read and write backpressure both engage.
            await connection.Transport.Input.CopyToAsync(connection.Transport.Output);
        });
        using var client = await RawHttpConnection.ConnectAsync(host.EndPoint);

        var send = Task.Run(async () =>
        {
            var chunk = new byte[128 * 1024];
            for (int offset = 0; offset < Size; offset += chunk.Length)
            {
                Payload.Fill(chunk, offset);
                await client.SendAsync(chunk);
            }
            client.Socket.Shutdown(SocketShutdown.Send);
        });
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var receive = Task.Run(() => client.ReadToEndAsync(hash.AppendData));
        await send.WithTimeout(Timeouts.Bulk);
        long received = await receive.WithTimeout(Timeouts.Bulk);

        Assert.Equal(Size, received);
        Assert.Equal(Payload.Sha256(Size), hash.GetHashAndReset());
        await host.StopAsync();
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, host.MemoryPool.Describe);
    }

    private Task<TestHost> StartAsync(Func<ConnectionContext, Task> handler) =>
        TestHost.StartAsync(transport, _ => { }, output, o => o.ConfigureKestrel = kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Run(handler)));

    /// <summary>Reads and discards the input until the peer's FIN; returns the byte count. Throws what the input throws.</summary>
    private static async Task<long> ReadToCompletionAsync(ConnectionContext connection)
    {
        long total = 0;
        while (true)
        {
            var result = await connection.Transport.Input.ReadAsync();
            total += result.Buffer.Length;
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                return total;
            }
        }
    }

    /// <summary>
    /// Writes until a flush reports the transport stopped reading the output (what a dead connection does to
    /// writes: no exception, a completed flush result), up to 100 writes of 64 KiB; returns whether it did. The
    /// transport may notice a little after the write that follows the abort or reset, hence more than one write.
    /// </summary>
    private static async Task<bool> WritesReportCompletedAsync(ConnectionContext connection)
    {
        var chunk = new byte[64 * 1024];
        for (int i = 0; i < 100; i++)
        {
            if ((await connection.Transport.Output.WriteAsync(chunk)).IsCompleted)
            {
                return true;
            }
        }
        return false;
    }

    private static async Task WritePayloadAsync(ConnectionContext connection, long size)
    {
        var chunk = new byte[64 * 1024];
        for (long offset = 0; offset < size; offset += chunk.Length)
        {
            int take = (int)Math.Min(chunk.Length, size - offset);
            Payload.Fill(chunk.AsSpan(0, take), offset);
            await connection.Transport.Output.WriteAsync(chunk.AsMemory(0, take));
        }
    }
}

/// <summary><see cref="ConnectionTests"/> on the epoll transport.</summary>
public sealed class EpollConnectionTests(ITestOutputHelper output) : ConnectionTests(TransportKind.Epoll, output);

/// <summary><see cref="ConnectionTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsConnectionTests(ITestOutputHelper output) : ConnectionTests(TransportKind.Sockets, output);
