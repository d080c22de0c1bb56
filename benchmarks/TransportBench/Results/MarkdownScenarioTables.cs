using System.Text;
using TransportBench.Servers;

namespace TransportBench.Results;

/// <summary>results.md's table for one scenario: every server's medians, in the columns that scenario has.</summary>
internal static class MarkdownScenarioTables
{
    /// <param name="runHasFloor">Whether the floor ran in this report at all (then a scenario without it says why).</param>
    public static void Append(StringBuilder md, ScenarioSummary scenario, bool runHasFloor)
    {
        switch (scenario.Scenario.Kind)
        {
            case ScenarioKind.Idle:
                AppendIdle(md, scenario);
                break;
            case ScenarioKind.Fairness:
                AppendFairness(md, scenario, runHasFloor);
                break;
            default:
                AppendLoad(md, scenario);
                if (runHasFloor && !scenario.Scenario.FloorServes)
                {
                    md.AppendLine().AppendLine($"Floor: n/a ({scenario.Scenario.FloorMissing}).");
                }
                break;
        }
    }

    private static void AppendLoad(StringBuilder md, ScenarioSummary scenario)
    {
        bool fixedRate = scenario.Scenario.Kind == ScenarioKind.FixedRate;
        string[] common = ["CPU µs/req", "CPU × sockets", "kernel µs/req", "alloc B/req", "peak RSS MiB", "syscalls/req", "writes/resp",
            "ctx switches/req", "migrations/req", "top syscalls per request", "server / load CPU busy %", "noise %", "warm-up s"];
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
                Format.Number(s.MigrationsPerRequest, "0.000"), Format.Syscalls(s.TopSyscalls), Busy(s), Format.Number(s.ForeignCpuPercentMax, "0"),
                Format.Number(s.WarmupSeconds, "0"),
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

    /// <summary>Issue 10: the small connection's latency beside the flood's throughput, server on one CPU and one loop.</summary>
    private static void AppendFairness(StringBuilder md, ScenarioSummary scenario, bool runHasFloor)
    {
        md.Header("server", "small round trips/s", "× sockets", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "p99 × sockets", "flood MiB/s",
            "peak RSS MiB", "server / load CPU busy %", "noise %", "warm-up s", "note");
        foreach (ServerSummary s in scenario.Servers)
        {
            md.Row(s.Rounds == 0 ? [s.Server, "failed (see Errors)"] :
            [
                s.Server, Format.Rate(s.RequestsPerSecond), Format.Ratio(s.RequestsPerSecondRatio), Ms(s.P50Millis), Ms(s.P99Millis),
                Ms(s.P999Millis), Ms(s.MaxMillis), Format.Ratio(s.P99Ratio), Format.Number(s.FloodMiBPerSecond, "0"),
                Format.Number(s.PeakRssMib, "0"), Busy(s), Format.Number(s.ForeignCpuPercentMax, "0"), Format.Number(s.WarmupSeconds, "0"),
                s.StarvedRounds > 0 ? Format.Inv($"starved in {s.StarvedRounds} round(s): a round trip waited 10 s") : "",
            ]);
        }
        md.AppendLine().AppendLine("Medians over rounds; the max column is the median of each round's slowest round trip. " +
            (runHasFloor ? $"Floor: n/a ({scenario.Scenario.FloorMissing})." : ""));
    }

    private static string Ms(double? millis) => Format.Number(millis, "0.00");

    private static string Busy(ServerSummary s) => $"{Format.Number(s.ServerBusyPercent, "0")} / {Format.Number(s.LoadBusyPercent, "0")}";
}
