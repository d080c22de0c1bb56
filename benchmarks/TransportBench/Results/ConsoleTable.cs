namespace TransportBench.Results;

/// <summary>The terminal's summary: one row per scenario and server, medians, ratios against sockets.</summary>
internal static class ConsoleTable
{
    private static readonly string[] Headers =
    [
        "scenario", "server", "req/s", "×sock", "CPU µs/req", "×sock", "kernel µs", "user−floor µs", "B/req", "p99 ms",
        "RSS MiB", "busy srv/load %", "syscalls/req", "writes/resp", "top syscalls/req",
    ];

    // Columns 2 to 13 hold numbers: right-aligned.
    private const int FirstNumber = 2;
    private const int LastNumber = 13;

    public static void Print(IReadOnlyList<ScenarioSummary> scenarios)
    {
        var rows = new List<string[]> { Headers };
        foreach (ScenarioSummary scenario in scenarios)
        {
            foreach (ServerSummary s in scenario.Servers)
            {
                rows.Add(scenario.Scenario.Kind switch
                {
                    ScenarioKind.Idle => IdleRow(scenario.Scenario, s),
                    ScenarioKind.Fairness => FairnessRow(scenario.Scenario, s),
                    _ => LoadRow(scenario, s),
                });
            }
        }
        int[] widths = [.. Enumerable.Range(0, Headers.Length).Select(c => rows.Max(r => r[c].Length))];
        Console.WriteLine();
        foreach (string[] row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((string cell, int c) =>
                c is >= FirstNumber and <= LastNumber ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd());
        }
        Console.WriteLine("kernel: the server's stime per request; user−floor: its utime per request minus the floor's whole CPU per request " +
            "(what the transport and the runtime add; n/a where the floor cannot run the scenario). Fairness: req/s and p99 are the small " +
            "connection's round trips, beside the flood's MiB/s.");
        Console.WriteLine();
    }

    private static string[] LoadRow(ScenarioSummary scenario, ServerSummary s)
    {
        bool floor = s.Server == Servers.ServerSpec.FloorName;
        string userAboveFloor = floor ? "" : scenario.Find(Servers.ServerSpec.FloorName) is { Rounds: > 0 }
            ? Format.Number(s.UserAboveFloorMicrosPerRequest)
            : Format.Missing;
        return
        [
            scenario.Scenario.Name,
            s.Server,
            Format.Rate(s.RequestsPerSecond),
            Format.Ratio(s.RequestsPerSecondRatio),
            Format.Number(s.CpuMicrosPerRequest),
            Format.Ratio(s.CpuRatio),
            floor ? "" : Format.Number(s.KernelMicrosPerRequest),
            userAboveFloor,
            Format.Number(s.AllocatedBytesPerRequest, "0"),
            s.P99Millis is null ? "" : Format.Number(s.P99Millis, "0.00"),
            Format.Number(s.PeakRssMib, "0"),
            Busy(s),
            Syscalls(s, s.SyscallsPerRequest),
            Syscalls(s, s.WritesPerResponse),
            s.Rounds == 0 ? Failed(s) : Format.Syscalls(s.TopSyscalls.Take(4)),
        ];
    }

    private static string[] IdleRow(Scenario scenario, ServerSummary s) =>
    [
        scenario.Name,
        s.Server,
        Format.Inv($"{s.IdleConnections} conns"),
        Format.Ratio(s.IdleRatio),
        Format.Number(s.IdleBytesPerConnection / 1024) + " KiB/conn",
        "", "", "", "", "",
        Format.Number(s.PeakRssMib, "0"),
        "", "", "",
        s.Rounds == 0 ? Failed(s) : "",
    ];

    private static string[] FairnessRow(Scenario scenario, ServerSummary s) =>
    [
        scenario.Name,
        s.Server,
        Format.Rate(s.RequestsPerSecond),
        Format.Ratio(s.RequestsPerSecondRatio),
        "", "", "", "", "",
        Format.Number(s.P99Millis, "0.00"),
        Format.Number(s.PeakRssMib, "0"),
        Busy(s),
        "", "",
        s.Rounds == 0
            ? Failed(s)
            : Format.Inv($"flood {Format.Number(s.FloodMiBPerSecond, "0")} MiB/s, small max {Format.Number(s.MaxMillis, "0.00")} ms") +
              (s.StarvedRounds > 0 ? Format.Inv($", STARVED in {s.StarvedRounds} round(s)") : ""),
    ];

    private static string Busy(ServerSummary s) =>
        s.ServerBusyPercent is null ? "" : $"{Format.Number(s.ServerBusyPercent, "0")}/{Format.Number(s.LoadBusyPercent, "0")}";

    private static string Syscalls(ServerSummary s, double? value) =>
        value is null ? (s.Rounds == 0 ? "" : Format.Missing) : Format.Number(value, "0.00");

    private static string Failed(ServerSummary s) => "FAILED: " + (s.Errors.Count > 0 ? s.Errors[0] : "").Split('\n')[0];
}
