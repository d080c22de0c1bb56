namespace TransportBench.Results;

/// <summary>results.svg, drawn by hand: requests/s and CPU per request against sockets, the two figures a reader compares
/// first. Bars run sideways, one row per server under each scenario's name, so eighteen scenarios stay readable.</summary>
internal static class SvgChart
{
    private const int Width = 960, Left = 120, PlotWidth = 700, BarHeight = 10, GroupGap = 8;
    /// <summary>The axis end: ratios above 3× would squeeze the rest into a sliver, so they are clipped and marked.</summary>
    private const double AxisEnd = 3;
    private static readonly string[] Palette = ["#8c8c8c", "#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#eeca3b"];

    public static string Render(RunReport report)
    {
        var servers = report.ServerNames();
        var svg = new StringBuilder();
        int y = Panel(svg, 90, servers, "Requests/s, × sockets (longer is better; label: ratio · req/s)",
            report.Scenarios.Where(s => s.Scenario.Kind == ScenarioKind.Throughput),
            s => s.Server == ServerSpec.FloorName ? null : (s.RequestsPerSecondRatio, Format.Rate(s.RequestsPerSecond)));
        y = Panel(svg, y, servers, "Server CPU per request, × sockets (shorter is better; label: ratio · µs)",
            report.Scenarios.Where(s => s.Scenario.Kind is ScenarioKind.Throughput or ScenarioKind.FixedRate),
            s => (s.CpuRatio, Format.Number(s.CpuMicrosPerRequest) + " µs"));
        MachineInfo m = report.Machine;
        var head = new StringBuilder()
            .AppendLine(Format.Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{y}\" viewBox=\"0 0 {Width} {y}\" font-family=\"sans-serif\" font-size=\"12\">"))
            .AppendLine(Format.Inv($"<rect width=\"{Width}\" height=\"{y}\" fill=\"white\"/>"))
            .AppendLine($"<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">Kestrel transports{(report.Quick ? " (--quick: not worth quoting)" : "")}</text>")
            .AppendLine($"<text x=\"10\" y=\"40\" fill=\"#555\">{Escape(Format.Inv($"{m.CpuCount} × {m.Cpu}, Linux {m.Kernel}, {m.Runtime}; {m.Started}"))}</text>")
            .AppendLine($"<text x=\"10\" y=\"56\" fill=\"#555\">{Escape(m.Pinning)}</text>");
        for (int i = 0; i < servers.Count; i++)
        {
            head.AppendLine(Format.Inv($"<rect x=\"{10 + i * 150}\" y=\"66\" width=\"12\" height=\"12\" fill=\"{Palette[i % Palette.Length]}\"/><text x=\"{27 + i * 150}\" y=\"76\">{Escape(servers[i])}</text>"));
        }
        return head.Append(svg).AppendLine("</svg>").ToString();
    }

    /// <summary>One panel of ratio bars; <paramref name="bar"/> gives a server's ratio and label, or null to leave it out.</summary>
    private static int Panel(StringBuilder svg, int top, List<string> servers, string title, IEnumerable<ScenarioSummary> scenarios,
        Func<ServerSummary, (double? Ratio, string Label)?> bar)
    {
        svg.AppendLine(Format.Inv($"<text x=\"10\" y=\"{top + 24}\" font-size=\"13\" font-weight=\"bold\">{Escape(title)}</text>"));
        int plotTop = top + 44;
        int y = plotTop;
        foreach (ScenarioSummary scenario in scenarios)
        {
            var bars = scenario.Servers.Select(s => (s.Server, Bar: bar(s))).Where(b => b.Bar is not null).ToList();
            svg.AppendLine(Format.Inv($"<text x=\"{Left - 8}\" y=\"{y + bars.Count * BarHeight / 2 + 4}\" text-anchor=\"end\">{Escape($"{scenario.Scenario.Name} · {scenario.Layout}")}</text>"));
            foreach ((string server, var value) in bars)
            {
                string colour = Palette[Math.Max(0, servers.IndexOf(server)) % Palette.Length];
                string label = value!.Value.Ratio is double r ? Format.Inv($"{(r > AxisEnd ? "▶ " : "")}{r:0.00}× · {value.Value.Label}") : $"{server}: n/a";
                double w = PlotWidth * Math.Min(value.Value.Ratio ?? 0, AxisEnd) / AxisEnd;
                svg.AppendLine(Format.Inv($"<rect x=\"{Left}\" y=\"{y + 1}\" width=\"{Math.Max(1, w):0.#}\" height=\"{BarHeight - 2}\" fill=\"{colour}\"><title>{Escape(server)}</title></rect>"))
                    .AppendLine(Format.Inv($"<text x=\"{Left + w + 4:0.#}\" y=\"{y + BarHeight - 1}\" font-size=\"9\">{Escape(label)}</text>"));
                y += BarHeight;
            }
            y += GroupGap;
        }
        for (int tick = 0; tick <= 6; tick++)
        {
            double x = Left + PlotWidth * tick / 6.0;
            string stroke = tick == 2 ? "#333\" stroke-dasharray=\"4 3" : "#e5e5e5";
            svg.AppendLine(Format.Inv($"<line x1=\"{x:0.#}\" x2=\"{x:0.#}\" y1=\"{plotTop - 4}\" y2=\"{y}\" stroke=\"{stroke}\"/>"))
                .AppendLine(Format.Inv($"<text x=\"{x:0.#}\" y=\"{y + 14}\" text-anchor=\"middle\" fill=\"#555\">{AxisEnd * tick / 6:0.#}×</text>"));
        }
        return y + 24;
    }

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
