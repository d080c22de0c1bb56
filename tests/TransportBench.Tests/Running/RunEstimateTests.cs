using TransportBench.Running;
using TransportBench.Servers;

namespace TransportBench.Tests.Running;

/// <summary>
/// The run's estimate: each step's bounds from the options, and the time left from the steps this run measured (no
/// constant of one machine).
/// </summary>
public sealed class RunEstimateTests
{
    [Fact]
    public void Bounds_PageOnANewSocketsProcess_WarmupBoundsPlusRunAndPerfPass()
    {
        var (least, most) = RunEstimate.Bounds(Step(Scenario.Page, "sockets", newProcess: true), new BenchOptions());

        // 8 s measured + 2 s perf pass after warm-ups of 24 s (20 s and two quiet 2-s steps) and 60 s.
        Assert.Equal((34.0, 70.0), (least.TotalSeconds, most.TotalSeconds));
    }

    [Fact]
    public void Bounds_HelloOnAKeptProcess_ShorterLeastWarmup()
    {
        var (least, _) = RunEstimate.Bounds(Step(Scenario.Hello, "epoll", newProcess: false), new BenchOptions());

        // 5 s measured + 2 s perf pass after 3 s and two quiet steps.
        Assert.Equal(14.0, least.TotalSeconds);
    }

    [Fact]
    public void Bounds_Floor_NoSyscallPass()
    {
        var (least, most) = RunEstimate.Bounds(Step(Scenario.Page, "floor", newProcess: false), new BenchOptions());

        Assert.Equal((15.0, 68.0), (least.TotalSeconds, most.TotalSeconds));
    }

    [Fact]
    public void Describe_Quick_OneFigure()
    {
        var options = BenchOptions.QuickRun;
        List<Step> steps = RunPlan.Create([Scenario.Page], ServerSpec.Create(options), 1, oneCpuOneRuntimeCpu: true);

        Assert.Equal("~1 min", RunEstimate.Describe(steps, options));
    }

    [Fact]
    public void Describe_DefaultFullRun_TheWarmupBoundsOnly()
    {
        var options = new BenchOptions();
        List<Step> steps = RunPlan.Create(Scenario.All, ServerSpec.Create(options), 1, oneCpuOneRuntimeCpu: true);

        Assert.EndsWith(" from the warm-up bounds; the time left follows from the steps measured", RunEstimate.Describe(steps, options), StringComparison.Ordinal);
    }

    [Fact]
    public void TimeLeft_StepsOfAMeasuredKind_TheirMeanOthersTheirLeast()
    {
        var options = new BenchOptions();
        List<Step> steps =
        [
            Step(Scenario.Page, "sockets", newProcess: true),
            Step(Scenario.Page, "epoll", newProcess: true),
            Step(Scenario.Hello, "sockets", newProcess: false),
        ];
        var measured = new Dictionary<(bool, bool, ScenarioKind), List<TimeSpan>>
        {
            [RunEstimate.KindOf(steps[0])] = [TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(60)],
        };

        // The second page step as the measured new processes (50 s), hello at its least (14 s).
        Assert.Equal(TimeSpan.FromSeconds(64), RunEstimate.TimeLeft(steps, 1, measured, options));
        Assert.Equal(TimeSpan.Zero, RunEstimate.TimeLeft(steps, 3, measured, options));
    }

    private static Step Step(Scenario scenario, string server, bool newProcess) =>
        new(scenario, 1, ServerSpec.Create(new BenchOptions { Servers = [server] })[0], newProcess, OwnProcess: false);
}
