namespace KestrelEpollTransport.Testing;

/// <summary>What a process holds, read from /proc: open file descriptors (by kind) and threads (by name).</summary>
public static class ProcessResources
{
    private static readonly string[] TcpTables = ["/proc/net/tcp", "/proc/net/tcp6"];

    /// <summary>
    /// The open fds of this process as "fd -> target", leaving out the runtime's mappings of assembly files.
    /// </summary>
    /// <remarks>
    /// The runtime opens each assembly it loads (two fds per .dll) and keeps it open for the life of the process.
    /// Any code path run for the first time can load one, so counting them would make an fd-leak check depend on
    /// what ran before it; no transport opens a .dll, so leaving them out hides nothing a transport could leak.
    /// </remarks>
    public static IReadOnlyList<string> OpenFds() => OpenFds("self");

    /// <summary>The thread names (comm, cut to 15 characters by Linux) of this process.</summary>
    public static IReadOnlyList<string> ThreadNames() => ThreadNames("self");

    /// <summary>The thread names (comm, cut to 15 characters by Linux) of process <paramref name="pid"/>.</summary>
    public static IReadOnlyList<string> ThreadNames(int pid) => ThreadNames(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The names of this process's event-loop threads (epoll-loop-N), sorted.</summary>
    public static IReadOnlyList<string> EpollLoopThreads() =>
        ThreadNames().Where(IsEpollLoop).Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether <paramref name="threadName"/> is one of the epoll transport's loop threads.</summary>
    public static bool IsEpollLoop(string threadName) => threadName.StartsWith("epoll-loop-", StringComparison.Ordinal);

    /// <summary>
    /// This process's threads by name, leaving out the runtime's own (".NET TP Worker", ".NET BGC", ".NET Tiered
    /// Com"...): the runtime starts and retires them on its own schedule (the pool grows under load and retires idle
    /// workers after 20 s; background GC and the JIT's tiering start on first need). Everything else is counted: the
    /// epoll loops, Kestrel's timer, and any unnamed thread (named after the process), which is what a leaked thread
    /// would be.
    /// </summary>
    public static Dictionary<string, int> NamedThreads() => ThreadNames()
        .Where(n => !n.StartsWith(".NET ", StringComparison.Ordinal))
        .GroupBy(n => n, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>The thread pool's threads now.</summary>
    public static int ThreadPoolThreads() => ThreadNames().Count(n => n == ".NET TP Worker");

    /// <summary>This process's open fds by kind: socket, pipe, anon_inode:[eventpoll], anon_inode:[eventfd], a path.</summary>
    public static Dictionary<string, int> FdKinds() => FdKinds(OpenFds());

    /// <summary>What differs between two <see cref="FdKinds()"/> snapshots, for an assertion message; empty when nothing does.</summary>
    public static string Diff(Dictionary<string, int> before, Dictionary<string, int> after) =>
        string.Join(", ", before.Keys.Union(after.Keys)
            .Select(k => (Kind: k, Delta: after.GetValueOrDefault(k) - before.GetValueOrDefault(k)))
            .Where(c => c.Delta != 0)
            .Select(c => $"{c.Kind}: {c.Delta:+0;-0}"));

    /// <summary>
    /// How many of this process's TCP sockets (IPv4 or IPv6) are connections rather than listeners: clients, and
    /// the server side of connections accepted by a transport; not connections to another process's listener.
    /// </summary>
    /// <remarks>
    /// A server closes its side of a connection after the client has gone, so an fd count taken right after the
    /// clients closed may still include some; waiting for this to reach 0 is how a test knows the server is done.
    /// </remarks>
    public static int TcpConnections() => TcpConnectionList().Count;

    /// <summary>This process's TCP connections as "local -> remote state", for an assertion message.</summary>
    public static string DescribeTcpConnections() => string.Join(", ", TcpConnectionList());

    private static List<string> TcpConnectionList()
    {
        var ourInodes = OpenFds("self")
            .Select(Target)
            .Where(t => t.StartsWith("socket:[", StringComparison.Ordinal))
            .Select(t => t["socket:[".Length..^1])
            .ToHashSet(StringComparer.Ordinal);
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
        var sockets = TcpTables
            .SelectMany(table => File.ReadLines(table).Skip(1))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToList();
        const string Listen = "0A";
        // Ports other processes listen on: a connection of ours to one of them is not a test's (the test
        // runner's own channel to this test host is one), and it lives as long as the process.
        var otherProcessesListeners = sockets
            .Where(f => f[3] == Listen && !ourInodes.Contains(f[9]))
            .Select(f => Port(f[1]))
            .ToHashSet();
        return sockets
            .Where(f => f[3] != Listen && ourInodes.Contains(f[9]) && !otherProcessesListeners.Contains(Port(f[2])))
            .Select(f => $"port {Port(f[1])} -> port {Port(f[2])} state {TcpState(f[3])}")
            .ToList();
    }

    /// <summary>"socket:[inode]" with its protocol, ports and state from /proc/net, where the kernel still lists it.</summary>
    private static string DescribeSocket(string target)
    {
        string inode = target["socket:[".Length..^1];
        foreach (string table in (string[])["tcp", "tcp6", "udp", "udp6", "unix"])
        {
            foreach (string line in File.ReadLines($"/proc/net/{table}").Skip(1))
            {
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (table == "unix" ? f.Length > 6 && f[6] == inode : f.Length > 9 && f[9] == inode)
                {
                    return table == "unix"
                        ? $"{target} unix {(f.Length > 7 ? f[7] : "(unnamed)")}"
                        : $"{target} {table} port {Port(f[1])} -> port {Port(f[2])} {TcpState(f[3])}";
                }
            }
        }
        return $"{target} (no longer listed)";
    }

    private static int Port(string hexAddress) =>
        int.Parse(hexAddress[(hexAddress.LastIndexOf(':') + 1)..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);

    private static string TcpState(string hex) => hex switch
    {
        "01" => "ESTABLISHED",
        "02" => "SYN_SENT",
        "03" => "SYN_RECV",
        "04" => "FIN_WAIT1",
        "05" => "FIN_WAIT2",
        "06" => "TIME_WAIT",
        "07" => "CLOSE",
        "08" => "CLOSE_WAIT",
        "09" => "LAST_ACK",
        "0B" => "CLOSING",
        _ => hex,
    };

    /// <summary>
    /// What differs between two fd snapshots, by kind of target (socket, pipe, anon_inode:[eventpoll], a path),
    /// for an assertion message.
    /// </summary>
    public static string Diff(IReadOnlyList<string> before, IReadOnlyList<string> after)
    {
        string changes = Diff(FdKinds(before), FdKinds(after));
        // The sockets that came or went, with what the kernel says they are (an fd number alone says nothing).
        var beforeTargets = before.Select(Target).ToHashSet(StringComparer.Ordinal);
        var afterTargets = after.Select(Target).ToHashSet(StringComparer.Ordinal);
        var gone = beforeTargets.Except(afterTargets).Where(t => t.StartsWith("socket:", StringComparison.Ordinal)).Select(DescribeSocket);
        var added = afterTargets.Except(beforeTargets).Where(t => t.StartsWith("socket:", StringComparison.Ordinal)).Select(DescribeSocket);
        return $"{before.Count} fds before, {after.Count} now; {changes}; sockets gone [{string.Join(", ", gone)}], new [{string.Join(", ", added)}]";
    }

    /// <summary>An <see cref="OpenFds()"/> entry's target ("socket:[inode]", a path).</summary>
    private static string Target(string fd) => fd[(fd.IndexOf(" -> ", StringComparison.Ordinal) + 4)..];

    private static Dictionary<string, int> FdKinds(IReadOnlyList<string> fds) => fds
        .Select(Target)
        .Select(t => t.StartsWith("socket:", StringComparison.Ordinal) ? "socket" : t.StartsWith("pipe:", StringComparison.Ordinal) ? "pipe" : t)
        .GroupBy(k => k, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    private static List<string> OpenFds(string pid)
    {
        var fds = new List<string>();
        foreach (string path in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
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
            if (target is null || target.EndsWith(".dll", StringComparison.Ordinal))
            {
                continue;
            }
            fds.Add($"{Path.GetFileName(path)} -> {target}");
        }
        return fds;
    }

    private static List<string> ThreadNames(string pid)
    {
        var names = new List<string>();
        foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
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
}
