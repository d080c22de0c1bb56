using System.Diagnostics;
using System.Net;

namespace KestrelEpollTransport.Reliability.Tests.Shutdown;

/// <summary>
/// SIGTERM to a <c>Stress serve</c> child while the stress mix runs against it: requests in flight complete (slow
/// ones included) within the shutdown timeout, new connections are refused, nothing is cut, corrupted or misrouted,
/// and the process exits 0, promptly.
/// </summary>
public sealed class ShutdownUnderLoadTests(ITestOutputHelper output)
{
    private const int ShutdownTimeoutSeconds = 10;

    /// <summary>Requests that take <see cref="SlowRequestMs"/> each, in flight when SIGTERM comes.</summary>
    private const int SlowRequests = 8;

    private const int SlowRequestMs = 3000;

    [Theory]
    [InlineData("epoll")]
    [InlineData("sockets")]
    public async Task Sigterm_WhileStressMixRuns_InFlightCompleteNewRefusedExitsZero(string transport)
    {
        await using var server = await StressServerProcess.StartAsync(output, "--transport", transport, "--threads", "2",
            "--shutdown-timeout", $"{ShutdownTimeoutSeconds}");
        var endPoint = server.EndPoint;
        var runner = new StressRunner(new StressRunOptions { Clients = 16, Duration = TimeSpan.FromMinutes(2), MaxBodySize = 2 * 1024 * 1024 }, endPoint);
        using var stopRunner = new CancellationTokenSource();
        var runClock = Stopwatch.StartNew();
        var run = runner.RunAsync(stopRunner.Token);
        await Eventually.AssertAsync(() => runner.Stats.TotalSucceeded > 200, () => $"{runner.Stats.TotalSucceeded} exchanges so far");

        var slow = new List<Task<TimeSpan>>();
        for (int i = 0; i < SlowRequests; i++)
        {
            slow.Add(SlowRequestAsync(endPoint));
        }
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(endPoint)).SlowInFlight == SlowRequests, () => "slow requests not yet in flight");

        var clock = Stopwatch.StartNew();
        runner.ServerStopping();
        server.Terminate();
        // Stopping unbinds first: new connections are refused while the slow requests still run.
        await Eventually.AssertAsync(() => TcpProbe.IsRefused(endPoint), () => $"{endPoint} still accepts connections after SIGTERM");
        var refusedAfter = clock.Elapsed;
        Assert.False(server.Process.HasExited, "The server exited before its slow requests could finish.");
        var slowTimes = await Task.WhenAll(slow).WithTimeout();
        int exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(ShutdownTimeoutSeconds + 10));
        var exitedAfter = clock.Elapsed;
        await stopRunner.CancelAsync();
        var stats = await run.WithTimeout(TimeSpan.FromSeconds(60));

        output.WriteLine($"{transport}: refused new connections {refusedAfter.TotalMilliseconds:0} ms after SIGTERM; slow requests answered after " +
            $"{string.Join(", ", slowTimes.Select(t => $"{t.TotalSeconds:0.0} s"))}; exited {exitedAfter.TotalSeconds:0.0} s after SIGTERM with code {exitCode}");
        output.WriteLine(runner.Describe(runClock.Elapsed));
        Assert.Equal(0, exitCode);
        Assert.True(exitedAfter < TimeSpan.FromSeconds(ShutdownTimeoutSeconds), $"The server took {exitedAfter.TotalSeconds:0.0} s to exit: longer than its shutdown timeout.");
        Assert.True(stats.TotalFailed == 0, $"{stats.TotalFailed} exchanges failed during the stop:{Environment.NewLine}{string.Join(Environment.NewLine, stats.Samples)}");
        Assert.Equal(0, server.CountLines("fail:") + server.CountLines("crit:"));
    }

    /// <summary>GET /slow on a connection of its own; returns how long the answer took, checked.</summary>
    private static async Task<TimeSpan> SlowRequestAsync(IPEndPoint endPoint)
    {
        using var connection = await Hello.ConnectAsync(endPoint, Timeouts.DefaultToken());
        var clock = Stopwatch.StartNew();
        uint sequence = connection.NextSequence();
        await connection.SendAsync($"GET /slow?ms={SlowRequestMs}&n={connection.Nonce:x16}&s={sequence} HTTP/1.1\r\nHost: stress\r\n\r\n", Timeouts.DefaultToken());
        await Hello.ReadAsync(connection, sequence, Timeouts.DefaultToken());
        return clock.Elapsed;
    }
}
