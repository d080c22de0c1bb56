using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KestrelEpollTransport.Reliability.Tests.Stress;

/// <summary>
/// The stress mix (every exchange checked byte for byte, misrouting detected by per-connection nonces) against a
/// real host: a minute on Epoll with zero failures, then every connection, registration and pool block returned.
/// </summary>
public sealed class StressRunTests(ITestOutputHelper output)
{
    [Fact]
    public async Task StressMix_EpollForOneMinute_NoFailureAndEverythingReturned()
    {
        var host = await ReliabilityHost.StartAsync(TransportKind.Epoll, output);
        try
        {
            var stats = await RunAsync(host, ReliabilitySettings.StressDuration, clients: 16);

            AssertNoFailures(stats, host);
            // The clients have closed every connection: the server closes its ends, leaving only the listener.
            await Eventually.AssertAsync(() => TransportProbe.Registrations(host.Services) == 1,
                () => "registrations after the run: " + TransportProbe.Describe(host.Services));
            await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, () => "pool after the run: " + host.MemoryPool.Describe());
        }
        finally
        {
            await host.DisposeAsync();
        }
        Assert.Equal(0, host.MemoryPool.Outstanding);
        Assert.Equal(0, host.MemoryPool.DoubleReturns);
        Assert.Equal(host.MemoryPool.PoolsCreated, host.MemoryPool.PoolsDisposed);
    }

    [Fact]
    public async Task StressMix_SocketsForFifteenSeconds_NoFailure()
    {
        await using var host = await ReliabilityHost.StartAsync(TransportKind.Sockets, output);
        var stats = await RunAsync(host, TimeSpan.FromSeconds(15), clients: 16);
        AssertNoFailures(stats, host);
    }

    /// <summary>The run can fail: against a server that answers with another connection's nonce and flips a byte, it reports both.</summary>
    [Fact]
    public async Task StressMix_LyingServer_ReportsMisroutedAndCorrupted()
    {
        await using var host = await ReliabilityHost.StartAsync(TransportKind.Epoll, output, o => o.ConfigureApp = app => app.Use(LieAsync));
        var runner = new StressRunner(new StressRunOptions
        {
            Clients = 2,
            Duration = TimeSpan.FromSeconds(2),
            OperationTimeout = TimeSpan.FromSeconds(10),
            MaxBodySize = 64 * 1024,
            Mix = OperationMix.Only([OperationKind.Get, OperationKind.Download]),
        }, host.EndPoint);
        var stats = await runner.RunAsync().WithTimeout();
        output.WriteLine(runner.Describe(TimeSpan.FromSeconds(2)));

        Assert.True(stats.Failures(FailureKind.Misrouted) > 0, "A /hello answer of another connection was not reported as misrouted.");
        Assert.True(stats.Failures(FailureKind.Corrupted) > 0, "A flipped byte in a download was not reported as corrupted.");
    }

    private async Task<StressStats> RunAsync(ReliabilityHost host, TimeSpan duration, int clients)
    {
        var options = new StressRunOptions { Clients = clients, Duration = duration };
        var runner = new StressRunner(options, host.EndPoint);
        var clock = Stopwatch.StartNew();
        var stats = await runner.RunAsync().WithTimeout(duration + options.OperationTimeout + TimeSpan.FromSeconds(60));
        output.WriteLine(runner.Describe(clock.Elapsed));
        return stats;
    }

    private static void AssertNoFailures(StressStats stats, ReliabilityHost host)
    {
        Assert.True(stats.TotalFailed == 0, $"{stats.TotalFailed} exchanges failed:{Environment.NewLine}{string.Join(Environment.NewLine, stats.Samples)}");
        foreach (var kind in Enum.GetValues<OperationKind>())
        {
            Assert.True(stats.Succeeded(kind) > 0, $"No {kind} exchange completed: the mix did not run.");
        }
        Assert.Equal(0, host.Endpoints.UnexpectedErrors);
        Assert.True(host.Logs.Errors.Count == 0, "The server logged errors:" + Environment.NewLine + LogCapture.Describe(host.Logs.Errors));
    }

    /// <summary>Answers /hello with the next connection's nonce and flips one byte of every download.</summary>
    private static async Task LieAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path == "/hello")
        {
            ulong nonce = ulong.Parse(context.Request.Query["n"].ToString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            await context.Response.WriteAsync($"{nonce + 1:x16}-{context.Request.Query["s"]}");
            return;
        }
        if (context.Request.Path == "/download" && context.Request.Query["size"] != "0")
        {
            var body = new MemoryStream();
            var original = context.Response.Body;
            context.Response.Body = body;
            await next(context);
            var bytes = body.ToArray();
            bytes[bytes.Length / 2] ^= 1;
            context.Response.Body = original;
            await original.WriteAsync(bytes);
            return;
        }
        await next(context);
    }
}
