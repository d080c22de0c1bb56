using TransportBench.Running;

namespace TransportBench.Tests.Cli;

/// <summary>
/// The layouts (issue 16): where each puts the server and the load, the rounds each gets, and what each changes in the
/// servers' options.
/// </summary>
public sealed class LayoutTests
{
    private static readonly int[] EightCpus = [0, 1, 2, 3, 4, 5, 6, 7];

    [Fact]
    public void All_Default_PinnedThenShared()
    {
        List<CoreLayout> layouts = CoreLayout.All(new BenchOptions(), [0, 1]);

        Assert.Equal(["pinned", "shared"], layouts.Select(l => l.Name));
        Assert.Equal(("1", "0"), (layouts[0].ServerCpus, layouts[0].LoadCpus));
        // Shared: nothing pinned, wrk with a thread per CPU.
        Assert.Equal((null, null, 2), (layouts[1].ServerCpus, layouts[1].LoadCpus, layouts[1].LoadCpuCount));
    }

    [Fact]
    public void All_SplitSweep_UpperNServeTheRestLoad()
    {
        List<CoreLayout> layouts = CoreLayout.All(new BenchOptions { Layouts = ["split"], SplitServerCpus = [1, 2, 4] }, EightCpus);

        Assert.Equal(["split-1", "split-2", "split-4"], layouts.Select(l => l.Name));
        Assert.Equal(("7", "0,1,2,3,4,5,6", 7), (layouts[0].ServerCpus, layouts[0].LoadCpus, layouts[0].LoadCpuCount));
        Assert.Equal(("4,5,6,7", "0,1,2,3"), (layouts[2].ServerCpus, layouts[2].LoadCpus));
        // Without --server-cpus: half of the CPUs.
        Assert.Equal("split-4", CoreLayout.All(new BenchOptions { Layouts = ["split"] }, EightCpus)[0].Name);
    }

    [Theory]
    [InlineData(null, "pinned", 3)]
    [InlineData(null, "shared", 5)]
    [InlineData(null, "split", 5)]
    [InlineData(2, "shared", 2)]
    public void Rounds_ByLayoutUnlessGiven(int? given, string layout, int rounds)
    {
        var options = new BenchOptions { Rounds = given, Layouts = [layout] };

        Assert.Equal(rounds, CoreLayout.All(options, EightCpus)[0].Rounds(options));
    }

    [Fact]
    public void WithOneServerCpu_Shared_StillPinsNothing()
    {
        CoreLayout shared = CoreLayout.Shared([0, 1]);

        Assert.Null(shared.WithOneServerCpu().ServerCpus);
        Assert.Equal("4", CoreLayout.SplitAt(EightCpus, 4).WithOneServerCpu().ServerCpus);
    }

    /// <summary>Outside pinned the server keeps the runtime's own view; in shared the noise rule is off (wrk is there).</summary>
    [Fact]
    public void LayoutPlan_Create_OptionsServersAndStepsOfTheLayout()
    {
        var options = new BenchOptions { ProcessorCount = 2, Servers = ["sockets", "epoll"] };
        IReadOnlyList<Scenario> scenarios = [Scenario.Page, Scenario.Fairness];

        LayoutPlan pinned = LayoutPlan.Create(CoreLayout.Pinned([0, 1]), options, scenarios);
        LayoutPlan shared = LayoutPlan.Create(CoreLayout.Shared([0, 1]), options, scenarios);

        Assert.Equal((2, 10), (pinned.Options.ProcessorCount, pinned.Options.MaxNoisePercent));
        Assert.Equal((null, 100), (shared.Options.ProcessorCount, shared.Options.MaxNoisePercent));
        Assert.Null(shared.Servers[0].Environment["DOTNET_PROCESSOR_COUNT"]);
        Assert.Equal(2 * 2 * 5, shared.Steps.Count);
        Assert.All(shared.Steps, step => Assert.Equal("shared", step.Layout));
        // Shared: the round's processes see every CPU, so fairness gets a process of its own (one loop).
        Assert.All(shared.Steps.Where(s => s.Scenario == Scenario.Fairness), step => Assert.True(step.OwnProcess));
    }
}
