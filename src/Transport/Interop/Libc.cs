using System.Runtime.CompilerServices;

[assembly: DisableRuntimeMarshalling]

namespace KestrelEpollTransport.Interop;

/// <summary>
/// The few libc entry points outside epoll(7) and socket(7): plain file descriptor I/O and eventfd(2).
/// Every import is blittable, sets errno, and is wrapped at most once; wrappers return the result or <c>-errno</c>,
/// and the I/O calls an <see cref="IoResult"/> (a byte count or an errno).
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    /// <summary>The <c>struct iovec</c> of sendmsg(2) (and readv(2)/writev(2)).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IOVector
    {
        public void* Base;
        public nuint Count;
    }

    /// <summary>The <c>struct pollfd</c> of poll(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    public const short POLLIN = 0x1;

    /// <summary>
    /// The most iovecs one sendmsg may take (<c>IOV_MAX</c> is 1024 on Linux); we batch at most this many: 1 MiB of
    /// 4 KiB pool blocks in one call, so a large response needs few writes, and 4 KiB of iovecs on the stack
    /// (docs/architecture.md, "Measurements behind constants").
    /// </summary>
    public const int MaxIOVectors = 256;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
    private static partial int close_(int fd);

    [LibraryImport(LibraryName, EntryPoint = "read", SetLastError = true)]
    private static partial nint read_(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "write", SetLastError = true)]
    private static partial nint write_(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "unlink", SetLastError = true)]
    private static partial int unlink_(byte* path);

    [LibraryImport(LibraryName, EntryPoint = "poll", SetLastError = true)]
    private static partial int poll_(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(LibraryName, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int eventfd_(uint initialValue, int flags);

    /// <summary>The <c>struct rlimit</c> of getrlimit(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Soft;
        public ulong Hard;
    }

    private const int RLIMIT_NOFILE = 7;

    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000;
    private const int O_CLOEXEC = 0x80000;

    [LibraryImport(LibraryName, EntryPoint = "open", SetLastError = true)]
    private static partial int open_(byte* path, int flags);

    [LibraryImport(LibraryName, EntryPoint = "getdents64", SetLastError = true)]
    private static partial nint getdents64_(int fd, byte* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int getrlimit_(int resource, ResourceLimit* limit);

    /// <summary>The one place errno is read: a negative result becomes <c>-errno</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Result(int result) => result >= 0 ? result : -Marshal.GetLastPInvokeError();

    /// <inheritdoc cref="Result(int)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nint Result(nint result) => result >= 0 ? result : -Marshal.GetLastPInvokeError();

    /// <summary>close(2). Never retried on EINTR: on Linux the fd is released even then, and a retry could close a reused number.</summary>
    public static int Close(int fd) => Result(close_(fd));

    public static IoResult Read(int fd, void* buffer, nuint count) => IoResult.FromSyscall(read_(fd, buffer, count));

    public static IoResult Write(int fd, void* buffer, nuint count) => IoResult.FromSyscall(write_(fd, buffer, count));

    public static int EventFd(uint initialValue, int flags) => Result(eventfd_(initialValue, flags));

    /// <summary>
    /// How many fds this process has open: the entries of /proc/self/fd, read with getdents64 into a stack buffer (no
    /// allocation, no string per entry), less the one the listing itself opens. <c>-errno</c> when it cannot be read
    /// (EMFILE when no fd is free for the listing).
    /// </summary>
    public static int CountOpenFds()
    {
        ReadOnlySpan<byte> path = "/proc/self/fd\0"u8;
        int dir;
        fixed (byte* p = path)
        {
            dir = Result(open_(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        }
        if (dir < 0)
        {
            return dir;
        }
        const int BufferSize = 16 * 1024;
        byte* buffer = stackalloc byte[BufferSize];
        int count = 0;
        try
        {
            while (true)
            {
                nint read = Result(getdents64_(dir, buffer, BufferSize));
                if (read <= 0)
                {
                    return read < 0 ? (int)read : count - 1;
                }
                // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                for (nint offset = 0; offset < read;)
                {
                    ushort length = *(ushort*)(buffer + offset + 16);
                    if (buffer[offset + 19] != (byte)'.')
                    {
                        count++;
                    }
                    offset += length;
                }
            }
        }
        finally
        {
            Close(dir);
        }
    }

    /// <summary>The soft RLIMIT_NOFILE (clamped to <see cref="int.MaxValue"/>); <see cref="int.MaxValue"/> if it cannot be read.</summary>
    public static int GetOpenFileLimit()
    {
        ResourceLimit limit;
        return getrlimit_(RLIMIT_NOFILE, &limit) == 0 ? (int)Math.Min(limit.Soft, int.MaxValue) : int.MaxValue;
    }

    /// <summary>poll(2) on one fd for <paramref name="events"/>: 1 when ready, 0 on timeout, or <c>-errno</c> (EINTR included).</summary>
    public static int PollOne(int fd, short events, int timeoutMilliseconds)
    {
        var entry = new PollFd { Fd = fd, Events = events };
        return Result(poll_(&entry, 1, timeoutMilliseconds));
    }

    /// <summary>unlink(2) of a path given as UTF-8 without its terminating zero.</summary>
    public static int Unlink(ReadOnlySpan<byte> path)
    {
        Span<byte> terminated = stackalloc byte[path.Length + 1];
        path.CopyTo(terminated);
        terminated[^1] = 0;
        fixed (byte* p = terminated)
        {
            return Result(unlink_(p));
        }
    }
}
