using System.CommandLine;
using System.CommandLine.Help;

namespace TransportBench.Tests.Cli;

/// <summary>
/// The runner's command line, parsed in-process on a machine said to have CPUs 0 and 1: every option's default and
/// meaning as docs/benchmarks.md lists them, --quick as CI runs it, and a wrong option or value refused.
/// </summary>
public sealed class BenchCommandTests : IDisposable
{
    private static readonly int[] TwoCpus = [0, 1];

    /// <summary>Every option and the default its help shows, as docs/benchmarks.md documents them.</summary>
    private static readonly (string Option, string Default)[] Documented =
    [
        ("--duration", "8 for page,plaintext,json,large,latency; 5 for the others"),
        ("--warmup", "20"),
        ("--warmup-max", "60"),
        ("--perf-duration", "2"),
        ("--rounds", "3 pinned, 5 shared or split"),
        ("--layout", "pinned,shared"),
        ("--server-cpus", "half of the CPUs"),
        ("--scenarios", "all"),
        ("--servers", "sockets,sockets-tuned,epoll,floor"),
        ("--processor-count", "unset"),
        ("--threads", "the transport's default"),
        ("--rate", "half of sockets' page rate in this run's first round"),
        ("--idle-connections", "10000"),
        ("--max-noise", "10"),
        ("--out", "benchmarks/results/<timestamp>"),
        ("--sample", "builds one"),
        ("--no-perf", "off"),
        ("--quick", "off"),
    ];

    /// <summary>A folder that looks like a published SampleWeb, for --sample.</summary>
    private readonly DirectoryInfo _sample = Directory.CreateTempSubdirectory("transportbench-sample-");

    public BenchCommandTests() => File.WriteAllBytes(Path.Combine(_sample.FullName, "SampleWeb.dll"), []);

    public static IEnumerable<object[]> Options => Documented.Select(o => new object[] { o.Option, o.Default });

    [Fact]
    public void Bind_NoOptions_TheDocumentedDefaults()
    {
        BenchOptions options = Bind();

        Assert.Null(options.Duration);
        Assert.Equal(TimeSpan.FromSeconds(8), options.DurationOf(Scenario.Page));
        Assert.Equal(TimeSpan.FromSeconds(5), options.DurationOf(Scenario.Hello));
        Assert.Equal((20.0, 60.0, 2.0), (options.Warmup.TotalSeconds, options.WarmupMax.TotalSeconds, options.PerfDuration.TotalSeconds));
        Assert.Equal((null, 10_000, 10), (options.Rounds, options.IdleConnections, options.MaxNoisePercent));
        Assert.Equal(["pinned", "shared"], options.Layouts);
        Assert.Null(options.SplitServerCpus);
        Assert.Equal(Scenario.AllNames, options.Scenarios);
        Assert.Equal(18, options.Scenarios.Count);
        Assert.Equal(["sockets", "sockets-tuned", "epoll", "floor"], options.Servers);
        Assert.Equal((null, null, null), (options.ProcessorCount, options.Threads, options.Rate));
        Assert.Equal((null, null), (options.OutputDirectory, options.SampleDirectory));
        Assert.False(options.NoPerf);
        Assert.False(options.Quick);
    }

    [Fact]
    public void Bind_Quick_ItsDefaults()
    {
        BenchOptions options = Bind("--quick");

        Assert.True(options.Quick);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Duration);
        Assert.Equal((0.5, 0.5, 1.0), (options.Warmup.TotalSeconds, options.WarmupMax.TotalSeconds, options.PerfDuration.TotalSeconds));
        Assert.Equal((1, 256, 100), (options.Rounds, options.IdleConnections, options.MaxNoisePercent));
        // CI's run stays as short as it was: the pinned layout only.
        Assert.Equal(["pinned"], options.Layouts);
        Assert.Equal(["page", "hello", "latency", "idle"], options.Scenarios);
        Assert.Equal(["sockets", "sockets-tuned", "epoll", "floor"], options.Servers);
    }

    /// <summary>Exactly what tests/KestrelEpollTransport.Tests/Packaging/PackagingTests.cs runs in CI.</summary>
    [Fact]
    public void Bind_Layouts_ListAndSplitSweepOnEightCpus()
    {
        var command = new BenchCommand([0, 1, 2, 3, 4, 5, 6, 7]);
        BenchOptions options = command.Bind(command.Root.Parse("--layout pinned,split --server-cpus 1,2,4 --quick"));

        Assert.Equal(["pinned", "split"], options.Layouts);
        Assert.Equal([1, 2, 4], options.SplitServerCpus);
    }

    [Fact]
    public void Bind_QuickAsCiRunsIt_ExplicitOptionsWinOverQuicksDefaults()
    {
        BenchOptions options = Bind("--quick", "--no-perf", "--scenarios", "page,latency", "--servers", "sockets,epoll",
            "--sample", _sample.FullName, "--out", "/tmp/results");

        Assert.True(options.Quick);
        Assert.True(options.NoPerf);
        Assert.Equal(["page", "latency"], options.Scenarios);
        Assert.Equal(["sockets", "epoll"], options.Servers);
        Assert.Equal(_sample.FullName, options.SampleDirectory);
        Assert.Equal("/tmp/results", options.OutputDirectory);
        Assert.Equal((1, 0.5), (options.Rounds, options.Warmup.TotalSeconds));
    }

    [Theory]
    [InlineData("--quick", "--rounds", "2")]
    [InlineData("--rounds", "2", "--quick")]
    public void Bind_OptionBeforeOrAfterQuick_TheOptionWins(params string[] args)
    {
        Assert.Equal(2, Bind(args).Rounds);
    }

    [Fact]
    public void Bind_QuickWithALongerWarmup_TheWarmupBoundsTheLimit()
    {
        BenchOptions options = Bind("--quick", "--warmup", "5");

        Assert.Equal(TimeSpan.FromSeconds(5), options.Warmup);
        Assert.Equal(TimeSpan.FromSeconds(5), options.WarmupLimit);
    }

    [Fact]
    public void Bind_EveryOptionGiven_EachTakesItsValue()
    {
        BenchOptions options = Bind("--duration", "2.5", "--warmup", "7", "--warmup-max", "9", "--perf-duration", "1.5",
            "--rounds", "4", "--scenarios", "json, h2", "--servers", "epoll-inline,floor", "--layout", "shared", "--processor-count", "2",
            "--threads", "1,2,4", "--rate", "35754", "--idle-connections", "500", "--max-noise", "25", "--out", "out",
            "--sample", _sample.FullName, "--no-perf");

        Assert.Equal(TimeSpan.FromSeconds(2.5), options.Duration);
        Assert.Equal((7.0, 9.0, 1.5), (options.Warmup.TotalSeconds, options.WarmupMax.TotalSeconds, options.PerfDuration.TotalSeconds));
        Assert.Equal(4, options.Rounds);
        Assert.Equal(["json", "h2"], options.Scenarios);
        Assert.Equal(["epoll-inline", "floor"], options.Servers);
        Assert.Equal(["shared"], options.Layouts);
        Assert.Equal(2, options.ProcessorCount);
        Assert.Equal([1, 2, 4], options.Threads);
        Assert.Equal(35_754, options.Rate);
        Assert.Equal((500, 25), (options.IdleConnections, options.MaxNoisePercent));
        Assert.Equal("out", options.OutputDirectory);
        Assert.True(options.NoPerf);
        Assert.False(options.Quick);
    }

    [Theory]
    [InlineData("--rounds x", "--rounds takes whole numbers of at least 1, not 'x'.")]
    [InlineData("--rounds 0", "--rounds takes whole numbers of at least 1, not '0'.")]
    [InlineData("--rate -5", "--rate takes whole numbers of at least 1, not '-5'.")]
    [InlineData("--rounds", "Required argument missing for option: '--rounds'.")]
    [InlineData("--roundz 3", "Unrecognized command or argument '--roundz'.")]
    [InlineData("--duration 0", "--duration takes seconds above 0 (at most 86400), not '0'.")]
    [InlineData("--warmup NaN", "--warmup takes seconds above 0 (at most 86400), not 'NaN'.")]
    [InlineData("--perf-duration soon", "--perf-duration takes seconds above 0 (at most 86400), not 'soon'.")]
    [InlineData("--scenarios nosuch", "--scenarios: 'nosuch' is not a scenario; use page, plaintext,")]
    [InlineData("--scenarios ,", "--scenarios: the list is empty; use page,")]
    [InlineData("--servers epoll,iouring", "--servers: 'iouring' is not a server; use sockets, sockets-tuned, epoll, epoll-inline, floor.")]
    [InlineData("--threads 1,0", "--threads takes whole numbers of at least 1, not '0'.")]
    [InlineData("--sample /nonexistent", "--sample: no SampleWeb.dll in '/nonexistent'.")]
    [InlineData("--layout pinned,mixed", "--layout: 'mixed' is not a layout; use pinned, shared, split.")]
    [InlineData("--layout split", "--layout split needs 4 CPUs or more; this process may use 2.")]
    [InlineData("--server-cpus 2", "--server-cpus: 2 leaves the load generator no CPU; at most 1 here.")]
    [InlineData("--server-cpus 0", "--server-cpus takes whole numbers of at least 1, not '0'.")]
    [InlineData("--server-cpus 1", "--server-cpus is the split layout's: give --layout split (or a list with it) as well.")]
    public void Parse_WrongOptionOrValue_ErrorNamingIt(string arguments, string message)
    {
        ParseResult result = new BenchCommand(TwoCpus).Root.Parse(arguments);

        Assert.NotEmpty(result.Errors);
        Assert.Contains(result.Errors, e => e.Message.Contains(message, StringComparison.Ordinal));
    }

    /// <summary><c>--help</c>: every option, each with the default docs/benchmarks.md gives it.</summary>
    [Theory]
    [MemberData(nameof(Options))]
    public void Help_Option_ListedWithItsDefault(string option, string defaultValue)
    {
        string? line = Help().Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));

        Assert.True(line is not null, $"{option} is not in the help:\n{Help()}");
        Assert.EndsWith($"[default: {defaultValue}]", line.TrimEnd(), StringComparison.Ordinal);
    }

    /// <summary>No option is left out of <see cref="Documented"/> (so none is without its documented default).</summary>
    [Fact]
    public void Help_EveryOption_Documented()
    {
        var listed = new BenchCommand(TwoCpus).Root.Options
            .Where(o => o.Name is not ("--help" or "--version"))
            .Select(o => o.Name)
            .ToList();

        Assert.Equal(Documented.Select(d => d.Option), listed);
    }

    public void Dispose() => _sample.Delete(recursive: true);

    private static BenchOptions Bind(params string[] args)
    {
        var command = new BenchCommand(TwoCpus);
        ParseResult result = command.Root.Parse(args);
        Assert.True(result.Errors.Count == 0, string.Join("\n", result.Errors.Select(e => e.Message)));
        return command.Bind(result);
    }

    private static string Help()
    {
        var output = new StringWriter();
        RootCommand root = new BenchCommand(TwoCpus).Root;
        // Wide enough that no description wraps, whatever the test host's console: one line per option.
        ((HelpAction)root.Options.OfType<HelpOption>().Single().Action!).MaxWidth = 1_000;
        int exitCode = root.Parse("--help").Invoke(new InvocationConfiguration { Output = output });
        Assert.Equal(0, exitCode);
        return output.ToString();
    }
}
