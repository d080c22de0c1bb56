using TransportBench.Running;
using TransportBench.Servers;

namespace TransportBench.Tests.Running;

/// <summary>The run's estimate: each step's length from the options, and the time left while the run goes on.</summary>
public sealed class RunEstimateTests
{
    private static readonly TimeSpan[] FourSteps = [.. Enumerable.Repeat(TimeSpan.FromSeconds(10), 4)];

    [Fact]
    public void Of_PageOnSocketsWithDefaults_WarmupBoundsPlusRunPerfAndOverhead()
    {
        ServerSpec sockets = ServerSpec.Create(new BenchOptions { Servers = ["sockets"] })[0];

        var (least, typical, most) = RunEstimate.Of(Scenario.Page, sockets, new BenchOptions());

        // 10 s measured + 2 s around the server + 3 s perf pass + 2 s perf edges = 17 s after warm-ups of 20, 38 and 60 s.
        Assert.Equal((37.0, 55.0, 77.0), (least.TotalSeconds, typical.TotalSeconds, most.TotalSeconds));
    }

    [Fact]
    public void Of_Floor_LeastWarmupOnly()
    {
        ServerSpec floor = ServerSpec.Create(new BenchOptions { Servers = ["floor"] })[0];

        var (least, typical, most) = RunEstimate.Of(Scenario.Hello, floor, new BenchOptions());

        Assert.Equal((27.0, 27.0, 27.0), (least.TotalSeconds, typical.TotalSeconds, most.TotalSeconds));
    }

    [Fact]
    public void TimeLeft_AtTheStart_EveryStepAsEstimated()
    {
        Assert.Equal(TimeSpan.FromSeconds(40), RunEstimate.TimeLeft(FourSteps, 0, TimeSpan.Zero, TimeSpan.Zero));
    }

    [Fact]
    public void TimeLeft_StepsTookTwiceTheEstimate_TheRestScaledByThatPace()
    {
        Assert.Equal(TimeSpan.FromSeconds(40), RunEstimate.TimeLeft(FourSteps, 2, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(40)));
    }

    [Fact]
    public void TimeLeft_InsideAStep_LessWhatItAlreadyTook()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), RunEstimate.TimeLeft(FourSteps, 2, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(50)));
    }

    [Fact]
    public void TimeLeft_StepOverran_NeverBelowTheStepsAfterIt()
    {
        Assert.Equal(TimeSpan.FromSeconds(20), RunEstimate.TimeLeft(FourSteps, 2, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(90)));
    }

    [Fact]
    public void TimeLeft_AllFinished_Zero()
    {
        Assert.Equal(TimeSpan.Zero, RunEstimate.TimeLeft(FourSteps, 4, TimeSpan.FromSeconds(44), TimeSpan.FromSeconds(45)));
    }
}
