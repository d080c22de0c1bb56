using TransportBench.Cli;
using TransportBench.Servers;

namespace TransportBench.Running;

/// <summary>
/// One layout's part of a run: its options, servers and steps. Every scenario runs in every layout, each with the
/// rounds of <see cref="RunPlan"/> (servers alternating round by round).
/// </summary>
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
