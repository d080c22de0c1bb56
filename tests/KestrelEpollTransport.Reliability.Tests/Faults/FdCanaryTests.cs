using System.Net;

namespace KestrelEpollTransport.Reliability.Tests.Faults;

/// <summary>
/// At the fd limit the process lives, proven by a canary: <c>Stress serve --fd-canary 1</c> runs a thread that does
/// pipe2+close every ~50 µs, as a thread start does, and counts EMFILE. On epoll the canary must never fail, whatever
/// the connections do (a burst, churn at the limit, two listeners, a thread pool that must grow or is starved). Each
/// scenario runs on Sockets too, as the negative control: Sockets accepts until EMFILE, and there the canary fails
/// (or the process dies, "Out of memory."), which shows the check can fail.
/// </summary>
public sealed class FdCanaryTests(ITestOutputHelper output)
{
    /// <summary>Connections of a burst: more than fit, fewer than twice what fits (so freeing the answered ones lets all the rest in).</summary>
    private const int Burst = 300;

    public static TheoryData<TransportKind> Transports => [TransportKind.Epoll, TransportKind.Sockets];

    [Theory]
    [MemberData(nameof(Transports))]
    public Task Burst_CanaryNeverFailsAndEveryConnectionIsServed(TransportKind transport) => RunAsync(transport, async (server, control) =>
    {
        using var burst = await HelloBurst.OpenAsync(server.EndPoint, Burst);
        await server.AtTheLimitAsync(control, () => burst.Answered);
        var held = await server.HoldAsync(control);
        output.WriteLine($"at the limit: {burst.Answered} of {Burst} answered, {held}");
        Assert.InRange(burst.Answered, 1, Burst - 1);
        Assert.True(held.AcceptDeferred >= 1, $"epoll.accept.deferred is {held.AcceptDeferred}");

        await Hello.ExchangeAsync(burst.AnsweredConnections.First(), Timeouts.DefaultToken());
        burst.CloseAnswered();
        await Eventually.AssertAsync(() => burst.Answered == Burst, () => $"answered {burst.Answered} of {Burst} after fds were freed; {server.Errors()}");
        Assert.Equal(1, server.Process.CountLines(FdLimitServer.AtBudgetEvent));
        Assert.Equal(0, server.Process.CountLines(FdLimitServer.EmfileEvent));
    });

    /// <summary>
    /// Held at the limit while connections come and go (each close lets one waiting connection in): the close path
    /// wakes the listener, and the accept that follows never takes the process's last fds.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public Task ChurnAtTheLimit_CanaryNeverFailsAndEachCloseLetsOneIn(TransportKind transport) => RunAsync(transport, async (server, control) =>
    {
        const int Cycles = 20;
        using var burst = await HelloBurst.OpenAsync(server.EndPoint, Burst);
        await server.AtTheLimitAsync(control, () => burst.Answered);
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            int answered = burst.Answered;
            burst.AnsweredConnections.First(c => c.Socket.Connected).Dispose();
            await Eventually.AssertAsync(() => burst.Answered == answered + 1, () => $"cycle {cycle}: answered {burst.Answered}, expected {answered + 1}; {server.Errors()}");
        }
        await server.HoldAsync(control);
        Assert.True(server.Process.CountLines(FdLimitServer.AtBudgetEvent) == 1,
            $"the budget was logged {server.Process.CountLines(FdLimitServer.AtBudgetEvent)} times in one burst: once per connection let in, not once per burst");
    });

    /// <summary>
    /// While the server is at its limit its handlers block pool threads, so the pool must start threads, and each
    /// start takes fds: the process must have them.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public Task ThreadPoolMustGrowAtTheLimit_CanaryNeverFailsAndTheBlockedAreServed(TransportKind transport) => RunAsync(transport, (server, control) =>
        WithBlockersAtTheLimitAsync(server, control, 16, async (blockers, _) =>
        {
            await Task.WhenAll(blockers.Select(c => FdLimitServer.BlockAsync(c, TimeSpan.FromSeconds(1)))).WithTimeout();
            await server.HoldAsync(control);
        }));

    /// <summary>
    /// Two listeners (127.0.0.1 and [::1], as Kestrel's localhost): one budget and one reserve for the process, so
    /// the listener that pauses hands no fds to the one still accepting.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public Task TwoListeners_CanaryNeverFails(TransportKind transport)
    {
        int port = LoopbackPorts.FreeOnBoth();
        return RunAsync(transport, async (server, control) =>
        {
            var v6 = new IPEndPoint(IPAddress.IPv6Loopback, port);
            using var v6Control = await server.WarmControlAsync(10, v6);
            // [::1] reaches the limit, then 127.0.0.1 gets more: both listeners wait at the budget at once.
            using var first = await HelloBurst.OpenAsync(server.EndPoint, Burst / 3);
            using var second = await HelloBurst.OpenAsync(v6, Burst / 2);
            using var third = await HelloBurst.OpenAsync(server.EndPoint, Burst / 6);
            int Answered() => first.Answered + second.Answered + third.Answered;
            await server.AtTheLimitAsync(control, () => Answered() + 1, listeners: 2);
            var held = await server.HoldAsync(control);
            output.WriteLine($"at the limit: {first.Answered} + {third.Answered} answered on 127.0.0.1, {second.Answered} on [::1], {held}");

            // Both are woken by the close path as connections end.
            first.CloseAnswered();
            second.CloseAnswered();
            third.CloseAnswered();
            await Eventually.AssertAsync(() => Answered() == Burst,
                () => $"answered {first.Answered} + {second.Answered} + {third.Answered} of {Burst} after fds were freed; {server.Errors()}");
        }, "--host", "localhost", "--port", $"{port}");
    }

    /// <summary>
    /// Handlers block every pool thread while the server is at its limit (the pool grows slowly meanwhile): nothing
    /// the transport does then may take the fds a thread start needs.
    /// </summary>
    [Theory]
    [MemberData(nameof(Transports))]
    public Task StarvedPoolAtTheLimit_CanaryNeverFails(TransportKind transport) => RunAsync(transport, (server, control) =>
        WithBlockersAtTheLimitAsync(server, control, 24, async (blockers, burst) =>
        {
            var blocked = blockers.Select(c => FdLimitServer.BlockAsync(c, TimeSpan.FromSeconds(3))).ToList();
            // Some answered connections close meanwhile: their fds come back while the pool is starved.
            foreach (var connection in burst.AnsweredConnections.Take(10).ToList())
            {
                connection.Dispose();
            }
            await Task.WhenAll(blocked).WithTimeout();
            await server.HoldAsync(control);
        }));

    /// <summary>
    /// Opens <paramref name="count"/> connections for /block requests (answered once, so they are accepted), brings the
    /// server to its limit with a burst, then runs <paramref name="atTheLimit"/> with them.
    /// </summary>
    private static async Task WithBlockersAtTheLimitAsync(FdLimitServer server, StressConnection control, int count, Func<List<StressConnection>, HelloBurst, Task> atTheLimit)
    {
        var blockers = new List<StressConnection>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                blockers.Add(await server.WarmControlAsync(1));
            }
            using var burst = await HelloBurst.OpenAsync(server.EndPoint, Burst);
            await server.AtTheLimitAsync(control, () => burst.Answered + count);
            await atTheLimit(blockers, burst);
        }
        finally
        {
            blockers.ForEach(c => c.Dispose());
        }
    }

    /// <summary>
    /// Starts the server, warms a control connection, runs <paramref name="scenario"/>, then checks the rule: on epoll
    /// the canary never failed; on Sockets the scenario must have shown the canary failing (or the process dying).
    /// </summary>
    private async Task RunAsync(TransportKind transport, Func<FdLimitServer, StressConnection, Task> scenario, params string[] extraArgs)
    {
        await using var server = await FdLimitServer.StartAsync(output, transport, extraArgs);
        using var control = await server.WarmControlAsync(100);
        try
        {
            await scenario(server, control);
        }
        catch (NegativeControlShownException)
        {
            output.WriteLine($"negative control: {(server.Process.Process.HasExited ? "the Sockets server died" : "the canary met EMFILE on Sockets")}; {server.Errors()}");
            return;
        }
        catch (Exception e) when (transport == TransportKind.Sockets)
        {
            // Sockets can die anywhere in the scenario ("Out of memory."), e.g. while the burst connects: that too is
            // what the control is to show. Anything else is a failure of the test.
            if (!await server.CanaryFailedOrDiedAsync(control))
            {
                throw;
            }
            output.WriteLine($"negative control: the Sockets server died or its canary failed mid-scenario ({e.GetType().Name}: {e.Message}); {server.Errors()}");
            return;
        }
        Assert.Equal(TransportKind.Epoll, transport);
        await server.AssertCanaryNeverFailedAsync(control);
    }
}
