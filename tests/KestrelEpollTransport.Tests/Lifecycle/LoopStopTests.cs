using System.Buffers;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using KestrelEpollTransport.Tests.Lifecycle;
using KestrelEpollTransport.Tests.ProcessWide;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// A connection started on a loop that stops (or has stopped) still closes. Its close was once posted to a loop that
/// would not run posted work again, so the input never completed, ConnectionClosed never fired, DisposeAsync never
/// returned, and a connection registered after the stopping loop's snapshot kept its fd (found by review). Kestrel's
/// own shutdown order (accept loop ended before the listener is disposed) does not reach this; a listener disposed while
/// an AcceptAsync is between accept4 and Start does.
/// </summary>
[Collection(ProcessWideTests.Name)]
public sealed class LoopStopTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task StartAfterLoopStopped_RegisterFailsWithEbadf_ConnectionStillCloses()
    {
        var loop = LoopConnections.StartLoop();
        var connections = new LoopConnections(loop, new EpollTransportOptions());
        loop.Stop();

        // Register fails with EBADF (the loop's fds are closed); Start aborts, which posts Close to the stopped loop.
        var (server, client) = await connections.ConnectAsync();
        using var _ = client;

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.ConnectionClosed.Register(() => closed.TrySetResult());
        // Ends with the input's end: a result, or the abort's exception.
        var read = Task.Run(async () => { try { await server.Transport.Input.ReadAsync(); } catch (ConnectionAbortedException) { } });
        var dispose = server.DisposeAsync().AsTask();

        await Task.WhenAny(Task.WhenAll(closed.Task, read, dispose), Task.Delay(Bound));
        Assert.True(read.IsCompleted, "the input never completed");
        Assert.True(closed.Task.IsCompleted, "ConnectionClosed never fired");
        Assert.True(dispose.IsCompleted, "DisposeAsync never returned");
    }

    [Fact]
    public async Task StartWhileTheLoopRunsOnLoopStopping_RegisteredAfterTheSnapshot_ConnectionStillClosesAndItsFdToo()
    {
        var loop = LoopConnections.StartLoop();
        var connections = new LoopConnections(loop, new EpollTransportOptions());
        // A registration whose OnLoopStopping holds the loop thread inside StopRegistrations (after its snapshot of
        // the table, before Stop closes the loop's fds): a window in which Register still succeeds.
        using var eventFd = new SafeFdHandle(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
        var holder = new HoldingHandler(loop.ReserveToken());
        Assert.Equal(0, loop.Register(eventFd.Fd, Epoll.EPOLLIN, holder));

        var stop = Task.Run(loop.Stop);
        await holder.Entered.Task.WithTimeout();
        EpollConnection server;
        System.Net.Sockets.Socket client;
        try
        {
            (server, client) = await connections.ConnectAsync();
        }
        finally
        {
            holder.Release.Set();
        }
        using var _ = client;
        await stop.WithTimeout();
        int fd = server.Fd;

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.ConnectionClosed.Register(() => closed.TrySetResult());
        server.Abort(new ConnectionAbortedException("The test is over."));
        var dispose = server.DisposeAsync().AsTask();

        await Task.WhenAny(Task.WhenAll(closed.Task, dispose), Task.Delay(Bound));
        Assert.True(closed.Task.IsCompleted, "ConnectionClosed never fired");
        Assert.True(dispose.IsCompleted, "DisposeAsync never returned");
        Assert.False(File.Exists($"/proc/self/fd/{fd}") && new FileInfo($"/proc/self/fd/{fd}").LinkTarget?.StartsWith("socket:", StringComparison.Ordinal) == true,
            $"the accepted fd {fd} is still open");
    }

    private sealed class HoldingHandler(ulong token) : IEpollHandler
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim Release { get; } = new();

        public ulong EpollToken { get; } = token;

        public void OnEvents(uint events)
        {
        }

        public void OnFault(Exception exception)
        {
        }

        public void OnLoopStopping()
        {
            Entered.TrySetResult();
            Release.Wait(Timeouts.Default);
        }
    }
}
