using System.Runtime.CompilerServices;

[assembly: DisableRuntimeMarshalling]

namespace KestrelEpollTransport.Interop;

/// <summary>
/// The few libc entry points outside epoll(7) and socket(7): plain file descriptor I/O and eventfd(2).
/// Every import is blittable, sets errno, and is wrapped at most once; wrappers return the result or <c>-errno</c>.
/// </summary>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    /// <summary>The <c>struct iovec</c> of readv(2)/writev(2).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct IOVector
    {
        public void* Base;
        public nuint Count;
    }

    /// <summary>The most iovecs one writev may take (<c>IOV_MAX</c> is 1024 on Linux); we batch at most this many.</summary>
    public const int MaxIOVectors = 64;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
    private static partial int close_(int fd);

    [LibraryImport(LibraryName, EntryPoint = "read", SetLastError = true)]
    private static partial nint read_(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "write", SetLastError = true)]
    private static partial nint write_(int fd, void* buffer, nuint count);

    [LibraryImport(LibraryName, EntryPoint = "readv", SetLastError = true)]
    private static partial nint readv_(int fd, IOVector* vectors, int count);

    [LibraryImport(LibraryName, EntryPoint = "writev", SetLastError = true)]
    private static partial nint writev_(int fd, IOVector* vectors, int count);

    [LibraryImport(LibraryName, EntryPoint = "eventfd", SetLastError = true)]
    private static partial int eventfd_(uint initialValue, int flags);

    /// <summary>The one place errno is read: a negative result becomes <c>-errno</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Result(int result) => result >= 0 ? result : -Marshal.GetLastPInvokeError();

    /// <inheritdoc cref="Result(int)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static nint Result(nint result) => result >= 0 ? result : -Marshal.GetLastPInvokeError();

    /// <summary>close(2). Never retried on EINTR: on Linux the fd is released even then, and a retry could close a reused number.</summary>
    public static int Close(int fd) => Result(close_(fd));

    public static nint Read(int fd, void* buffer, nuint count) => Result(read_(fd, buffer, count));

    public static nint Write(int fd, void* buffer, nuint count) => Result(write_(fd, buffer, count));

    public static nint ReadV(int fd, IOVector* vectors, int count) => Result(readv_(fd, vectors, count));

    public static nint WriteV(int fd, IOVector* vectors, int count) => Result(writev_(fd, vectors, count));

    public static int EventFd(uint initialValue, int flags) => Result(eventfd_(initialValue, flags));
}
