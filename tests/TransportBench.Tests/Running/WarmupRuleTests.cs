using KestrelEpollTransport.Testing;
using TransportBench.Running;

namespace TransportBench.Tests.Running;

/// <summary>
/// The warm-up rule: load for at least --warmup, then in 2-s steps until the server's JIT compiled ≤ 5 methods in
/// each of two steps in a row, at most --warmup-max. Driven by a fake clock that moves only while "loading".
/// </summary>
public sealed class WarmupRuleTests
{
    private static readonly TimeSpan Least = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(new long[] { }, false)]
    [InlineData(new long[] { 3 }, false)]
    [InlineData(new long[] { 3, 5 }, true)]
    [InlineData(new long[] { 3, 6 }, false)]
    [InlineData(new long[] { 0, 400, 0 }, false)]
    [InlineData(new long[] { 0, 400, 0, 1 }, true)]
    public void IsQuiet_Steps_OnlyTwoQuietStepsInARow(long[] steps, bool quiet)
    {
        Assert.Equal(quiet, WarmupRule.IsQuiet(steps));
    }

    /// <summary>A process kept from the round's earlier scenarios starts from 3 s; --warmup below that wins.</summary>
    [Theory]
    [InlineData(20, true, 20)]
    [InlineData(20, false, 3)]
    [InlineData(2, false, 2)]
    [InlineData(0.5, true, 0.5)]
    public void Least_NewOrKeptProcess_WarmupOrTheShorterReusedLeast(double warmup, bool newProcess, double least)
    {
        Assert.Equal(least, WarmupRule.Least(TimeSpan.FromSeconds(warmup), newProcess).TotalSeconds);
    }

    /// <summary>The least, then two quiet steps if the limit allows them.</summary>
    [Theory]
    [InlineData(20, 60, 24)]
    [InlineData(3, 60, 7)]
    [InlineData(20, 23, 22)]
    [InlineData(0.5, 0.5, 0.5)]
    public void Shortest_LeastAndLimit_LeastPlusTheQuietStepsThatFit(double least, double limit, double shortest)
    {
        Assert.Equal(shortest, WarmupRule.Shortest(TimeSpan.FromSeconds(least), TimeSpan.FromSeconds(limit)).TotalSeconds);
    }

    /// <summary>A step is taken only if it ends by the limit: from 20 s, steps end at 22 and 24; one to 26 would pass 25.</summary>
    [Fact]
    public async Task RunAsync_NearTheLimit_AnotherStepOnlyIfItEndsByIt()
    {
        var warmup = new FakeServer(1000, 1100, 1200, 1300, 1400);

        bool settled = await warmup.RunAsync(Least, TimeSpan.FromSeconds(25));

        Assert.False(settled);
        Assert.Equal([20, 2, 2], warmup.Loads);
        Assert.Equal(TimeSpan.FromSeconds(24), warmup.Elapsed);
    }

    [Fact]
    public async Task RunAsync_JitGoesQuiet_LeastThenStepsUntilTwoQuietOnes()
    {
        // Methods compiled so far, read after the least warm-up and after each step: a wave at 26 s, a pause, then quiet.
        var warmup = new FakeServer(1000, 1200, 1203, 1500, 1502, 1505);

        bool settled = await warmup.RunAsync(Least, Limit);

        Assert.True(settled);
        Assert.Equal([200, 3, 297, 2, 3], warmup.Steps);
        Assert.Equal([20, 2, 2, 2, 2, 2], warmup.Loads);
        Assert.Equal(TimeSpan.FromSeconds(30), warmup.Elapsed);
    }

    [Fact]
    public async Task RunAsync_JitQuietFromTheStart_StillTheLeastWarmupFirst()
    {
        var warmup = new FakeServer(1000, 1000, 1000, 1000);

        bool settled = await warmup.RunAsync(Least, Limit);

        Assert.True(settled);
        Assert.Equal([20, 2, 2], warmup.Loads);
    }

    [Fact]
    public async Task RunAsync_JitNeverQuiet_StopsAtTheLimit()
    {
        var warmup = new FakeServer([.. Enumerable.Range(0, 100).Select(i => 1000L + (i * 50))]);

        bool settled = await warmup.RunAsync(Least, Limit);

        Assert.False(settled);
        Assert.Equal(TimeSpan.FromSeconds(60), warmup.Elapsed);
        Assert.Equal(20, warmup.Steps.Count);
    }

    /// <summary>--warmup-max below --warmup: the least warm-up alone (--quick sets both to 0.5 s).</summary>
    [Fact]
    public async Task RunAsync_LimitBelowLeast_LeastWarmupOnly()
    {
        var warmup = new FakeServer(1000, 1001, 1002);

        bool settled = await warmup.RunAsync(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(0.5));

        Assert.False(settled);
        Assert.Equal([0.5], warmup.Loads);
        Assert.Empty(warmup.Steps);
    }

    [Fact]
    public async Task RunAsync_CountUnreadable_LeastWarmupOnly()
    {
        var warmup = new FakeServer();

        bool settled = await warmup.RunAsync(Least, Limit);

        Assert.False(settled);
        Assert.Equal([20], warmup.Loads);
    }

    /// <summary>A server whose JIT count follows a script, on a clock that moves only while it is loaded.</summary>
    private sealed class FakeServer(params long[] compiledMethods)
    {
        private int _reads;

        public TimeSpan Elapsed { get; private set; }

        public List<double> Loads { get; } = [];

        public List<long> Steps { get; } = [];

        public Task<bool> RunAsync(TimeSpan least, TimeSpan limit) => WarmupRule.RunAsync(
            least,
            limit,
            time =>
            {
                Loads.Add(time.TotalSeconds);
                Elapsed += time;
                return Task.CompletedTask;
            },
            () => Task.FromResult(_reads < compiledMethods.Length ? compiledMethods[_reads++] : (long?)null),
            () => Elapsed,
            Steps).WithTimeout();
    }
}
