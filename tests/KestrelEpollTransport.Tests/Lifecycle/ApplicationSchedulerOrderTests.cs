using System.Buffers;
using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// The application resumes at the end of the pass that read for it: what the pass read must still reach it before the
/// news that the peer has gone, and a loop that stops outside any pass must still resume a waiting reader.
/// </summary>
public sealed class ApplicationSchedulerOrderTests
{
    /// <summary>
    /// Data and FIN read in one pass: ConnectionClosed must not reach Kestrel before the reader is handed the data
    /// (HTTP/1.1 aborts its output on ConnectionClosed); the Sockets transport queues the reader first too.
    /// </summary>
    [Fact]
    public async Task DataAndFinInOnePass_ConnectionClosedFiresOnlyAfterTheReaderWasResumed()
    {
        // The application's work runs inline here, in queue order, so the order of queueing is the order of running.
        var loop = new EpollEventLoop(9, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics(), handOffWhenBusy: false,
            queueApplicationWork: static (action, state) => action(state));
        loop.Start();
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions());
            var (server, client) = await connections.ConnectAsync();
            using var _ = client;
            int readerResumed = 0;
            var closedSawReader = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            server.ConnectionClosed.Register(() => closedSawReader.TrySetResult(Volatile.Read(ref readerResumed) == 1));
            var input = server.Transport.Input;
            async Task ReadOnceAsync()
            {
                var result = await input.ReadAsync();
                Volatile.Write(ref readerResumed, 1);
                input.AdvanceTo(result.Buffer.End);
            }
            var reader = ReadOnceAsync(); // Waiting before the data comes.

            var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (await LoopGate.HoldAsync(loop))
            {
                client.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                client.Shutdown(SocketShutdown.Send);
                // Runs in the pass that reads the data and the FIN, after the read: holds that pass until the pool
                // has run what was queued on it before (ConnectionClosed, where it would go straight to the pool).
                loop.Schedule(_ =>
                {
                    ThreadPool.UnsafeQueueUserWorkItem(static m => m.SetResult(), marker, preferLocal: false);
                    Task.WaitAny([closedSawReader.Task, marker.Task], Timeouts.Default);
                }, null);
            }

            await reader.WithTimeout();
            Assert.True(await closedSawReader.Task.WithTimeout(), "ConnectionClosed fired before the reader was handed the data read in the same pass");
        }
        finally
        {
            loop.Stop();
        }
    }

    /// <summary>The loop stops while the app waits to read: Close runs as the loop outside a pass, the reader resumes.</summary>
    [Fact]
    public async Task LoopStops_ReaderWaiting_ResumedWithTheAbort()
    {
        var loop = LoopConnections.StartLoop();
        var connections = new LoopConnections(loop, new EpollTransportOptions());
        var (server, client) = await connections.ConnectAsync();
        using var _ = client;
        var read = server.Transport.Input.ReadAsync().AsTask();

        loop.Stop();

        await Assert.ThrowsAsync<ConnectionAbortedException>(() => read.WithTimeout());
        await server.DisposeAsync().AsTask().WithTimeout();
    }
}
