using System.Runtime.InteropServices;

namespace TransportBench.Native;

/// <summary>
/// RLIMIT_NOFILE of this process. The idle scenario holds one fd per connection in the runner, so it raises the soft
/// limit to the hard one (the servers, also .NET, do the same at start-up; they inherit the runner's limits).
/// </summary>
internal static partial class ResourceLimits
{
    private const int RLIMIT_NOFILE = 7;

    /// <summary>Raises the soft open-files limit to the hard one; returns both after the attempt.</summary>
    public static (ulong Soft, ulong Hard) RaiseOpenFilesLimit()
    {
        if (getrlimit(RLIMIT_NOFILE, out RLimit limit) != 0)
        {
            return (0, 0);
        }
        if (limit.Current < limit.Maximum)
        {
            var raised = new RLimit { Current = limit.Maximum, Maximum = limit.Maximum };
            if (setrlimit(RLIMIT_NOFILE, in raised) == 0)
            {
                limit = raised;
            }
        }
        return (limit.Current, limit.Maximum);
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
