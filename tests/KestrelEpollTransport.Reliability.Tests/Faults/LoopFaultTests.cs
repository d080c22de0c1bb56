using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Stress.Client.Operations;

namespace KestrelEpollTransport.Reliability.Tests.Faults;

/// <summary>
/// An exception while handling one connection — the application's, or the transport's own on its event loop — ends
/// that connection only: the other connections of the same loops are served, new ones too, the loop threads live
/// on, and the fault is logged once.
/// </summary>
public sealed class LoopFaultTests(ITestOutputHelper output)
{
    /// <summary>Open connections beside the faulty one, spread over both loops.</summary>
    private const int Bystanders = 8;

    private const string LoopCategory = "KestrelEpollTransport.EventLoop";

    /// <summary>EpollTransportLog.HandlerFault: an exception escaped a handler on the loop.</summary>
    private const int HandlerFaultEvent = 3;

    /// <summary>Kestrel's "An unhandled exception was thrown by the application".</summary>
    private const int ApplicationErrorEvent = 13;

    [Fact]
    public async Task ApplicationFault_ThrowBeforeAndAfterResponseStarts_OnlyThatExchangeFailsOthersServed()
    {
        await using var host = await ReliabilityHost.StartAsync(TransportKind.Epoll, output, o =>
        {
            o.ConfigureEpoll = epoll => epoll.ThreadCount = 2;
            o.ConfigureApp = app => app.Use(ThrowAfterStartAsync);
        });
        var bystanders = await OpenBystandersAsync(host);

        using var before = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
        await before.SendAsync("GET /throw HTTP/1.1\r\nHost: stress\r\n\r\n", Timeouts.DefaultToken());
        var head = await before.ReadHeadAsync(Timeouts.DefaultToken());
        using var after = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
        await after.SendAsync("GET /throw-after-start HTTP/1.1\r\nHost: stress\r\n\r\n", Timeouts.DefaultToken());
        var cut = await ReadUntilEndAsync(after);

        Assert.Equal(500, head.StatusCode);
        await Hello.ExchangeAsync(before, Timeouts.DefaultToken()); // Kestrel keeps a connection whose app threw before responding.
        Assert.True(cut < 1_000_000, "The response whose app threw mid-body arrived whole.");
        await AssertServedAsync(host, bystanders);
        await Eventually.AssertAsync(() => host.Logs.Count("Microsoft.AspNetCore.Server.Kestrel", ApplicationErrorEvent) == 2,
            () => "application errors logged: " + LogCapture.Describe(host.Logs.Errors));
        Assert.Equal(0, host.Logs.Count(LoopCategory, HandlerFaultEvent));
        DisposeAll(bystanders);
    }

    /// <summary>
    /// The transport itself fails on the loop thread: the pool's next rental there (the faulty connection's read
    /// buffer) throws. The loop catches it, logs it once, and resets that connection.
    /// </summary>
    [Fact]
    public async Task TransportFault_RentalFailsOnTheLoop_ThatConnectionResetLoopGoesOn()
    {
        await using var host = await ReliabilityHost.StartAsync(TransportKind.Epoll, output, o => o.ConfigureEpoll = epoll => epoll.ThreadCount = 2);
        var bystanders = await OpenBystandersAsync(host);
        using var victim = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
        await Hello.ExchangeAsync(victim, Timeouts.DefaultToken());
        var loopsBefore = ProcessResources.ThreadNames().Where(n => n.StartsWith("epoll-loop-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

        // Every connection is idle: the next rental on a loop thread is the read of the victim's next request.
        host.MemoryPool.FailNextRent(() => Thread.CurrentThread.Name?.StartsWith("epoll-loop-", StringComparison.Ordinal) == true);
        await Assert.ThrowsAsync<NoResponseException>(() => Hello.ExchangeAsync(victim, Timeouts.DefaultToken()));

        Assert.Equal(1, host.MemoryPool.InjectedFaults);
        await AssertServedAsync(host, bystanders);
        var faults = host.Logs.Entries.Where(e => e.Category == LoopCategory && e.EventId == HandlerFaultEvent).ToList();
        Assert.True(faults.Count == 1, "Handler faults logged: " + LogCapture.Describe(faults));
        Assert.IsType<InjectedFaultException>(faults[0].Exception);
        Assert.Equal(loopsBefore, ProcessResources.ThreadNames().Where(n => n.StartsWith("epoll-loop-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList());

        DisposeAll(bystanders);
        await Eventually.AssertAsync(() => TransportProbe.Registrations(host.Services) == 1, () => "registrations: " + TransportProbe.Describe(host.Services));
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, () => "pool: " + host.MemoryPool.Describe());
        await host.StopAsync();
        Assert.Equal(0, host.MemoryPool.DoubleReturns);
    }

    /// <summary>
    /// The rental fails in work the loop runs for the connection rather than in an event: reading resumes after
    /// backpressure (the app caught up with a 256 KiB upload, all of it sent: 64 KiB in the input pipe, the rest in the
    /// kernel) and the resumed read's first block throws. No more data comes, so no new edge: that connection must
    /// end (reset) like any other fault, not be left open with nobody reading it.
    /// </summary>
    [Fact]
    public async Task TransportFault_RentalFailsWhenReadingResumes_ThatConnectionEndsNotHangs()
    {
        const int InputLimit = 64 * 1024;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ReliabilityHost.StartAsync(TransportKind.Epoll, output, o =>
        {
            o.ConfigureEpoll = epoll =>
            {
                epoll.ThreadCount = 2;
                // A 64 KiB limit makes the flush batch a block, so every read is into a pool block (past a block a read
                // goes to an array the pipe rents, which the pool cannot fail): the rental that fails is the resumed read's.
                epoll.MaxReadBufferSize = InputLimit;
            };
            o.ShutdownTimeout = TimeSpan.FromSeconds(2); // A connection left hanging holds the stop up this long.
            o.ConfigureApp = app => app.Use(async (context, next) =>
            {
                if (context.Request.Path != "/upload-when-released")
                {
                    await next(context);
                    return;
                }
                await release.Task.WithTimeout();
                await context.Request.Body.CopyToAsync(Stream.Null);
                await context.Response.WriteAsync("received");
            });
        });
        var bystanders = await OpenBystandersAsync(host);
        using var victim = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
        const int Size = 4 * InputLimit;
        using var sending = new CancellationTokenSource(Timeouts.Default);
        var send = SendUploadAsync(victim, Size, sending.Token);
        // The app does not read yet: reading pauses once MaxReadBufferSize is buffered; the kernel holds the rest.
        await Eventually.AssertAsync(() => host.MemoryPool.OutstandingBytes >= InputLimit, () => "pool: " + host.MemoryPool.Describe());
        await send.WithTimeout();

        host.MemoryPool.FailNextRent(() => Thread.CurrentThread.Name?.StartsWith("epoll-loop-", StringComparison.Ordinal) == true);
        release.SetResult();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var outcome = await Record.ExceptionAsync(() => victim.ReadHeadAsync(bound.Token));
        output.WriteLine($"victim: {outcome?.GetType().Name}: {outcome?.Message}");
        if (outcome is OperationCanceledException)
        {
            // Diagnosis: does the client's FIN (a new edge) unstick it?
            victim.ShutdownSend();
            using var afterFin = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var late = await Record.ExceptionAsync(() => victim.ReadToEndAsync(null, afterFin.Token));
            output.WriteLine($"after the client's FIN: {(late is null ? "the server closed the connection" : late.GetType().Name + ": " + late.Message)}");
        }

        output.WriteLine("loop faults: " + LogCapture.Describe(host.Logs.Errors));
        Assert.Equal(1, host.MemoryPool.InjectedFaults);
        Assert.False(outcome is OperationCanceledException, "The connection whose read failed on the loop was left open and unread: no response, no reset within 5 s.");
        Assert.True(outcome is NoResponseException or StressFailureException { Kind: FailureKind.Truncated }, $"Expected a reset, got {outcome?.GetType().Name ?? "a response"}.");
        await AssertServedAsync(host, bystanders);
        Assert.Single(host.Logs.Errors, e => e.Category == LoopCategory);
        DisposeAll(bystanders);
    }

    /// <summary>POST /upload-when-released of <paramref name="size"/> zero bytes.</summary>
    private static async Task SendUploadAsync(StressConnection connection, int size, CancellationToken cancellationToken)
    {
        connection.NextSequence();
        await connection.SendAsync($"POST /upload-when-released HTTP/1.1\r\nHost: stress\r\nContent-Length: {size}\r\n\r\n", cancellationToken);
        var chunk = new byte[64 * 1024];
        for (int sent = 0; sent < size; sent += chunk.Length)
        {
            await connection.SendAsync(chunk, cancellationToken);
        }
    }

    private static async Task<List<StressConnection>> OpenBystandersAsync(ReliabilityHost host)
    {
        var connections = new List<StressConnection>();
        for (int i = 0; i < Bystanders; i++)
        {
            var connection = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
            await Hello.ExchangeAsync(connection, Timeouts.DefaultToken());
            connections.Add(connection);
        }
        return connections;
    }

    /// <summary>Every bystander is answered again, and new connections (on every loop, round-robin) are served.</summary>
    private static async Task AssertServedAsync(ReliabilityHost host, List<StressConnection> bystanders)
    {
        foreach (var connection in bystanders)
        {
            await Hello.ExchangeAsync(connection, Timeouts.DefaultToken());
        }
        for (int i = 0; i < 4; i++)
        {
            using var fresh = await Hello.ConnectAsync(host.EndPoint, Timeouts.DefaultToken());
            await Hello.ExchangeAsync(fresh, Timeouts.DefaultToken());
        }
    }

    private static void DisposeAll(List<StressConnection> connections)
    {
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }

    /// <summary>Reads until the server ends the connection (FIN or reset); returns the bytes that came.</summary>
    private static async Task<long> ReadUntilEndAsync(StressConnection connection)
    {
        long total = 0;
        try
        {
            int read;
            while ((read = await connection.FillAsync(Timeouts.DefaultToken())) > 0)
            {
                total += read;
            }
        }
        catch (StressFailureException e) when (e.Kind == FailureKind.Truncated)
        {
            // Reset: the end of a response whose app threw mid-body.
        }
        return total;
    }

    /// <summary>/throw-after-start: 1 MB promised, 4 KiB sent and flushed, then the app throws.</summary>
    private static async Task ThrowAfterStartAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path != "/throw-after-start")
        {
            await next(context);
            return;
        }
        context.Response.ContentLength = 1_000_000;
        await context.Response.Body.WriteAsync(new byte[4096]);
        await context.Response.Body.FlushAsync();
        throw new InvalidOperationException("Thrown on purpose after the response started.");
    }
}
