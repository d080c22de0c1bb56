namespace TransportBench.Running;

/// <summary>One measurement of a run: a server in a scenario in a round.</summary>
/// <param name="NewProcess">Whether it starts a server process, and so warms up from --warmup, rather than using the
/// one its server keeps for the round.</param>
/// <param name="OwnProcess">Whether that process serves this scenario alone (and ends with it).</param>
internal sealed record Step(Scenario Scenario, int Round, ServerSpec Server, bool NewProcess, bool OwnProcess)
{
    /// <summary>The layout it runs in (<see cref="Cli.CoreLayout.Name"/>).</summary>
    public string Layout { get; init; } = "pinned";
}

/// <summary>The order of a run, and which process serves each measurement. Round after round; in a round, the scenarios
/// in the order given, and in each scenario every server once (A B C), so that drift on a shared machine hits all of
/// them alike; the servers' order turns by one each round (B C A, then C A B). Each server keeps one process for the
/// round for every scenario that can share it; the others get one of their own (<see cref="NeedsOwnProcess"/>). The
/// floor runs only what it can serve (HTTP/1.1 at saturation).</summary>
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

    /// <summary>Whether a measurement needs a server process of its own. Idle does: it measures RSS per connection,
    /// which a process whose heap and pools already grew would partly hide. Fairness asks for one server CPU and one
    /// event loop, which the round's process already has when it runs on one CPU, its runtime sees one (Sockets and the
    /// epoll transport size their threads by ProcessorCount), and it asks for no more loops (<c>--threads</c>).</summary>
    public static bool NeedsOwnProcess(Scenario scenario, ServerSpec server, bool oneCpuOneRuntimeCpu) => scenario.Kind switch
    {
        ScenarioKind.Idle => true,
        ScenarioKind.Fairness => !oneCpuOneRuntimeCpu || server.ThreadCount > 1,
        _ => false,
    };
}

/// <summary>One layout's part of a run: its options, servers and steps. Every scenario runs in every layout, each with
/// the rounds of <see cref="RunPlan"/> (servers alternating round by round).</summary>
/// <param name="Options">The run's options as this layout applies them: outside pinned the server keeps the runtime's
/// own view (no <c>--processor-count</c>); in shared the load generator runs on the server's CPUs, so the noise rule,
/// which counts other processes' time there, does not apply.</param>
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
