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

    /// <summary>The fds open now (/proc/self/fd); the limit when not even the listing can be opened (no fd free); -1 when /proc cannot be read.</summary>
    public int CountOpen()
    {
        int count = Libc.CountOpenFds();
        return count >= 0 ? count : -count is Errno.EMFILE or Errno.ENFILE ? SoftLimit() : -1;
    }

    public int OpenSpare() => Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);

    public void Close(int fd) => Libc.Close(fd);
}
