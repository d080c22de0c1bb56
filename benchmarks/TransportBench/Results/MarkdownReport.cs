namespace TransportBench.Results;

/// <summary>results.md: the machine, the overview, where the CPU goes, scaling efficiency, a table per scenario, errors.</summary>
internal static class MarkdownReport
{
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
            "so its requests/s is not comparable with the servers'. Its CPU per request (client excluded) is the figure to read. " +
            "It serves HTTP/1.1 at saturation only: no TLS, no HTTP/2, no fixed rate, no idle or flooding sockets (n/a there).");
        md.AppendLine("- writes/resp: calls that sent response bytes (writev, sendmsg, sendto, and writes other than 8-byte eventfd " +
            "wake-ups) per response. p99 of a saturation scenario is wrk's, queueing included; h2load reports none.");
        var warmups = report.Samples.Where(s => s.WarmupSeconds is not null).ToList();
        if (warmups.Count > 0)
        {
            string Range(bool newProcess, string where) => warmups.Where(s => s.NewProcess == newProcess).Select(s => Math.Round(s.WarmupSeconds!.Value)).ToList() switch
            {
                [] => "",
                var w when w.Min() == w.Max() => Format.Inv($"{w[0]:0} s {where} ({w.Count})"),
                var w => Format.Inv($"{w.Min():0}–{w.Max():0} s {where} ({w.Count})"),
            };
            string ranges = string.Join(", ", new[] { Range(true, "on a new server process"), Range(false, "on one kept from the round's earlier scenarios") }
                .Where(r => r.Length > 0));
            md.AppendLine(Format.Inv(
                $"- Warm-up per measurement (the warm-up s column: medians): {ranges}; the JIT went quiet in {warmups.Count(s => s.JitSettled)} of {warmups.Count}{(warmups.All(s => s.JitSettled) ? "" : " (the others ran to --warmup-max)")}."));
        }
        md.AppendLine("- Peak RSS: the server process's VmHWM over the scenario, reset at its start. A server keeps one process for the " +
            "scenarios of a round (idle's is its own), so the figure includes what the round's earlier scenarios left in its heap and " +
            "pools: compare servers within a scenario, not scenarios with each other.");
        if (report.Quick)
        {
            md.AppendLine("- **--quick run: proves the runner works; the figures are not worth quoting.**");
        }
        md.AppendLine();
        AppendServers(md, report);
        AppendOverview(md, report);
        AppendCpuBreakdown(md, report);
        AppendScalingEfficiency(md, report);
        foreach (ScenarioSummary scenario in report.Scenarios)
        {
            md.AppendLine($"## {scenario.Scenario.Name} ({scenario.Layout}): {scenario.Scenario.Title}").AppendLine();
            AppendScenario(md, scenario, report.Scenarios.Any(s => s.Find(ServerSpec.FloorName) is not null));
            md.AppendLine();
        }
        AppendErrors(md, report);
        return md.ToString();
    }

    private static void AppendServers(StringBuilder md, RunReport report)
    {
        md.Header("server", "layout", "transport as the server reports it", "ProcessorCount", "GC");
        foreach ((string layout, ServerSummary s) in report.Scenarios.SelectMany(x => x.Servers.Select(s => (x.Layout, s)))
            .Where(x => x.s.Identity is not null).DistinctBy(x => (x.s.Server, x.Layout)))
        {
            md.Row(s.Server, layout, s.Identity!.Transport, Format.Inv($"{s.Identity.ProcessorCount}"), s.Identity.Gc);
        }
        md.AppendLine();
    }

    /// <summary>The overview table alone: what the terminal shows at the end of a run.</summary>
    public static string Overview(RunReport report) => AppendOverview(new StringBuilder(), report).ToString();

    private static StringBuilder AppendOverview(StringBuilder md, RunReport report)
    {
        var servers = report.ServerNames();
        md.AppendLine("## Overview: requests/s (× sockets) · server CPU µs per request (× sockets)").AppendLine();
        md.AppendLine("Fairness: the small connection's round trips/s (× sockets) · its p99 ms.").AppendLine();
        md.Header(["scenario", "layout", .. servers]);
        foreach (ScenarioSummary scenario in report.Scenarios.Where(s => s.Scenario.Kind != ScenarioKind.Idle))
        {
            var cells = servers.Select(name => scenario.Find(name) switch
            {
                null => name == ServerSpec.FloorName ? Format.Missing : "",
                { Rounds: 0 } => "failed",
                var s when scenario.Scenario.Kind == ScenarioKind.Fairness =>
                    $"{Format.Rate(s.RequestsPerSecond)} ({Format.Ratio(s.RequestsPerSecondRatio)}) · p99 {Format.Number(s.P99Millis, "0.00")} ms",
                var s => $"{Format.Rate(s.RequestsPerSecond)} ({Format.Ratio(s.RequestsPerSecondRatio)}) · {Format.Number(s.CpuMicrosPerRequest)} µs ({Format.Ratio(s.CpuRatio)})",
            });
            md.Row([scenario.Scenario.Name, scenario.Layout, .. cells]);
        }
        return md.AppendLine();
    }

    /// <summary>Where a request's CPU goes, per scenario and server: floor (Kestrel and the app alone), kernel (stime)
    /// and user above the floor add up to the server's CPU per request. Without a floor only the kernel part is known.</summary>
    private static void AppendCpuBreakdown(StringBuilder md, RunReport report)
    {
        var servers = report.ServerNames().Where(s => s != ServerSpec.FloorName).ToList();
        var scenarios = report.Scenarios.Where(s => s.Scenario.Kind is ScenarioKind.Throughput or ScenarioKind.FixedRate).ToList();
        if (scenarios.Count == 0)
        {
            return;
        }
        md.AppendLine("## Where the CPU of a request goes: µs per request").AppendLine();
        md.AppendLine("Per server: kernel (the server's stime) + user above the floor (its utime minus the floor's whole cost: what the " +
            "transport and the runtime add in user code) = the total above the floor; the floor column is Kestrel and the app alone. " +
            "Where the floor cannot run the scenario (TLS, HTTP/2, fixed rate) only the kernel's part of the whole is known.").AppendLine();
        md.Header(["scenario", "layout", "floor", .. servers.Select(s => $"{s}: kernel + user above floor")]);
        foreach (ScenarioSummary scenario in scenarios)
        {
            ServerSummary? floor = scenario.Find(ServerSpec.FloorName);
            var cells = servers.Select(name => scenario.Find(name) switch
            {
                { Rounds: > 0, KernelMicrosPerRequest: double kernel, UserAboveFloorMicrosPerRequest: double user } =>
                    // Short or noisy runs can put the server's utime a little under the floor's figure: keep the sign.
                    Format.Inv($"{kernel:0.0} {(user < 0 ? "−" : "+")} {Math.Abs(user):0.0} = {kernel + user:0.0}"),
                { Rounds: > 0 } s => $"kernel {Format.Number(s.KernelMicrosPerRequest)} of {Format.Number(s.CpuMicrosPerRequest)}",
                _ => "",
            });
            string floorCell = floor is { Rounds: > 0 } ? Format.Number(floor.CpuMicrosPerRequest) : Format.Missing;
            md.Row([scenario.Scenario.Name, scenario.Layout, floorCell, .. cells]);
        }
        md.AppendLine();
    }

    /// <summary>What a request's CPU becomes when the server is not alone on one CPU (Summarizer.ScalingEfficiency).</summary>
    private static void AppendScalingEfficiency(StringBuilder md, RunReport report)
    {
        var ratios = Summarizer.ScalingEfficiency(report.Scenarios);
        if (ratios.Count == 0)
        {
            return;
        }
        var servers = ratios.Select(r => r.Server).Distinct().ToList();
        md.AppendLine("## Scaling efficiency: CPU per request in the layout ÷ pinned").AppendLine();
        md.AppendLine("Per server: its CPU µs per request in a layout where it is not alone on its CPUs ÷ the same in pinned. " +
            "1.00× is the same cost per request; above it, each request costs more CPU (threads moving, waking, contending).").AppendLine();
        md.Header(["scenario", "layout", .. servers]);
        foreach (var row in ratios.GroupBy(r => (r.Scenario.Name, r.Layout)))
        {
            md.Row([row.Key.Name, row.Key.Layout, .. servers.Select(server =>
                row.Where(r => r.Server == server).Select(r => Format.Ratio(r.Ratio)).FirstOrDefault() ?? "")]);
        }
        md.AppendLine();
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
            string rounds = string.Join(", ", group.Select(e => $"{e.Scenario} {e.Layout} r{e.Round}"));
            md.AppendLine($"- **{group.Key.Server}** ({rounds}):").AppendLine("  ```");
            foreach (string line in group.Key.Error!.Split('\n').Take(20))
            {
                md.AppendLine("  " + line);
            }
            md.AppendLine("  ```");
        }
    }

    /// <param name="runHasFloor">Whether the floor ran in this report at all (then a scenario without it says why).</param>
    private static void AppendScenario(StringBuilder md, ScenarioSummary scenario, bool runHasFloor)
    {
        if (scenario.Scenario.Kind == ScenarioKind.Idle)
        {
            AppendIdle(md, scenario);
        }
        else if (scenario.Scenario.Kind == ScenarioKind.Fairness)
        {
            AppendFairness(md, scenario, runHasFloor);
        }
        else
        {
            AppendLoad(md, scenario);
            md.Append(runHasFloor && !scenario.Scenario.FloorServes ? $"\nFloor: n/a ({scenario.Scenario.FloorMissing}).\n" : "");
        }
    }

    private static void AppendLoad(StringBuilder md, ScenarioSummary scenario)
    {
        bool fixedRate = scenario.Scenario.Kind == ScenarioKind.FixedRate;
        string[] common = ["CPU µs/req", "CPU × sockets", "kernel µs/req", "alloc B/req", "peak RSS MiB", "syscalls/req", "writes/resp",
            "ctx switches/req", "migrations/req", "top syscalls per request", .. PaceColumns];
        md.Header(fixedRate
            ? ["server", "achieved req/s", "p50 ms", "p99 ms", "p99.9 ms", "p99 × sockets", .. common]
            : ["server", "req/s (min–max)", "× sockets", "p99 ms", .. common]);
        foreach (ServerSummary s in scenario.Servers)
        {
            string[] load = fixedRate
                ? [Format.Rate(s.RequestsPerSecond), Ms(s.P50Millis), Ms(s.P99Millis), Ms(s.P999Millis), Format.Ratio(s.P99Ratio)]
                : [$"{Format.Rate(s.RequestsPerSecond)} ({Format.Rate(s.RequestsPerSecondMin)}–{Format.Rate(s.RequestsPerSecondMax)})",
                   Format.Ratio(s.RequestsPerSecondRatio), Ms(s.P99Millis)];
            md.Row(s.Rounds == 0 ? [s.Server, "failed (see Errors)"] :
            [
                s.Server, .. load, Format.Number(s.CpuMicrosPerRequest), Format.Ratio(s.CpuRatio), Format.Number(s.KernelMicrosPerRequest),
                Format.Number(s.AllocatedBytesPerRequest, "0"), Format.Number(s.PeakRssMib, "0"),
                s.SyscallsPerRequest is null ? $"n/a ({s.SyscallsUnavailable})" : Format.Number(s.SyscallsPerRequest, "0.00"),
                Format.Number(s.WritesPerResponse, "0.00"), Format.Number(s.ContextSwitchesPerRequest, "0.00"),
                Format.Number(s.MigrationsPerRequest, "0.000"), Format.Syscalls(s.TopSyscalls), .. Pace(s),
            ]);
        }
    }

    private static void AppendIdle(StringBuilder md, ScenarioSummary scenario)
    {
        md.Header("server", "idle connections", "RSS per connection", "× sockets", "peak RSS MiB", "note");
        foreach (ServerSummary s in scenario.Servers)
        {
            md.Row(s.Rounds == 0 ? [s.Server, "failed (see Errors)", "", "", "", ""] :
            [
                s.Server, Format.Inv($"{s.IdleConnections:N0}"), Format.Number(s.IdleBytesPerConnection / 1024, "0.00") + " KiB",
                Format.Ratio(s.IdleRatio), Format.Number(s.PeakRssMib, "0"), s.IdleNote ?? "",
            ]);
        }
    }

    /// <summary>The small connection's latency beside the flood's throughput, server on one CPU and one loop.</summary>
    private static void AppendFairness(StringBuilder md, ScenarioSummary scenario, bool runHasFloor)
    {
        md.Header(["server", "small round trips/s", "× sockets", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "p99 × sockets", "flood MiB/s",
            "peak RSS MiB", .. PaceColumns, "note"]);
        foreach (ServerSummary s in scenario.Servers)
        {
            md.Row(s.Rounds == 0 ? [s.Server, "failed (see Errors)"] :
            [
                s.Server, Format.Rate(s.RequestsPerSecond), Format.Ratio(s.RequestsPerSecondRatio), Ms(s.P50Millis), Ms(s.P99Millis),
                Ms(s.P999Millis), Ms(s.MaxMillis), Format.Ratio(s.P99Ratio), Format.Number(s.FloodMiBPerSecond, "0"),
                Format.Number(s.PeakRssMib, "0"), .. Pace(s),
                s.StarvedRounds > 0 ? Format.Inv($"starved in {s.StarvedRounds} round(s): a round trip waited 10 s") : "",
            ]);
        }
        md.AppendLine().AppendLine("Medians over rounds; the max column is the median of each round's slowest round trip. " +
            (runHasFloor ? $"Floor: n/a ({scenario.Scenario.FloorMissing})." : ""));
    }

    private static string Ms(double? millis) => Format.Number(millis, "0.00");
    /// <summary>Who set the pace, how noisy it was, and the warm-up: the last columns of the load and fairness tables.</summary>
    private static readonly string[] PaceColumns = ["server / load CPU busy %", "noise %", "warm-up s"];
    private static string[] Pace(ServerSummary s) =>
    [
        $"{Format.Number(s.ServerBusyPercent, "0")} / {Format.Number(s.LoadBusyPercent, "0")}", Format.Number(s.ForeignCpuPercentMax, "0"),
        Format.Number(s.WarmupSeconds, "0"),
    ];
}
