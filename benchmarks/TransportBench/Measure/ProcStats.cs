namespace TransportBench.Measure;

/// <summary>Reads a process's CPU time and memory from /proc. CPU comes in clock ticks (USER_HZ, 100 on Linux: 10 ms), so
/// a measurement needs about a second of busy CPU for 1 % precision.</summary>
internal static class ProcStats
{
    private const double TicksPerSecond = 100;
    /// <summary>utime + stime of every thread the process has or had.</summary>
    public static TimeSpan CpuTime(int pid) => Total(CpuTimes(pid));
    /// <summary>utime and stime apart: time in the process's own code and time in the kernel on its behalf.</summary>
    public static (TimeSpan User, TimeSpan System) CpuTimes(int pid) => ParseStatCpu(File.ReadAllText($"/proc/{pid}/stat"));
    public static TimeSpan ThreadCpuTime(int pid, int tid) => Total(ParseStatCpu(File.ReadAllText($"/proc/{pid}/task/{tid}/stat")));

    /// <summary>Time the given CPUs spent running anything in user or kernel mode (user + nice + system), from /proc/stat.</summary>
    public static TimeSpan CpuBusy(IReadOnlyCollection<int> cpus)
    {
        long ticks = 0;
        // "cpuN user nice system idle iowait irq softirq steal …", in ticks.
        foreach (string[] fields in File.ReadLines("/proc/stat").Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (fields[0].Length > 3 && fields[0].StartsWith("cpu", StringComparison.Ordinal)
                && cpus.Contains(int.Parse(fields[0].AsSpan(3), CultureInfo.InvariantCulture)))
            {
                ticks += fields[1..4].Sum(field => long.Parse(field, CultureInfo.InvariantCulture));
            }
        }
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    public static long PeakRssKib(int pid) => StatusKib(pid, "VmHWM:");
    public static long RssKib(int pid) => StatusKib(pid, "VmRSS:");

    /// <summary>Resets the process's peak RSS (VmHWM) to its current RSS (<c>echo 5 &gt; /proc/PID/clear_refs</c>, Linux
    /// 4.0 on), so that the next <see cref="PeakRssKib"/> is the peak since now; false when the kernel refused.</summary>
    public static bool TryResetPeakRss(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The "Max open files" soft and hard limits of a process (each a number or "unlimited"), or null.</summary>
    public static (string Soft, string Hard)? OpenFilesLimits(int pid) =>
        File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal))?
            ["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries) is [string soft, string hard, ..]
            ? (soft, hard)
            : null;

    private static (TimeSpan User, TimeSpan System) ParseStatCpu(string stat)
    {
        // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
        // There, index 0 is field 3 (state); utime and stime are fields 14 and 15.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (TimeSpan.FromSeconds(long.Parse(fields[11], CultureInfo.InvariantCulture) / TicksPerSecond),
            TimeSpan.FromSeconds(long.Parse(fields[12], CultureInfo.InvariantCulture) / TicksPerSecond));
    }

    private static TimeSpan Total((TimeSpan User, TimeSpan System) cpu) => cpu.User + cpu.System;
    private static long StatusKib(int pid, string key) =>
        File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal)) is { } line
            ? long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture)
            : 0;
}
