using TransportBench.Running;
using TransportBench.Servers;

namespace TransportBench.Tests.Running;

/// <summary>The run's estimate: each step's length from the options, and the time left while the run goes on.</summary>
public sealed class RunEstimateTests
{
    private static readonly TimeSpan[] FourSteps = [.. Enumerable.Repeat(TimeSpan.FromSeconds(10), 4)];

    [Fact]
    public void Of_PageOnANewSocketsProcess_WarmupBoundsPlusRunPerfAndStart()
    {
        var (least, typical, most) = RunEstimate.Of(Step(Scenario.Page, "sockets", newProcess: true), new BenchOptions());

        // 8 s measured + 1 s start + 2 s perf pass + 2 s perf edges = 13 s after warm-ups of 24 s (20 s and two quiet
        // 2-s steps), 38 s and 60 s.
        Assert.Equal((37.0, 51.0, 73.0), (least.TotalSeconds, typical.TotalSeconds, most.TotalSeconds));
    }

    [Fact]
    public void Of_HelloOnAKeptProcess_ShorterLeastWarmupAndNoStart()
    {
        var (least, typical, most) = RunEstimate.Of(Step(Scenario.Hello, "epoll", newProcess: false), new BenchOptions());

        // 5 s measured + 4 s perf pass and edges, after warm-ups of 7 s (3 s and two quiet steps), 13 s and 60 s.
        Assert.Equal((16.0, 22.0, 69.0), (least.TotalSeconds, typical.TotalSeconds, most.TotalSeconds));
    }

    [Fact]
    public void Of_Floor_SameWarmupRuleNoSyscallPass()
    {
        var kept = RunEstimate.Of(Step(Scenario.Hello, "floor", newProcess: false), new BenchOptions());
        var fresh = RunEstimate.Of(Step(Scenario.Page, "floor", newProcess: true), new BenchOptions());

        Assert.Equal((12.0, 13.0, 65.0), (kept.Least.TotalSeconds, kept.Typical.TotalSeconds, kept.Most.TotalSeconds));
        Assert.Equal(37.0, fresh.Typical.TotalSeconds);
    }

    /// <summary>Fairness on a new process did not go quiet within --warmup-max: that is its typical.</summary>
    [Fact]
    public void Of_FairnessOnANewProcess_TheWarmupLimit()
    {
        var (_, typical, most) = RunEstimate.Of(Step(Scenario.Fairness, "epoll", newProcess: true), new BenchOptions());

        Assert.Equal(most, typical);
        Assert.Equal(66.0, typical.TotalSeconds);
    }

    /// <summary>--quick: warm-ups fixed at 0.5 s, a kept process's as a new one's.</summary>
    [Fact]
    public void Of_Quick_FixedWarmups()
    {
        BenchOptions quick = BenchOptions.QuickRun;

        var kept = RunEstimate.Of(Step(Scenario.Hello, "epoll", newProcess: false), quick);
        var fresh = RunEstimate.Of(Step(Scenario.Hello, "epoll", newProcess: true), quick);

        Assert.Equal((4.5, 4.5, 4.5), (kept.Least.TotalSeconds, kept.Typical.TotalSeconds, kept.Most.TotalSeconds));
        Assert.Equal(5.5, fresh.Typical.TotalSeconds);
    }

    /// <summary>The default full run on the 2-CPU reference VM: 18 scenarios, 3 servers and the floor, 3 rounds.</summary>
    [Fact]
    public void Describe_DefaultFullRunOnTwoCpus_AboutAnHourAndAQuarter()
    {
        var options = new BenchOptions();
        List<Step> steps = RunPlan.Create(Scenario.All, ServerSpec.Create(options), options.Rounds, oneCpuOneRuntimeCpu: true);

        string estimate = RunEstimate.Describe(steps, options);

        Assert.StartsWith("~1 h 14 min with the warm-ups typical of the 2-CPU reference VM; ", estimate, StringComparison.Ordinal);
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

    private static Step Step(Scenario scenario, string server, bool newProcess) =>
        new(scenario, 1, ServerSpec.Create(new BenchOptions { Servers = [server] })[0], newProcess, OwnProcess: false);
}
