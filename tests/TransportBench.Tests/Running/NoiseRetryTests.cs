using KestrelEpollTransport.Testing;
using TransportBench.Measure;
using TransportBench.Running;

namespace TransportBench.Tests.Running;

/// <summary>
/// The noise rule (--max-noise): a run during which other processes took more than that share of the server CPU is
/// measured again, twice at most, and the quietest attempt is kept.
/// </summary>
public sealed class NoiseRetryTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(10.0)]
    public async Task MeasureAsync_QuietEnough_MeasuredOnce(double foreignPercent)
    {
        var runs = new ScriptedRuns(foreignPercent);

        RoundSample kept = await runs.MeasureAsync(maxNoisePercent: 10);

        Assert.Equal(1, runs.Measured);
        Assert.Equal(1, kept.Attempts);
        Assert.Empty(runs.Notes);
    }

    [Fact]
    public async Task MeasureAsync_NoisyThenQuiet_KeepsTheQuietOne()
    {
        var runs = new ScriptedRuns(30, 2);

        RoundSample kept = await runs.MeasureAsync(maxNoisePercent: 10);

        Assert.Equal(2, runs.Measured);
        Assert.Equal(2, kept.Cpu!.ForeignPercent);
        Assert.Equal(2, kept.Attempts);
        Assert.Equal(["noisy: other processes took 30% of the server CPU; measuring again (2/3)"], runs.Notes);
    }

    [Fact]
    public async Task MeasureAsync_NoisyEveryTime_ThreeAttemptsAndTheQuietest()
    {
        var runs = new ScriptedRuns(30, 40, 25, 1);

        RoundSample kept = await runs.MeasureAsync(maxNoisePercent: 10);

        Assert.Equal(3, runs.Measured);
        Assert.Equal(25, kept.Cpu!.ForeignPercent);
        Assert.Equal(3, kept.Attempts);
        Assert.Equal(2, runs.Notes.Count);
        Assert.EndsWith("(3/3)", runs.Notes[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task MeasureAsync_FirstStaysQuietest_FirstKeptWithEveryAttemptCounted()
    {
        var runs = new ScriptedRuns(30, 40, 35);

        RoundSample kept = await runs.MeasureAsync(maxNoisePercent: 10);

        Assert.Equal(30, kept.Cpu!.ForeignPercent);
        Assert.Equal(3, kept.Attempts);
    }

    /// <summary>100 turns the rule off (--quick): no run takes more than all of the CPU.</summary>
    [Fact]
    public async Task MeasureAsync_MaxNoise100_NeverMeasuredAgain()
    {
        var runs = new ScriptedRuns(99, 0);

        Assert.Equal(99, (await runs.MeasureAsync(maxNoisePercent: 100)).Cpu!.ForeignPercent);
        Assert.Equal(1, runs.Measured);
    }

    [Fact]
    public async Task MeasureAsync_FailedMeasurementWithoutCpu_NotMeasuredAgain()
    {
        var runs = new ScriptedRuns(null, 0);

        RoundSample kept = await runs.MeasureAsync(maxNoisePercent: 10);

        Assert.Null(kept.Cpu);
        Assert.Equal(1, runs.Measured);
    }

    /// <summary>Measurements whose noise follows a script (null: one that failed before its CPU was read).</summary>
    private sealed class ScriptedRuns(params double?[] foreignPercents)
    {
        public int Measured { get; private set; }

        public List<string> Notes { get; } = [];

        public Task<RoundSample> MeasureAsync(int maxNoisePercent) =>
            NoiseRetry.MeasureAsync(Next, maxNoisePercent, Notes.Add).WithTimeout();

        private Task<RoundSample> Next()
        {
            double? foreign = foreignPercents[Measured++];
            return Task.FromResult(new RoundSample
            {
                Scenario = "page",
                Server = "epoll",
                Round = 1,
                Cpu = foreign is double f ? new CpuUse(TimeSpan.FromSeconds(1), TimeSpan.Zero, 100, 50, f) : null,
            });
        }
    }
}
