namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>What this process holds, read from /proc: open fds (by kind) and threads (by name).</summary>
public static class ProcessResources
{
    /// <summary>
    /// This process's open fds as their targets, leaving out assembly files: the runtime keeps every .dll it loads
    /// open, and any code path run for the first time can load one; no transport opens a .dll.
    /// </summary>
    public static IReadOnlyList<string> OpenFds()
    {
        var targets = new List<string>();
        foreach (string path in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(path).LinkTarget;
            }
            catch (IOException)
            {
                // Closed between the listing and the read (the listing's own directory fd, for one).
                continue;
            }
            if (target is not null && !target.EndsWith(".dll", StringComparison.Ordinal))
            {
                targets.Add(target);
            }
        }
        return targets;
    }

    /// <summary>Open fds by kind: socket, pipe, anon_inode:[eventpoll], anon_inode:[eventfd], a path.</summary>
    public static Dictionary<string, int> FdKinds() => OpenFds()
        .Select(t => t.StartsWith("socket:", StringComparison.Ordinal) ? "socket" : t.StartsWith("pipe:", StringComparison.Ordinal) ? "pipe" : t)
        .GroupBy(k => k, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>What differs between two <see cref="FdKinds"/> snapshots.</summary>
    public static string Diff(Dictionary<string, int> before, Dictionary<string, int> after) =>
        string.Join(", ", before.Keys.Union(after.Keys)
            .Select(k => (Kind: k, Delta: after.GetValueOrDefault(k) - before.GetValueOrDefault(k)))
            .Where(c => c.Delta != 0)
            .Select(c => $"{c.Kind}: {c.Delta:+0;-0}"));

    /// <summary>The names (comm) of this process's threads.</summary>
    public static IReadOnlyList<string> ThreadNames()
    {
        var names = new List<string>();
        foreach (string task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                names.Add(File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'));
            }
            catch (IOException)
            {
                // The thread ended between the listing and the read.
            }
        }
        return names;
    }

    /// <summary>
    /// Threads by name, leaving out the runtime's own (".NET TP Worker", ".NET BGC", ".NET Tiered Com"...): the
    /// runtime starts and retires them on its own schedule (the pool grows under load and retires idle workers after
    /// 20 s; background GC and the JIT's tiering start on first need). Everything else is counted: the epoll loops,
    /// Kestrel's timer, and any unnamed thread (named after the process), which is what a leaked thread would be.
    /// </summary>
    public static Dictionary<string, int> NamedThreads() => ThreadNames()
        .Where(n => !n.StartsWith(".NET ", StringComparison.Ordinal))
        .GroupBy(n => n, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>The thread pool's threads now.</summary>
    public static int ThreadPoolThreads() => ThreadNames().Count(n => n == ".NET TP Worker");
}
