using System.Globalization;
using System.Net;
using System.Text;

namespace TransportBench.Results;

/// <summary>
/// results.svg, drawn by hand (no charting package): requests/s and CPU per request against sockets for each
/// scenario, and latency percentiles at the fixed offered load. One colour per server across all panels.
/// </summary>
internal static class SvgChart
{
    private const int Width = 960;
    private const int PanelHeight = 250;
    private const int Left = 70;
    private const int Right = 20;

    private static readonly string[] Palette = ["#8c8c8c", "#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#eeca3b"];

    private sealed record Bar(string Server, double? Value, string Label);

    private sealed record Group(string Label, IReadOnlyList<Bar> Bars);

    public static string Write(RunReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, "results.svg");
        File.WriteAllText(path, Render(report));
        return path;
    }

    public static string Render(RunReport report)
    {
        var servers = report.Scenarios.SelectMany(s => s.Servers).Select(s => s.Server).Distinct().ToList();
        var load = report.Scenarios.Where(s => s.Scenario.Kind == ScenarioKind.Throughput).ToList();
        var cpu = report.Scenarios.Where(s => s.Scenario.Kind != ScenarioKind.Idle).ToList();
        ScenarioSummary? latency = report.Scenarios.FirstOrDefault(s => s.Scenario.Kind == ScenarioKind.FixedRate);

        var panels = new List<(string Title, List<Group> Groups, bool Reference)>
        {
            ("Requests/s, × sockets (higher is better; label: req/s)",
                [.. load.Select(s => new Group(s.Scenario.Name, [.. s.Servers.Where(x => x.Server != "floor")
                    .Select(x => new Bar(x.Server, x.RequestsPerSecondRatio, Short(x.RequestsPerSecond)))]))],
                true),
            ("Server CPU per request, × sockets (lower is better; label: µs)",
                [.. cpu.Select(s => new Group(s.Scenario.Name, [.. s.Servers
                    .Select(x => new Bar(x.Server, x.CpuRatio, Format.Number(x.CpuMicrosPerRequest)))]))],
                true),
        };
        if (latency is not null)
        {
            string rate = report.LatencyRate is double r ? r.ToString("N0", CultureInfo.InvariantCulture) : "?";
            panels.Add(($"Latency at a fixed {rate} req/s, ms (lower is better)",
            [
                new Group("p50", [.. latency.Servers.Select(x => new Bar(x.Server, x.P50Millis, Format.Number(x.P50Millis, "0.00")))]),
                new Group("p99", [.. latency.Servers.Select(x => new Bar(x.Server, x.P99Millis, Format.Number(x.P99Millis, "0.00")))]),
                new Group("p99.9", [.. latency.Servers.Select(x => new Bar(x.Server, x.P999Millis, Format.Number(x.P999Millis, "0.00")))]),
            ], false));
        }

        int height = 90 + panels.Count * PanelHeight + 10;
        var svg = new StringBuilder();
        svg.AppendLine(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine(Inv($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>"));
        svg.AppendLine(Inv($"<text x=\"{Left}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Kestrel transports: Sockets, Sockets tuned, Epoll{(report.Quick ? " (--quick: not worth quoting)" : "")}</text>"));
        MachineInfo m = report.Machine;
        svg.AppendLine(Inv($"<text x=\"{Left}\" y=\"40\" fill=\"#555\">{Escape(Inv($"{m.CpuCount} × {m.Cpu}, Linux {m.Kernel}, {m.Runtime}; {m.Started}"))}</text>"));
        svg.AppendLine(Inv($"<text x=\"{Left}\" y=\"56\" fill=\"#555\">{Escape(m.Pinning)}</text>"));
        for (int i = 0; i < servers.Count; i++)
        {
            int x = Left + i * 150;
            svg.AppendLine(Inv($"<rect x=\"{x}\" y=\"66\" width=\"12\" height=\"12\" fill=\"{Colour(servers, servers[i])}\"/><text x=\"{x + 17}\" y=\"76\">{Escape(servers[i])}</text>"));
        }
        for (int p = 0; p < panels.Count; p++)
        {
            DrawPanel(svg, 90 + p * PanelHeight, panels[p].Title, panels[p].Groups, servers, panels[p].Reference);
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void DrawPanel(StringBuilder svg, int top, string title, List<Group> groups, List<string> servers, bool reference)
    {
        const int PlotTop = 30;
        const int PlotHeight = 170;
        int plotWidth = Width - Left - Right;
        svg.AppendLine(Inv($"<text x=\"{Left}\" y=\"{top + 18}\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>"));
        double max = groups.SelectMany(g => g.Bars).Select(b => b.Value ?? 0).DefaultIfEmpty(0).Max();
        max = NiceCeiling(Math.Max(max, reference ? 1.2 : 0.001));
        int baseY = top + PlotTop + PlotHeight;
        for (int tick = 0; tick <= 4; tick++)
        {
            double value = max * tick / 4;
            double y = baseY - PlotHeight * tick / 4.0;
            svg.AppendLine(Inv($"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#e5e5e5\"/>"));
            svg.AppendLine(Inv($"<text x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\" fill=\"#555\">{value:0.##}</text>"));
        }
        if (reference)
        {
            double y = baseY - PlotHeight / max;
            svg.AppendLine(Inv($"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>"));
        }
        if (groups.Count == 0)
        {
            svg.AppendLine(Inv($"<text x=\"{Left + 10}\" y=\"{baseY - PlotHeight / 2}\" fill=\"#999\">no data in this run</text>"));
            return;
        }
        double groupWidth = (double)plotWidth / groups.Count;
        for (int g = 0; g < groups.Count; g++)
        {
            Group group = groups[g];
            double barWidth = Math.Min(48, (groupWidth - 20) / Math.Max(1, group.Bars.Count));
            double start = Left + g * groupWidth + (groupWidth - barWidth * group.Bars.Count) / 2;
            for (int b = 0; b < group.Bars.Count; b++)
            {
                Bar bar = group.Bars[b];
                double x = start + b * barWidth;
                if (bar.Value is not double value)
                {
                    svg.AppendLine(Inv($"<text x=\"{x + barWidth / 2:0.#}\" y=\"{baseY - 4}\" text-anchor=\"middle\" fill=\"#999\" font-size=\"10\">n/a</text>"));
                    continue;
                }
                double h = PlotHeight * value / max;
                svg.AppendLine(Inv($"<rect x=\"{x + 1:0.#}\" y=\"{baseY - h:0.#}\" width=\"{barWidth - 2:0.#}\" height=\"{h:0.#}\" fill=\"{Colour(servers, bar.Server)}\"><title>{Escape(bar.Server)}: {value:0.00} ({Escape(bar.Label)})</title></rect>"));
                svg.AppendLine(Inv($"<text x=\"{x + barWidth / 2:0.#}\" y=\"{baseY - h - 3:0.#}\" text-anchor=\"middle\" font-size=\"10\">{Escape(bar.Label)}</text>"));
            }
            svg.AppendLine(Inv($"<text x=\"{Left + g * groupWidth + groupWidth / 2:0.#}\" y=\"{baseY + 16}\" text-anchor=\"middle\">{Escape(group.Label)}</text>"));
        }
    }

    private static string Colour(List<string> servers, string server) => Palette[Math.Max(0, servers.IndexOf(server)) % Palette.Length];

    /// <summary>An axis top whose four ticks are 1, 2, 2.5 or 5 times a power of ten: round labels.</summary>
    private static double NiceCeiling(double value)
    {
        double step = value / 4;
        double power = Math.Pow(10, Math.Floor(Math.Log10(step)));
        foreach (double nice in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (nice * power >= step)
            {
                return 4 * nice * power;
            }
        }
        return 40 * power;
    }

    private static string Short(double? value) => value switch
    {
        null => Format.Missing,
        >= 1_000_000 => Inv($"{value / 1_000_000:0.0}M"),
        >= 10_000 => Inv($"{value / 1000:0}k"),
        >= 1000 => Inv($"{value / 1000:0.0}k"),
        _ => Inv($"{value:0}"),
    };

    private static string Escape(string text) => WebUtility.HtmlEncode(text);

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
