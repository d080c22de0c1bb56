using KestrelEpollTransport.Testing;
using Xunit.Abstractions;

namespace TransportBench.Tests.Cli;

/// <summary>
/// TransportBench.dll as a user runs it, for what only the process shows: the exit codes, and which stream the help
/// and the errors go to. What each option means is BenchCommandTests' part, in-process.
/// </summary>
public sealed class CommandLineProcessTests(ITestOutputHelper output)
{
    private static string RunnerDll => Path.Combine(AppContext.BaseDirectory, "TransportBench.dll");

    [Fact]
    public async Task Help_ExitCodeZeroAndEveryOptionOnStdout()
    {
        var result = await RunnerAsync("--help");

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Contains("Usage:\n  TransportBench [options]", result.StdoutText, StringComparison.Ordinal);
        Assert.Contains("--quick", result.StdoutText, StringComparison.Ordinal);
        Assert.Contains("[default: 20]", result.StdoutText, StringComparison.Ordinal);
        Assert.Equal("", result.Stderr);
    }

    /// <summary>A wrong option or value: exit code 2, the message and where to look on stderr, nothing run.</summary>
    [Theory]
    [InlineData("--rounds x", "TransportBench: --rounds takes whole numbers of at least 1, not 'x'.")]
    [InlineData("--scenarios nosuch", "TransportBench: --scenarios: 'nosuch' is not a scenario")]
    [InlineData("--server-cpus 4095", "TransportBench: --server-cpus: 4095 leaves the load generator no CPU")]
    [InlineData("--quick --roundz 3", "TransportBench: Unrecognized command or argument '--roundz'.")]
    public async Task WrongOption_ExitCodeTwoAndTheMessageOnStderr(string arguments, string message)
    {
        var result = await RunnerAsync(arguments.Split(' '));

        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("see `TransportBench --help`", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.StdoutText);
    }

    private async Task<ToolResult> RunnerAsync(params string[] arguments)
    {
        var result = await ExternalTool.RunAsync(ChildServerProcess.DotnetHost, ["exec", RunnerDll, .. arguments], Timeouts.Default);
        output.WriteLine($"TransportBench {string.Join(' ', arguments)}: {result.Describe()}");
        return result;
    }
}
