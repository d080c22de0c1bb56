using System.ComponentModel;
using System.Runtime.InteropServices;

namespace TransportBench.Load;

/// <summary>
/// RLIMIT_NOFILE of the runner, raised for the idle scenario's thousands of connections. The few lines of
/// tests/KestrelEpollTransport.Testing's ResourceLimits it needs, so that the runner references no test library.
/// </summary>
internal static partial class OpenFilesLimit
{
    /// <summary>RLIMIT_NOFILE on Linux (every architecture .NET runs on).</summary>
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises the soft limit to the hard one (no privilege needed); returns both limits after.</summary>
    public static (ulong Soft, ulong Hard) Raise()
    {
        RLimit limit = Get();
        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (setrlimit(RLIMIT_NOFILE, in raised) != 0)
            {
                throw new Win32Exception(Marshal.GetLastPInvokeError(), "setrlimit(RLIMIT_NOFILE) failed");
            }
            limit = Get();
        }
        return (limit.Current, limit.Maximum);
    }

    private static RLimit Get() => getrlimit(RLIMIT_NOFILE, out RLimit limit) == 0
        ? limit
        : throw new Win32Exception(Marshal.GetLastPInvokeError(), "getrlimit(RLIMIT_NOFILE) failed");

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
