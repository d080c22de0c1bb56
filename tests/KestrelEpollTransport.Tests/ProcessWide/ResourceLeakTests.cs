using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.ProcessWide;

/// <summary>Connections that come and go leave no fd and no memory block behind.</summary>
public abstract class ResourceLeakTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task ConnectionChurn_ThousandConnectionsOpenAndClose_FdsAndPoolBlocksAllReturn()
    {
        // A first host of the same transport, run through every kind of connection ending, makes the process's
        // lazy one-offs happen before the baseline: the client's socket engine, timers, the code paths' assemblies.
        await using (var warmUp = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output))
        {
            await ChurnAsync(warmUp, 40);
        }
        await QuiesceAsync();
        // A stopped epoll host's loops close their epoll and eventfd fds as they end.
        await Eventually.AssertAsync(() => ProcessResources.EpollLoopThreads().Count == 0,
            () => $"loops of the warm-up host still running: {string.Join(", ", ProcessResources.EpollLoopThreads())}");
        var beforeHost = ProcessResources.OpenFds();

        var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        try
        {
            await ChurnAsync(host, 8);
            await QuiesceAsync();
            var running = ProcessResources.OpenFds();

            await ChurnAsync(host, 1000).WithTimeout(Timeouts.Bulk);

            await Eventually.AssertAsync(() => ProcessResources.OpenFds().Count == running.Count,
                () => "fds after 1,000 connections closed: " + ProcessResources.Diff(running, ProcessResources.OpenFds()) +
                    $"; TCP connections still open: {ProcessResources.TcpConnections()}");
            await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0,
                () => "pool blocks after 1,000 connections closed: " + host.MemoryPool.Describe());
            Assert.True(host.MemoryPool.Rented > 1000, "The pool was not used: " + host.MemoryPool.Describe());
            Assert.Equal(0, host.MemoryPool.DoubleReturns);
        }
        finally
        {
            await host.DisposeAsync();
        }

        await Eventually.AssertAsync(() => ProcessResources.OpenFds().Count == beforeHost.Count,
            () => "fds after the host stopped: " + ProcessResources.Diff(beforeHost, ProcessResources.OpenFds()));
        output.WriteLine($"{transport}: {host.MemoryPool.Describe()}");
        Assert.Equal(0, host.MemoryPool.Outstanding);
        Assert.Equal(host.MemoryPool.PoolsCreated, host.MemoryPool.PoolsDisposed);
    }

    /// <summary>
    /// Waits until no TCP connection is left in the process (the server closes its side a little after the
    /// client) and finalizers have closed what garbage still held, so an fd snapshot is a quiet one.
    /// </summary>
    private static async Task QuiesceAsync()
    {
        await Eventually.AssertAsync(
            () => ProcessResources.TcpConnections() == 0,
            () => $"TCP connections still open: {ProcessResources.DescribeTcpConnections()}");
        // Earlier tests' garbage (a child process's pipes, say) may still hold fds that a finalizer closes at some
        // later GC, which would move the count under this test. Collect it now, before the snapshot.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    /// <summary>
    /// Opens and closes <paramref name="count"/> connections, 50 at a time, ending them four ways in turn: the
    /// client closes after a response (FIN), the server closes after a "Connection: close" response, the client
    /// resets after a response, the client connects and leaves without a request.
    /// </summary>
    private static async Task ChurnAsync(TestHost host, int count)
    {
        const int Parallel = 50;
        for (int batch = 0; batch < count; batch += Parallel)
        {
            var connections = Enumerable.Range(batch, Math.Min(Parallel, count - batch)).Select(async i =>
            {
                using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
                switch (i % 4)
                {
                    case 0:
                        await connection.SendAsync(RawHttpConnection.Get("/"));
                        Assert.Equal(200, (await connection.ReadResponseAsync()).StatusCode);
                        break;
                    case 1:
                        await connection.SendAsync(RawHttpConnection.Get("/", "Connection: close\r\n"));
                        Assert.Equal(200, (await connection.ReadResponseAsync()).StatusCode);
                        Assert.Equal(0, await connection.ReadToEndAsync());
                        break;
                    case 2:
                        await connection.SendAsync(RawHttpConnection.Get("/"));
                        Assert.Equal(200, (await connection.ReadResponseAsync()).StatusCode);
                        connection.Socket.LingerState = new LingerOption(true, 0);
                        break;
                    default:
                        break;
                }
            });
            await Task.WhenAll(connections).WithTimeout();
        }
    }
}

/// <summary><see cref="ResourceLeakTests"/> on the epoll transport.</summary>
[Collection(ProcessWideTests.Name)]
public sealed class EpollResourceLeakTests(ITestOutputHelper output) : ResourceLeakTests(TransportKind.Epoll, output);

/// <summary><see cref="ResourceLeakTests"/> on Kestrel's Sockets transport.</summary>
[Collection(ProcessWideTests.Name)]
public sealed class SocketsResourceLeakTests(ITestOutputHelper output) : ResourceLeakTests(TransportKind.Sockets, output);
