using System.Diagnostics;
using System.Globalization;
using Stress.Server;

namespace KestrelEpollTransport.Reliability.Tests.Faults;

/// <summary>
/// The epoll server at its file descriptor limit: a <c>Stress serve</c> child with RLIMIT_NOFILE lowered to
/// <see cref="FdLimitServer.OpenFileLimit"/> is sent more connections than it can hold. What the listener does there:
/// it pauses at its fd budget (idle, logged once per burst), serves the open connections, and lets the waiting ones in
/// as fds come back, also when the rest of the process took the fds and the thread pool is starved.
/// <see cref="FdCanaryTests"/> proves the process keeps fds free meanwhile.
/// </summary>
public sealed class FdExhaustionTests(ITestOutputHelper output)
{
    /// <summary>Connections of the first burst: more than fit, fewer than twice what fits (so freeing the answered ones lets all the rest in).</summary>
    private const int FirstBurst = 300;

    /// <summary>Connections of the second burst: enough to reach the limit again, few enough to be let in after.</summary>
    private const int SecondBurst = 200;

    /// <summary>The window over which the paused server's CPU time is measured.</summary>
    private static readonly TimeSpan CpuWindow = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The bound on the paused server's CPU use, in cores, leaving out the JIT's background compiler (which tiers up the
    /// request path for a few seconds after the burst, nothing to do with accepting). An accept loop that spins uses a
    /// whole core (1.0); the paused listener wakes on closes and for a re-check ten times a second. Generous, so a noisy
    /// 2-core CI machine does not trip it.
    /// </summary>
    private const double MaxIdleCores = 0.10;

    /// <summary>The thread name (comm, cut to 15 characters) of the runtime's tiered-compilation worker.</summary>
    private const string TieredCompilationThread = ".NET Tiered Com";

    [Fact]
    public async Task FdExhaustion_MoreConnectionsThanFds_IdleLoggedOncePerBurstServesAndRecovers()
    {
        await using var server = await FdLimitServer.StartAsync(output, TransportKind.Epoll, canary: false);
        var process = server.Process;
        // Enough exchanges for the JIT's tiering to settle before the CPU is measured.
        using var control = await server.WarmControlAsync(500);
        var before = await ServerStats.GetAsync(control);
        output.WriteLine($"before: {before}");
        Assert.InRange(before.OpenFds, 50, FdLimitServer.OpenFileLimit - FirstBurst / 2);

        // Burst 1: some connections are accepted and answered; the rest wait in the backlog.
        using var burst = await HelloBurst.OpenAsync(server.EndPoint, FirstBurst);
        await server.AtTheLimitAsync(control, () => burst.Answered);
        int answered = burst.Answered;
        output.WriteLine($"burst 1: {answered} of {FirstBurst} connections accepted and answered, {FirstBurst - answered} wait in the backlog");
        Assert.InRange(answered, 1, FirstBurst - 1);

        // While paused: near idle, the open connections are served, the pauses counted, logged once. The first second
        // after the burst is reported apart: it holds the runtime's own after-work (tiered JIT, GC).
        var (settlingAll, settling) = await MeasureCoresAsync(process, TimeSpan.FromSeconds(1));
        var (all, cores) = await MeasureCoresAsync(process, CpuWindow);
        output.WriteLine($"CPU while paused, without the JIT's background compiler (with it): {settling * 100:0.0}% ({settlingAll * 100:0.0}%) " +
            $"of a core in the first second, then {cores * 100:0.0}% ({all * 100:0.0}%) over {CpuWindow.TotalSeconds:0} s");
        await Hello.ExchangeAsync(control, Timeouts.DefaultToken());
        await Hello.ExchangeAsync(burst.AnsweredConnections.First(), Timeouts.DefaultToken());
        var paused = await ServerStats.GetAsync(control);
        output.WriteLine($"paused: {paused}");
        Assert.True(cores < MaxIdleCores, $"The server used {cores:0.00} cores while paused at its fd budget (bound {MaxIdleCores}): the accept loop spins.");
        Assert.True(paused.AcceptDeferred >= 1, $"epoll.accept.deferred is {paused.AcceptDeferred}: the pause is not counted.");
        Assert.Equal(0, paused.AcceptErrors); // the budget stopped accept4 before EMFILE
        Assert.Equal(1, process.CountLines(FdLimitServer.AtBudgetEvent));
        Assert.Equal(answered, burst.Answered);

        // Free the answered connections: every waiting one is accepted and answered.
        var clock = Stopwatch.StartNew();
        int closed = burst.CloseAnswered();
        Assert.Equal(answered, closed);
        await Eventually.AssertAsync(() => burst.Answered == FirstBurst,
            () => $"answered {burst.Answered} of {FirstBurst} after fds were freed; {server.Errors()}");
        output.WriteLine($"all {FirstBurst} answered {clock.ElapsedMilliseconds} ms after the first {answered} were closed");

        // Burst 2 is logged again: once per burst, not once per process.
        using var second = await HelloBurst.OpenAsync(server.EndPoint, SecondBurst);
        await Eventually.AssertAsync(() => process.CountLines(FdLimitServer.AtBudgetEvent) == 2, () => $"budget log lines after burst 2: {process.CountLines(FdLimitServer.AtBudgetEvent)}");
        await Eventually.AssertAsync(async () => (await ServerStats.GetAsync(control)).Active - 1 - FirstBurst + answered == second.Answered,
            () => $"answered {second.Answered} of {SecondBurst} in burst 2");
        output.WriteLine($"burst 2: {second.Answered} of {SecondBurst} accepted and answered");
        Assert.InRange(second.Answered, 1, SecondBurst - 1);
        burst.CloseAll();
        second.CloseAnswered();
        await Eventually.AssertAsync(() => second.Answered == SecondBurst,
            () => $"answered {second.Answered} of {SecondBurst} in burst 2 after fds were freed; {server.Errors()}");
        await Hello.ExchangeAsync(control, Timeouts.DefaultToken());

        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(Timeouts.Default));
        Assert.Equal(0, process.CountLines("fail:"));
        Assert.Equal(2, process.CountLines(FdLimitServer.AtBudgetEvent));
    }

    /// <summary>
    /// The pause at the budget comes before the process's first timer (Stress serve --start-timer-thread 0): the
    /// listener's re-check is the loop's own timer, which needs no thread and no fd, so nothing has to start the
    /// runtime's timer thread at the limit.
    /// </summary>
    [Fact]
    public async Task FdExhaustion_PauseBeforeAnyTimerOfProcess_ListenerKeepsAccepting()
    {
        await using var server = await FdLimitServer.StartAsync(output, TransportKind.Epoll, "--start-timer-thread", "0");
        using var control = await server.WarmControlAsync(20);

        using var burst = await HelloBurst.OpenAsync(server.EndPoint, FirstBurst);
        await server.AtTheLimitAsync(control, () => burst.Answered);
        await server.HoldAsync(control);
        int answered = burst.Answered;
        burst.CloseAnswered();

        await Eventually.AssertAsync(() => burst.Answered == FirstBurst,
            () => $"answered {burst.Answered} of {FirstBurst} ({answered} before fds were freed): the listener stopped accepting; {server.Errors()}");
        await server.AssertCanaryNeverFailedAsync(control);
        server.Process.Terminate();
        Assert.Equal(0, await server.Process.WaitForExitAsync(Timeouts.Default));
    }

    /// <summary>
    /// The rest of the process takes the fds behind the transport's back (/hog: files, outgoing connections) and every
    /// pool thread is blocked. When the fds come back, the listener's re-check, a timer of the loop that resumes the
    /// accept inline there, lets the waiting connections in while the pool is still starved: nothing on the way needs
    /// a pool thread. (With the retry continued on the pool, they would wait until blocked handlers return.)
    /// </summary>
    [Fact]
    public async Task FdExhaustion_RestOfProcessFreesFdsWhilePoolIsStarved_ConnectionsLetInAtOnce()
    {
        const int Blocked = 32;
        const int Waiting = 60;
        var block = TimeSpan.FromSeconds(10);
        var hold = TimeSpan.FromSeconds(4);
        await using var server = await FdLimitServer.StartAsync(output, TransportKind.Epoll);
        using var control = await server.WarmControlAsync(20);
        var blockers = new List<StressConnection>();
        try
        {
            for (int i = 0; i < Blocked; i++)
            {
                blockers.Add(await server.WarmControlAsync(1));
            }
            // The rest of the process takes all but a few of the free fds for `hold`.
            var stats = await ServerStats.GetAsync(control);
            int take = FdLimitServer.OpenFileLimit - stats.OpenFds - 24;
            int hogged = await HogAsync(control, take, hold);
            output.WriteLine($"the rest of the process took {hogged} fds (of {take} asked) for {hold.TotalSeconds:0} s");

            using var burst = await HelloBurst.OpenAsync(server.EndPoint, Waiting);
            await Eventually.AssertAsync(() => AcceptQueue(server) > 0 && server.Process.CountLines(FdLimitServer.AtBudgetEvent) + server.Process.CountLines(FdLimitServer.EmfileEvent) >= 1,
                () => $"accept queue {AcceptQueue(server)}; {server.Errors()}");

            // Starve the pool: every handler blocks its thread for `block`, far past the hog's release.
            var clock = Stopwatch.StartNew();
            var blocked = blockers.Select(c => FdLimitServer.BlockAsync(c, block)).ToList();
            int queued = AcceptQueue(server);
            Assert.True(queued > 0, "the waiting connections were let in before the pool was starved: the hog released too early");

            await Eventually.AssertAsync(() => AcceptQueue(server) == 0,
                () => $"accept queue {AcceptQueue(server)} ({queued} before): the waiting connections were not let in after the fds came back; {server.Errors()}",
                block);
            output.WriteLine($"{queued} waiting connections let in {clock.ElapsedMilliseconds} ms after the pool was starved (the hog released {hold.TotalSeconds:0} s after it took)");
            Assert.True(blocked.All(t => !t.IsCompleted), "a blocked handler returned before the connections were let in: the pool was not starved throughout");

            await Task.WhenAll(blocked).WithTimeout();
            await Eventually.AssertAsync(() => burst.Answered == Waiting, () => $"answered {burst.Answered} of {Waiting}; {server.Errors()}");
            server.AssertStillAccepting();
        }
        finally
        {
            blockers.ForEach(c => c.Dispose());
        }
    }

    /// <summary>Connections waiting in the server's listen backlog now: the listening socket's rx_queue in /proc/net/tcp.</summary>
    private static int AcceptQueue(FdLimitServer server)
    {
        string port = server.EndPoint.Port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (string line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            // sl local_address rem_address st tx_queue:rx_queue ...; 0A is LISTEN.
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[1].EndsWith(":" + port, StringComparison.Ordinal) && fields[3] == "0A")
            {
                return int.Parse(fields[4].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"no listening socket on port {server.EndPoint.Port} in /proc/net/tcp");
    }

    private static async Task<int> HogAsync(StressConnection connection, int count, TimeSpan hold)
    {
        using var deadline = new CancellationTokenSource(Timeouts.Default);
        await connection.SendAsync($"GET /hog?n={count}&ms={(int)hold.TotalMilliseconds} HTTP/1.1\r\nHost: stress\r\n\r\n", deadline.Token);
        var head = await connection.ReadHeadAsync(deadline.Token);
        Assert.Equal(200, head.StatusCode);
        var body = new MemoryStream();
        await connection.ReadBodyAsync(head, span => body.Write(span), deadline.Token);
        return int.Parse(System.Text.Encoding.ASCII.GetString(body.ToArray()), CultureInfo.InvariantCulture);
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
}
