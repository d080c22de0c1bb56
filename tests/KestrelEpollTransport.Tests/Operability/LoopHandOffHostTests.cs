using System.Diagnostics.Metrics;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// Under concurrent keep-alive load the loops hand polling to the thread pool (docs/architecture.md, "Busy loops"),
/// and every response still reaches its own connection; after the load a new connection is served by the loop again.
/// Epoll only. The unit tests (Unit/LoopHandOffTests) drive each step of the hand-off; this runs it under Kestrel.
/// </summary>
public sealed class LoopHandOffHostTests(ITestOutputHelper output)
{
    private const string MeterName = "KestrelEpollTransport";

    [Fact]
    public async Task ConcurrentKeepAliveLoad_LoopsHandOff_EveryResponseOnItsOwnConnection()
    {
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output);
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var handOffs = new MetricCollector<long>(meterFactory, MeterName, "epoll.loop.handoffs");
        const int Clients = 32;
        const int LeastRequests = 200;
        int handedOff = 0;
        long wrong = 0;
        long answered = 0;

        // Each client asks for its own numbers; a response carrying another request's number was misrouted. The load goes
        // on (bounded below) until the loops have handed off at least once: 32 clients make that near-certain at once.
        var clients = Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
            for (int i = 0; i < LeastRequests || Volatile.Read(ref handedOff) == 0; i++)
            {
                int id = (client * 1_000_000) + i;
                await connection.SendAsync(RawHttpConnection.Get($"/index/{id}"));
                var response = await connection.ReadResponseAsync();
                if (response.StatusCode != 200 || response.BodyText != id.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    Interlocked.Increment(ref wrong);
                }
                Interlocked.Increment(ref answered);
                if (client == 0 && i % 50 == 0 && handOffs.GetMeasurementSnapshot().Sum(m => m.Value) > 0)
                {
                    Volatile.Write(ref handedOff, 1);
                }
            }
        })).ToArray();
        await Task.WhenAll(clients).WithTimeout(Timeouts.Bulk);

        long total = handOffs.GetMeasurementSnapshot().Sum(m => m.Value);
        output.WriteLine($"{Interlocked.Read(ref answered)} responses, {total} hand-offs");
        Assert.Equal(0, Interlocked.Read(ref wrong));
        Assert.True(total > 0, "no loop handed polling to the thread pool under 32 concurrent clients");

        // Idle again: the loop thread (or a poll that finds this request) answers a new connection.
        using var after = await RawHttpConnection.ConnectAsync(host.EndPoint).WithTimeout();
        await after.SendAsync(RawHttpConnection.Get("/index/7")).WithTimeout();
        var last = await after.ReadResponseAsync().WithTimeout();
        Assert.Equal("7", last.BodyText);
    }
}
