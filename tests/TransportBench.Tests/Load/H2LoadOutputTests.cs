using TransportBench.Load;

namespace TransportBench.Tests.Load;

/// <summary>h2load's summary as the h2 scenario reads it: "finished in", "requests:", "status codes:", "traffic:".</summary>
public sealed class H2LoadOutputTests
{
    [Fact]
    public void Parse_H2cRun_SucceededRequestsOverItsDuration()
    {
        LoadResult load = H2Load.ParseSummary(Recorded.Run("h2load-h2c.txt"));

        Assert.Equal("h2load", load.Tool);
        // "status codes: 261595 2xx", "finished in 1.00s", "traffic: 51.64MB (54150919) total".
        Assert.Equal(261_595, load.Requests);
        Assert.Equal(1.00, load.Seconds);
        Assert.Equal(54_150_919, load.Bytes);
        Assert.Equal((0L, 0L, 0L), (load.SocketErrors, load.Timeouts, load.Non2xx));
        Assert.Equal((null, null, null), (load.P50Micros, load.P99Micros, load.P999Micros));
        Assert.Null(load.Failure);
    }

    [Fact]
    public void Parse_NotFound_4xxCountedAndTheRunFails()
    {
        LoadResult load = H2Load.ParseSummary(Recorded.Run("h2load-404.txt"));

        Assert.Equal(0, load.Requests);
        Assert.Equal(362_996, load.Non2xx);
        Assert.NotNull(load.Failure);
    }

    /// <summary>"requests: … 1902953 failed, 1902953 errored, 0 timeout": the server died under the load.</summary>
    [Fact]
    public void Parse_ErroredRequests_CountedAsSocketErrors()
    {
        LoadResult load = H2Load.ParseSummary(Recorded.Run("h2load-errored.txt"));

        Assert.Equal(97_047, load.Requests);
        Assert.Equal(1_902_953, load.SocketErrors);
        Assert.Equal(0, load.Timeouts);
    }

    /// <summary>h2load exits 0 when nothing completed (no h2 on the port, nobody listening): the run still fails.</summary>
    [Theory]
    [InlineData("h2load-not-h2.txt")]
    [InlineData("h2load-refused.txt")]
    public void Parse_NothingCompleted_TheRunFails(string file)
    {
        LoadResult load = H2Load.ParseSummary(Recorded.Run(file));

        Assert.Equal(0, load.Requests);
        Assert.Equal("h2load: 0 requests, 0 non-2xx responses, 0 socket errors, 0 timeouts", load.Failure);
    }

    [Theory]
    [InlineData("h2load-crashed.txt", 134, "h2load failed (exit 134):")]
    [InlineData("h2load-truncated.txt", 0, "h2load failed (exit 0):")]
    [InlineData("h2load-h2c.txt", 1, "h2load failed (exit 1):")]
    public void Parse_FailedOrCutShort_ThrowsWithTheOutput(string file, int exitCode, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => H2Load.ParseSummary(Recorded.Run(file, exitCode)));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.Contains(Recorded.Lines(file).Last(l => l.Length > 0), error.Message, StringComparison.Ordinal);
    }
}
