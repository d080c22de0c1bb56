using System.ComponentModel;
using System.Runtime.InteropServices;

namespace TransportBench.Load;

/// <summary>
/// RLIMIT_NOFILE of the runner, raised for the idle scenario's thousands of connections: glibc's <c>prlimit</c> on
/// this process, a <c>struct rlimit</c> being two 64-bit words (soft, hard). The runner's own, so that it references
/// no test library.
/// </summary>
internal static unsafe partial class OpenFilesLimit
{
    /// <summary>RLIMIT_NOFILE on Linux (every architecture .NET runs on).</summary>
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises the soft limit to the hard one (no privilege needed); returns both limits after.</summary>
    public static (ulong Soft, ulong Hard) Raise()
    {
        ulong* limit = stackalloc ulong[2];
        Check(prlimit(0, RLIMIT_NOFILE, null, limit));
        if (limit[0] < limit[1])
        {
            limit[0] = limit[1];
            Check(prlimit(0, RLIMIT_NOFILE, limit, null));
        }
        return (limit[0], limit[1]);
    }

    private static void Check(int result)
    {
        if (result != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "prlimit(RLIMIT_NOFILE) failed");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int prlimit(int pid, int resource, ulong* newLimit, ulong* oldLimit);
}
