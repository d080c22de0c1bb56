using TransportBench.Load;

namespace TransportBench.Tests.Load;

/// <summary>
/// The latency scenario's figures, from h2load's per-request log (start µs TAB status TAB µs to the response's end):
/// nearest-rank percentiles, failures, the achieved rate. Expected values worked out by hand from the recorded log.
/// </summary>
public sealed class H2LoadLogTests
{
    [Fact]
    public void Summarize_RecordedLog_NearestRankPercentilesAndAchievedRate()
    {
        FixedRateResult result = H2Load.SummarizeLog(Recorded.Lines("h2load-rps.log"), rate: 200);

        Assert.Equal(200, result.Requests);
        Assert.Equal(0, result.Failed);
        Assert.Equal(200, result.OfferedRate);
        // 200 rows: p50 is the 100th smallest, p90 the 180th, p99 the 198th, p99.9 the 200th (ceil(199.8)).
        Assert.Equal((276L, 538L, 2964L, 3003L, 3003L),
            (result.P50Micros, result.P90Micros, result.P99Micros, result.P999Micros, result.MaxMicros));
        // 200 requests whose starts span 0.980517 s.
        Assert.Equal(200 / 0.980517, result.AchievedRate, 6);
    }

    [Fact]
    public void Summarize_FailedAnd4xxRows_CountedAsFailedAndLeftOutOfLatencies()
    {
        string[] lines =
        [
            .. Recorded.Lines("h2load-rps.log").Take(10),
            // h2load logs a request that failed (reset, refused) with status -1; its latency is meaningless.
            "1795927652999999\t-1\t999999",
            .. Recorded.Lines("h2load-rps-404.log").Take(3),
        ];

        FixedRateResult result = H2Load.SummarizeLog(lines, rate: 50);

        Assert.Equal(10, result.Requests);
        Assert.Equal(4, result.Failed);
        Assert.True(result.MaxMicros < 999_999, $"a failed request's time was taken as a latency: max {result.MaxMicros} µs");
    }

    [Fact]
    public void Summarize_RowsCutShort_LeftOut()
    {
        string[] lines = [.. Recorded.Lines("h2load-rps.log").Take(4), "1795927652141", "1795927652141736\t2", "1795927652141736\t200\t4x"];

        FixedRateResult result = H2Load.SummarizeLog(lines, rate: 50);

        Assert.Equal(4, result.Requests);
        Assert.Equal(0, result.Failed);
    }

    [Fact]
    public void Summarize_OnlyFailures_Throws()
    {
        var error = Assert.Throws<InvalidOperationException>(() => H2Load.SummarizeLog(Recorded.Lines("h2load-rps-404.log"), rate: 40));

        Assert.Equal("h2load completed no request (40 failed).", error.Message);
    }

    [Theory]
    [InlineData(0.50, 5)]
    [InlineData(0.90, 9)]
    [InlineData(0.99, 10)]
    [InlineData(0.001, 1)]
    [InlineData(1.0, 10)]
    public void NearestRank_OneToTen_TheValueAtCeilingOfFractionTimesCount(double fraction, long expected)
    {
        List<long> sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

        Assert.Equal(expected, Percentiles.NearestRank(sorted, fraction));
    }
}
