using System.Globalization;
using TransportBench.Cli;
using TransportBench.Measure;
using TransportBench.Results;
using TransportBench.Servers;

namespace TransportBench.Running;

/// <summary>
/// The whole run: checks the tools, publishes SampleWeb once, then for each scenario runs every server once per round
/// (A B C A B C …, so drift on a shared machine hits all alike), and writes the reports. A server that does not
/// start is reported and skipped; Ctrl+C stops the run and still writes what was measured.
/// </summary>
internal static class BenchRunner
{
    public static async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var cores = CoreLayout.Create(options);
        var machine = MachineInfo.Collect(options, cores);
        IReadOnlyList<Scenario> scenarios = [.. Scenario.All.Where(s => options.Scenarios.Contains(s.Name))];
        IReadOnlyList<ServerSpec> servers = ServerSpec.Create(options);
        Console.WriteLine($"TransportBench · {machine.Describe()}");
        Console.WriteLine($"  {machine.Settings}");
        Console.WriteLine($"  servers: {string.Join(", ", servers.Select(s => s.Name))} · scenarios: {string.Join(", ", scenarios.Select(s => s.Name))}");

        string[] missing = [.. RequiredTools(scenarios).Where(tool => !ToolRun.Exists(tool))];
        if (missing.Length > 0)
        {
            Console.Error.WriteLine($"Missing: {string.Join(", ", missing)}. Install with: sudo scripts/install-bench-deps.sh");
            return 2;
        }
        string? perfUnavailable = options.NoPerf ? "skipped (--no-perf)" : await PerfStat.ProbeAsync(cancellationToken);
        Console.WriteLine($"  syscall counting: {perfUnavailable ?? "perf stat on syscall tracepoints"}");

        string sampleDirectory;
        try
        {
            Console.WriteLine(options.SampleDirectory is null ? "  publishing SampleWeb (Release)…" : $"  SampleWeb from {options.SampleDirectory}");
            sampleDirectory = options.SampleDirectory ?? await SampleWebPublisher.PublishAsync(cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        // The floor runs only what it can serve (HTTP/1.1 at saturation); the reports say n/a, and why, elsewhere.
        var steps = (from scenario in scenarios
                     from round in Enumerable.Range(1, options.Rounds)
                     from server in servers
                     where !server.IsFloor || scenario.FloorServes
                     select (scenario, round, server)).ToList();
        Console.WriteLine($"  estimate: {RunEstimate.Describe(steps.Select(s => (s.scenario, s.server)), options)}");
        BenchCertificate? certificate = scenarios.Any(s => s.Protocol == WireProtocol.Https) ? BenchCertificate.Create() : null;
        var samples = new List<RoundSample>();
        var broken = new Dictionary<string, string>();
        double? rate = options.Rate;
        string? rateSource = options.Rate is null ? null : "--rate";
        using var progress = new Progress(steps.Count);
        var measurer = new Measurer(options, cores, sampleDirectory, perfUnavailable, certificate, progress);
        try
        {
            foreach ((Scenario scenario, int round, ServerSpec server) in steps)
            {
                if (scenario.Kind == ScenarioKind.FixedRate && rate is null)
                {
                    (rate, rateSource) = await LatencyRateAsync(samples, measurer, cancellationToken);
                    Console.WriteLine(Format.Inv($"  latency scenario: fixed offered load {rate:N0} req/s ({rateSource})"));
                }
                progress.BeginStep(Format.Inv($"{scenario.Name} · {server.Name} · round {round}/{options.Rounds}"));
                if (broken.TryGetValue(server.Name, out string? why))
                {
                    samples.Add(new RoundSample { Scenario = scenario.Name, Server = server.Name, Round = round, Error = "not started: " + why });
                    progress.EndStep("skipped: it did not start earlier");
                    continue;
                }
                RoundSample sample;
                try
                {
                    sample = await MeasureQuietlyAsync(measurer, progress, options, scenario, server, round, rate, cancellationToken);
                }
                catch (ServerStartException e)
                {
                    broken[server.Name] = e.Message.Split('\n')[0];
                    sample = new RoundSample { Scenario = scenario.Name, Server = server.Name, Round = round, Error = e.Message };
                }
                catch (InvalidOperationException e)
                {
                    sample = new RoundSample { Scenario = scenario.Name, Server = server.Name, Round = round, Error = e.Message };
                }
                samples.Add(sample);
                progress.EndStep(Describe(sample));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.WriteLine();
            Console.WriteLine("Interrupted: writing what was measured so far.");
        }

        List<ScenarioSummary> summary = Summarizer.Summarize(samples, scenarios, servers);
        ConsoleTable.Print(summary);
        string outputDirectory = OutputDirectory(options);
        var report = new RunReport(machine, options.Quick, rate, rateSource, summary, samples);
        string json = JsonReport.Write(report, outputDirectory);
        string markdown = MarkdownReport.Write(report, outputDirectory);
        string svg = SvgChart.Write(report, outputDirectory);
        Console.WriteLine($"Results: {markdown}\n         {json}\n         {svg}");
        if (samples.Any(s => s.Error is not null))
        {
            Console.WriteLine("Some measurements failed: see the Errors section of the report.");
            return 1;
        }
        return cancellationToken.IsCancellationRequested ? 130 : 0;
    }

    /// <summary>
    /// Measures, and measures again (twice at most) while other processes took more than --max-noise of the server's
    /// CPU during the timed run; keeps the quietest attempt.
    /// </summary>
    private static async Task<RoundSample> MeasureQuietlyAsync(
        Measurer measurer, Progress progress, BenchOptions options, Scenario scenario, ServerSpec server, int round, double? rate,
        CancellationToken cancellationToken)
    {
        const int MaxAttempts = 3;
        RoundSample best = await measurer.MeasureAsync(scenario, server, round, rate, cancellationToken);
        for (int attempt = 2; attempt <= MaxAttempts && best.Cpu is { } cpu && cpu.ForeignPercent > options.MaxNoisePercent; attempt++)
        {
            progress.EndStep(Format.Inv($"noisy: other processes took {cpu.ForeignPercent:0}% of the server CPU; measuring again ({attempt}/{MaxAttempts})"));
            RoundSample again = await measurer.MeasureAsync(scenario, server, round, rate, cancellationToken);
            again.Attempts = attempt;
            if (again.Cpu is { } c && c.ForeignPercent < cpu.ForeignPercent)
            {
                best = again;
            }
            else
            {
                best.Attempts = attempt;
            }
        }
        return best;
    }

    /// <summary>Half of sockets' median rate on the page in this run; without one, a saturation probe of sockets.</summary>
    private static async Task<(double Rate, string Source)> LatencyRateAsync(
        List<RoundSample> samples, Measurer measurer, CancellationToken cancellationToken)
    {
        double? measured = Summarizer.Median(samples
            .Where(s => s.Scenario == Scenario.Page.Name && s.Server == ServerSpec.BaselineName && s.Error is null)
            .Select(s => s.RequestsPerSecond));
        if (measured is double pageRate)
        {
            return (Math.Round(pageRate / 2), Format.Inv($"half of sockets' {pageRate:N0} req/s on the page in this run"));
        }
        var probeOptions = BenchOptions.Parse(["--servers", ServerSpec.BaselineName], out _)!;
        double probed = await measurer.ProbeSaturationAsync(Scenario.Page, ServerSpec.Create(probeOptions)[0], cancellationToken);
        return (Math.Round(probed / 2), Format.Inv($"half of sockets' {probed:N0} req/s in a saturation probe"));
    }

    private static IEnumerable<string> RequiredTools(IReadOnlyList<Scenario> scenarios)
    {
        if (scenarios.Any(s => s.Kind is ScenarioKind.Throughput or ScenarioKind.FixedRate))
        {
            yield return "wrk";
        }
        if (scenarios.Any(s => s.Kind == ScenarioKind.FixedRate || s.Protocol == WireProtocol.H2c))
        {
            yield return "h2load";
        }
    }

    private static string OutputDirectory(BenchOptions options)
    {
        if (options.OutputDirectory is not null)
        {
            return Path.GetFullPath(options.OutputDirectory);
        }
        string root = DotnetHost.RepositoryRoot() ?? Environment.CurrentDirectory;
        return Path.Combine(root, "benchmarks", "results", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
    }

    private static string Describe(RoundSample sample)
    {
        if (sample.Error is not null && sample.RequestsPerSecond is null && sample.Idle is null)
        {
            return "FAILED: " + sample.Error.Split('\n')[0];
        }
        var parts = new List<string>();
        if (sample.Identity is { } id)
        {
            parts.Add(Format.Inv($"ProcessorCount {id.ProcessorCount}, {id.Gc} GC"));
        }
        if (sample.RequestsPerSecond is double rps)
        {
            parts.Add(Format.Rate(rps) + " req/s");
        }
        if (sample.CpuMicrosPerRequest is double cpu)
        {
            parts.Add(Format.Number(cpu) + " µs CPU/req");
        }
        if (sample.Fairness is { } fair)
        {
            parts.Add(Format.Inv($"small p50 {fair.P50Micros / 1000.0:0.00} ms, p99 {fair.P99Micros / 1000.0:0.00} ms, max {fair.MaxMicros / 1000.0:0.00} ms; flood {fair.FloodMiBPerSecond:0} MiB/s{(fair.Starved ? "; STARVED" : "")}"));
        }
        if (sample.FixedRate is { } fr)
        {
            parts.Add(Format.Inv($"p50 {fr.P50Micros / 1000.0:0.00} ms, p99 {fr.P99Micros / 1000.0:0.00} ms, p99.9 {fr.P999Micros / 1000.0:0.00} ms"));
        }
        if (sample.Syscalls is { } sc)
        {
            parts.Add(Format.Number(sc.PerRequest(sc.Total), "0.00") + " syscalls/req, " + Format.Number(sc.PerRequest(sc.SocketWrites), "0.00") + " writes/resp");
        }
        if (sample.Idle is { } idle)
        {
            parts.Add(Format.Inv($"{idle.Opened:N0} idle connections, {idle.BytesPerConnection / 1024:0.0} KiB each"));
        }
        if (sample.Error is not null)
        {
            parts.Add("error: " + sample.Error.Split('\n')[0]);
        }
        return string.Join(" · ", parts);
    }
}
