using System.Runtime.InteropServices;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// RLIMIT_NOFILE of this process: read it, lower it (<c>Stress serve --max-open-files</c>, the fd-exhaustion tests),
/// raise the soft limit to the hard one (anything that holds thousands of connections: the many-connections test,
/// the benchmark runner's idle scenario, <c>Stress serve</c>).
/// </summary>
public static partial class ResourceLimits
{
    /// <summary>RLIMIT_NOFILE on Linux (every architecture .NET runs on).</summary>
    private const int RLIMIT_NOFILE = 7;

    /// <summary>The soft and hard open-file limits of this process.</summary>
    public static (ulong Soft, ulong Hard) OpenFiles()
    {
        if (getrlimit(RLIMIT_NOFILE, out var limit) != 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), "getrlimit(RLIMIT_NOFILE) failed");
        }
        return (limit.Current, limit.Maximum);
    }

    /// <summary>Sets both limits (as <c>prlimit --nofile=N:N</c>); fds already open stay open.</summary>
    public static void SetOpenFiles(ulong soft, ulong hard)
    {
        var limit = new RLimit { Current = soft, Maximum = hard };
        if (setrlimit(RLIMIT_NOFILE, in limit) != 0)
        {
            throw new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError(), $"setrlimit(RLIMIT_NOFILE, {soft}:{hard}) failed");
        }
    }

    /// <summary>
    /// Raises the soft open-files limit to the hard one (no privilege needed; child processes inherit it); returns
    /// both limits after.
    /// </summary>
    public static (ulong Soft, ulong Hard) RaiseOpenFilesLimit()
    {
        var (soft, hard) = OpenFiles();
        if (soft < hard)
        {
            SetOpenFiles(hard, hard);
        }
        return OpenFiles();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);
}
