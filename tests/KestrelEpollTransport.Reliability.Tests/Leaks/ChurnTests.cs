using System.Diagnostics;
using Stress.Client.Operations;
using Stress.Server;

namespace KestrelEpollTransport.Reliability.Tests.Leaks;

/// <summary>
/// Connections that come and go by the tens of thousands, ending every way a connection ends, and then a run of
/// abrupt resets: afterwards the process holds what it held before (fds by kind, threads by name), the loops'
/// registration tables hold only the listener, every pooled block is back, and the resident memory has settled.
/// </summary>
public sealed class ChurnTests(ITestOutputHelper output)
{
    /// <summary>Connections in flight at once.</summary>
    private const int Parallelism = 32;

    /// <summary>Abrupt resets in the reset run.</summary>
    private const int Resets = 4000;

    /// <summary>How much the resident set may still grow between the two halves of the churn (GC and allocator noise).</summary>
    private const long RssSlack = 32 * 1024 * 1024;

    /// <summary>How much the live managed heap may grow between the two halves (a leak of 100 B per connection over 50,000 would show).</summary>
    private const long HeapSlack = 4 * 1024 * 1024;

    /// <summary>
    /// Sockets runs too, a fifth as long: a growth both transports show is Kestrel's or the test's, not the transport's
    /// (that is how the host's per-request log lines were found to be the heap's growth).
    /// </summary>
    [Theory]
    [InlineData(TransportKind.Epoll)]
    [InlineData(TransportKind.Sockets)]
    public async Task Churn_ConnectRequestCloseCyclesThenResets_EverythingBackToBaseline(TransportKind transport)
    {
        int cycles = transport == TransportKind.Epoll ? ReliabilitySettings.ChurnCycles : ReliabilitySettings.ChurnCycles / 5;
        await using var host = await ReliabilityHost.StartAsync(transport, output);
        // Warm-up: every code path once, so lazy one-offs (timers, the client's socket engine) precede the baseline.
        await ChurnAsync(host, 400, EndGracefully);
        await ChurnAsync(host, 400, EndAbruptly);
        await QuiesceAsync(host, transport);
        var fds = ProcessResources.FdKinds();
        var threads = ProcessResources.NamedThreads();
        var (rssStart, heapStart) = Memory();

        var clock = Stopwatch.StartNew();
        await ChurnAsync(host, cycles / 2, EndGracefully);
        await QuiesceAsync(host, transport);
        var (rssHalf, heapHalf) = Memory();
        await ChurnAsync(host, cycles - cycles / 2, EndGracefully);
        var churnTime = clock.Elapsed;
        await QuiesceAsync(host, transport);
        var (rssEnd, heapEnd) = Memory();
        clock.Restart();
        await ChurnAsync(host, Resets, EndAbruptly);
        var resetTime = clock.Elapsed;
        await QuiesceAsync(host, transport);

        output.WriteLine($"{cycles} connect/request/close cycles in {churnTime.TotalSeconds:0.0} s ({cycles / churnTime.TotalSeconds:0}/s; " +
            $"100,000 would take {100_000 / (cycles / churnTime.TotalSeconds):0} s); {Resets} resets in {resetTime.TotalSeconds:0.0} s");
        var (rssResets, heapResets) = Memory();
        output.WriteLine($"RSS (managed heap) after warm-up {rssStart / 1048576.0:0.0} ({heapStart / 1048576.0:0.0}) MiB, after half {rssHalf / 1048576.0:0.0} ({heapHalf / 1048576.0:0.0}) MiB, " +
            $"after all {rssEnd / 1048576.0:0.0} ({heapEnd / 1048576.0:0.0}) MiB, after the resets {rssResets / 1048576.0:0.0} ({heapResets / 1048576.0:0.0}) MiB; " +
            $"thread-pool threads now {ProcessResources.ThreadPoolThreads()}");
        output.WriteLine($"pool: {host.MemoryPool.Describe()}");
        await Eventually.AssertAsync(() => ProcessResources.FdKinds().Count == fds.Count && ProcessResources.Diff(fds, ProcessResources.FdKinds()).Length == 0,
            () => "fds differ from the baseline: " + ProcessResources.Diff(fds, ProcessResources.FdKinds()));
        var threadsNow = ProcessResources.NamedThreads();
        Assert.True(threads.Count == threadsNow.Count && threads.All(t => threadsNow.GetValueOrDefault(t.Key) == t.Value),
            $"threads differ from the baseline: before {Describe(threads)}; now {Describe(threadsNow)}");
        Assert.Equal(0, host.MemoryPool.DoubleReturns);
        Assert.True(heapEnd - heapHalf < HeapSlack, $"The managed heap grew by {(heapEnd - heapHalf) / 1048576.0:0.0} MiB over the second half of the churn: something is kept per connection.");
        Assert.True(rssEnd - rssHalf < RssSlack, $"The resident set grew by {(rssEnd - rssHalf) / 1048576.0:0.0} MiB over the second half of the churn: it does not settle.");
    }

    /// <summary>
    /// Waits until the server has closed its end of every connection (epoll registrations: the listener alone), every
    /// pooled block is back, and no client socket of ours is left.
    /// </summary>
    private static async Task QuiesceAsync(ReliabilityHost host, TransportKind transport)
    {
        if (transport == TransportKind.Epoll)
        {
            await Eventually.AssertAsync(() => TransportProbe.Registrations(host.Services) == 1,
                () => "registrations: " + TransportProbe.Describe(host.Services), Timeouts.LoadPhase);
        }
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, () => "pool: " + host.MemoryPool.Describe());
        // Kestrel disposes a connection (and Sockets closes its fd) after the last block came back: a baseline taken
        // before that counted sockets that closed later (seen: "socket: -4" on Sockets).
        await Eventually.AssertAsync(() => host.ActiveConnections == 0, () => $"Kestrel still has {host.ActiveConnections} connections");
    }

    /// <summary>The resident set and the managed heap, after a full collection.</summary>
    private static (long Rss, long Heap) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return (ProcessStats.RssBytes(), GC.GetTotalMemory(forceFullCollection: true));
    }

    private static string Describe(Dictionary<string, int> threads) =>
        string.Join(", ", threads.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key} x{t.Value}"));

    private static async Task ChurnAsync(ReliabilityHost host, int count, Func<ReliabilityHost, int, CancellationToken, Task> cycle)
    {
        using var deadline = new CancellationTokenSource(Timeouts.LoadPhase + Timeouts.LoadPhase);
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = deadline.Token },
            async (i, token) => await cycle(host, i, token));
    }

    /// <summary>A request and a clean end: the client closes (FIN), the server closes (Connection: close), the client resets after the response, or no request at all.</summary>
    private static async Task EndGracefully(ReliabilityHost host, int i, CancellationToken token)
    {
        using var connection = await Hello.ConnectAsync(host.EndPoint, token, bufferSize: 2048);
        switch (i % 4)
        {
            case 0:
                await Hello.ExchangeAsync(connection, token);
                break;
            case 1:
                uint sequence = connection.NextSequence();
                await connection.SendAsync(Requests.Hello(connection.Nonce, sequence, "Connection: close\r\n"), token);
                await Hello.ReadAsync(connection, sequence, token);
                Assert.Equal(0, await connection.ReadToEndAsync(null, token));
                break;
            case 2:
                await Hello.ExchangeAsync(connection, token);
                connection.Reset();
                break;
            default:
                break;
        }
    }

    /// <summary>An abrupt end: a reset right after connecting, mid-request, mid-response, or mid-upload.</summary>
    private static async Task EndAbruptly(ReliabilityHost host, int i, CancellationToken token)
    {
        var connection = await Hello.ConnectAsync(host.EndPoint, token, bufferSize: 2048);
        try
        {
            switch (i % 4)
            {
                case 0:
                    break;
                case 1:
                    await connection.SendAsync("GET /hello?n=1 HTTP/1.1\r\nHo", token);
                    break;
                case 2:
                    uint sequence = connection.NextSequence();
                    await connection.SendAsync(Requests.Download(connection.Nonce, sequence, 1024 * 1024), token);
                    Assert.Equal(200, (await connection.ReadHeadAsync(token)).StatusCode);
                    break;
                default:
                    await connection.SendAsync(Requests.Post("/echo", 256 * 1024), token);
                    await connection.SendAsync(new byte[16 * 1024], token);
                    break;
            }
        }
        finally
        {
            connection.Reset();
        }
    }
}
