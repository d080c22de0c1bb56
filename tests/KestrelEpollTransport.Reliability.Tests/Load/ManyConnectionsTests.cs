using System.Diagnostics;
using Stress.Server;

namespace KestrelEpollTransport.Reliability.Tests.Load;

/// <summary>
/// 10,000 concurrent keep-alive connections (<see cref="ReliabilitySettings.Connections"/>) to a <c>Stress serve</c>
/// child: every one is answered, twice, while all are open; the server's memory per idle connection is reported.
/// A child process, because client and server ends together need more fds than the usual hard limit (20,000).
/// </summary>
public sealed class ManyConnectionsTests(ITestOutputHelper output)
{
    /// <summary>Connections being opened (connect + first request) at once.</summary>
    private const int ConnectParallelism = 200;

    /// <summary>fds each process needs beyond its connections: the runtime's own (assemblies, pipes, epoll).</summary>
    private const int FdHeadroom = 500;

    /// <summary>Sockets runs too, so the memory figure has a reference beside it.</summary>
    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task ManyConnections_TenThousandKeepAlive_AllAnsweredWhileAllOpen(string transport)
    {
        int count = ReliabilitySettings.Connections;
        var (_, limit) = ResourceLimits.RaiseOpenFilesLimit();
        Assert.True(limit >= (ulong)(count + FdHeadroom),
            $"RLIMIT_NOFILE's hard limit is {limit}; {count} connections need {count + FdHeadroom} in each process (raise it: ulimit -Hn, or LimitNOFILE=).");
        await using var server = await StressServerProcess.StartAsync(output, "--threads", "2", "--transport", transport);
        for (int i = 0; i < 50; i++)
        {
            using var warm = await Hello.ConnectAsync(server.EndPoint, Timeouts.DefaultToken());
            await Hello.ExchangeAsync(warm, Timeouts.DefaultToken());
        }
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(server.EndPoint)).KestrelActive == 1, () => "warm-up connections still open");
        var before = await ServerStats.GetAsync(server.EndPoint, collectGarbage: true);

        var connections = new StressConnection[count];
        try
        {
            var clock = Stopwatch.StartNew();
            using (var deadline = new CancellationTokenSource(Timeouts.LoadPhase))
            {
                await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = ConnectParallelism, CancellationToken = deadline.Token }, async (i, token) =>
                {
                    connections[i] = await Hello.ConnectAsync(server.EndPoint, token, bufferSize: 1024);
                    await Hello.ExchangeAsync(connections[i], token);
                });
            }
            var opened = clock.Elapsed;
            var open = await ServerStats.GetAsync(server.EndPoint, collectGarbage: true);
            Assert.Equal(count + 1, open.KestrelActive);

            // Every connection again, all at once: each is still open and served.
            clock.Restart();
            using (var deadline = new CancellationTokenSource(Timeouts.LoadPhase))
            {
                await Task.WhenAll(connections.Select(c => Hello.ExchangeAsync(c, deadline.Token)));
            }
            var again = clock.Elapsed;

            double perConnection = (open.RssBytes - before.RssBytes) / (double)count;
            double managedPerConnection = (open.ManagedHeapBytes - before.ManagedHeapBytes) / (double)count;
            output.WriteLine($"{transport}: {count} connections opened and answered in {opened.TotalSeconds:0.0} s ({count / opened.TotalSeconds:0}/s); " +
                $"all answered again at once in {again.TotalSeconds:0.0} s");
            output.WriteLine($"{transport}: server memory per idle connection: {perConnection / 1024:0.0} KiB RSS, {managedPerConnection / 1024:0.0} KiB managed heap " +
                $"(RSS {before.RssBytes / 1048576.0:0} -> {open.RssBytes / 1048576.0:0} MiB, heap {before.ManagedHeapBytes / 1048576.0:0.0} -> {open.ManagedHeapBytes / 1048576.0:0.0} MiB, " +
                $"fds {before.OpenFds} -> {open.OpenFds}, threads {before.Threads} -> {open.Threads})");
            Assert.InRange(open.OpenFds - before.OpenFds, count, count + 50);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection?.Dispose();
            }
        }

        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(server.EndPoint)).KestrelActive == 1,
            () => "the server still holds connections after the clients closed them", Timeouts.LoadPhase);
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(Timeouts.Default));
    }
}
