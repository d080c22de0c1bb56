using KestrelEpollTransport.Interop;

namespace KestrelEpollTransport.Internal;

/// <summary>The process's own fd table: getrlimit(2), /proc/self/fd, and eventfd(2) as the spare fd.</summary>
internal sealed class ProcessFdTable : IFdTable
{
    public static ProcessFdTable Instance { get; } = new();

    private ProcessFdTable()
    {
    }

    public int SoftLimit() => Libc.GetOpenFileLimit();

    /// <summary>
    /// The entries of /proc/self/fd, less the one the listing itself opens. When even that cannot be opened (no fd
    /// free), the table is full: the limit.
    /// </summary>
    public int CountOpen()
    {
        try
        {
            int count = 0;
            foreach (string _ in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            {
                count++;
            }
            return Math.Max(0, count - 1);
        }
        catch (IOException)
        {
            return SoftLimit();
        }
    }

    public int OpenSpare() => Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);

    public void Close(int fd) => Libc.Close(fd);
}
