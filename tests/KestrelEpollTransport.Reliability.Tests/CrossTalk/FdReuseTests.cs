using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Stress;

namespace KestrelEpollTransport.Reliability.Tests.CrossTalk;

/// <summary>
/// Close/accept storms while responses are being written from thread-pool threads: thousands of short connections,
/// each answered in several small flushes (each on whatever pool thread resumes the handler) with bytes that name
/// the connection, while others reset, leave mid-response or are aborted by the server. The kernel hands the lowest
/// free fd number to the next accept, so fd numbers are reused all the time; no byte may reach another peer.
/// </summary>
public sealed class FdReuseTests(ITestOutputHelper output)
{
    private const int Workers = 64;

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task FdReuseStorm_SendsInFlightWhileOthersClose_NoByteReachesAnotherPeer()
    {
        await using var host = await ReliabilityHost.StartAsync(TransportKind.Epoll, output, o =>
        {
            o.ConfigureEpoll = epoll => epoll.ThreadCount = 2;
            o.ConfigureApp = app => app.Use(BurstAsync);
        });
        var counts = new long[4];
        long failures = 0;
        var samples = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource(Duration);
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                int variant = random.Next(4);
                try
                {
                    await ExchangeAsync(host, variant, random);
                    Interlocked.Increment(ref counts[variant]);
                }
                catch (StressFailureException e) when (e.Kind is FailureKind.Misrouted or FailureKind.Corrupted or FailureKind.Protocol)
                {
                    Interlocked.Increment(ref failures);
                    samples.Enqueue($"{e.Kind}: {e.Message}");
                }
            }
        })).ToList();
        await Task.WhenAll(workers).WithTimeout(Duration + Timeouts.Default);

        output.WriteLine($"{counts.Sum()} connections in {Duration.TotalSeconds:0} s: {counts[0]} read whole, {counts[1]} reset mid-response, " +
            $"{counts[2]} reset before reading, {counts[3]} cut by the server's abort; {failures} saw foreign or wrong bytes");
        Assert.True(failures == 0, $"{failures} connections got bytes that were not theirs:{Environment.NewLine}{string.Join(Environment.NewLine, samples.Take(10))}");
        Assert.True(counts.Sum() > 2000, $"Only {counts.Sum()} connections: not a storm.");
        await Eventually.AssertAsync(() => TransportProbe.Registrations(host.Services) == 1, () => "registrations: " + TransportProbe.Describe(host.Services));
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, () => "pool: " + host.MemoryPool.Describe());
        Assert.Equal(0, host.MemoryPool.DoubleReturns);
    }

    /// <summary>
    /// One connection: 0 reads the whole burst; 1 reads part of it and resets; 2 resets right after asking;
    /// 3 asks the server to abort after half the parts. Every byte that does arrive is checked.
    /// </summary>
    private static async Task ExchangeAsync(ReliabilityHost host, int variant, Random random)
    {
        using var deadline = new CancellationTokenSource(Timeouts.Default);
        var connection = await Hello.ConnectAsync(host.EndPoint, deadline.Token, bufferSize: 8192);
        try
        {
            uint sequence = connection.NextSequence();
            int parts = random.Next(2, 9);
            int partSize = random.Next(100, 4000);
            long size = (long)parts * partSize;
            string abort = variant == 3 ? "&abort=1" : "";
            await connection.SendAsync(string.Create(CultureInfo.InvariantCulture,
                $"GET /burst?n={connection.Nonce:x16}&s={sequence}&parts={parts}&part={partSize}{abort} HTTP/1.1\r\nHost: stress\r\nConnection: close\r\n\r\n"), deadline.Token);
            if (variant == 2)
            {
                return;
            }
            var head = await connection.ReadHeadAsync(deadline.Token);
            if (head.StatusCode != 200 || head.ContentLength != size)
            {
                throw new StressFailureException(FailureKind.Protocol, $"Status {head.StatusCode}, Content-Length {head.ContentLength}; expected 200, {size}.");
            }
            var verifier = new PayloadVerifier(connection.Nonce, sequence, size);
            long wanted = variant == 1 ? random.NextInt64(size) : size;
            try
            {
                await connection.ReadExactAsync(wanted, verifier.Feed, deadline.Token);
            }
            catch (StressFailureException e) when (variant == 3 && e.Kind == FailureKind.Truncated)
            {
                return; // The server aborted, as asked; what came was checked.
            }
            if (variant == 0)
            {
                verifier.AssertComplete();
            }
        }
        catch (NoResponseException) when (variant == 3)
        {
            // Aborted before the head went out.
        }
        finally
        {
            if (variant is 1 or 2)
            {
                connection.Reset();
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>
    /// /burst: the payload of (n, s) in <c>parts</c> flushes of <c>part</c> bytes, yielding to the thread pool between
    /// flushes (so writes come from whichever pool thread runs the continuation); with abort=1, the handler aborts
    /// the connection after half the parts.
    /// </summary>
    private static async Task BurstAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path != "/burst")
        {
            await next(context);
            return;
        }
        var query = context.Request.Query;
        ulong nonce = ulong.Parse(query["n"].ToString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        uint sequence = uint.Parse(query["s"].ToString(), CultureInfo.InvariantCulture);
        int parts = int.Parse(query["parts"].ToString(), CultureInfo.InvariantCulture);
        int partSize = int.Parse(query["part"].ToString(), CultureInfo.InvariantCulture);
        bool abort = query["abort"] == "1";
        context.Response.ContentLength = (long)parts * partSize;
        var writer = context.Response.BodyWriter;
        try
        {
            for (int i = 0; i < parts; i++)
            {
                if (abort && i == parts / 2)
                {
                    context.Abort();
                    return;
                }
                var memory = writer.GetMemory(partSize)[..partSize];
                StressPayload.Fill(memory.Span, nonce, sequence, (long)i * partSize);
                writer.Advance(partSize);
                await writer.FlushAsync(context.RequestAborted);
                await Task.Yield();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            context.Abort(); // The client reset: its connection is gone.
        }
    }
}
