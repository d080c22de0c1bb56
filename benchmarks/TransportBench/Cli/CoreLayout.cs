using System.Globalization;

namespace TransportBench.Cli;

/// <summary>
/// Which CPUs the server and the load generator run on. With more than one CPU they never share one: a load generator
/// on the server's CPU steals exactly the time being measured. Pinning goes through <c>taskset -c</c>, which execs the
/// command, so the pid we hold is the server's own.
/// </summary>
internal sealed class CoreLayout
{
    private readonly IReadOnlyList<int> _available;

    private CoreLayout(IReadOnlyList<int> available, string? serverCpus, string? loadCpus, int loadCpuCount, string description)
    {
        _available = available;
        ServerCpus = serverCpus;
        LoadCpus = loadCpus;
        LoadCpuCount = loadCpuCount;
        Description = description;
    }

    /// <summary>taskset list for servers, or null when nothing is pinned.</summary>
    public string? ServerCpus { get; }

    /// <summary>taskset list for wrk and h2load, or null when nothing is pinned.</summary>
    public string? LoadCpus { get; }

    /// <summary>The server's CPUs as numbers (all available ones when nothing is pinned).</summary>
    public IReadOnlyList<int> ServerCpuList => ServerCpus is null ? _available : CpuList.Parse(ServerCpus);

    /// <summary>The load generator's CPUs as numbers (all available ones when nothing is pinned).</summary>
    public IReadOnlyList<int> LoadCpuList => LoadCpus is null ? _available : CpuList.Parse(LoadCpus);

    /// <summary>How many CPUs the load generator has: its thread count.</summary>
    public int LoadCpuCount { get; }

    /// <summary>A sentence for the terminal and the reports.</summary>
    public string Description { get; }

    /// <summary>
    /// The layout of <c>--cores</c>, or on its own: the lower half of <paramref name="available"/> loads and the upper
    /// half serves (on 2 CPUs the server gets CPU 1 and wrk CPU 0); nothing is pinned on one CPU.
    /// </summary>
    public static CoreLayout Create(BenchOptions options, IReadOnlyList<int> available)
    {
        if (options.ServerCpus is not null && options.LoadCpus is not null)
        {
            int loadCount = CpuList.Parse(options.LoadCpus).Count;
            return new CoreLayout(available, options.ServerCpus, options.LoadCpus, Math.Max(1, loadCount),
                $"server pinned to CPU {options.ServerCpus}, load generator to CPU {options.LoadCpus} (--cores; {available.Count} CPUs available)");
        }
        if (available.Count < 2)
        {
            return new CoreLayout(available, null, null, 1,
                "one CPU available: server and load generator share it (no pinning; results mix both costs)");
        }
        (string server, string load) = Split(available);
        return new CoreLayout(available, server, load, available.Count / 2,
            $"server pinned to CPU {server}, load generator to CPU {load} (taskset; {available.Count} CPUs available)");
    }

    /// <summary>The upper half of <paramref name="available"/> for the server, the lower half for the load (taskset lists).</summary>
    public static (string Server, string Load) Split(IReadOnlyList<int> available)
    {
        int half = available.Count / 2;
        return (string.Join(',', available.Skip(half)), string.Join(',', available.Take(half)));
    }

    /// <summary>
    /// This layout with the server on the first of its CPUs only: the fairness scenario measures what one CPU and one
    /// event loop do with two connections, whatever the machine.
    /// </summary>
    public CoreLayout WithOneServerCpu()
    {
        string first = ServerCpuList[0].ToString(CultureInfo.InvariantCulture);
        return new CoreLayout(_available, first, LoadCpus, LoadCpuCount, Description);
    }

    /// <summary>Wraps a command in taskset when a CPU list is given.</summary>
    public static (string FileName, List<string> Arguments) Pin(string? cpus, string fileName, IEnumerable<string> arguments)
    {
        if (cpus is null)
        {
            return (fileName, [.. arguments]);
        }
        return ("taskset", ["-c", cpus, fileName, .. arguments]);
    }
}
