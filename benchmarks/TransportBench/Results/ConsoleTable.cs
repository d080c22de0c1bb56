using Spectre.Console;
using TransportBench.Running;
using TransportBench.Servers;

namespace TransportBench.Results;

/// <summary>
/// The terminal's summary, medians and ratios against sockets, in three tables that each fit a 120-column terminal:
/// requests and CPU, syscalls, and notes (failures, idle connections, the fairness flood). On a terminal, headers on
/// two lines and bold; elsewhere (<see cref="Terminal"/>) plain columns, one line per row and per header.
/// </summary>
internal static class ConsoleTable
{
    private const string Caption =
        "kernel: the server's stime per request; user−floor: its utime per request minus the floor's whole CPU per request " +
        "(what the transport and the runtime add; n/a where the floor cannot run the scenario). Fairness: req/s and p99 are the small " +
        "connection's round trips, beside the flood's MiB/s.";

    /// <summary>The columns that hold words; the others hold numbers.</summary>
    private static readonly HashSet<string> WordColumns = ["scenario", "server", "top syscalls/req", "note"];

    public static void Print(IAnsiConsole console, IReadOnlyList<ScenarioSummary> scenarios)
    {
        bool live = console.IsLive();
        Table load = NewTable(live,
            "scenario", "server", "req/s", "×sock", "CPU µs/req", "×sock", "kernel µs", "user−floor µs", "B/req", "p99 ms", "RSS MiB",
            "busy srv/load %");
        Table syscalls = NewTable(live, "scenario", "server", "syscalls/req", "writes/resp", "top syscalls/req");
        Table notes = NewTable(live, "scenario", "server", "note");
        foreach (ScenarioSummary scenario in scenarios)
        {
            foreach (ServerSummary s in scenario.Servers)
            {
                AddRow(load, scenario.Scenario.Kind switch
                {
                    ScenarioKind.Idle => IdleRow(scenario.Scenario, s),
                    ScenarioKind.Fairness => FairnessRow(scenario.Scenario, s),
                    _ => LoadRow(scenario, s),
                });
                if (scenario.Scenario.Kind is ScenarioKind.Throughput or ScenarioKind.FixedRate)
                {
                    AddRow(syscalls,
                    [
                        scenario.Scenario.Name, s.Server, Syscalls(s, s.SyscallsPerRequest), Syscalls(s, s.WritesPerResponse),
                        Format.Syscalls(s.TopSyscalls.Take(4)),
                    ]);
                }
                if (Note(scenario.Scenario, s) is string note)
                {
                    AddRow(notes, [scenario.Scenario.Name, s.Server, note]);
                }
            }
        }
        console.WriteLine();
        console.Write(load);
        console.WriteLine(Caption);
        // Without a syscall pass (--no-perf, no perf) the syscalls table would be n/a from top to bottom.
        bool counted = scenarios.SelectMany(s => s.Servers).Any(s => s.SyscallsPerRequest is not null);
        foreach (Table table in (counted ? [syscalls, notes] : new[] { notes }).Where(t => t.Rows.Count > 0))
        {
            console.WriteLine();
            console.Write(table);
        }
        console.WriteLine();
    }

    /// <summary>A table; numbers right-aligned, words (<see cref="WordColumns"/>) left.</summary>
    private static Table NewTable(bool live, params string[] headers)
    {
        var table = new Table().Border(live ? TableBorder.Simple : TableBorder.None);
        for (int c = 0; c < headers.Length; c++)
        {
            string header = headers[c];
            if (live && header.IndexOf(' ', StringComparison.Ordinal) is int space and > 0)
            {
                // Two header lines on a terminal: the numbers, not the headers, set the columns' widths.
                header = header[..space] + "\n" + header[(space + 1)..];
            }
            var column = new TableColumn(new Text(header, live ? new Style(decoration: Decoration.Bold) : Style.Plain))
            {
                // Two spaces between columns (the border draws none), none before the first.
                Padding = new Padding(0, 0, live ? 1 : 2, 0),
            };
            table.AddColumn(WordColumns.Contains(headers[c]) ? column : column.RightAligned());
        }
        return table;
    }

    // Text, not markup: cells hold error messages, which may have brackets.
    private static void AddRow(Table table, string[] cells) => table.AddRow(cells.Select(cell => new Text(cell)));

    private static string[] LoadRow(ScenarioSummary scenario, ServerSummary s)
    {
        bool floor = s.Server == ServerSpec.FloorName;
        string userAboveFloor = floor ? "" : scenario.Find(ServerSpec.FloorName) is { Rounds: > 0 }
            ? Format.Number(s.UserAboveFloorMicrosPerRequest)
            : Format.Missing;
        return
        [
            scenario.Scenario.Name, s.Server, Format.Rate(s.RequestsPerSecond), Format.Ratio(s.RequestsPerSecondRatio),
            Format.Number(s.CpuMicrosPerRequest), Format.Ratio(s.CpuRatio), floor ? "" : Format.Number(s.KernelMicrosPerRequest), userAboveFloor,
            Format.Number(s.AllocatedBytesPerRequest, "0"), s.P99Millis is null ? "" : Format.Number(s.P99Millis, "0.00"),
            Format.Number(s.PeakRssMib, "0"), Busy(s),
        ];
    }

    private static string[] IdleRow(Scenario scenario, ServerSummary s) =>
        [scenario.Name, s.Server, "", "", "", "", "", "", "", "", Format.Number(s.PeakRssMib, "0"), ""];

    private static string[] FairnessRow(Scenario scenario, ServerSummary s) =>
    [
        scenario.Name, s.Server, Format.Rate(s.RequestsPerSecond), Format.Ratio(s.RequestsPerSecondRatio), "", "", "", "", "",
        Format.Number(s.P99Millis, "0.00"), Format.Number(s.PeakRssMib, "0"), Busy(s),
    ];

    /// <summary>What a row's numbers do not say: why it failed, the idle figure, the fairness flood.</summary>
    private static string? Note(Scenario scenario, ServerSummary s) => s.Rounds == 0
        ? "FAILED: " + (s.Errors.Count > 0 ? s.Errors[0] : "").Split('\n')[0]
        : scenario.Kind switch
        {
            ScenarioKind.Idle => Format.Inv(
                $"{s.IdleConnections:N0} idle connections, {Format.Number(s.IdleBytesPerConnection / 1024)} KiB each ({Format.Ratio(s.IdleRatio)} sockets)"),
            ScenarioKind.Fairness => Format.Inv($"flood {Format.Number(s.FloodMiBPerSecond, "0")} MiB/s, small max {Format.Number(s.MaxMillis, "0.00")} ms") +
                (s.StarvedRounds > 0 ? Format.Inv($", STARVED in {s.StarvedRounds} round(s)") : ""),
            _ => null,
        };

    private static string Busy(ServerSummary s) =>
        s.ServerBusyPercent is null ? "" : $"{Format.Number(s.ServerBusyPercent, "0")}/{Format.Number(s.LoadBusyPercent, "0")}";

    private static string Syscalls(ServerSummary s, double? value) =>
        value is null ? (s.Rounds == 0 ? "" : Format.Missing) : Format.Number(value, "0.00");
}
