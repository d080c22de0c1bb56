using TransportBench.Load;
using TransportBench.Measure;
using TransportBench.Servers;

namespace TransportBench.Tests.Results;

/// <summary>
/// A small run built by hand, as the runner would have measured it: page (sockets, epoll, the floor), latency
/// (sockets; epoll failed) and idle (sockets, epoll), one round each.
/// </summary>
internal static class SampleRun
{
    public static readonly MachineInfo Machine = new(
        "Test CPU @ 2.80GHz", 2, 24_576, "6.18.44", ".NET 10.0.12", "server pinned to CPU 1, load generator to CPU 0 (taskset; 2 CPUs available)",
        "2026-11-28 04:00 +00:00", "1 round(s) × 10 s measured after a warm-up of 20–60 s", "235f4b0 Hand-off");

    public const string LatencyError = "h2load: 12 requests failed\nsecond line of the error";

    public static RunReport Report(bool quick = false)
    {
        List<RoundSample> samples =
        [
            Throughput("sockets", 71_507, 13.6, 8.0, new SyscallCounts(333, new Dictionary<string, long> { ["recvfrom"] = 200, ["sendto"] = 100 }, 100, 100)),
            Throughput("epoll", 94_207, 10.3, 6.0, new SyscallCounts(211, new Dictionary<string, long> { ["read"] = 100, ["writev"] = 100 }, 100, 100)),
            Throughput("floor", 272_270, 2.1, 0.1, null),
            new RoundSample
            {
                Scenario = "latency", Server = "sockets", Round = 1, RequestsPerSecond = 35_641, CpuMicrosPerRequest = 21.4,
                KernelMicrosPerRequest = 12.0, FixedRate = new FixedRateResult(356_410, 0, 35_754, 35_641, 480, 900, 4_410, 12_200, 15_000),
                Cpu = new CpuUse(TimeSpan.FromSeconds(7.3), TimeSpan.FromSeconds(4), 73, 43, 0), PeakRssKib = 77 * 1024,
                WarmupSeconds = 12.4, JitSettled = true,
            },
            new RoundSample { Scenario = "latency", Server = "epoll", Round = 1, Error = LatencyError },
            Idle("sockets", 9.44),
            Idle("epoll", 8.64),
        ];
        IReadOnlyList<Scenario> scenarios = [Scenario.Page, Scenario.Latency, Scenario.Idle];
        IReadOnlyList<ServerSpec> servers = ServerSpec.Create(new BenchOptions { Servers = ["sockets", "epoll", "floor"] });
        return new RunReport(Machine, quick, 35_754, "half of sockets' 71,507 req/s on the page in this run",
            Summarizer.Summarize(samples, scenarios, servers), samples);
    }

    /// <summary>The same run with the page measured in the shared layout too (sockets and epoll, no floor there).</summary>
    public static RunReport ReportWithShared()
    {
        RunReport pinned = Report();
        SyscallCounts Scheduled(long total) => new(total, new Dictionary<string, long> { ["read"] = 100 }, 100, 100) { ContextSwitches = 40, CpuMigrations = 5 };
        List<RoundSample> samples =
        [
            .. pinned.Samples,
            Throughput("sockets", 47_000, 20.4, 9.0, Scheduled(350), "shared"),
            Throughput("epoll", 70_500, 12.36, 6.5, Scheduled(211), "shared"),
        ];
        IReadOnlyList<ServerSpec> servers = ServerSpec.Create(new BenchOptions { Servers = ["sockets", "epoll", "floor"] });
        List<ScenarioSummary> summaries =
        [
            .. Summarizer.Summarize(samples, [Scenario.Page, Scenario.Latency, Scenario.Idle], servers),
            .. Summarizer.Summarize(samples, [Scenario.Page], servers, "shared"),
        ];
        return pinned with { Scenarios = summaries, Samples = samples };
    }

    private static RoundSample Throughput(
        string server, double rate, double cpu, double kernel, SyscallCounts? syscalls, string layout = "pinned") => new()
    {
        Scenario = "page",
        Server = server,
        Round = 1,
        Layout = layout,
        RequestsPerSecond = rate,
        Requests = (long)(rate * 10),
        CpuMicrosPerRequest = cpu,
        KernelMicrosPerRequest = kernel,
        AllocatedBytesPerRequest = 1,
        ClientCpuMicrosPerRequest = server == "floor" ? 1.6 : null,
        Cpu = new CpuUse(TimeSpan.FromSeconds(9.7), TimeSpan.FromSeconds(kernel * rate * 10 / 1e6), 97, 42, 0),
        PeakRssKib = 80 * 1024,
        Load = new LoadResult("wrk", (long)(rate * 10), 10, 1_000_000, 0, 0, 0, 500, 4_000, 9_000),
        Syscalls = syscalls,
        SyscallsUnavailable = syscalls is null ? "n/a (no sockets: nothing to count)" : null,
        NewProcess = true,
        WarmupSeconds = 31,
        JitSettled = true,
    };

    private static RoundSample Idle(string server, double kibPerConnection) => new()
    {
        Scenario = "idle",
        Server = server,
        Round = 1,
        Idle = new IdleResult(10_000, 10_000, 60 * 1024, 60 * 1024 + (long)(kibPerConnection * 10_000), null),
        PeakRssKib = 160 * 1024,
        SyscallsUnavailable = "idle: no requests to divide by",
    };
}
