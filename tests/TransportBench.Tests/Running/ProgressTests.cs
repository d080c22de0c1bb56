using TransportBench.Running;
using TransportBench.Servers;

namespace TransportBench.Tests.Running;

/// <summary>The run's progress: a line per step and per result, the time left from the steps measured.</summary>
public sealed class ProgressTests
{
    [Fact]
    public void Steps_StepAndResultLines()
    {
        var output = new StringWriter();
        var options = BenchOptions.QuickRun;
        List<Step> steps = RunPlan.Create([Scenario.Page], ServerSpec.Create(options with { Servers = ["sockets", "epoll"] }), 1, true);
        var progress = new Progress(output, steps, options);

        progress.BeginStep("page · sockets · round 1/1");
        progress.Note("noisy: measuring again (2/3)");
        progress.EndStep("71,507 req/s");
        progress.BeginStep("page · epoll · round 1/1");
        progress.EndStep("94,207 req/s");

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Equal("[  1/2] 0:00 elapsed, ? left · page · sockets · round 1/1", lines[0]);
        Assert.Equal("          noisy: measuring again (2/3)", lines[1]);
        Assert.Equal("          71,507 req/s", lines[2]);
        Assert.Equal("[  2/2] 0:00 elapsed, ~1 min left · page · epoll · round 1/1", lines[3]);
        Assert.Equal("          94,207 req/s", lines[4]);
    }
}
