using System.Globalization;

namespace TransportBench.Cli;

/// <summary>
/// Which CPUs the server and the load generator run on. With more than one CPU they never share one: a load generator
/// on the server's CPU steals exactly the time being measured. Pinning goes through <c>taskset -c</c>, which execs the
/// command, so the pid we hold is the server's own.
/// </summary>
internal sealed class CoreLayout
{
    private CoreLayout(string? serverCpus, string? loadCpus, int loadCpuCount, string description)
    {
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
    public IReadOnlyList<int> ServerCpuList => ServerCpus is null ? AvailableCpus() : ParseList(ServerCpus);

    /// <summary>The load generator's CPUs as numbers (all available ones when nothing is pinned).</summary>
    public IReadOnlyList<int> LoadCpuList => LoadCpus is null ? AvailableCpus() : ParseList(LoadCpus);

    /// <summary>How many CPUs the load generator has: its thread count.</summary>
    public int LoadCpuCount { get; }

    /// <summary>A sentence for the terminal and the reports.</summary>
    public string Description { get; }

    public static CoreLayout Create(BenchOptions options)
    {
        List<int> available = AvailableCpus();
        if (options.ServerCpus is not null && options.LoadCpus is not null)
        {
            int loadCount = ParseList(options.LoadCpus).Count;
            return new CoreLayout(options.ServerCpus, options.LoadCpus, Math.Max(1, loadCount),
                $"server pinned to CPU {options.ServerCpus}, load generator to CPU {options.LoadCpus} (--cores; {available.Count} CPUs available)");
        }
        if (available.Count < 2)
        {
            return new CoreLayout(null, null, 1,
                "one CPU available: server and load generator share it (no pinning; results mix both costs)");
        }
        // Lower half loads, upper half serves: on 2 CPUs the server gets CPU 1 and wrk CPU 0.
        int half = available.Count / 2;
        string load = string.Join(',', available.Take(half));
        string server = string.Join(',', available.Skip(half));
        return new CoreLayout(server, load, half,
            $"server pinned to CPU {server}, load generator to CPU {load} (taskset; {available.Count} CPUs available)");
    }

    /// <summary>
    /// This layout with the server on the first of its CPUs only: the fairness scenario measures what one CPU and one
    /// event loop do with two connections, whatever the machine.
    /// </summary>
    public CoreLayout WithOneServerCpu()
    {
        string first = ServerCpuList[0].ToString(CultureInfo.InvariantCulture);
        return new CoreLayout(first, LoadCpus, LoadCpuCount, Description);
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

    /// <summary>The CPUs this process may run on, from the kernel's own list (affinity and cgroup cpusets apply).</summary>
    private static List<int> AvailableCpus()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            {
                return ParseList(line["Cpus_allowed_list:".Length..].Trim());
            }
        }
        return [.. Enumerable.Range(0, Environment.ProcessorCount)];
    }

    /// <summary>Parses taskset/kernel list syntax: "0-2,5".</summary>
    internal static List<int> ParseList(string list)
    {
        var cpus = new List<int>();
        foreach (string part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] range = part.Split('-');
            int first = int.Parse(range[0], CultureInfo.InvariantCulture);
            int last = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : first;
            for (int cpu = first; cpu <= last; cpu++)
            {
                cpus.Add(cpu);
            }
        }
        return cpus;
    }
}
