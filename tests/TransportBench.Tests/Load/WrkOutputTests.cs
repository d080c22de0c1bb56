using System.Globalization;
using System.Text.RegularExpressions;
using TransportBench.Load;
using TransportBench.Servers;

namespace TransportBench.Tests.Load;

/// <summary>
/// wrk's output as the runner reads it: the WRK_RESULT line of Load/bench.lua, checked against wrk's own summary and
/// error lines in the same recorded output, and the outputs that must fail a run.
/// </summary>
public sealed partial class WrkOutputTests
{
    [Fact]
    public void Parse_PageRun_RequestsDurationBytesAndPercentiles()
    {
        LoadResult load = WrkClient.Parse(Recorded.Run("wrk-page.txt"));

        Assert.Equal("wrk", load.Tool);
        Assert.Equal(64_664, load.Requests);
        Assert.Equal(1.102049, load.Seconds, 6);
        Assert.Equal(20_239_832, load.Bytes);
        Assert.Equal((211L, 9125L, 19191L), (load.P50Micros, load.P99Micros, load.P999Micros));
        Assert.Equal((0L, 0L, 0L), (load.SocketErrors, load.Timeouts, load.Non2xx));
        Assert.Null(load.Failure);
        // wrk's own line: "Requests/sec:  58676.16".
        Assert.Equal(WrkNumber("wrk-page.txt", @"Requests/sec:\s+([\d.]+)"), load.RequestsPerSecond, 0);
    }

    /// <summary>"Socket errors: connect N, read N, write N, timeout N": the connect, read and write errors add up, timeouts apart.</summary>
    [Theory]
    [InlineData("wrk-socket-errors.txt", 29, 0)]
    [InlineData("wrk-timeouts.txt", 0, 16)]
    public void Parse_SocketErrorsLine_SameCountsAsWrkPrints(string file, long socketErrors, long timeouts)
    {
        Match line = SocketErrorsLine().Match(Recorded.Text(file));
        Assert.True(line.Success, $"no Socket errors line in {file}");

        LoadResult load = WrkClient.Parse(Recorded.Run(file));

        long connect = Group(line, 1), read = Group(line, 2), write = Group(line, 3), timeout = Group(line, 4);
        Assert.Equal(connect + read + write, load.SocketErrors);
        Assert.Equal(timeout, load.Timeouts);
        Assert.Equal((socketErrors, timeouts), (load.SocketErrors, load.Timeouts));
        // Socket errors and timeouts do not void a run that got its 2xx answers: the report shows them.
        Assert.Null(load.Failure);
    }

    [Fact]
    public void Parse_Non2xxResponses_CountedAndTheRunFails()
    {
        LoadResult load = WrkClient.Parse(Recorded.Run("wrk-404.txt"));

        Assert.Equal(WrkNumber("wrk-404.txt", @"Non-2xx or 3xx responses: (\d+)"), load.Non2xx);
        Assert.Equal(51_543, load.Non2xx);
        Assert.Equal("wrk: 51543 requests, 51543 non-2xx responses, 0 socket errors, 0 timeouts", load.Failure);
    }

    [Theory]
    [InlineData("wrk-refused.txt", 1, "wrk failed (exit 1):\nunable to connect to 127.0.0.1:5096 Connection refused")]
    [InlineData("wrk-truncated.txt", 0, "wrk failed (exit 0):")]
    [InlineData("wrk-page.txt", -1, "wrk failed (exit -1, timed out):")]
    public void Parse_FailedOrCutShort_ThrowsWithTheOutput(string file, int exitCode, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => WrkClient.Parse(Recorded.Run(file, exitCode)));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    private static double WrkNumber(string file, string pattern)
    {
        Match match = Regex.Match(Recorded.Text(file), pattern);
        Assert.True(match.Success, $"no '{pattern}' in {file}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static long Group(Match match, int group) => long.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();
}
