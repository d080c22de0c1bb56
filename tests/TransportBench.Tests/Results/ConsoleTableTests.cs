using System.Text.RegularExpressions;
using Spectre.Console;
using TransportBench.Running;

namespace TransportBench.Tests.Results;

/// <summary>
/// The summary tables: plain text where stdout is not a terminal (CI, a pipe), one line per row and no ANSI escape;
/// on a terminal, within its width.
/// </summary>
public sealed partial class ConsoleTableTests
{
    [Fact]
    public void Print_NotATerminal_PlainLinesOnePerRowAndNoEscapes()
    {
        var output = new StringWriter();

        ConsoleTable.Print(Terminal.Create(output, isTerminal: false), SampleRun.Report().Scenarios);

        string text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        string[] lines = [.. text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0)];
        Assert.Equal(19, lines.Length);
        // Columns apart by two spaces at least, every header on one line.
        Assert.Equal(
        [
            "scenario", "server", "req/s", "×sock", "CPU µs/req", "×sock", "kernel µs", "user−floor µs", "B/req", "p99 ms",
            "RSS MiB", "busy srv/load %",
        ], Columns(lines[0]));
        Assert.Equal(
            ["page sockets", "page epoll", "page floor", "latency sockets", "latency epoll", "idle sockets", "idle epoll"],
            lines[1..8].Select(FirstTwoCells));
        Assert.Equal(["page", "epoll", "94,207", "1.32×", "10.3", "0.76×", "6.0", "2.2", "1", "4.00", "80", "97/42"], Columns(lines[2]));
        Assert.Equal(["idle", "epoll", "160"], Columns(lines[7]));
        Assert.StartsWith("kernel: the server's stime per request", lines[8], StringComparison.Ordinal);

        Assert.Equal(["scenario", "server", "syscalls/req", "writes/resp", "top syscalls/req"], Columns(lines[9]));
        Assert.Equal(["page sockets", "page epoll", "page floor", "latency sockets", "latency epoll"], lines[10..15].Select(FirstTwoCells));
        Assert.Equal(["page", "epoll", "2.11", "1.00", "read 1.00, writev 1.00"], Columns(lines[11]));

        Assert.Equal(["scenario", "server", "note"], Columns(lines[15]));
        Assert.Equal(["latency", "epoll", "FAILED: round 1: h2load: 12 requests failed"], Columns(lines[16]));
        Assert.Equal(["idle", "epoll", "10,000 idle connections, 8.6 KiB each (0.92× sockets)"], Columns(lines[18]));
    }

    /// <summary>Without a syscall pass (--no-perf), no syscalls table: it would be n/a from top to bottom.</summary>
    [Fact]
    public void Print_NoSyscallsCounted_NoSyscallsTable()
    {
        var output = new StringWriter();
        ScenarioSummary[] uncounted = [.. SampleRun.Report().Scenarios.Select(scenario => scenario with
        {
            Servers = [.. scenario.Servers.Select(s => s with { SyscallsPerRequest = null, WritesPerResponse = null, TopSyscalls = [] })],
        })];

        ConsoleTable.Print(Terminal.Create(output, isTerminal: false), uncounted);

        Assert.DoesNotContain("syscalls/req", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("busy srv/load %", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("FAILED: round 1: h2load: 12 requests failed", output.ToString(), StringComparison.Ordinal);
    }

    /// <summary>On a 120-column terminal: escapes (bold headers), and every row of both tables on one line.</summary>
    [Fact]
    public void Print_Terminal120Columns_EachRowFitsOnOneLine()
    {
        var output = new StringWriter();
        IAnsiConsole terminal = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
        });
        terminal.Profile.Width = 120;

        ConsoleTable.Print(terminal, SampleRun.Report().Scenarios);

        string text = output.ToString();
        Assert.Contains('\u001b', text);
        string[] lines = [.. Escape().Replace(text, "").Split('\n').Select(l => l.TrimEnd())];
        Assert.All(lines, line => Assert.True(line.Length <= 120, $"wider than the terminal: {line}"));
        Assert.Single(lines, line => Columns(line.Trim()) is ["page", "epoll", "94,207", "1.32×", "10.3", "0.76×", "6.0", "2.2", "1", "4.00", "80", "97/42"]);
        Assert.Single(lines, line => Columns(line.Trim()) is ["latency", "epoll", "FAILED: round 1: h2load: 12 requests failed"]);
    }

    private static string[] Columns(string line) => Regex.Split(line, " {2,}");

    private static string FirstTwoCells(string line) => string.Join(' ', line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2));

    [GeneratedRegex("\u001b\\[[0-9;]*m")]
    private static partial Regex Escape();
}
