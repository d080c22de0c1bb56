using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace TransportBench.Cli;

/// <summary>
/// The runner's command line (System.CommandLine, as the stress tool's): every option with its default in
/// <c>--help</c>, and every check made while parsing, so a wrong option or value is a message and exit code 2 before
/// anything runs. <see cref="Bind"/> turns a parse into <see cref="BenchOptions"/>: <c>--quick</c> swaps the defaults
/// for <see cref="BenchOptions.QuickRun"/>, and an option given explicitly wins either way.
/// </summary>
/// <remarks>
/// Defaults that are not a plain value (decided by the scenario, the machine or the run) are written into the
/// description as "[default: …]", the form System.CommandLine writes for the others: its help builder's
/// customisation is internal in 3.0.0.
/// </remarks>
internal sealed class BenchCommand
{
    private static readonly BenchOptions Defaults = new();
    private static readonly BenchOptions Quick = BenchOptions.QuickRun;

    private readonly Option<double> _duration = Seconds("--duration",
        "Measured seconds per load run, every scenario (wrk and h2load take whole seconds); --quick: 1. [default: 10; 5 for the shapes]");
    private readonly Option<double> _warmup = Seconds("--warmup",
        "Least load before each measurement; it goes on until the server's JIT has compiled ≤ 5 methods in each of two " +
        $"2-s steps in a row (tiering done); --quick: {Quick.Warmup.TotalSeconds}.", Defaults.Warmup);
    private readonly Option<double> _warmupMax = Seconds("--warmup-max",
        $"Most load before each measurement, JIT quiet or not; --quick: {Quick.WarmupMax.TotalSeconds}.", Defaults.WarmupMax);
    private readonly Option<double> _perfDuration = Seconds("--perf-duration",
        $"Length of the separate syscall-counting pass; --quick: {Quick.PerfDuration.TotalSeconds}.", Defaults.PerfDuration);
    private readonly Option<int> _rounds = Positive("--rounds", "N",
        $"Rounds; in each, every server runs once per scenario, A B C A B C …; --quick: {Quick.Rounds}.", Defaults.Rounds);
    private readonly Option<IReadOnlyList<string>> _scenarios = Names("--scenarios", "scenario", Scenario.AllNames,
        "Comma-separated: page,plaintext,json,large,latency,idle, and the shapes of real apps: hello,stream,sse,chunks," +
        $"churn,session,upload-4k,upload-1m,tls,tls-churn,h2,fairness; --quick: {string.Join(',', Quick.Scenarios)}. [default: all]");
    private readonly Option<IReadOnlyList<string>> _servers = Names("--servers", "server", BenchOptions.AllServers,
        "Comma-separated: sockets, sockets-tuned, epoll, floor, and epoll-inline (epoll with UnsafePreferInlineScheduling, " +
        $"the counterpart of sockets-tuned). [default: {string.Join(',', Defaults.Servers)}]");
    private readonly Option<string> _cores = new("--cores")
    {
        HelpName = "SERVER/LOAD",
        Description = "CPUs in taskset syntax, e.g. 1/0 or 4-7/0-3. [default: the upper half serves, the lower half loads; " +
            "no pinning on one CPU]",
    };
    private readonly Option<int> _processorCount = Positive("--processor-count", "N",
        "DOTNET_PROCESSOR_COUNT=N for every server (and the floor). [default: unset]");
    private readonly Option<IReadOnlyList<int>> _threads = new("--threads")
    {
        HelpName = "LIST",
        Description = "Epoll ThreadCount values, each run as its own server (epoll-t1, epoll-t2, …), e.g. 1,2,4. " +
            "[default: the transport's default]",
        CustomParser = ParseThreads,
    };
    private readonly Option<int> _rate = Positive("--rate", "N",
        "Offered req/s of the latency scenario. [default: half of sockets' page rate in this run]");
    private readonly Option<int> _idleConnections = Positive("--idle-connections", "N",
        $"Idle keep-alive connections; --quick: {Quick.IdleConnections}.", Defaults.IdleConnections);
    private readonly Option<int> _maxNoise = Positive("--max-noise", "PERCENT",
        "Measure a run again (twice at most) when other processes took more than this share of the server CPU; the " +
        $"quietest attempt is kept; 100 turns it off; --quick: {Quick.MaxNoisePercent}.", Defaults.MaxNoisePercent);
    private readonly Option<string> _out = new("--out")
    {
        HelpName = "DIR",
        Description = "Results folder. [default: benchmarks/results/<timestamp>]",
    };
    private readonly Option<string> _sample = new("--sample")
    {
        HelpName = "DIR",
        Description = "An already published SampleWeb (a folder with SampleWeb.dll), skipping the build. [default: builds one]",
    };
    private readonly Option<bool> _noPerf = new("--no-perf") { Description = "Skip syscall counting. [default: off]" };
    private readonly Option<bool> _quick = new("--quick")
    {
        Description = "About a minute in all (CI): 1 round, 1 s runs, page,hello,latency,idle, 256 idle connections, noisy " +
            "runs not repeated; options given as well still win. [default: off]",
    };

    /// <param name="availableCpus">The CPUs this process may use: <c>--cores</c> must name some of them.</param>
    public BenchCommand(IReadOnlyList<int> availableCpus)
    {
        _cores.Validators.Add(result => CheckCores(result, availableCpus));
        _sample.Validators.Add(result =>
        {
            string folder = result.GetValueOrDefault<string>();
            if (folder.Trim().Length == 0 || !File.Exists(Path.Combine(Path.GetFullPath(folder), "SampleWeb.dll")))
            {
                result.AddError($"--sample: no SampleWeb.dll in '{folder}'.");
            }
        });
        Root = new RootCommand(
            "TransportBench: Kestrel Sockets (default and tuned) against the epoll transport, plus an in-memory floor. " +
            "See docs/benchmarks.md for what it measures and how.")
        {
            _duration, _warmup, _warmupMax, _perfDuration, _rounds, _scenarios, _servers, _cores, _processorCount, _threads,
            _rate, _idleConnections, _maxNoise, _out, _sample, _noPerf, _quick,
        };
    }

    public RootCommand Root { get; }

    /// <summary>The options of a parse without errors.</summary>
    public BenchOptions Bind(ParseResult result)
    {
        BenchOptions start = result.GetValue(_quick) ? Quick : Defaults;
        string[]? cores = Given<string?>(result, _cores, null)?.Split('/');
        return start with
        {
            Duration = Given(result, _duration, start.Duration?.TotalSeconds) is double seconds ? TimeSpan.FromSeconds(seconds) : null,
            Warmup = TimeSpan.FromSeconds(Given(result, _warmup, start.Warmup.TotalSeconds)),
            WarmupMax = TimeSpan.FromSeconds(Given(result, _warmupMax, start.WarmupMax.TotalSeconds)),
            PerfDuration = TimeSpan.FromSeconds(Given(result, _perfDuration, start.PerfDuration.TotalSeconds)),
            Rounds = Given(result, _rounds, start.Rounds),
            Scenarios = Given(result, _scenarios, start.Scenarios),
            Servers = Given(result, _servers, start.Servers),
            ServerCpus = cores?[0],
            LoadCpus = cores?[1],
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

    /// <summary>Seconds above 0 (fractions allowed), at most a day; with a plain default, or none (null).</summary>
    private static Option<double> Seconds(string name, string description, TimeSpan? defaultValue = null)
    {
        var option = new Option<double>(name) { Description = description, HelpName = "seconds" };
        if (defaultValue is TimeSpan value)
        {
            option.DefaultValueFactory = _ => value.TotalSeconds;
        }
        option.Validators.Add(result =>
        {
            // A token that is not a number is the parser's to report, in its words.
            if (result.Tokens.Count > 0 && double.TryParse(result.Tokens[^1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
                && !(seconds is > 0 and <= 86_400))
            {
                result.AddError($"{name} must be above 0 and at most 86400 seconds, not {result.Tokens[^1].Value}.");
            }
        });
        return option;
    }

    /// <summary>An integer of at least 1; with a plain default, or none.</summary>
    private static Option<int> Positive(string name, string helpName, string description, int? defaultValue = null)
    {
        var option = new Option<int>(name) { Description = description, HelpName = helpName };
        if (defaultValue is int value)
        {
            option.DefaultValueFactory = _ => value;
        }
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && int.TryParse(result.Tokens[^1].Value, CultureInfo.InvariantCulture, out int number) && number < 1)
            {
                result.AddError($"{name} must be at least 1, not {number}.");
            }
        });
        return option;
    }

    /// <summary>A comma-separated list of names, each one of <paramref name="allowed"/>.</summary>
    private static Option<IReadOnlyList<string>> Names(string name, string what, IReadOnlyList<string> allowed, string description) => new(name)
    {
        Description = description,
        HelpName = "LIST",
        CustomParser = result =>
        {
            string[] names = Split(result.Tokens[^1].Value);
            string? wrong = names.Length == 0 ? "the list is empty" : names.FirstOrDefault(n => !allowed.Contains(n)) is { } unknown ? $"'{unknown}' is not a {what}" : null;
            if (wrong is not null)
            {
                result.AddError($"{name}: {wrong}; use {string.Join(", ", allowed)}.");
            }
            return names;
        },
    };

    private static List<int>? ParseThreads(ArgumentResult result)
    {
        var counts = new List<int>();
        foreach (string item in Split(result.Tokens[^1].Value))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
            {
                result.AddError($"--threads takes positive integers, e.g. 1,2,4, not '{item}'.");
                return null;
            }
            counts.Add(count);
        }
        if (counts.Count == 0)
        {
            result.AddError("--threads: an empty list; give thread counts, e.g. 1,2,4.");
        }
        return counts;
    }

    /// <summary>SERVER/LOAD, each a CPU list of CPUs this process may use (taskset would refuse others, too late).</summary>
    private static void CheckCores(OptionResult result, IReadOnlyList<int> available)
    {
        string value = result.GetValueOrDefault<string>();
        string[] parts = value.Split('/');
        if (parts.Length != 2)
        {
            result.AddError($"--cores takes SERVER/LOAD in taskset syntax, e.g. 1/0, not '{value}'.");
            return;
        }
        foreach (string part in parts)
        {
            List<int>? cpus = CpuList.TryParse(part, out string? error);
            if (cpus is null)
            {
                result.AddError($"--cores: {error}.");
                return;
            }
            if (cpus.FirstOrDefault(cpu => !available.Contains(cpu), -1) is int missing and >= 0)
            {
                result.AddError($"--cores: CPU {missing} is not available here; this process may use CPUs {string.Join(',', available)}.");
                return;
            }
        }
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
