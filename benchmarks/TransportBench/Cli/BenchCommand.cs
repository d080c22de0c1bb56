using System.CommandLine;
using System.CommandLine.Parsing;

namespace TransportBench.Cli;

/// <summary>The runner's command line, as the stress tool's: every option with its default in <c>--help</c>, every
/// value checked while parsing. <see cref="Bind"/>: <c>--quick</c> swaps the defaults for <see
/// cref="BenchOptions.QuickRun"/>, and an option given explicitly wins either way.</summary>
/// <remarks>A default that is not a plain value is written into the description as "[default: …]", the form
/// System.CommandLine gives the others: its help builder's customisation is internal in 3.0.</remarks>
internal sealed class BenchCommand
{
    private static readonly BenchOptions Defaults = new();
    private static readonly BenchOptions Quick = BenchOptions.QuickRun;
    private readonly Option<double> _duration = Seconds("--duration", null,
        "Measured seconds per load run, every scenario (wrk and h2load take whole seconds); --quick: 1. [default: 8 for page,plaintext,json,large,latency; 5 for the others]");
    private readonly Option<double> _warmup = Seconds("--warmup", Defaults.Warmup, "Least load before a measurement on a new server " +
        $"process ({WarmupRule.ReusedLeast.TotalSeconds} s on one kept from the round's earlier scenarios); it goes on until the server's JIT " +
        $"has compiled ≤ 5 methods in each of two 2-s steps in a row (tiering done); --quick: {Quick.Warmup.TotalSeconds}.");
    private readonly Option<double> _warmupMax = Seconds("--warmup-max", Defaults.WarmupMax,
        $"Most load before each measurement, JIT quiet or not; --quick: {Quick.WarmupMax.TotalSeconds}.");
    private readonly Option<double> _perfDuration = Seconds("--perf-duration", Defaults.PerfDuration,
        $"Length of the separate syscall-counting pass; --quick: {Quick.PerfDuration.TotalSeconds}.");
    private readonly Option<int> _rounds = Positive("--rounds", "N", null,
        $"Rounds of each layout; in each, every server runs once per scenario (A B C), and their order turns by one each round; --quick: {Quick.Rounds}. [default: 3 pinned, 5 shared or split]");
    private readonly Option<IReadOnlyList<string>> _layouts = Names("--layout", "layout", BenchOptions.AllLayouts,
        "Comma-separated: pinned (the server on its own CPUs, the load on the others), shared (nothing pinned: the server sees every CPU, " +
        $"the load shares them), split (the server on N CPUs, the load on the rest; {CoreLayout.SplitMinimumCpus} CPUs or more); every scenario " +
        $"runs in each; --quick: {string.Join(',', Quick.Layouts)}. [default: {string.Join(',', Defaults.Layouts)}]");
    private readonly Option<IReadOnlyList<int>> _serverCpus = PositiveList("--server-cpus",
        "The split layout's server CPU counts, each a layout of its own (split-1, split-2, …), e.g. 1,2,4,8. [default: half of the CPUs]");
    private readonly Option<IReadOnlyList<string>> _scenarios = Names("--scenarios", "scenario", Scenario.AllNames,
        "Comma-separated: page,plaintext,json,large,latency,idle, and the shapes of real apps: hello,stream,sse,chunks,churn,session," +
        $"upload-4k,upload-1m,tls,tls-churn,h2,fairness; --quick: {string.Join(',', Quick.Scenarios)}. [default: all]");
    private readonly Option<IReadOnlyList<string>> _servers = Names("--servers", "server", BenchOptions.AllServers,
        "Comma-separated: sockets, sockets-tuned, epoll, floor, and epoll-inline (epoll with UnsafePreferInlineScheduling, the " +
        $"counterpart of sockets-tuned). [default: {string.Join(',', Defaults.Servers)}]");
    private readonly Option<int> _processorCount = Positive("--processor-count", "N", null,
        "DOTNET_PROCESSOR_COUNT=N for every server (and the floor) in the pinned layout. [default: unset]");
    private readonly Option<IReadOnlyList<int>> _threads = PositiveList("--threads",
        "Epoll ThreadCount values, each run as its own server (epoll-t1, epoll-t2, …), e.g. 1,2,4. [default: the transport's default]");
    private readonly Option<int> _rate = Positive("--rate", "N", null,
        "Offered req/s of the latency scenario. [default: half of sockets' page rate in this run's first round]");
    private readonly Option<int> _idleConnections = Positive("--idle-connections", "N", Defaults.IdleConnections,
        $"Idle keep-alive connections; --quick: {Quick.IdleConnections}.");
    private readonly Option<int> _maxNoise = Positive("--max-noise", "PERCENT", Defaults.MaxNoisePercent, "Measure a run again (twice " +
        "at most) when other processes took more than this share of the server CPU; the quietest attempt is kept; 100 turns it off; " +
        $"not in shared, where the load generator is on the server's CPUs; --quick: {Quick.MaxNoisePercent}.");
    private readonly Option<string> _out = new("--out") { HelpName = "DIR", Description = "Results folder. [default: benchmarks/results/<timestamp>]" };
    private readonly Option<string> _sample = new("--sample")
    {
        HelpName = "DIR", Description = "An already published SampleWeb (a folder with SampleWeb.dll), skipping the build. [default: builds one]",
    };
    private readonly Option<bool> _noPerf = new("--no-perf") { Description = "Skip syscall counting. [default: off]" };
    private readonly Option<bool> _quick = new("--quick")
    {
        Description = "About a minute in all (CI): 1 round, 1 s runs, page,hello,latency,idle, 256 idle connections, noisy runs " +
            "not repeated; options given as well still win. [default: off]",
    };

    /// <param name="availableCpus">The CPUs this process may use: what --layout and --server-cpus ask for must fit.</param>
    public BenchCommand(IReadOnlyList<int> availableCpus)
    {
        _layouts.Validators.Add(result =>
        {
            // The raw tokens: a list the parser refused has no value to read here.
            if (Split(result.Tokens[^1].Value).Contains("split") && availableCpus.Count < CoreLayout.SplitMinimumCpus)
            {
                result.AddError($"--layout split needs {CoreLayout.SplitMinimumCpus} CPUs or more; this process may use {availableCpus.Count}.");
            }
        });
        _serverCpus.Validators.Add(result =>
        {
            int most = availableCpus.Count - 1;
            bool split = result.Parent is CommandResult command && command.GetResult(_layouts) is { Implicit: false } layouts
                && Split(layouts.Tokens[^1].Value).Contains("split");
            // The raw tokens: a value the parser refused is its error alone.
            int[] counts = [.. Split(result.Tokens[^1].Value).Select(n => int.TryParse(n, out int count) ? count : 0)];
            if (counts.FirstOrDefault(n => n > most) is int wrong and > 0)
            {
                result.AddError($"--server-cpus: {wrong} leaves the load generator no CPU; at most {most} here.");
            }
            else if (!split && counts.All(n => n > 0))
            {
                result.AddError("--server-cpus is the split layout's: give --layout split (or a list with it) as well.");
            }
        });
        _sample.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is var folder && (folder.Trim().Length == 0 || !File.Exists(Path.Combine(Path.GetFullPath(folder), "SampleWeb.dll"))))
            {
                result.AddError($"--sample: no SampleWeb.dll in '{folder}'.");
            }
        });
        Root = new RootCommand("TransportBench: Kestrel Sockets (default and tuned) against the epoll transport, plus an in-memory " +
            "floor. See docs/benchmarks.md for what it measures and how.")
        {
            _duration, _warmup, _warmupMax, _perfDuration, _rounds, _layouts, _serverCpus, _scenarios, _servers, _processorCount, _threads,
            _rate, _idleConnections, _maxNoise, _out, _sample, _noPerf, _quick,
        };
    }

    public RootCommand Root { get; }

    /// <summary>The options of a parse without errors.</summary>
    public BenchOptions Bind(ParseResult result)
    {
        BenchOptions start = result.GetValue(_quick) ? Quick : Defaults;
        return start with
        {
            Duration = Given(result, _duration, start.Duration?.TotalSeconds) is double seconds ? TimeSpan.FromSeconds(seconds) : null,
            Warmup = TimeSpan.FromSeconds(Given(result, _warmup, start.Warmup.TotalSeconds)),
            WarmupMax = TimeSpan.FromSeconds(Given(result, _warmupMax, start.WarmupMax.TotalSeconds)),
            PerfDuration = TimeSpan.FromSeconds(Given(result, _perfDuration, start.PerfDuration.TotalSeconds)),
            Rounds = Given(result, _rounds, start.Rounds),
            Layouts = Given(result, _layouts, start.Layouts),
            SplitServerCpus = Given<IReadOnlyList<int>?>(result, _serverCpus, null),
            Scenarios = Given(result, _scenarios, start.Scenarios),
            Servers = Given(result, _servers, start.Servers),
            ProcessorCount = Given<int?>(result, _processorCount, null),
            Threads = Given<IReadOnlyList<int>?>(result, _threads, null),
            Rate = Given<int?>(result, _rate, null),
            IdleConnections = Given(result, _idleConnections, start.IdleConnections),
            MaxNoisePercent = Given(result, _maxNoise, start.MaxNoisePercent),
            OutputDirectory = Given<string?>(result, _out, null),
            SampleDirectory = Given<string?>(result, _sample, null) is string sample ? Path.GetFullPath(sample) : null,
            NoPerf = result.GetValue(_noPerf),
        };
    }

    /// <summary>The value given on the command line, or <paramref name="fallback"/> (not the help's default).</summary>
    private static T Given<T>(ParseResult result, Option option, T fallback) =>
        result.GetResult(option) is { Implicit: false } given ? given.GetValueOrDefault<T>() : fallback;

    /// <summary>Seconds above 0 (fractions allowed), at most a day.</summary>
    private static Option<double> Seconds(string name, TimeSpan? defaultValue, string description) => new(name)
    {
        Description = description, HelpName = "seconds",
        DefaultValueFactory = defaultValue is TimeSpan value ? _ => value.TotalSeconds : null,
        CustomParser = result => double.TryParse(result.Tokens[^1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            && seconds is > 0 and <= 86_400 ? seconds : Refuse(result, $"{name} takes seconds above 0 (at most 86400), not '{result.Tokens[^1].Value}'."),
    };

    private static Option<int> Positive(string name, string helpName, int? defaultValue, string description) => new(name)
    {
        Description = description, HelpName = helpName,
        DefaultValueFactory = defaultValue is int value ? _ => value : null,
        CustomParser = result => ParsePositive(result, name, result.Tokens[^1].Value),
    };

    private static Option<IReadOnlyList<int>> PositiveList(string name, string description) => new(name)
    {
        Description = description, HelpName = "LIST",
        CustomParser = result => [.. Split(result.Tokens[^1].Value).Select(count => ParsePositive(result, name, count))],
    };

    private static int ParsePositive(ArgumentResult result, string name, string token) =>
        int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int number) && number >= 1
            ? number : Refuse(result, $"{name} takes whole numbers of at least 1, not '{token}'.");

    /// <summary>Records <paramref name="error"/> on the parse; the 0 returned is never used.</summary>
    private static int Refuse(ArgumentResult result, string error)
    {
        result.AddError(error);
        return 0;
    }

    private static Option<IReadOnlyList<string>> Names(string name, string what, IReadOnlyList<string> allowed, string description) => new(name)
    {
        Description = description, HelpName = "LIST",
        CustomParser = result =>
        {
            string[] names = Split(result.Tokens[^1].Value);
            string? wrong = names.Length == 0 ? "the list is empty" : names.FirstOrDefault(n => !allowed.Contains(n)) is { } n ? $"'{n}' is not a {what}" : null;
            if (wrong is not null)
            {
                result.AddError($"{name}: {wrong}; use {string.Join(", ", allowed)}.");
            }
            return names;
        },
    };

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
