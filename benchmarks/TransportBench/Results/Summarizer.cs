namespace TransportBench.Results;

/// <summary>Reduces round samples to medians (robust to one noisy round on a shared machine) and ratios.</summary>
internal static class Summarizer
{
    /// <param name="layout">The layout whose samples to summarize.</param>
    public static List<ScenarioSummary> Summarize(
        IReadOnlyList<RoundSample> samples, IReadOnlyList<Scenario> scenarios, IReadOnlyList<ServerSpec> servers, string layout = "pinned")
    {
        var result = new List<ScenarioSummary>();
        foreach (Scenario scenario in scenarios)
        {
            var raw = servers
                .Select(spec => (spec.Name, Samples: samples.Where(s => s.Layout == layout && s.Scenario == scenario.Name && s.Server == spec.Name).ToList()))
                .Where(x => x.Samples.Count > 0).Select(x => Reduce(x.Name, x.Samples)).ToList();
            ServerSummary? baseline = raw.FirstOrDefault(s => s.Server == ServerSpec.BaselineName);
            ServerSummary? floor = raw.FirstOrDefault(s => s.Server == ServerSpec.FloorName && s.Rounds > 0);
            result.Add(new ScenarioSummary(scenario, [.. raw.Select(s => WithRatios(s, baseline, floor))], layout));
        }
        return result;
    }

    public static double? Median(IEnumerable<double?> values) => values.OfType<double>().Order().ToList() switch
    {
        [] => null,
        var sorted when sorted.Count % 2 == 1 => sorted[sorted.Count / 2],
        var sorted => (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2,
    };

    private static ServerSummary Reduce(string server, List<RoundSample> samples)
    {
        var good = samples.Where(s => s.Error is null).ToList();
        var rps = good.Select(s => s.RequestsPerSecond).OfType<double>().ToList();
        var withSyscalls = good.Where(s => s.Syscalls is { Requests: > 0 }).ToList();
        var top = withSyscalls.SelectMany(s => s.Syscalls!.BySyscall.Keys).Distinct()
            .Select(name => new SyscallShare(name, Median(withSyscalls.Select(s =>
                (double?)s.Syscalls!.PerRequest(s.Syscalls.BySyscall.GetValueOrDefault(name)))) ?? 0))
            .Where(share => share.PerRequest >= 0.005).OrderByDescending(share => share.PerRequest).Take(6).ToList();
        // The ratios and the user CPU above the floor come from the other servers (WithRatios).
        return new ServerSummary(
            Server: server, Rounds: good.Count, Identity: samples.Select(s => s.Identity).FirstOrDefault(i => i is not null),
            RequestsPerSecond: Median(good.Select(s => s.RequestsPerSecond)), RequestsPerSecondRatio: null,
            RequestsPerSecondMin: rps.Count > 0 ? rps.Min() : null, RequestsPerSecondMax: rps.Count > 0 ? rps.Max() : null,
            CpuMicrosPerRequest: Median(good.Select(s => s.CpuMicrosPerRequest)), CpuRatio: null,
            KernelMicrosPerRequest: Median(good.Select(s => s.KernelMicrosPerRequest)), UserAboveFloorMicrosPerRequest: null,
            ClientCpuMicrosPerRequest: Median(good.Select(s => s.ClientCpuMicrosPerRequest)),
            AllocatedBytesPerRequest: Median(good.Select(s => s.AllocatedBytesPerRequest)),
            PeakRssMib: Median(good.Select(s => s.PeakRssKib / 1024.0)), WarmupSeconds: Median(good.Select(s => s.WarmupSeconds)),
            OfferedRate: Median(good.Select(s => s.FixedRate?.OfferedRate)),
            P50Millis: Median(good.Select(s => (s.FixedRate?.P50Micros ?? s.Fairness?.P50Micros ?? s.Load?.P50Micros) / 1000.0)),
            P99Millis: Median(good.Select(s => (s.FixedRate?.P99Micros ?? s.Fairness?.P99Micros ?? s.Load?.P99Micros) / 1000.0)),
            P999Millis: Median(good.Select(s => (s.FixedRate?.P999Micros ?? s.Fairness?.P999Micros ?? s.Load?.P999Micros) / 1000.0)),
            MaxMillis: Median(good.Select(s => (s.FixedRate?.MaxMicros ?? s.Fairness?.MaxMicros) / 1000.0)),
            FloodMiBPerSecond: Median(good.Select(s => s.Fairness?.FloodMiBPerSecond)),
            StarvedRounds: good.Count(s => s.Fairness?.Starved == true), P99Ratio: null,
            IdleConnections: good.Select(s => s.Idle?.Opened).FirstOrDefault(v => v.HasValue),
            IdleBytesPerConnection: Median(good.Select(s => s.Idle?.BytesPerConnection)), IdleRatio: null,
            IdleNote: good.Select(s => s.Idle?.Note).FirstOrDefault(n => n is not null),
            SyscallsPerRequest: Median(withSyscalls.Select(s => (double?)s.Syscalls!.PerRequest(s.Syscalls.Total))),
            WritesPerResponse: Median(withSyscalls.Select(s => (double?)s.Syscalls!.PerRequest(s.Syscalls.SocketWrites))),
            ContextSwitchesPerRequest: Median(withSyscalls.Select(s => s.Syscalls!.ContextSwitches is long n ? s.Syscalls.PerRequest(n) : (double?)null)),
            MigrationsPerRequest: Median(withSyscalls.Select(s => s.Syscalls!.CpuMigrations is long n ? s.Syscalls.PerRequest(n) : (double?)null)),
            TopSyscalls: top,
            SyscallsUnavailable: withSyscalls.Count > 0 ? null : samples.Select(s => s.SyscallsUnavailable).FirstOrDefault(r => r is not null),
            ServerBusyPercent: Median(good.Select(s => s.Cpu?.ServerBusyPercent)), LoadBusyPercent: Median(good.Select(s => s.Cpu?.LoadBusyPercent)),
            ForeignCpuPercentMax: good.Select(s => s.Cpu?.ForeignPercent).Max(),
            Errors: [.. samples.Where(s => s.Error is not null).Select(s => $"round {s.Round}: {s.Error}")]);
    }

    /// <summary>Ratios against sockets, and the user CPU above the floor (issue 9: where the CPU of a request goes).</summary>
    private static ServerSummary WithRatios(ServerSummary summary, ServerSummary? baseline, ServerSummary? floor) => summary with
    {
        UserAboveFloorMicrosPerRequest = summary.Server != ServerSpec.FloorName
            && summary.CpuMicrosPerRequest is double cpu && summary.KernelMicrosPerRequest is double kernel && floor?.CpuMicrosPerRequest is double f
                ? cpu - kernel - f
                : null,
        RequestsPerSecondRatio = Ratio(summary.RequestsPerSecond, baseline?.RequestsPerSecond),
        CpuRatio = Ratio(summary.CpuMicrosPerRequest, baseline?.CpuMicrosPerRequest),
        P99Ratio = Ratio(summary.P99Millis, baseline?.P99Millis),
        IdleRatio = Ratio(summary.IdleBytesPerConnection, baseline?.IdleBytesPerConnection),
    };

    /// <summary>Scaling efficiency: per server and scenario, CPU per request in each layout that is not pinned ÷
    /// pinned, where both were measured (above 1: a request costs more CPU when the server spreads over more CPUs or
    /// shares them).</summary>
    public static List<(string Layout, Scenario Scenario, string Server, double Ratio)> ScalingEfficiency(IReadOnlyList<ScenarioSummary> summaries) =>
    [
        .. from other in summaries.Where(s => s.Layout != "pinned")
           let pinned = summaries.FirstOrDefault(s => s.Layout == "pinned" && s.Scenario == other.Scenario)
           where pinned is not null
           from server in other.Servers
           let ratio = Ratio(server.CpuMicrosPerRequest, pinned.Find(server.Server)?.CpuMicrosPerRequest)
           where ratio is not null
           select (other.Layout, other.Scenario, server.Server, ratio!.Value),
    ];

    private static double? Ratio(double? value, double? baseline) => value is double v && baseline is double b && b > 0 ? v / b : null;
}
