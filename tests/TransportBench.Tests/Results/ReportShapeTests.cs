using System.Text.Json;

namespace TransportBench.Tests.Results;

/// <summary>
/// The shape of results.md and results.json, which every published figure goes through: the sections, tables whose
/// rows fill their header's columns, the figures where they belong, errors verbatim; the JSON names other tools read.
/// </summary>
public sealed class ReportShapeTests
{
    [Fact]
    public void MarkdownRender_Report_SectionsInOrder()
    {
        string md = MarkdownReport.Render(SampleRun.Report());

        string[] headings = [.. md.Split('\n').Where(l => l.StartsWith('#'))];
        Assert.Equal(
        [
            "# Transport benchmark results",
            "## Overview: requests/s (× sockets) · server CPU µs per request (× sockets)",
            "## Where the CPU of a request goes: µs per request",
            "## page (pinned): magedu page `/`, 64 connections",
            "## latency (pinned): magedu page `/` at a fixed offered rate, 64 connections",
            "## idle (pinned): idle keep-alive connections (RSS per connection)",
            "## Errors",
        ], headings);
        Assert.Contains("- Machine: 2 × Test CPU @ 2.80GHz, 24 GiB, Linux 6.18.44, .NET 10.0.12; server pinned to CPU 1", md, StringComparison.Ordinal);
        Assert.Contains("- Code: 235f4b0 Hand-off", md, StringComparison.Ordinal);
        Assert.Contains("- Latency scenario: fixed offered load 35,754 req/s (half of sockets' 71,507 req/s on the page in this run)", md, StringComparison.Ordinal);
        Assert.DoesNotContain("--quick run", md, StringComparison.Ordinal);
    }

    /// <summary>Every Markdown table: the separator row and every measured row have as many cells as the header.</summary>
    [Fact]
    public void MarkdownRender_EveryTable_RowsFillTheHeadersColumns()
    {
        string md = MarkdownReport.Render(SampleRun.Report());

        var tables = Tables(md);
        Assert.Equal(6, tables.Count);
        foreach (List<string> table in tables)
        {
            int columns = Cells(table[0]);
            Assert.True(table[1].StartsWith("|---", StringComparison.Ordinal), $"no separator under {table[0]}");
            Assert.Equal(columns, Cells(table[1]));
            // A server that failed every round has one cell saying so, by design.
            Assert.All(table.Skip(2).Where(r => !r.Contains("failed (see Errors)", StringComparison.Ordinal)), row => Assert.Equal(columns, Cells(row)));
        }
    }

    [Fact]
    public void MarkdownRender_Figures_InTheirRowsAndColumns()
    {
        string md = MarkdownReport.Render(SampleRun.Report());

        Assert.Contains("| page | pinned | 71,507 (1.00×) · 13.6 µs (1.00×) | 94,207 (1.32×) · 10.3 µs (0.76×) | 272,270 (3.81×) · 2.1 µs (0.15×) |", md, StringComparison.Ordinal);
        Assert.Contains("| epoll | 94,207 (94,207–94,207) | 1.32× | 4.00 | 10.3 | 0.76× | 6.0 | 1 | 80 | 2.11 | 1.00 | n/a | n/a | read 1.00, writev 1.00 | 97 / 42 | 0 |", md, StringComparison.Ordinal);
        Assert.Contains("| page | pinned | 2.1 | 8.0 + 3.5 = 11.5 | 6.0 + 2.2 = 8.2 |", md, StringComparison.Ordinal);
        Assert.Contains("| sockets | 35,641 | 0.48 | 4.41 | 12.20 | 1.00× |", md, StringComparison.Ordinal);
        Assert.Contains("| epoll | 10,000 | 8.64 KiB | 0.92× | 160 |  |", md, StringComparison.Ordinal);
    }

    /// <summary>What the warm-ups were, new processes apart from kept ones, and what peak RSS means when processes are kept.</summary>
    [Fact]
    public void MarkdownRender_Report_WarmupsAndThePeakRssOfKeptProcesses()
    {
        string md = MarkdownReport.Render(SampleRun.Report());

        Assert.Contains("- Warm-up per measurement (the warm-up s column: medians): 31 s on a new server process (3), 12 s on one kept " +
            "from the round's earlier scenarios (1); the JIT went quiet in 4 of 4.", md, StringComparison.Ordinal);
        Assert.Contains("- Peak RSS: the server process's VmHWM over the scenario, reset at its start.", md, StringComparison.Ordinal);
        Assert.Contains("| 97 / 42 | 0 | 31 |", md, StringComparison.Ordinal);
        Assert.Contains("| 73 / 43 | 0 | 12 |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void MarkdownRender_FailedMeasurement_ErrorVerbatimUnderErrors()
    {
        string md = MarkdownReport.Render(SampleRun.Report());

        string errors = md[md.IndexOf("## Errors", StringComparison.Ordinal)..];
        Assert.Contains("- **epoll** (latency pinned r1):\n  ```\n  h2load: 12 requests failed\n  second line of the error\n  ```", errors, StringComparison.Ordinal);
        Assert.Contains("| epoll | failed (see Errors) |", md, StringComparison.Ordinal);
    }

    [Fact]
    public void MarkdownRender_Quick_SaysTheFiguresAreNotWorthQuoting()
    {
        Assert.Contains("- **--quick run: proves the runner works; the figures are not worth quoting.**",
            MarkdownReport.Render(SampleRun.Report(quick: true)), StringComparison.Ordinal);
    }

    /// <summary>results.json: what the packaging test and later analysis read, by these names.</summary>
    [Fact]
    public void JsonSerialize_Report_EverySampleByNameWithNullsLeftOut()
    {
        using var json = JsonDocument.Parse(JsonReport.Serialize(SampleRun.Report()));
        JsonElement root = json.RootElement;

        Assert.Equal(["Machine", "Quick", "LatencyRate", "LatencyRateSource", "Scenarios", "Samples"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(35_754, root.GetProperty("LatencyRate").GetDouble());
        JsonElement[] samples = [.. root.GetProperty("Samples").EnumerateArray()];
        Assert.Equal(7, samples.Length);
        JsonElement epollPage = samples[1];
        Assert.Equal(("page", "epoll", 1), (epollPage.GetProperty("Scenario").GetString(), epollPage.GetProperty("Server").GetString(), epollPage.GetProperty("Round").GetInt32()));
        Assert.Equal(94_207, epollPage.GetProperty("RequestsPerSecond").GetDouble());
        Assert.False(epollPage.TryGetProperty("Error", out _), "a sample without an error has no Error property");
        Assert.Equal(100, epollPage.GetProperty("Syscalls").GetProperty("BySyscall").GetProperty("read").GetInt64());
        Assert.Equal(SampleRun.LatencyError, samples[4].GetProperty("Error").GetString());
        // Enums by name, and the non-ASCII of the reports as it is.
        Assert.Equal("Throughput", root.GetProperty("Scenarios")[0].GetProperty("Scenario").GetProperty("Kind").GetString());
        Assert.Contains("× ", root.GetProperty("Machine").GetProperty("Settings").GetString() ?? "", StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 16: a run in two layouts. Every scenario table says its layout in its heading, every other table in a
    /// column; the scaling efficiency is each server's CPU per request in shared ÷ pinned; context switches and
    /// migrations per request sit beside the syscalls.
    /// </summary>
    [Fact]
    public void MarkdownRender_TwoLayouts_LayoutInEveryTableAndScalingEfficiency()
    {
        string md = MarkdownReport.Render(SampleRun.ReportWithShared());

        Assert.Contains("## page (shared): magedu page `/`, 64 connections", md, StringComparison.Ordinal);
        string scaling = md[md.IndexOf("## Scaling efficiency: CPU per request in the layout ÷ pinned", StringComparison.Ordinal)..];
        // sockets 20.4 / 13.6, epoll 12.36 / 10.3; the floor ran pinned only.
        Assert.Contains("| scenario | layout | sockets | epoll |\n|---|---|--:|--:|\n| page | shared | 1.50× | 1.20× |", scaling, StringComparison.Ordinal);
        Assert.Contains("| page | shared | 47,000 (1.00×) · 20.4 µs (1.00×) | 70,500 (1.50×) · 12.4 µs (0.61×) | n/a |", md, StringComparison.Ordinal);
        Assert.Contains("| 2.11 | 1.00 | 0.40 | 0.050 |", md, StringComparison.Ordinal);
        foreach (List<string> table in Tables(md).Where(t => !t[0].StartsWith("| server | idle", StringComparison.Ordinal)))
        {
            bool inHeading = md[..md.IndexOf(table[0], StringComparison.Ordinal)].Split("\n## ")[^1].Contains("(pinned)", StringComparison.Ordinal)
                || md[..md.IndexOf(table[0], StringComparison.Ordinal)].Split("\n## ")[^1].Contains("(shared)", StringComparison.Ordinal);
            Assert.True(inHeading || table[0].Contains("| layout |", StringComparison.Ordinal), $"no layout for {table[0]}");
        }
    }

    /// <summary>The Markdown tables of <paramref name="md"/>: runs of lines starting with '|'.</summary>
    private static List<List<string>> Tables(string md)
    {
        var tables = new List<List<string>>();
        List<string>? current = null;
        foreach (string line in md.Split('\n'))
        {
            if (line.StartsWith('|'))
            {
                current ??= [];
                current.Add(line);
            }
            else if (current is not null)
            {
                tables.Add(current);
                current = null;
            }
        }
        return tables;
    }

    private static int Cells(string row) => row.Trim().Trim('|').Split('|').Length;
}
