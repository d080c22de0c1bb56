namespace TransportBench.Results;

/// <summary>The terminal's summary: one row per scenario and server, medians, ratios against sockets.</summary>
internal static class ConsoleTable
{
    private static readonly string[] Headers =
        ["scenario", "server", "req/s", "×sock", "CPU µs/req", "×sock", "B/req", "p99 ms", "RSS MiB", "busy srv/load %", "syscalls/req", "top syscalls/req"];

    public static void Print(IReadOnlyList<ScenarioSummary> scenarios)
    {
        var rows = new List<string[]> { Headers };
        foreach (ScenarioSummary scenario in scenarios)
        {
            foreach (ServerSummary s in scenario.Servers)
            {
                bool idle = scenario.Scenario.Kind == ScenarioKind.Idle;
                rows.Add(
                [
                    scenario.Scenario.Name,
                    s.Server,
                    idle ? Format.Inv($"{s.IdleConnections} conns") : Format.Rate(s.RequestsPerSecond),
                    idle ? Format.Ratio(s.IdleRatio) : Format.Ratio(s.RequestsPerSecondRatio),
                    idle ? Format.Number(s.IdleBytesPerConnection / 1024) + " KiB/conn" : Format.Number(s.CpuMicrosPerRequest),
                    idle ? "" : Format.Ratio(s.CpuRatio),
                    Format.Number(s.AllocatedBytesPerRequest, "0"),
                    s.P99Millis is null ? "" : Format.Number(s.P99Millis, "0.00"),
                    Format.Number(s.PeakRssMib, "0"),
                    s.ServerBusyPercent is null ? "" : $"{Format.Number(s.ServerBusyPercent, "0")}/{Format.Number(s.LoadBusyPercent, "0")}",
                    s.SyscallsPerRequest is null ? (s.Rounds == 0 ? "" : Format.Missing) : Format.Number(s.SyscallsPerRequest, "0.00"),
                    s.Rounds == 0 ? "FAILED: " + ((s.Errors.Count > 0 ? s.Errors[0] : "").Split('\n')[0]) : Format.Syscalls(s.TopSyscalls.Take(4)),
                ]);
            }
        }
        int[] widths = [.. Enumerable.Range(0, Headers.Length).Select(c => rows.Max(r => r[c].Length))];
        Console.WriteLine();
        foreach (string[] row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((string cell, int c) => c is >= 2 and <= 10 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd());
        }
        Console.WriteLine();
    }
}
