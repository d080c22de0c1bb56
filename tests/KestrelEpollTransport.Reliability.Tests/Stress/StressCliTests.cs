namespace KestrelEpollTransport.Reliability.Tests.Stress;

/// <summary>
/// The stress tool's command line as docs/reliability.md uses it: <c>Stress serve</c> and <c>Stress run</c> as two
/// processes, <c>--help</c> with every option's default, and a wrong option refused before anything runs.
/// </summary>
public sealed class StressCliTests(ITestOutputHelper output)
{
    /// <summary>Every option of both commands and its default, as the tool documents them (docs/reliability.md).</summary>
    private static readonly (string Command, string Option, string Default)[] Documented =
    [
        ("serve", "--port", "0"),
        ("serve", "--transport", "epoll"),
        ("serve", "--threads", "0"),
        ("serve", "--shutdown-timeout", "10"),
        ("serve", "--max-open-files", "0"),
        ("serve", "--start-timer-thread", "1"),
        ("serve", "--host", "127.0.0.1"),
        ("serve", "--fd-canary", "0"),
        ("run", "--url", "in-process"),
        ("run", "--transport", "epoll"),
        ("run", "--clients", "16"),
        ("run", "--duration", "60"),
        ("run", "--op-timeout", "30"),
        ("run", "--max-size", "8388608"),
        ("run", "--seed", "0"),
        ("run", "--ops", "all"),
    ];

    public static IEnumerable<object[]> Options => Documented.Select(o => new object[] { o.Command, o.Option, o.Default });

    [Fact]
    public async Task StressCli_RunAgainstServeProcess_ExitsZeroWithSummary()
    {
        await using var server = await StressServerProcess.StartAsync(output);

        var run = await StressAsync(TimeSpan.FromSeconds(90), "run", "--url", $"http://{server.EndPoint}", "--clients", "4", "--duration", "5", "--max-size", "1048576");

        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains(" 0 failed", run.StdoutText, StringComparison.Ordinal);
        server.Terminate();
        Assert.Equal(0, await server.WaitForExitAsync(Timeouts.Default));
    }

    /// <summary><c>Stress --help</c> shows each command's options, each with its default; <c>Stress COMMAND --help</c> its own.</summary>
    [Theory]
    [MemberData(nameof(Options))]
    public async Task StressCli_Help_ListsTheOptionWithItsDefault(string command, string option, string defaultValue)
    {
        var all = await StressAsync(Timeouts.Default, "--help");
        var own = await StressAsync(Timeouts.Default, command, "--help");

        Assert.True(all.ExitCode == 0 && own.ExitCode == 0, all.Describe() + own.Describe());
        foreach (var help in new[] { CommandSection(all.StdoutText, command), own.StdoutText })
        {
            string? line = help.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));
            Assert.True(line is not null, $"{option} is not in the help of {command}:\n{help}");
            Assert.Contains($"[default: {defaultValue}]", line, StringComparison.Ordinal);
        }
    }

    /// <summary>No option is left out of <see cref="Documented"/> (so none is without its documented default).</summary>
    [Fact]
    public async Task StressCli_Help_EveryOptionListedHasADefault()
    {
        var help = await StressAsync(Timeouts.Default, "--help");

        var listed = help.StdoutText.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("--", StringComparison.Ordinal) && !l.StartsWith("--version", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(Documented.Length, listed.Count);
        Assert.All(listed, l => Assert.Contains("[default: ", l, StringComparison.Ordinal));
    }

    /// <summary>A misspelt option, a value out of range or not among the choices, a missing command: exit code 2 and a message naming it, nothing run.</summary>
    public static TheoryData<string, string> WrongOptions => new()
    {
        { "run --clientz 4", "'--clientz'" },
        { "serve --transport epol", "'epol'" },
        { "run --clients 0", "--clients must be at least 1, not 0" },
        { "run --duration soon", "'soon'" },
        { "run --ops get,fetch", "'fetch' is not an exchange" },
        { "", "Required command was not provided" },
    };

    [Theory]
    [MemberData(nameof(WrongOptions))]
    public async Task StressCli_WrongOption_ExitCodeTwoAndClearMessage(string arguments, string message)
    {
        var result = await StressAsync(Timeouts.Default, arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Stress --help", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.StdoutText);
    }

    /// <summary>The part of <c>Stress --help</c> about <paramref name="command"/>: from its usage line to the next command's.</summary>
    private static string CommandSection(string help, string command)
    {
        int start = help.IndexOf($"Stress {command} [options]", StringComparison.Ordinal);
        Assert.True(start >= 0, $"No usage of {command} in:\n{help}");
        int end = help.IndexOf("Usage:", start, StringComparison.Ordinal);
        return end < 0 ? help[start..] : help[start..end];
    }

    private async Task<ToolResult> StressAsync(TimeSpan timeout, params string[] arguments)
    {
        var result = await ExternalTool.RunAsync(ChildServerProcess.DotnetHost, ["exec", StressServerProcess.StressDll, .. arguments], timeout);
        output.WriteLine($"Stress {string.Join(' ', arguments)}: {result.Describe()}");
        return result;
    }
}
