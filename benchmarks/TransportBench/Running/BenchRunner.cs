namespace TransportBench.Running;

/// <summary>The whole run: checks the tools, publishes SampleWeb once, measures the steps of <see cref="RunPlan"/> (a
/// server that does not start is skipped), and writes the reports, of what was measured when Ctrl+C stops it.</summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchOptions options, TextWriter console, CancellationToken cancellationToken)
    {
        IReadOnlyList<Scenario> scenarios = [.. Scenario.All.Where(s => options.Scenarios.Contains(s.Name))];
        List<LayoutPlan> plans = [.. CoreLayout.All(options, CpuList.Available()).Select(layout => LayoutPlan.Create(layout, options, scenarios))];
        var machine = MachineInfo.Collect(options, [.. plans.Select(p => p.Layout)]);
        console.WriteLine($"TransportBench · {machine.Describe()}");
        console.WriteLine($"  {machine.Settings}");
        console.WriteLine($"  servers: {string.Join(", ", plans[0].Servers.Select(s => s.Name))} · scenarios: {string.Join(", ", scenarios.Select(s => s.Name))}");

        if (scenarios.Contains(Scenario.Latency) && options.Rate is null
            && !(scenarios.Contains(Scenario.Page) && plans[0].Servers.Any(s => s.Name == ServerSpec.BaselineName)))
        {
            Console.Error.WriteLine("The latency scenario's rate is half of sockets' page rate: run page on sockets too, or give --rate.");
            return 2;
        }
        string[] missing = [.. RequiredTools(scenarios).Where(tool => !ChildProcesses.Exists(tool))];
        if (missing.Length > 0)
        {
            Console.Error.WriteLine($"Missing: {string.Join(", ", missing)}. Install with: sudo scripts/install-bench-deps.sh");
            return 2;
        }
        string? perfUnavailable = options.NoPerf ? "skipped (--no-perf)" : await PerfStat.ProbeAsync(cancellationToken);
        console.WriteLine($"  syscall counting: {perfUnavailable ?? "perf stat on syscall tracepoints"}");

        string sampleDirectory;
        try
        {
            console.WriteLine(options.SampleDirectory is null ? "  publishing SampleWeb (Release)…" : $"  SampleWeb from {options.SampleDirectory}");
            sampleDirectory = options.SampleDirectory ?? await DotnetHost.PublishSampleWebAsync(cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        List<Step> steps = [.. plans.SelectMany(p => p.Steps)];
        console.WriteLine($"  estimate: {RunEstimate.Describe(steps, options)}");
        var run = new Run { Rate = options.Rate, RateSource = options.Rate is null ? null : "--rate" };
        try
        {
            var progress = new Progress(console, steps, options);
            var certificate = BenchCertificate.Create();
            foreach (LayoutPlan plan in plans)
            {
                using var measurer = new Measurer(plan.Options, plan.Layout, sampleDirectory, perfUnavailable, certificate, progress);
                foreach (Step step in plan.Steps)
                {
                    await MeasureStepAsync(run, step, measurer, progress, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.WriteLine("\nInterrupted: writing what was measured so far.");
        }

        List<ScenarioSummary> summary = [.. plans.SelectMany(p => Summarizer.Summarize(run.Samples, scenarios, p.Servers, p.Layout.Name))];
        var report = new RunReport(machine, options.Quick, run.Rate, run.RateSource, summary, run.Samples);
        console.WriteLine();
        console.Write(MarkdownReport.Overview(report));
        string outputDirectory = OutputDirectory(options);
        Directory.CreateDirectory(outputDirectory);
        (string Name, string Text)[] files =
            [("results.md", MarkdownReport.Render(report)), ("results.json", JsonReport.Serialize(report)), ("results.svg", SvgChart.Render(report))];
        foreach ((string name, string text) in files)
        {
            File.WriteAllText(Path.Combine(outputDirectory, name), text);
        }
        console.WriteLine($"Results: {string.Join("\n         ", files.Select(f => Path.Combine(outputDirectory, f.Name)))}");
        if (run.Samples.Any(s => s.Error is not null))
        {
            console.WriteLine("Some measurements failed: see the Errors section of the report.");
            return 1;
        }
        return cancellationToken.IsCancellationRequested ? 130 : 0;
    }

    /// <summary>What the steps so far produced (kept when the run is interrupted), and the servers that did not start.</summary>
    private sealed class Run
    {
        public double? Rate { get; set; }
        public string? RateSource { get; set; }
        public List<RoundSample> Samples { get; } = [];
        public Dictionary<string, string> Broken { get; } = [];
    }

    private static async Task MeasureStepAsync(Run run, Step step, Measurer measurer, Progress progress, CancellationToken cancellationToken)
    {
        (Scenario scenario, int round, ServerSpec server, _, _) = step;
        if (scenario.Kind == ScenarioKind.FixedRate && run.Rate is null)
        {
            (run.Rate, run.RateSource) = LatencyRate(run.Samples);
            progress.Note(Format.Inv($"latency scenario: fixed offered load {run.Rate:N0} req/s ({run.RateSource})"));
        }
        progress.BeginStep(Format.Inv($"{scenario.Name} · {server.Name} · {step.Layout} · round {round}"));
        if (run.Broken.TryGetValue(server.Name, out string? why))
        {
            run.Samples.Add(RoundSample.Of(step, error: "not started: " + why));
            progress.EndStep("skipped: it did not start earlier");
            return;
        }
        RoundSample sample;
        try
        {
            sample = await measurer.MeasureAsync(step, run.Rate, cancellationToken);
        }
        catch (ServerStartException e)
        {
            run.Broken[server.Name] = e.Message.Split('\n')[0];
            sample = RoundSample.Of(step, error: e.Message);
        }
        catch (InvalidOperationException e)
        {
            sample = RoundSample.Of(step, error: e.Message);
        }
        run.Samples.Add(sample);
        progress.EndStep(Describe(sample));
    }

    /// <summary>Half of sockets' rate on the page in round 1 of the first layout (the latency scenario's first step comes
    /// after it: rounds run in turn), the same for every layout, so that their latencies are at equal load.</summary>
    private static (double Rate, string Source) LatencyRate(List<RoundSample> samples)
    {
        double pageRate = Summarizer.Median(samples
            .Where(s => s.Scenario == Scenario.Page.Name && s.Server == ServerSpec.BaselineName && s.Error is null)
            .Select(s => s.RequestsPerSecond)) ?? throw new InvalidOperationException("sockets measured no page rate; give --rate");
        return (Math.Round(pageRate / 2), Format.Inv($"half of sockets' {pageRate:N0} req/s on the page in round 1"));
    }

    private static IEnumerable<string> RequiredTools(IReadOnlyList<Scenario> scenarios) =>
    [
        .. scenarios.Any(s => s.Kind is ScenarioKind.Throughput or ScenarioKind.FixedRate) ? ["wrk"] : Array.Empty<string>(),
        .. scenarios.Any(s => s.Kind == ScenarioKind.FixedRate || s.Protocol == WireProtocol.H2c) ? ["h2load"] : Array.Empty<string>(),
    ];

    private static string OutputDirectory(BenchOptions options) => options.OutputDirectory is { } given
        ? Path.GetFullPath(given)
        : Path.Combine(DotnetHost.RepositoryRoot() ?? Environment.CurrentDirectory, "benchmarks", "results",
            DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));

    /// <summary>A step's result line: the figures of the report's first columns, or why there are none.</summary>
    private static string Describe(RoundSample s) => string.Join(" · ", new[]
    {
        s.Identity is { } id ? Format.Inv($"ProcessorCount {id.ProcessorCount}, {id.Gc} GC") : null,
        s.WarmupSeconds is double warmup ? Format.Inv($"warm-up {warmup:0} s{(s.NewProcess ? " (new process)" : "")}") : null,
        s.RequestsPerSecond is double rps ? Format.Rate(rps) + " req/s" : null,
        s.CpuMicrosPerRequest is double cpu ? Format.Number(cpu) + " µs CPU/req" : null,
        (s.FixedRate?.P99Micros ?? s.Fairness?.P99Micros) is long p99 ? Format.Inv($"p99 {p99 / 1000.0:0.00} ms") : null,
        s.Idle is { } idle ? Format.Inv($"{idle.Opened:N0} idle connections, {idle.BytesPerConnection / 1024:0.0} KiB each") : null,
        s.Error is not null ? "error: " + s.Error.Split('\n')[0] : null,
    }.OfType<string>());
}
