using TransportBench.Running;

namespace TransportBench.Tests.Running;

/// <summary>The run's progress where stdout is not a terminal: a line per step and per result, nothing rewritten.</summary>
public sealed class ProgressTests
{
    [Fact]
    public async Task RunAsync_NotATerminal_StepAndResultLinesWithoutEscapes()
    {
        var output = new StringWriter();
        TimeSpan[] typical = [TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)];

        int result = await Progress.RunAsync(Terminal.Create(output, isTerminal: false), typical, progress =>
        {
            progress.BeginStep("page · sockets · round 1/1");
            progress.Phase("warm-up", TimeSpan.FromSeconds(5));
            progress.Note("noisy: measuring again (2/3)");
            progress.EndStep("71,507 req/s");
            progress.BeginStep("page · epoll · round 1/1");
            progress.EndStep("94,207 req/s");
            return Task.FromResult(42);
        }).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(42, result);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain('\u001b', output.ToString());
        Assert.Equal(5, lines.Length);
        Assert.Equal("[  1/2] 0:00 elapsed, ~? left · page · sockets · round 1/1", lines[0]);
        Assert.Equal("          noisy: measuring again (2/3)", lines[1]);
        Assert.Equal("          71,507 req/s", lines[2]);
        Assert.Matches(@"^\[  2/2\] 0:0\d elapsed, ~0:\d\d left · page · epoll · round 1/1$", lines[3]);
        Assert.Equal("          94,207 req/s", lines[4]);
    }
}
