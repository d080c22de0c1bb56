namespace TransportBench.Cli;

/// <summary>How a layout (<c>--layout</c>) places the server and the load generator (docs/benchmarks.md, "Layouts").</summary>
internal enum LayoutKind
{
    /// <summary>The server pinned to its own CPUs, the load generator on the others.</summary>
    Pinned,
    /// <summary>Nothing pinned: the server sees every CPU and the load generator shares them.</summary>
    Shared,
    /// <summary>The server pinned to N CPUs, the load generator on the rest; 4 CPUs or more.</summary>
    Split,
}

/// <summary>Which CPUs the server and the load generator run on, by layout. Pinned and split, they never share one.
/// Pinning goes through <c>taskset -c</c>, which execs the command, so the pid we hold is the server's own.</summary>
/// <param name="ServerCpus">taskset list for servers, or null when nothing is pinned (as <paramref name="LoadCpus"/>).</param>
/// <param name="LoadCpuCount">How many CPUs the load generator has: its thread count.</param>
internal sealed record CoreLayout(
    LayoutKind Kind, string Name, IReadOnlyList<int> Available, string? ServerCpus, string? LoadCpus, int LoadCpuCount, string Description)
{
    /// <summary>The fewest CPUs a split layout needs: two for the server at least, two for the load.</summary>
    public const int SplitMinimumCpus = 4;
    /// <summary>The server's CPUs as numbers (all available ones when nothing is pinned), as <see cref="LoadCpuList"/>.</summary>
    public IReadOnlyList<int> ServerCpuList => ServerCpus is null ? Available : CpuList.Parse(ServerCpus);
    public IReadOnlyList<int> LoadCpuList => LoadCpus is null ? Available : CpuList.Parse(LoadCpus);

    /// <summary>The pinned layout: the lower half of <paramref name="available"/> loads and the upper half serves (on 2
    /// CPUs the server gets CPU 1 and wrk CPU 0); nothing is pinned on one CPU.</summary>
    public static CoreLayout Pinned(IReadOnlyList<int> available)
    {
        if (available.Count < 2)
        {
            return new CoreLayout(LayoutKind.Pinned, "pinned", available, null, null, 1,
                "one CPU available: server and load generator share it (no pinning; results mix both costs)");
        }
        (string server, string load) = Split(available);
        return new CoreLayout(LayoutKind.Pinned, "pinned", available, server, load, available.Count / 2,
            $"server pinned to CPU {server}, load generator to CPU {load} (taskset; {available.Count} CPUs available)");
    }

    /// <summary>Every layout of <c>--layout</c>, in its order; split once per <c>--server-cpus</c> count.</summary>
    public static List<CoreLayout> All(BenchOptions options, IReadOnlyList<int> available) =>
    [
        .. options.Layouts.SelectMany(name => name switch
        {
            "shared" => [Shared(available)],
            "split" => (options.SplitServerCpus ?? [available.Count / 2]).Select(n => SplitAt(available, n)),
            _ => new[] { Pinned(available) },
        }),
    ];

    public static CoreLayout Shared(IReadOnlyList<int> available) => new(LayoutKind.Shared, "shared", available, null, null, available.Count,
        $"nothing pinned: the server sees all {available.Count} CPUs (default ProcessorCount, ThreadCount and GC) and the load generator shares them");

    /// <summary>The upper <paramref name="serverCpus"/> of <paramref name="available"/> serve, the others load.</summary>
    public static CoreLayout SplitAt(IReadOnlyList<int> available, int serverCpus)
    {
        string server = string.Join(',', available.Skip(available.Count - serverCpus));
        string load = string.Join(',', available.Take(available.Count - serverCpus));
        return new CoreLayout(LayoutKind.Split, $"split-{serverCpus}", available, server, load, available.Count - serverCpus,
            $"server pinned to CPU {server} (ProcessorCount {serverCpus}), load generator to CPU {load}");
    }

    /// <summary>Rounds of this layout: <c>--rounds</c>, or 3 pinned and 5 where the load shares or moves (noisier).</summary>
    public int Rounds(BenchOptions options) => options.Rounds ?? (Kind == LayoutKind.Pinned ? 3 : 5);

    /// <summary>The upper half of <paramref name="available"/> for the server, the lower half for the load (taskset lists).</summary>
    public static (string Server, string Load) Split(IReadOnlyList<int> available)
    {
        int half = available.Count / 2;
        return (string.Join(',', available.Skip(half)), string.Join(',', available.Take(half)));
    }

    /// <summary>This layout with the server on the first of its CPUs only, for the fairness scenario (shared pins
    /// nothing: only its one loop stays).</summary>
    public CoreLayout WithOneServerCpu() => Kind == LayoutKind.Shared ? this : this with { ServerCpus = Format.Inv($"{ServerCpuList[0]}") };

    /// <summary>Wraps a command in taskset when a CPU list is given.</summary>
    public static (string FileName, List<string> Arguments) Pin(string? cpus, string fileName, IEnumerable<string> arguments) =>
        cpus is null ? (fileName, [.. arguments]) : ("taskset", ["-c", cpus, fileName, .. arguments]);
}

/// <summary>CPU lists in the kernel's and taskset's syntax ("0-3,5"), and the CPUs this process may use.</summary>
internal static class CpuList
{
    /// <summary>The CPUs in <paramref name="list"/>, in the order written; null, with why, when it is not a CPU list.</summary>
    public static List<int>? TryParse(string list, out string? error)
    {
        var cpus = new List<int>();
        error = null;
        foreach (string part in list.Split(',', StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-');
            if (range.Length > 2 || !TryCpu(range[0], out int first) || !TryCpu(range[^1], out int last) || last < first)
            {
                string where = part == list ? "" : $" in '{list}'";
                error = $"'{part}'{where} is not a CPU or a range of CPUs (taskset syntax, e.g. 0-3,5)";
                return null;
            }
            cpus.AddRange(Enumerable.Range(first, last - first + 1));
        }
        return cpus;
    }

    /// <summary>Parses a list known to be valid: the kernel's own, or a layout's.</summary>
    public static List<int> Parse(string list) => TryParse(list, out string? error) ?? throw new FormatException(error);

    /// <summary>The CPUs this process may run on, from the kernel's own list (affinity and cgroup cpusets apply).</summary>
    public static List<int> Available() =>
        File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal)) is { } line
            ? Parse(line["Cpus_allowed_list:".Length..].Trim())
            : [.. Enumerable.Range(0, Environment.ProcessorCount)];

    /// <summary>A CPU number: digits only, as taskset takes them (no sign, no spaces inside).</summary>
    private static bool TryCpu(string text, out int cpu) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out cpu);
}
