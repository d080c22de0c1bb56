using System.Globalization;

namespace Stress.Server;

/// <summary>What a Linux process holds, read from /proc: resident memory, open fds, threads, CPU time.</summary>
internal static class ProcessStats
{
    /// <summary>Clock ticks per second of /proc/PID/stat's CPU times (USER_HZ; 100 on every Linux ABI .NET runs on).</summary>
    public const int TicksPerSecond = 100;

    /// <summary>Resident set size in bytes (VmRSS).</summary>
    public static long RssBytes(string pid = "self") => StatusField(pid, "VmRSS:") * 1024;

    /// <summary>Threads (from /proc/PID/status).</summary>
    public static int Threads(string pid = "self") => (int)StatusField(pid, "Threads:");

    /// <summary>Open file descriptors.</summary>
    public static int OpenFds(string pid = "self") => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;

    /// <summary>User plus system CPU time so far, in clock ticks (<see cref="TicksPerSecond"/>).</summary>
    public static long CpuTicks(string pid = "self") => ParseCpuTicks(File.ReadAllText($"/proc/{pid}/stat"));

    /// <summary>
    /// User plus system CPU time so far, in clock ticks, of the threads whose name is not <paramref name="excludedThreadName"/>
    /// (e.g. ".NET Tiered Com", the JIT's background compiler). Threads that ended are not counted.
    /// </summary>
    public static long CpuTicksExcept(string pid, string excludedThreadName)
    {
        long ticks = 0;
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') != excludedThreadName)
                {
                    ticks += ParseCpuTicks(File.ReadAllText(Path.Combine(task, "stat")));
                }
            }
            catch (IOException)
            {
                // The thread ended between the listing and the read.
            }
        }
        return ticks;
    }

    private static long ParseCpuTicks(string stat)
    {
        // The command name (field 2) is in parentheses and may hold spaces: fields count from the last ')'.
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static long StatusField(string pid, string name)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                string value = line[name.Length..].Trim();
                int space = value.IndexOf(' ', StringComparison.Ordinal);
                return long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidDataException($"/proc/{pid}/status has no {name}");
    }
}
