using System.Globalization;

namespace TransportBench.Cli;

/// <summary>
/// CPU lists in the kernel's and taskset's syntax ("0-3,5"): <c>--cores</c>, and the CPUs this process may use.
/// </summary>
internal static class CpuList
{
    /// <summary>The CPUs in <paramref name="list"/>, in the order written; null, with why, when it is not a CPU list.</summary>
    public static List<int>? TryParse(string list, out string? error)
    {
        var cpus = new List<int>();
        error = null;
        string[] parts = list.Split(',', StringSplitOptions.TrimEntries);
        foreach (string part in parts)
        {
            string[] range = part.Split('-');
            if (range.Length > 2 || !TryCpu(range[0], out int first) || !TryCpu(range[^1], out int last) || last < first)
            {
                string where = part == list ? "" : $" in '{list}'";
                error = $"'{part}'{where} is not a CPU or a range of CPUs (taskset syntax, e.g. 0-3,5)";
                return null;
            }
            for (int cpu = first; cpu <= last; cpu++)
            {
                cpus.Add(cpu);
            }
        }
        return cpus;
    }

    /// <summary>Parses a list known to be valid: the kernel's own, or one <c>--cores</c> already checked.</summary>
    public static List<int> Parse(string list) =>
        TryParse(list, out string? error) ?? throw new FormatException(error);

    /// <summary>The CPUs this process may run on, from the kernel's own list (affinity and cgroup cpusets apply).</summary>
    public static List<int> Available()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            {
                return Parse(line["Cpus_allowed_list:".Length..].Trim());
            }
        }
        return [.. Enumerable.Range(0, Environment.ProcessorCount)];
    }

    /// <summary>A CPU number: digits only, as taskset takes them (no sign, no spaces inside).</summary>
    private static bool TryCpu(string text, out int cpu) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out cpu);
}
