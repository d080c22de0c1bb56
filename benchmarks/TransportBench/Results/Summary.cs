using TransportBench.Servers;

namespace TransportBench.Results;

/// <summary>A syscall and how many of it a request costs.</summary>
internal sealed record SyscallShare(string Name, double PerRequest);

/// <summary>One server in one scenario: medians over its successful rounds, and ratios against sockets.</summary>
internal sealed record ServerSummary
{
    public required string Server { get; init; }

    /// <summary>Rounds that produced a measurement.</summary>
    public int Rounds { get; init; }

    public ServerIdentity? Identity { get; init; }

    public double? RequestsPerSecond { get; init; }

    public double? RequestsPerSecondMin { get; init; }

    public double? RequestsPerSecondMax { get; init; }

    public double? RequestsPerSecondRatio { get; init; }

    public double? CpuMicrosPerRequest { get; init; }

    public double? CpuRatio { get; init; }

    public double? ClientCpuMicrosPerRequest { get; init; }

    public double? AllocatedBytesPerRequest { get; init; }

    public double? PeakRssMib { get; init; }

    public double? OfferedRate { get; init; }

    public double? P50Millis { get; init; }

    public double? P99Millis { get; init; }

    public double? P999Millis { get; init; }

    public double? P99Ratio { get; init; }

    public int? IdleConnections { get; init; }

    public double? IdleBytesPerConnection { get; init; }

    public double? IdleRatio { get; init; }

    public string? IdleNote { get; init; }

    public double? SyscallsPerRequest { get; init; }

    public IReadOnlyList<SyscallShare> TopSyscalls { get; init; } = [];

    public string? SyscallsUnavailable { get; init; }

    /// <summary>Median share of the server CPUs the server used during timed rounds, percent.</summary>
    public double? ServerBusyPercent { get; init; }

    /// <summary>Median busy share of the load CPUs during timed rounds, percent.</summary>
    public double? LoadBusyPercent { get; init; }

    /// <summary>The most CPU other processes took on the server's CPUs during any timed round, percent.</summary>
    public double? ForeignCpuPercentMax { get; init; }

    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>Every server in one scenario.</summary>
internal sealed record ScenarioSummary(Scenario Scenario, IReadOnlyList<ServerSummary> Servers)
{
    public ServerSummary? Find(string server) => Servers.FirstOrDefault(s => s.Server == server);
}

/// <summary>Reduces round samples to medians (robust to one noisy round on a shared machine) and ratios.</summary>
internal static class Summarizer
{
    public static List<ScenarioSummary> Summarize(
        IReadOnlyList<RoundSample> samples, IReadOnlyList<Scenario> scenarios, IReadOnlyList<ServerSpec> servers)
    {
        var result = new List<ScenarioSummary>();
        foreach (Scenario scenario in scenarios)
        {
            var raw = servers
                .Select(spec => (spec.Name, Samples: samples.Where(s => s.Scenario == scenario.Name && s.Server == spec.Name).ToList()))
                .Where(x => x.Samples.Count > 0)
                .Select(x => Reduce(x.Name, x.Samples))
                .ToList();
            ServerSummary? baseline = raw.FirstOrDefault(s => s.Server == ServerSpec.BaselineName);
            result.Add(new ScenarioSummary(scenario, [.. raw.Select(s => WithRatios(s, baseline))]));
        }
        return result;
    }

    public static double? Median(IEnumerable<double?> values)
    {
        var sorted = values.Where(v => v.HasValue).Select(v => v!.Value).Order().ToList();
        if (sorted.Count == 0)
        {
            return null;
        }
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static ServerSummary Reduce(string server, List<RoundSample> samples)
    {
        var good = samples.Where(s => s.Error is null).ToList();
        var rps = good.Select(s => s.RequestsPerSecond).Where(v => v.HasValue).Select(v => v!.Value).ToList();
        var withSyscalls = good.Where(s => s.Syscalls is { Requests: > 0 }).ToList();
        var syscallNames = withSyscalls.SelectMany(s => s.Syscalls!.BySyscall.Keys).Distinct();
        var top = syscallNames
            .Select(name => new SyscallShare(name, Median(withSyscalls.Select(s =>
                (double?)s.Syscalls!.PerRequest(s.Syscalls.BySyscall.GetValueOrDefault(name)))) ?? 0))
            .Where(share => share.PerRequest >= 0.005)
            .OrderByDescending(share => share.PerRequest)
            .Take(6)
            .ToList();
        return new ServerSummary
        {
            Server = server,
            Rounds = good.Count,
            Identity = samples.Select(s => s.Identity).FirstOrDefault(i => i is not null),
            RequestsPerSecond = Median(good.Select(s => s.RequestsPerSecond)),
            RequestsPerSecondMin = rps.Count > 0 ? rps.Min() : null,
            RequestsPerSecondMax = rps.Count > 0 ? rps.Max() : null,
            CpuMicrosPerRequest = Median(good.Select(s => s.CpuMicrosPerRequest)),
            ClientCpuMicrosPerRequest = Median(good.Select(s => s.ClientCpuMicrosPerRequest)),
            AllocatedBytesPerRequest = Median(good.Select(s => s.AllocatedBytesPerRequest)),
            PeakRssMib = Median(good.Select(s => s.PeakRssKib / 1024.0)),
            OfferedRate = Median(good.Select(s => s.FixedRate?.OfferedRate)),
            P50Millis = Median(good.Select(s => s.FixedRate?.P50Micros / 1000.0)),
            P99Millis = Median(good.Select(s => s.FixedRate?.P99Micros / 1000.0)),
            P999Millis = Median(good.Select(s => s.FixedRate?.P999Micros / 1000.0)),
            IdleConnections = good.Select(s => s.Idle?.Opened).FirstOrDefault(v => v.HasValue),
            IdleBytesPerConnection = Median(good.Select(s => s.Idle?.BytesPerConnection)),
            IdleNote = good.Select(s => s.Idle?.Note).FirstOrDefault(n => n is not null),
            SyscallsPerRequest = Median(withSyscalls.Select(s => (double?)s.Syscalls!.PerRequest(s.Syscalls.Total))),
            TopSyscalls = top,
            SyscallsUnavailable = withSyscalls.Count > 0 ? null : samples.Select(s => s.SyscallsUnavailable).FirstOrDefault(r => r is not null),
            ServerBusyPercent = Median(good.Select(s => s.Cpu?.ServerBusyPercent)),
            LoadBusyPercent = Median(good.Select(s => s.Cpu?.LoadBusyPercent)),
            ForeignCpuPercentMax = good.Select(s => s.Cpu?.ForeignPercent).Max(),
            Errors = [.. samples.Where(s => s.Error is not null).Select(s => $"round {s.Round}: {s.Error}")],
        };
    }

    private static ServerSummary WithRatios(ServerSummary summary, ServerSummary? baseline) => summary with
    {
        RequestsPerSecondRatio = Ratio(summary.RequestsPerSecond, baseline?.RequestsPerSecond),
        CpuRatio = Ratio(summary.CpuMicrosPerRequest, baseline?.CpuMicrosPerRequest),
        P99Ratio = Ratio(summary.P99Millis, baseline?.P99Millis),
        IdleRatio = Ratio(summary.IdleBytesPerConnection, baseline?.IdleBytesPerConnection),
    };

    private static double? Ratio(double? value, double? baseline) =>
        value is double v && baseline is double b && b > 0 ? v / b : null;
}
