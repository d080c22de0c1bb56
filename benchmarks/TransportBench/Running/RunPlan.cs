namespace TransportBench.Running;

/// <summary>One measurement of a run: a server in a scenario in a round.</summary>
/// <param name="NewProcess">Whether it starts a server process (warmed up from --warmup) rather than use the kept one.</param>
/// <param name="OwnProcess">Whether that process serves this scenario alone (and ends with it).</param>
internal sealed record Step(Scenario Scenario, int Round, ServerSpec Server, bool NewProcess, bool OwnProcess)
{
    /// <summary>The layout it runs in (<see cref="Cli.CoreLayout.Name"/>).</summary>
    public string Layout { get; init; } = "pinned";
}

/// <summary>The order of a run, and which process serves each measurement (docs/benchmarks.md, "Rounds, processes and
/// warm-ups"); the floor runs only what it can serve.</summary>
internal static class RunPlan
{
    /// <param name="oneCpuOneRuntimeCpu">The server CPUs are one CPU and the runtime sees one (no --processor-count
    /// above 1): the round's processes then already run as the fairness scenario asks.</param>
    public static List<Step> Create(IReadOnlyList<Scenario> scenarios, IReadOnlyList<ServerSpec> servers, int rounds, bool oneCpuOneRuntimeCpu,
        string layout = "pinned")
    {
        var steps = new List<Step>();
        for (int round = 1; round <= rounds; round++)
        {
            int turn = (round - 1) % servers.Count;
            ServerSpec[] order = [.. servers.Skip(turn), .. servers.Take(turn)];
            var started = new HashSet<string>();
            foreach (Scenario scenario in scenarios)
            {
                foreach (ServerSpec server in order.Where(server => !server.IsFloor || scenario.FloorServes))
                {
                    bool own = NeedsOwnProcess(scenario, server, oneCpuOneRuntimeCpu);
                    steps.Add(new Step(scenario, round, server, own || started.Add(server.Name), own) { Layout = layout });
                }
            }
        }
        return steps;
    }

    /// <summary>Whether a measurement needs a server process of its own: idle (RSS per connection), and fairness unless
    /// the round's process already has one CPU, one in the runtime's view, and no more loops (<c>--threads</c>).</summary>
    public static bool NeedsOwnProcess(Scenario scenario, ServerSpec server, bool oneCpuOneRuntimeCpu) => scenario.Kind switch
    {
        ScenarioKind.Idle => true,
        ScenarioKind.Fairness => !oneCpuOneRuntimeCpu || server.ThreadCount > 1,
        _ => false,
    };
}

/// <summary>One layout's part of a run: its options, servers and steps (<see cref="RunPlan"/>).</summary>
/// <param name="Options">The run's options as this layout applies them: outside pinned no <c>--processor-count</c>; in
/// shared no noise rule (the load generator runs on the server's CPUs).</param>
internal sealed record LayoutPlan(CoreLayout Layout, BenchOptions Options, IReadOnlyList<ServerSpec> Servers, IReadOnlyList<Step> Steps)
{
    public static LayoutPlan Create(CoreLayout layout, BenchOptions options, IReadOnlyList<Scenario> scenarios)
    {
        BenchOptions own = layout.Kind switch
        {
            LayoutKind.Pinned => options,
            LayoutKind.Shared => options with { ProcessorCount = null, MaxNoisePercent = 100 },
            _ => options with { ProcessorCount = null },
        };
        IReadOnlyList<ServerSpec> servers = ServerSpec.Create(own);
        // As on the 2-CPU reference VM: every server's process runs as the fairness scenario asks (RunPlan).
        bool oneCpuOneRuntimeCpu = layout.ServerCpus is not null && layout.ServerCpuList.Count == 1 && own.ProcessorCount is null or 1;
        return new LayoutPlan(layout, own, servers, RunPlan.Create(scenarios, servers, layout.Rounds(options), oneCpuOneRuntimeCpu, layout.Name));
    }
}
