using System.Diagnostics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Stress.Client.Operations;

namespace KestrelEpollTransport.Reliability.Tests.Peers;

/// <summary>
/// Peers that do not keep up — one that never reads a large response, one that reads it a byte at a time — hold no
/// more server memory than <c>MaxWriteBufferSize</c> (plus one write of the app) each; Kestrel's timeouts
/// (MinResponseDataRate, keep-alive, request headers) still end them and idle ones; everyone else is served meanwhile.
/// </summary>
public sealed class SlowPeerTests(ITestOutputHelper output)
{
    private const int MaxWriteBufferSize = 64 * 1024;

    /// <summary>What one response in flight may hold beyond the transport's bound: the app's 64 KiB write before it flushes, and headers.</summary>
    private const int AppWriteSlack = 64 * 1024 + 16 * 1024;

    /// <summary>Healthy traffic's own blocks in flight (a /hello exchange, a 256 KiB download).</summary>
    private const int HealthySlack = 512 * 1024;

    private const int StuckPeers = 4;
    private const int TricklePeers = 4;
    private const long LargeResponse = 64L * 1024 * 1024;

    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    [Theory]
    [InlineData(TransportKind.Epoll)]
    [InlineData(TransportKind.Sockets)]
    public async Task SlowPeers_StuckAndByteAtATimeReaders_MemoryBoundedClosedByKestrelOthersServed(TransportKind transport)
    {
        await using var host = await ReliabilityHost.StartAsync(transport, output, o =>
        {
            o.ConfigureEpoll = epoll => epoll.MaxWriteBufferSize = MaxWriteBufferSize;
            o.MinimumLogLevel = LogLevel.Debug; // Kestrel logs a response ended for a slow reader at Debug.
            o.ConfigureKestrel = kestrel =>
            {
                // Kestrel gives each write (here 64 KiB) size/rate more time: 1 s at 64 KiB/s, so slow peers end within seconds.
                kestrel.Limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 64 * 1024, gracePeriod: Grace);
                kestrel.Limits.KeepAliveTimeout = Grace;
                kestrel.Limits.RequestHeadersTimeout = Grace;
            };
        });
        using var stop = new CancellationTokenSource();
        var healthy = HealthyTrafficAsync(host, stop.Token);
        var watch = WatchPoolAsync(host, stop.Token);
        var clock = Stopwatch.StartNew();

        var stuck = new List<StressConnection>();
        for (int i = 0; i < StuckPeers; i++)
        {
            stuck.Add(await StartStuckReaderAsync(host));
        }
        using var slowResponsesEnded = new CancellationTokenSource();
        var trickle = Enumerable.Range(0, TricklePeers).Select(_ => ByteAtATimeReaderAsync(host, slowResponsesEnded.Token)).ToList();
        var idle = IdleKeepAliveAsync(host);
        var headers = HalfSentHeadersAsync(host);

        // Kestrel ends each slow response (MinResponseDataRate) and logs it; the stuck readers cannot see it unread.
        await Eventually.AssertAsync(() => SlowResponsesEnded(host) == StuckPeers + TricklePeers,
            () => $"{SlowResponsesEnded(host)} of {StuckPeers + TricklePeers} slow responses ended by MinResponseDataRate; pool {host.MemoryPool.Describe()}; log: " + LogCapture.Describe(host.Logs.Entries.Where(e => e.EventId == 28)));
        var slowEnded = clock.Elapsed;
        await slowResponsesEnded.CancelAsync();
        var stuckEnds = new List<(TimeSpan Elapsed, long Received)>();
        foreach (var connection in stuck)
        {
            stuckEnds.Add((slowEnded, await DrainAsync(connection)));
            connection.Dispose();
        }
        var trickleEnds = await Task.WhenAll(trickle).WithTimeout();
        var idleEnd = await idle.WithTimeout();
        var headersEnd = await headers.WithTimeout();
        await stop.CancelAsync();
        var (requests, maxLatency) = await healthy.WithTimeout();
        long highWater = await watch.WithTimeout();

        output.WriteLine($"stuck readers ended within {slowEnded.TotalSeconds:0.0} s (then read {string.Join(", ", stuckEnds.Select(e => $"{e.Received / 1024} KiB"))} before the reset)");
        output.WriteLine($"byte-at-a-time readers ended after {string.Join(", ", trickleEnds.Select(e => $"{e.Elapsed.TotalSeconds:0.0} s ({e.Received} B)"))}");
        output.WriteLine($"idle keep-alive closed after {idleEnd.TotalSeconds:0.0} s; half-sent headers closed after {headersEnd.TotalSeconds:0.0} s");
        output.WriteLine($"meanwhile {requests} healthy requests, slowest {maxLatency.TotalMilliseconds:0} ms; pool high-water {highWater / 1024} KiB " +
            $"for {StuckPeers + TricklePeers} slow peers ({highWater / 1024 / (StuckPeers + TricklePeers)} KiB each), {clock.Elapsed.TotalSeconds:0.0} s in all");

        long bound = (StuckPeers + TricklePeers) * (long)(MaxWriteBufferSize + AppWriteSlack) + HealthySlack;
        Assert.True(highWater <= bound, $"The server held {highWater / 1024} KiB of pooled memory for {StuckPeers + TricklePeers} slow peers (bound {bound / 1024} KiB): output is not bounded by MaxWriteBufferSize.");
        Assert.All(stuckEnds.Concat(trickleEnds), e => Assert.True(e.Received < LargeResponse, "A slow peer got the whole response: it was not slow."));
        Assert.True(requests > 20, $"Only {requests} healthy requests were served while slow peers were held.");
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, () => "pool after the slow peers ended: " + host.MemoryPool.Describe());
    }

    /// <summary>Asks for 64 MiB through a 4 KiB receive buffer, and does not read.</summary>
    private static async Task<StressConnection> StartStuckReaderAsync(ReliabilityHost host)
    {
        var connection = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken(), receiveBufferSize: 4096);
        await connection.SendAsync(Requests.Download(connection.Nonce, connection.NextSequence(), LargeResponse), Timeouts.DefaultToken());
        return connection;
    }

    /// <summary>Kestrel's log lines (BadRequests event 28, Debug) for responses ended because the client read too slowly.</summary>
    private static int SlowResponsesEnded(ReliabilityHost host) => host.Logs.Count("Microsoft.AspNetCore.Server.Kestrel.BadRequests", 28);

    /// <summary>
    /// Reads a 64 MiB response one byte every 10 ms (100 B/s, far under the 64 KiB/s minimum) until the server has
    /// ended it (<paramref name="ended"/>: Kestrel logged it), then reads what the kernel still holds, to the reset.
    /// </summary>
    private static async Task<(TimeSpan Elapsed, long Received)> ByteAtATimeReaderAsync(ReliabilityHost host, CancellationToken ended)
    {
        using var connection = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken(), receiveBufferSize: 4096);
        var clock = Stopwatch.StartNew();
        await connection.SendAsync(Requests.Download(connection.Nonce, connection.NextSequence(), LargeResponse), Timeouts.DefaultToken());
        connection.ReceiveChunk = 1;
        connection.ReceiveDelay = TimeSpan.FromMilliseconds(10);
        long received = 0;
        try
        {
            while (!ended.IsCancellationRequested && await connection.FillAsync(Timeouts.DefaultToken()) > 0)
            {
                received++;
            }
        }
        catch (Exception e) when (e is StressFailureException or NoResponseException)
        {
            // Reset by the server: the end this test waits for.
            return (clock.Elapsed, received);
        }
        var elapsed = clock.Elapsed;
        connection.ReceiveChunk = 64 * 1024;
        connection.ReceiveDelay = TimeSpan.Zero;
        return (elapsed, received + await DrainAsync(connection));
    }

    /// <summary>One exchange, then silence: the keep-alive timeout closes it.</summary>
    private static async Task<TimeSpan> IdleKeepAliveAsync(ReliabilityHost host)
    {
        using var connection = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
        await Hello.ExchangeAsync(connection, Timeouts.DefaultToken());
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, await connection.ReadToEndAsync(null, Timeouts.DefaultToken()));
        return clock.Elapsed;
    }

    /// <summary>Half a request head, then silence: the request-headers timeout closes it.</summary>
    private static async Task<TimeSpan> HalfSentHeadersAsync(ReliabilityHost host)
    {
        using var connection = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
        var clock = Stopwatch.StartNew();
        await connection.SendAsync("GET /hello?n=1&s=1 HTTP/1.1\r\nHost: st", Timeouts.DefaultToken());
        await DrainAsync(connection);
        return clock.Elapsed;
    }

    /// <summary>/hello every few milliseconds on a keep-alive connection (a new one every 20 requests), each checked.</summary>
    private static async Task<(int Requests, TimeSpan MaxLatency)> HealthyTrafficAsync(ReliabilityHost host, CancellationToken stop)
    {
        int requests = 0;
        var maxLatency = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            using var connection = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
            for (int i = 0; i < 20 && !stop.IsCancellationRequested; i++, requests++)
            {
                var clock = Stopwatch.StartNew();
                await Hello.ExchangeAsync(connection, new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
                maxLatency = clock.Elapsed > maxLatency ? clock.Elapsed : maxLatency;
                await Task.Delay(5, CancellationToken.None);
            }
        }
        return (requests, maxLatency);
    }

    /// <summary>The pool's outstanding bytes, sampled until stopped; returns the most seen.</summary>
    private static async Task<long> WatchPoolAsync(ReliabilityHost host, CancellationToken stop)
    {
        long highWater = 0;
        while (!stop.IsCancellationRequested)
        {
            highWater = Math.Max(highWater, host.MemoryPool.OutstandingBytes);
            await Task.Delay(10, CancellationToken.None);
        }
        return highWater;
    }

    /// <summary>Reads whatever is left until the end or a reset; returns the bytes read.</summary>
    private static async Task<long> DrainAsync(StressConnection connection)
    {
        try
        {
            return await connection.ReadToEndAsync(null, Timeouts.DefaultToken());
        }
        catch (Exception e) when (e is StressFailureException or NoResponseException)
        {
            return 0; // Reset.
        }
    }
}
