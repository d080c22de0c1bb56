using System.Net;

namespace KestrelEpollTransport.Reliability.Tests.Faults;

/// <summary>
/// <c>Stress serve</c> in a child process with RLIMIT_NOFILE lowered to <see cref="OpenFileLimit"/>, two loops, and the
/// fd canary (<c>--fd-canary 1</c>): the server the fd-exhaustion tests send more connections than it can hold.
/// </summary>
internal sealed class FdLimitServer : IAsyncDisposable
{
    /// <summary>The child's open-file limit: about 175 fds are the runtime's own, which leaves room for about 190 connections.</summary>
    public const int OpenFileLimit = 400;

    /// <summary>The event id of the epoll listener's "paused at the fd budget" warning (once per burst).</summary>
    public const string AtBudgetEvent = "[106]";

    /// <summary>The event id of the epoll listener's EMFILE warning (once per burst).</summary>
    public const string EmfileEvent = "[102]";

    /// <summary>
    /// Canary tries that must run while the server is held at its limit, as a window: ~1 s at one try per ~50 µs.
    /// Counted, not timed: a slow machine runs the window longer, not shorter.
    /// </summary>
    public const long CanaryWindow = 10_000;

    private FdLimitServer(StressServerProcess process, TransportKind transport)
    {
        Process = process;
        Transport = transport;
    }

    public StressServerProcess Process { get; }

    public TransportKind Transport { get; }

    public IPEndPoint EndPoint => Process.EndPoint;

    /// <summary>Starts it; <paramref name="extraArgs"/> go to <c>Stress serve</c>.</summary>
    public static Task<FdLimitServer> StartAsync(ITestOutputHelper output, TransportKind transport, params string[] extraArgs) =>
        StartAsync(output, transport, canary: true, extraArgs);

    /// <summary>Starts it, with the canary or without (a test that measures the server's CPU).</summary>
    public static async Task<FdLimitServer> StartAsync(ITestOutputHelper output, TransportKind transport, bool canary, params string[] extraArgs)
    {
        var process = await StressServerProcess.StartAsync(output,
        [
            "--max-open-files", $"{OpenFileLimit}", "--threads", "2", .. (canary ? ["--fd-canary", "1"] : Array.Empty<string>()),
            "--transport", transport == TransportKind.Epoll ? "epoll" : "sockets", .. extraArgs,
        ]);
        return new FdLimitServer(process, transport);
    }

    /// <summary>
    /// A connection that has made <paramref name="exchanges"/> exchanges, to watch the server through: every code path
    /// it needs is warm, so no assembly is loaded later, when no fd is left.
    /// </summary>
    public async Task<StressConnection> WarmControlAsync(int exchanges, IPEndPoint? endPoint = null)
    {
        var control = await Hello.ConnectAsync(endPoint ?? EndPoint, Timeouts.DefaultToken());
        try
        {
            for (int i = 0; i < exchanges; i++)
            {
                await Hello.ExchangeAsync(control, Timeouts.DefaultToken());
            }
            return control;
        }
        catch
        {
            control.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits until the server holds all the connections it will take: on epoll, the listener paused at its budget
    /// (logged once) and every accepted connection was answered. On Sockets, the negative control: waits until the
    /// canary met EMFILE or the process died, then throws <see cref="NegativeControlShownException"/>.
    /// </summary>
    public async Task AtTheLimitAsync(StressConnection control, Func<int> answered, int listeners = 1)
    {
        if (Transport == TransportKind.Sockets)
        {
            await Eventually.AssertAsync(async () => Process.Process.HasExited || (await TryStatsAsync(control))?.CanaryFailures > 0,
                () => "Sockets at its fd limit: the canary never met EMFILE and the process lives, so the check cannot fail.");
            throw new NegativeControlShownException();
        }
        await Eventually.AssertAsync(() => Process.CountLines(AtBudgetEvent) >= listeners,
            () => $"budget log lines: {Process.CountLines(AtBudgetEvent)} of {listeners}; {Errors()}");
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).Active - 1 == answered(),
            () => $"answered {answered()}; {Errors()}");
    }

    /// <summary>Whether the process died (waiting a bounded while for it to end) or its canary met EMFILE.</summary>
    public async Task<bool> CanaryFailedOrDiedAsync(StressConnection control)
    {
        try
        {
            await Process.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
            return true;
        }
        catch (TimeoutException)
        {
            return (await TryStatsAsync(control))?.CanaryFailures > 0;
        }
    }

    /// <summary>Lets <see cref="CanaryWindow"/> canary tries run (the server held where it is), and returns the stats after.</summary>
    public async Task<ServerStats> HoldAsync(StressConnection control)
    {
        long start = (await ServerStats.GetAsync(control)).CanaryRuns;
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).CanaryRuns >= start + CanaryWindow,
            () => $"the canary ran fewer than {CanaryWindow} times since {start}: it is not running; {Errors()}");
        return await ServerStats.GetAsync(control);
    }

    /// <summary>The rule of the epoll transport: the canary never met EMFILE; the process lives and never gave up accepting.</summary>
    public async Task AssertCanaryNeverFailedAsync(StressConnection control)
    {
        Assert.False(Process.Process.HasExited, $"The server died: {Errors()}");
        var stats = await ServerStats.GetAsync(control);
        Assert.True(stats.CanaryRuns >= CanaryWindow, $"the canary ran {stats.CanaryRuns} times only");
        Assert.True(stats.CanaryFailures == 0,
            $"The canary met EMFILE {stats.CanaryFailures} times in {stats.CanaryRuns}: the process was left with no fd to start a thread.");
        AssertStillAccepting();
    }

    /// <summary>/block: the handler holds its pool thread for <paramref name="duration"/>, then answers.</summary>
    public static async Task BlockAsync(StressConnection connection, TimeSpan duration)
    {
        using var deadline = new CancellationTokenSource(Timeouts.Default);
        uint sequence = connection.NextSequence();
        await connection.SendAsync($"GET /block?ms={(int)duration.TotalMilliseconds}&n={connection.Nonce:x16}&s={sequence} HTTP/1.1\r\nHost: stress\r\n\r\n", deadline.Token);
        await Hello.ReadAsync(connection, sequence, deadline.Token);
    }

    /// <summary>Fails if the server logged that its listener gave up (an exception escaped AcceptAsync).</summary>
    public void AssertStillAccepting() =>
        Assert.True(Process.CountLines("crit:") == 0, "The server stopped accepting: " + Errors());

    /// <summary>The server's error lines, and whether it died.</summary>
    public string Errors() =>
        (Process.Process.HasExited ? $"the server process died (exit code {Process.Process.ExitCode}) | " : "") +
        string.Join(" | ", Process.Lines
            .Where(l => l.StartsWith("crit:", StringComparison.Ordinal) || l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("stderr:", StringComparison.Ordinal))
            .Select(l => l.Length > 400 ? l[..400] : l));

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    private static async Task<ServerStats?> TryStatsAsync(StressConnection control)
    {
        try
        {
            return await ServerStats.GetAsync(control);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null; // dying, or too short of fds to answer: the process's state is what the caller checks
        }
    }
}

/// <summary>The Sockets run of an fd-limit scenario showed what the canary is for: it failed, or the process died.</summary>
internal sealed class NegativeControlShownException : Exception;
