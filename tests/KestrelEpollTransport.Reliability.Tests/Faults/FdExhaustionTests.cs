using System.Diagnostics;
using Stress.Server;

namespace KestrelEpollTransport.Reliability.Tests.Faults;

/// <summary>
/// The server runs out of file descriptors (EMFILE): a <c>Stress serve</c> child with RLIMIT_NOFILE lowered to
/// <see cref="OpenFileLimit"/> is sent more connections than it can hold.
/// </summary>
public sealed class FdExhaustionTests(ITestOutputHelper output)
{
    /// <summary>The child's open-file limit: about 175 fds are the runtime's own, which leaves room for about 225 connections.</summary>
    private const int OpenFileLimit = 400;

    /// <summary>Connections of the first burst: more than fit, fewer than twice what fits (so freeing the answered ones lets all the rest in).</summary>
    private const int FirstBurst = 300;

    /// <summary>The window over which the exhausted server's CPU time is measured.</summary>
    private static readonly TimeSpan CpuWindow = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The bound on the exhausted server's CPU use, in cores, leaving out the JIT's background compiler (which tiers up
    /// the request path for a few seconds after the burst: up to 0.1 core here, nothing to do with accepting). An accept
    /// loop that spins on EMFILE uses a whole core (1.0); the back-off retries twice a second. Generous, so a noisy
    /// 2-core CI machine does not trip it.
    /// </summary>
    private const double MaxIdleCores = 0.10;

    /// <summary>The thread name (comm, cut to 15 characters) of the runtime's tiered-compilation worker.</summary>
    private const string TieredCompilationThread = ".NET Tiered Com";

    /// <summary>Connections of the second burst: enough to exhaust the server again, few enough to be let in after.</summary>
    private const int SecondBurst = 200;

    [Fact]
    public async Task FdExhaustion_MoreConnectionsThanFds_IdleLoggedOncePerBurstServesAndRecovers()
    {
        await using var server = await StartLimitedServerAsync();
        // Enough exchanges for the JIT's tiering to settle before the CPU is measured.
        using var control = await WarmControlAsync(server, 500);
        var before = await ServerStats.GetAsync(control);
        output.WriteLine($"before: {before}");
        Assert.InRange(before.OpenFds, 50, OpenFileLimit - FirstBurst / 2);

        // Burst 1: some connections are accepted and answered; the rest wait in the backlog.
        using var burst = await HelloBurst.OpenAsync(server.EndPoint, FirstBurst);
        await Eventually.AssertAsync(() => server.CountLines("[102]") == 1, () => $"EMFILE log lines: {server.CountLines("[102]")}");
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).Active - 1 == burst.Answered,
            () => $"answered {burst.Answered} of {FirstBurst}");
        AssertStillAccepting(server);
        int answered = burst.Answered;
        output.WriteLine($"burst 1: {answered} of {FirstBurst} connections accepted and answered, {FirstBurst - answered} wait in the backlog");
        Assert.InRange(answered, 1, FirstBurst - 1);

        // While exhausted: near idle, the open connections are served, the errors counted, logged once. The first
        // second after the burst is reported apart: it holds the runtime's own after-work (tiered JIT, GC).
        var (settlingAll, settling) = await MeasureCoresAsync(server, TimeSpan.FromSeconds(1));
        var (all, cores) = await MeasureCoresAsync(server, CpuWindow);
        output.WriteLine($"CPU while exhausted, without the JIT's background compiler (with it): {settling * 100:0.0}% ({settlingAll * 100:0.0}%) " +
            $"of a core in the first second, then {cores * 100:0.0}% ({all * 100:0.0}%) over {CpuWindow.TotalSeconds:0} s");
        await Hello.ExchangeAsync(control, Timeouts.DefaultToken());
        await Hello.ExchangeAsync(burst.AnsweredConnections.First(), Timeouts.DefaultToken());
        var exhausted = await ServerStats.GetAsync(control);
        output.WriteLine($"exhausted: {exhausted}");
        Assert.True(cores < MaxIdleCores, $"The server used {cores:0.00} cores while out of fds (bound {MaxIdleCores}): the accept loop spins.");
        Assert.True(exhausted.AcceptErrors >= 2, $"epoll.accept.errors is {exhausted.AcceptErrors}: the retries are not counted.");
        Assert.Equal(1, server.CountLines("[102]"));
        Assert.Equal(answered, burst.Answered);

        // Free the answered connections: every waiting one is accepted and answered.
        var clock = Stopwatch.StartNew();
        burst.CloseAnswered();
        await Eventually.AssertAsync(() => burst.Answered == FirstBurst,
            () => $"answered {burst.Answered} of {FirstBurst} after fds were freed; server errors: {ServerErrors(server)}");
        output.WriteLine($"all {FirstBurst} answered {clock.ElapsedMilliseconds} ms after the first {answered} were closed");

        // Burst 2 is logged again: once per burst, not once per process.
        using var second = await HelloBurst.OpenAsync(server.EndPoint, SecondBurst);
        await Eventually.AssertAsync(() => server.CountLines("[102]") == 2, () => $"EMFILE log lines after burst 2: {server.CountLines("[102]")}");
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).Active - 1 - FirstBurst + answered == second.Answered,
            () => $"answered {second.Answered} of {SecondBurst} in burst 2");
        output.WriteLine($"burst 2: {second.Answered} of {SecondBurst} accepted and answered");
        Assert.InRange(second.Answered, 1, SecondBurst - 1);
        burst.CloseAll();
        second.CloseAnswered();
        await Eventually.AssertAsync(() => second.Answered == SecondBurst,
            () => $"answered {second.Answered} of {SecondBurst} in burst 2 after fds were freed; server errors: {ServerErrors(server)}");
        await Hello.ExchangeAsync(control, Timeouts.DefaultToken());

        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(Timeouts.Default));
        Assert.Equal(0, server.CountLines("fail:"));
        Assert.Equal(2, server.CountLines("[102]"));
    }

    /// <summary>
    /// The first back-off of an exhausted listener is the process's first timer (Stress serve --start-timer-thread 0),
    /// so it must start the runtime's timer thread, and starting a thread takes an fd on Linux (pipe2; the runtime
    /// reports the failure as OutOfMemoryException). The listener must survive that too: AcceptAsync never throws, or
    /// Kestrel stops accepting for good.
    /// </summary>
    [Fact]
    public async Task FdExhaustion_FirstBackoffIsFirstTimerOfProcess_ListenerKeepsAccepting()
    {
        await using var server = await StartLimitedServerAsync("--start-timer-thread", "0");
        using var control = await WarmControlAsync(server, 20);

        using var burst = await HelloBurst.OpenAsync(server.EndPoint, FirstBurst);
        await Eventually.AssertAsync(() => server.CountLines("[102]") == 1, () => $"EMFILE log lines: {server.CountLines("[102]")}");
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).Active - 1 == burst.Answered,
            () => $"answered {burst.Answered} of {FirstBurst}");
        int answered = burst.Answered;
        burst.CloseAnswered();

        await Eventually.AssertAsync(() => burst.Answered == FirstBurst,
            () => $"answered {burst.Answered} of {FirstBurst} ({answered} before fds were freed): the listener stopped accepting; server errors: {ServerErrors(server)}",
            TimeSpan.FromSeconds(10));
        AssertStillAccepting(server);
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(Timeouts.Default));
    }

    /// <summary>The server's CPU use over <paramref name="window"/>, in cores (utime + stime from /proc): all of it, and without the JIT's compiler.</summary>
    private static async Task<(double All, double WithoutJit)> MeasureCoresAsync(StressServerProcess server, TimeSpan window)
    {
        long all = ProcessStats.CpuTicks(server.Pid);
        long withoutJit = ProcessStats.CpuTicksExcept(server.Pid, TieredCompilationThread);
        var clock = Stopwatch.StartNew();
        await Task.Delay(window); // A measurement window, not a synchronisation.
        double seconds = clock.Elapsed.TotalSeconds * ProcessStats.TicksPerSecond;
        return ((ProcessStats.CpuTicks(server.Pid) - all) / seconds, (ProcessStats.CpuTicksExcept(server.Pid, TieredCompilationThread) - withoutJit) / seconds);
    }

    /// <summary>
    /// A server held at its fd limit while connections keep coming and going (overload: each close lets one waiting
    /// connection in, and the next accept fails again). The exhaustion never ends (the backlog never drains), so it is
    /// one burst and must be logged once, not once per connection let in: a log line per accepted connection is a
    /// flood exactly when the server is most loaded.
    /// </summary>
    [Fact]
    public async Task FdExhaustion_ConnectionsChurnAtTheLimit_LoggedOnceNotPerAccept()
    {
        const int Cycles = 10;
        await using var server = await StartLimitedServerAsync();
        using var control = await WarmControlAsync(server, 100);
        using var burst = await HelloBurst.OpenAsync(server.EndPoint, FirstBurst);
        await Eventually.AssertAsync(() => server.CountLines("[102]") == 1, () => $"EMFILE log lines: {server.CountLines("[102]")}");
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).Active - 1 == burst.Answered,
            () => $"answered {burst.Answered} of {FirstBurst}");

        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            int answered = burst.Answered;
            burst.AnsweredConnections.First(c => c.Socket.Connected).Dispose();
            await Eventually.AssertAsync(() => burst.Answered == answered + 1, () => $"cycle {cycle}: answered {burst.Answered}, expected {answered + 1}");
        }
        var stats = await ServerStats.GetAsync(control);
        output.WriteLine($"after {Cycles} connections were let in one by one at the limit: {server.CountLines("[102]")} EMFILE log lines, {stats.AcceptErrors} accept errors counted");
        AssertStillAccepting(server);
        Assert.True(server.CountLines("[102]") == 1,
            $"The server logged EMFILE {server.CountLines("[102]")} times during one exhaustion ({Cycles} connections let in one by one, the backlog never drained): once per accepted connection, not once per burst.");
    }

    /// <summary>
    /// While the server is out of fds its handlers block pool threads (a slow dependency), so the thread pool must
    /// start more threads. Starting a thread takes fds on Linux (pipe2), and .NET treats a failed start there as fatal:
    /// the process aborts with "Out of memory." (Sockets dies the same way). A transport that accepts until the very
    /// last fd leaves the runtime none; the open connections must still be served.
    /// </summary>
    [Fact]
    public async Task FdExhaustion_ThreadPoolMustGrowWhileExhausted_ProcessSurvivesAndServes()
    {
        const int Blocked = 16;
        await using var server = await StartLimitedServerAsync();
        var control = new List<StressConnection>();
        for (int i = 0; i < Blocked; i++)
        {
            control.Add(await Hello.ConnectAsync(server.EndPoint, Timeouts.DefaultToken()));
            await Hello.ExchangeAsync(control[^1], Timeouts.DefaultToken());
        }
        using var burst = await HelloBurst.OpenAsync(server.EndPoint, FirstBurst);
        await Eventually.AssertAsync(() => server.CountLines("[102]") == 1, () => $"EMFILE log lines: {server.CountLines("[102]")}");

        // Every control connection asks for a handler that blocks its pool thread for 1 s: the pool must grow.
        using var deadline = new CancellationTokenSource(Timeouts.Default);
        var blocked = control.Select(async connection =>
        {
            uint sequence = connection.NextSequence();
            await connection.SendAsync($"GET /block?ms=1000&n={connection.Nonce:x16}&s={sequence} HTTP/1.1\r\nHost: stress\r\n\r\n", deadline.Token);
            await Hello.ReadAsync(connection, sequence, deadline.Token);
        }).ToList();
        var outcome = await Record.ExceptionAsync(() => Task.WhenAll(blocked));

        try
        {
            Assert.True(outcome is null && !server.Process.HasExited,
                $"The server did not serve its open connections while out of fds and its thread pool had to grow ({outcome?.GetType().Name}: {outcome?.Message}); {ServerErrors(server)}");
            AssertStillAccepting(server);
        }
        finally
        {
            foreach (var connection in control)
            {
                connection.Dispose();
            }
        }
    }

    /// <summary><c>Stress serve</c> on two loops with <see cref="OpenFileLimit"/> fds, and <paramref name="extraArgs"/>.</summary>
    private Task<StressServerProcess> StartLimitedServerAsync(params string[] extraArgs) =>
        StressServerProcess.StartAsync(output, ["--max-open-files", $"{OpenFileLimit}", "--threads", "2", .. extraArgs]);

    /// <summary>
    /// A connection that has made <paramref name="exchanges"/> exchanges, to watch the server through: every code path
    /// it needs is warm, so no assembly is loaded later, when no fd is left.
    /// </summary>
    private static async Task<StressConnection> WarmControlAsync(StressServerProcess server, int exchanges)
    {
        var control = await Hello.ConnectAsync(server.EndPoint, Timeouts.DefaultToken());
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

    /// <summary>Fails if the server logged that its listener gave up (an exception escaped AcceptAsync).</summary>
    private static void AssertStillAccepting(StressServerProcess server) =>
        Assert.True(server.CountLines("crit:") == 0, "The server stopped accepting: " + ServerErrors(server));

    private static string ServerErrors(StressServerProcess server) =>
        (server.Process.HasExited ? $"the server process died (exit code {server.Process.ExitCode}) | " : "") +
        string.Join(" | ", server.Lines
            .Where(l => l.StartsWith("crit:", StringComparison.Ordinal) || l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("stderr:", StringComparison.Ordinal))
            .Select(l => l.Length > 400 ? l[..400] : l));
}
