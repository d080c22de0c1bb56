namespace TransportBench.Tests.Cli;

/// <summary>CPU lists in taskset syntax (the kernel's Cpus_allowed_list) and the default split.</summary>
public sealed class CpuListTests
{
    [Theory]
    [InlineData("0", new[] { 0 })]
    [InlineData("0-3,5", new[] { 0, 1, 2, 3, 5 })]
    [InlineData("4-7", new[] { 4, 5, 6, 7 })]
    [InlineData("1, 3", new[] { 1, 3 })]
    [InlineData("2-2", new[] { 2 })]
    public void TryParse_TasksetSyntax_EveryCpuInOrder(string list, int[] expected)
    {
        Assert.Equal(expected, CpuList.TryParse(list, out string? error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("", "''")]
    [InlineData("a", "'a'")]
    [InlineData("3-1", "'3-1'")]
    [InlineData("0-", "'0-'")]
    [InlineData("-1", "'-1'")]
    [InlineData("0,,1", "'' in '0,,1'")]
    [InlineData("0-1-2", "'0-1-2'")]
    [InlineData("0-7:2", "'0-7:2'")]
    public void TryParse_NotACpuList_NullAndWhy(string list, string named)
    {
        Assert.Null(CpuList.TryParse(list, out string? error));
        Assert.StartsWith(named + " ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 0, 1 }, "1", "0")]
    [InlineData(new[] { 0, 1, 2 }, "1,2", "0")]
    [InlineData(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }, "4,5,6,7", "0,1,2,3")]
    [InlineData(new[] { 2, 3, 6, 7 }, "6,7", "2,3")]
    public void Split_AvailableCpus_UpperHalfServesLowerHalfLoads(int[] available, string server, string load)
    {
        Assert.Equal((server, load), CoreLayout.Split(available));
    }

    [Fact]
    public void Pinned_TwoCpus_ServerOnCpu1LoadOnCpu0()
    {
        var layout = CoreLayout.Pinned([0, 1]);

        Assert.Equal(("1", "0", 1), (layout.ServerCpus, layout.LoadCpus, layout.LoadCpuCount));
        Assert.Equal([1], layout.ServerCpuList);
    }

    [Fact]
    public void Pinned_OneCpu_NothingPinned()
    {
        var layout = CoreLayout.Pinned([3]);

        Assert.Null(layout.ServerCpus);
        Assert.Null(layout.LoadCpus);
        Assert.Equal([3], layout.ServerCpuList);
        Assert.Equal([3], layout.LoadCpuList);
    }
}
