using System.Globalization;
using System.Net;
using System.Text;

namespace TransportBench.Results;

/// <summary>
/// results.svg, drawn by hand (no charting package): requests/s and CPU per request against sockets for each
/// scenario, latency percentiles at the fixed offered load, and the fairness scenario's small-connection latency.
/// Bars run sideways, one row per server under each scenario's name, so eighteen scenarios stay readable: the chart
/// grows down, not across. One colour per server across all panels.
/// </summary>
internal static class SvgChart
{
    private const int Width = 960;
    private const int Left = 120;
    private const int Right = 110;
    private const int BarHeight = 10;
    private const int GroupGap = 8;
    private const int PanelHeader = 44;
    private const int PanelFooter = 24;

    private static readonly string[] Palette = ["#8c8c8c", "#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#eeca3b"];

    private sealed record Bar(string Server, double? Value, string Label);

    private sealed record Group(string Label, IReadOnlyList<Bar> Bars);

    private sealed record Panel(string Title, IReadOnlyList<Group> Groups, bool Ratio);

    public static string Render(RunReport report)
    {
        var servers = report.Scenarios.SelectMany(s => s.Servers).Select(s => s.Server).Distinct().ToList();
        var panels = new List<Panel>
        {
            new("Requests/s, × sockets (longer is better; label: ratio · req/s)",
                [.. report.Scenarios.Where(s => s.Scenario.Kind == ScenarioKind.Throughput).Select(s => new Group(s.Scenario.Name,
                    [.. s.Servers.Where(x => x.Server != Servers.ServerSpec.FloorName)
                        .Select(x => new Bar(x.Server, x.RequestsPerSecondRatio, Short(x.RequestsPerSecond)))]))],
                Ratio: true),
            new("Server CPU per request, × sockets (shorter is better; label: ratio · µs)",
                [.. report.Scenarios.Where(s => s.Scenario.Kind is ScenarioKind.Throughput or ScenarioKind.FixedRate).Select(s => new Group(s.Scenario.Name,
                    [.. s.Servers.Select(x => new Bar(x.Server, x.CpuRatio, Format.Number(x.CpuMicrosPerRequest) + " µs"))]))],
                Ratio: true),
        };
        if (report.Scenarios.FirstOrDefault(s => s.Scenario.Kind == ScenarioKind.FixedRate) is { } latency)
        {
            string rate = report.LatencyRate is double r ? r.ToString("N0", CultureInfo.InvariantCulture) : "?";
            panels.Add(new($"Latency at a fixed {rate} req/s, ms (shorter is better)", Percentiles(latency, withMax: false), Ratio: false));
        }
        if (report.Scenarios.FirstOrDefault(s => s.Scenario.Kind == ScenarioKind.Fairness) is { } fairness)
        {
            panels.Add(new("Fairness: the small connection's round trip beside a flooding upload, ms (shorter is better)",
                Percentiles(fairness, withMax: true), Ratio: false));
        }

        int height = 90 + panels.Sum(PanelHeight) + 10;
        var svg = new StringBuilder();
        svg.AppendLine(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine(Inv($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>"));
        svg.AppendLine(Inv($"<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Kestrel transports: Sockets, Sockets tuned, Epoll{(report.Quick ? " (--quick: not worth quoting)" : "")}</text>"));
        MachineInfo m = report.Machine;
        svg.AppendLine(Inv($"<text x=\"10\" y=\"40\" fill=\"#555\">{Escape(Inv($"{m.CpuCount} × {m.Cpu}, Linux {m.Kernel}, {m.Runtime}; {m.Started}"))}</text>"));
        svg.AppendLine(Inv($"<text x=\"10\" y=\"56\" fill=\"#555\">{Escape(m.Pinning)}</text>"));
        for (int i = 0; i < servers.Count; i++)
        {
            int x = 10 + i * 150;
            svg.AppendLine(Inv($"<rect x=\"{x}\" y=\"66\" width=\"12\" height=\"12\" fill=\"{Colour(servers, servers[i])}\"/><text x=\"{x + 17}\" y=\"76\">{Escape(servers[i])}</text>"));
        }
        int top = 90;
        foreach (Panel panel in panels)
        {
            DrawPanel(svg, top, panel, servers);
            top += PanelHeight(panel);
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static List<Group> Percentiles(ScenarioSummary scenario, bool withMax)
    {
        var groups = new List<Group>
        {
            new("p50", [.. scenario.Servers.Select(x => new Bar(x.Server, x.P50Millis, Format.Number(x.P50Millis, "0.00")))]),
            new("p99", [.. scenario.Servers.Select(x => new Bar(x.Server, x.P99Millis, Format.Number(x.P99Millis, "0.00")))]),
            new("p99.9", [.. scenario.Servers.Select(x => new Bar(x.Server, x.P999Millis, Format.Number(x.P999Millis, "0.00")))]),
        };
        if (withMax)
        {
            groups.Add(new("max", [.. scenario.Servers.Select(x => new Bar(x.Server, x.MaxMillis, Format.Number(x.MaxMillis, "0.00")))]));
        }
        return groups;
    }

    private static int PanelHeight(Panel panel) =>
        PanelHeader + Math.Max(1, panel.Groups.Sum(g => Math.Max(1, g.Bars.Count) * BarHeight + GroupGap)) + PanelFooter;

    private static void DrawPanel(StringBuilder svg, int top, Panel panel, List<string> servers)
    {
        int plotWidth = Width - Left - Right;
        int plotTop = top + PanelHeader;
        int plotBottom = top + PanelHeight(panel) - PanelFooter;
        svg.AppendLine(Inv($"<text x=\"10\" y=\"{top + 24}\" font-size=\"13\" font-weight=\"bold\">{Escape(panel.Title)}</text>"));
        if (panel.Groups.Count == 0)
        {
            svg.AppendLine(Inv($"<text x=\"{Left + 10}\" y=\"{plotTop + 12}\" fill=\"#999\">no data in this run</text>"));
            return;
        }
        double max = panel.Groups.SelectMany(g => g.Bars).Select(b => b.Value ?? 0).DefaultIfEmpty(0).Max();
        // Ratios above 3× squeeze everything else into a sliver: clip there and say so on the bar.
        double shown = panel.Ratio ? Math.Min(max, 3) : max;
        double axis = NiceCeiling(Math.Max(shown, panel.Ratio ? 1.2 : 0.001));
        for (int tick = 0; tick <= 4; tick++)
        {
            double value = axis * tick / 4;
            double x = Left + plotWidth * tick / 4.0;
            svg.AppendLine(Inv($"<line x1=\"{x:0.#}\" x2=\"{x:0.#}\" y1=\"{plotTop - 4}\" y2=\"{plotBottom}\" stroke=\"#e5e5e5\"/>"));
            svg.AppendLine(Inv($"<text x=\"{x:0.#}\" y=\"{plotBottom + 14}\" text-anchor=\"middle\" fill=\"#555\">{value:0.##}{(panel.Ratio ? "×" : "")}</text>"));
        }
        if (panel.Ratio)
        {
            double x = Left + plotWidth / axis;
            svg.AppendLine(Inv($"<line x1=\"{x:0.#}\" x2=\"{x:0.#}\" y1=\"{plotTop - 4}\" y2=\"{plotBottom}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>"));
        }
        double y = plotTop;
        foreach (Group group in panel.Groups)
        {
            double groupHeight = Math.Max(1, group.Bars.Count) * BarHeight;
            svg.AppendLine(Inv($"<text x=\"{Left - 8}\" y=\"{y + groupHeight / 2 + 4:0.#}\" text-anchor=\"end\">{Escape(group.Label)}</text>"));
            foreach (Bar bar in group.Bars)
            {
                if (bar.Value is not double value)
                {
                    svg.AppendLine(Inv($"<text x=\"{Left + 4}\" y=\"{y + BarHeight - 1:0.#}\" fill=\"#999\" font-size=\"9\">{Escape(bar.Server)}: n/a</text>"));
                }
                else
                {
                    bool clipped = value > axis;
                    double w = plotWidth * Math.Min(value, axis) / axis;
                    string label = panel.Ratio ? Inv($"{value:0.00}× · {bar.Label}") : bar.Label;
                    svg.AppendLine(Inv($"<rect x=\"{Left}\" y=\"{y + 1:0.#}\" width=\"{Math.Max(1, w):0.#}\" height=\"{BarHeight - 2}\" fill=\"{Colour(servers, bar.Server)}\"><title>{Escape(bar.Server)}: {Escape(label)}</title></rect>"));
                    svg.AppendLine(Inv($"<text x=\"{Left + w + 4:0.#}\" y=\"{y + BarHeight - 1:0.#}\" font-size=\"9\">{Escape(clipped ? "▶ " + label : label)}</text>"));
                }
                y += BarHeight;
            }
            y += GroupGap;
        }
    }

    private static string Colour(List<string> servers, string server) => Palette[Math.Max(0, servers.IndexOf(server)) % Palette.Length];

    /// <summary>An axis end whose four ticks are 1, 2, 2.5 or 5 times a power of ten: round labels.</summary>
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
