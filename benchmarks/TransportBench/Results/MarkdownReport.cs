using System.Text;

namespace TransportBench.Results;

/// <summary>results.md: the machine, an overview of ratios, a table per scenario, and every error verbatim.</summary>
internal static class MarkdownReport
{
    public static string Write(RunReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "results.md");
        File.WriteAllText(path, Render(report));
        return path;
    }

    public static string Render(RunReport report)
    {
        var md = new StringBuilder();
        md.AppendLine("# Transport benchmark results").AppendLine();
        md.AppendLine($"- Machine: {report.Machine.Describe()}");
        md.AppendLine($"- Run: {report.Machine.Started}; {report.Machine.Settings}");
        md.AppendLine($"- Code: {report.Machine.Revision}");
        if (report.LatencyRate is double rate)
        {
            md.AppendLine(Format.Inv($"- Latency scenario: fixed offered load {rate:N0} req/s ({report.LatencyRateSource})"));
        }
        md.AppendLine("- Medians over rounds; ratios are against `sockets` (Kestrel's default transport). " +
            "CPU is the server's utime+stime per request from /proc; syscalls come from a separate `perf stat` pass " +
            "(the total counts every syscall; the breakdown lists the largest). " +
            "Server / load CPU busy % (medians) say who set the pace: a saturated server is near 100 %, and a load CPU near 100 % " +
            "means the load side was the limit. Noise % is the most CPU other processes took on the server's CPU during a timed round.");
        md.AppendLine("- The floor is Kestrel and the app on in-process pipes, pinned like the servers; its client shares its CPU, " +
            "so its requests/s is not comparable with the servers'. Its CPU per request (client excluded) is the figure to read.");
        var warmups = report.Samples.Where(s => s.WarmupSeconds is not null).ToList();
        if (warmups.Count > 0)
        {
            md.AppendLine(Format.Inv(
                $"- Warm-up per measurement: {warmups.Min(s => s.WarmupSeconds!.Value):0}–{warmups.Max(s => s.WarmupSeconds!.Value):0} s of load; the JIT went quiet in {warmups.Count(s => s.JitSettled)} of {warmups.Count}{(warmups.All(s => s.JitSettled) ? "" : " (the others ran to --warmup-max)")}."));
        }
        if (report.Quick)
        {
            md.AppendLine("- **--quick run: proves the runner works; the figures are not worth quoting.**");
        }
        md.AppendLine();
        AppendServers(md, report);
        AppendOverview(md, report);
        foreach (ScenarioSummary scenario in report.Scenarios)
        {
            md.AppendLine($"## {scenario.Scenario.Name}: {scenario.Scenario.Title}").AppendLine();
            switch (scenario.Scenario.Kind)
            {
                case ScenarioKind.Idle:
                    AppendIdle(md, scenario);
                    break;
                default:
                    AppendLoad(md, scenario);
                    break;
            }
            md.AppendLine();
        }
        AppendErrors(md, report);
        return md.ToString();
    }

    private static void AppendServers(StringBuilder md, RunReport report)
    {
        md.AppendLine("| server | transport as the server reports it | ProcessorCount | GC |");
        md.AppendLine("|---|---|--:|---|");
        var seen = new HashSet<string>();
        foreach (ServerSummary s in report.Scenarios.SelectMany(x => x.Servers).Where(s => s.Identity is not null))
        {
            if (seen.Add(s.Server))
            {
                md.AppendLine(Format.Inv($"| {s.Server} | {s.Identity!.Transport} | {s.Identity.ProcessorCount} | {s.Identity.Gc} |"));
            }
        }
        md.AppendLine();
    }

    private static void AppendOverview(StringBuilder md, RunReport report)
    {
        var servers = report.Scenarios.SelectMany(s => s.Servers).Select(s => s.Server).Distinct().ToList();
        md.AppendLine("## Overview: requests/s (× sockets) · server CPU µs per request (× sockets)").AppendLine();
        md.AppendLine("| scenario | " + string.Join(" | ", servers) + " |");
        md.AppendLine("|---|" + string.Concat(servers.Select(_ => "--:|")));
        foreach (ScenarioSummary scenario in report.Scenarios.Where(s => s.Scenario.Kind != ScenarioKind.Idle))
        {
            var cells = servers.Select(name => scenario.Find(name) is { Rounds: > 0 } s
                ? $"{Format.Rate(s.RequestsPerSecond)} ({Format.Ratio(s.RequestsPerSecondRatio)}) · {Format.Number(s.CpuMicrosPerRequest)} µs ({Format.Ratio(s.CpuRatio)})"
                : scenario.Find(name) is null ? "" : "failed");
            md.AppendLine($"| {scenario.Scenario.Name} | " + string.Join(" | ", cells) + " |");
        }
        md.AppendLine();
    }

    private static void AppendLoad(StringBuilder md, ScenarioSummary scenario)
    {
        bool fixedRate = scenario.Scenario.Kind == ScenarioKind.FixedRate;
        md.AppendLine(fixedRate
            ? "| server | achieved req/s | p50 ms | p99 ms | p99.9 ms | p99 × sockets | CPU µs/req | CPU × sockets | alloc B/req | peak RSS MiB | syscalls/req | top syscalls per request | server / load CPU busy % | noise % |"
            : "| server | req/s (min–max) | × sockets | CPU µs/req | CPU × sockets | alloc B/req | peak RSS MiB | syscalls/req | top syscalls per request | server / load CPU busy % | noise % |");
        md.AppendLine(fixedRate ? "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|" : "|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|");
        foreach (ServerSummary s in scenario.Servers)
        {
            if (s.Rounds == 0)
            {
                md.AppendLine($"| {s.Server} | failed (see Errors) |");
                continue;
            }
            string syscalls = s.SyscallsPerRequest is null ? $"n/a ({s.SyscallsUnavailable})" : Format.Number(s.SyscallsPerRequest, "0.00");
            string tail = $"{Format.Number(s.CpuMicrosPerRequest)} | {Format.Ratio(s.CpuRatio)} | {Format.Number(s.AllocatedBytesPerRequest, "0")} | " +
                $"{Format.Number(s.PeakRssMib, "0")} | {syscalls} | {Format.Syscalls(s.TopSyscalls)} | {Format.Number(s.ServerBusyPercent, "0")} / {Format.Number(s.LoadBusyPercent, "0")} | {Format.Number(s.ForeignCpuPercentMax, "0")} |";
            md.AppendLine(fixedRate
                ? $"| {s.Server} | {Format.Rate(s.RequestsPerSecond)} | {Format.Number(s.P50Millis, "0.00")} | {Format.Number(s.P99Millis, "0.00")} | " +
                  $"{Format.Number(s.P999Millis, "0.00")} | {Format.Ratio(s.P99Ratio)} | {tail}"
                : $"| {s.Server} | {Format.Rate(s.RequestsPerSecond)} ({Format.Rate(s.RequestsPerSecondMin)}–{Format.Rate(s.RequestsPerSecondMax)}) | " +
                  $"{Format.Ratio(s.RequestsPerSecondRatio)} | {tail}");
        }
        if (scenario.Find("floor") is { Rounds: > 0, CpuMicrosPerRequest: double floor } f)
        {
            md.AppendLine().AppendLine(Format.Inv(
                $"Floor: Kestrel and the app alone cost {floor:0.0} µs of CPU per request here (in-memory pipes, no sockets; its client's {f.ClientCpuMicrosPerRequest:0.0} µs excluded)."));
            foreach (ServerSummary s in scenario.Servers.Where(s => s.Server != "floor" && s.CpuMicrosPerRequest is not null))
            {
                md.AppendLine(Format.Inv($"- {s.Server}: {s.CpuMicrosPerRequest - floor:0.0} µs per request above the floor (transport + kernel)."));
            }
        }
    }

    private static void AppendIdle(StringBuilder md, ScenarioSummary scenario)
    {
        md.AppendLine("| server | idle connections | RSS per connection | × sockets | peak RSS MiB | note |");
        md.AppendLine("|---|--:|--:|--:|--:|---|");
        foreach (ServerSummary s in scenario.Servers)
        {
            md.AppendLine(s.Rounds == 0
                ? $"| {s.Server} | failed (see Errors) | | | | |"
                : Format.Inv($"| {s.Server} | {s.IdleConnections:N0} | {Format.Number(s.IdleBytesPerConnection / 1024, "0.00")} KiB | {Format.Ratio(s.IdleRatio)} | {Format.Number(s.PeakRssMib, "0")} | {s.IdleNote} |"));
        }
    }

    private static void AppendErrors(StringBuilder md, RunReport report)
    {
        var errors = report.Samples.Where(s => s.Error is not null).ToList();
        if (errors.Count == 0)
        {
            return;
        }
        md.AppendLine("## Errors").AppendLine();
        foreach (var group in errors.GroupBy(e => (e.Server, e.Error)))
        {
            string rounds = string.Join(", ", group.Select(e => $"{e.Scenario} r{e.Round}"));
            md.AppendLine($"- **{group.Key.Server}** ({rounds}):").AppendLine("  ```");
            foreach (string line in group.Key.Error!.Split('\n').Take(20))
            {
                md.AppendLine("  " + line);
            }
            md.AppendLine("  ```");
        }
    }
}
