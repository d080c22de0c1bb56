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
    [InlineData(new long[] { }, nameof(WarmupDecision.LoadAnotherStep))]
    [InlineData(new long[] { 3 }, nameof(WarmupDecision.LoadAnotherStep))]
    [InlineData(new long[] { 3, 5 }, nameof(WarmupDecision.JitQuiet))]
    [InlineData(new long[] { 3, 6 }, nameof(WarmupDecision.LoadAnotherStep))]
    [InlineData(new long[] { 0, 400, 0 }, nameof(WarmupDecision.LoadAnotherStep))]
    [InlineData(new long[] { 0, 400, 0, 1 }, nameof(WarmupDecision.JitQuiet))]
    public void Next_WithTimeLeft_QuietOnlyAfterTwoQuietStepsInARow(long[] steps, string expected)
    {
        Assert.Equal(Enum.Parse<WarmupDecision>(expected), WarmupRule.Next(steps, TimeSpan.FromSeconds(30), Limit));
    }

    [Theory]
    [InlineData(57.9, nameof(WarmupDecision.LoadAnotherStep))]
    [InlineData(58.0, nameof(WarmupDecision.LoadAnotherStep))]
    [InlineData(58.1, nameof(WarmupDecision.OutOfTime))]
    public void Next_NearTheLimit_AnotherStepOnlyIfItEndsByTheLimit(double elapsedSeconds, string expected)
    {
        Assert.Equal(Enum.Parse<WarmupDecision>(expected), WarmupRule.Next([100, 50], TimeSpan.FromSeconds(elapsedSeconds), Limit));
    }

    [Fact]
    public void Next_QuietAtTheLimit_Quiet()
    {
        Assert.Equal(WarmupDecision.JitQuiet, WarmupRule.Next([1, 2], TimeSpan.FromSeconds(61), Limit));
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
            (time, _) =>
            {
                Loads.Add(time.TotalSeconds);
                Elapsed += time;
                return Task.CompletedTask;
            },
            () => Task.FromResult(_reads < compiledMethods.Length ? compiledMethods[_reads++] : (long?)null),
            () => Elapsed,
            Steps);
    }
}
