namespace KestrelEpollTransport.Interop;

/// <summary>epoll(7): epoll_create1(2), epoll_ctl(2), epoll_wait(2), their flags and <c>struct epoll_event</c>.</summary>
internal static unsafe partial class Epoll
{
    private const string LibraryName = "libc";

    public const uint EPOLLIN = 0x001;
    public const uint EPOLLPRI = 0x002;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLEXCLUSIVE = 1u << 28;
    public const uint EPOLLET = 1u << 31;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    /// <summary>
    /// <c>struct epoll_event</c> as x86-64 lays it out: the kernel declares it <c>__attribute__((packed))</c> there,
    /// so <c>data</c> sits at offset 4 and the struct is 12 bytes. On arm64 (and every other architecture) it is not
    /// packed: <c>data</c> at offset 8, 16 bytes; see <see cref="EventArm64"/>. Tests pin both against the C header.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EventX64
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary><c>struct epoll_event</c> on arm64: natural alignment, 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct EventArm64
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>True where the kernel packs <c>struct epoll_event</c> (x86-64 only); a JIT-time constant.</summary>
    public static readonly bool IsPacked = RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>The size of one <c>struct epoll_event</c> on this architecture.</summary>
    public static int EventSize => IsPacked ? sizeof(EventX64) : sizeof(EventArm64);

    [LibraryImport(LibraryName, EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int epoll_create1_(int flags);

    [LibraryImport(LibraryName, EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int epoll_ctl_(int epfd, int op, int fd, void* ev);

    [LibraryImport(LibraryName, EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int epoll_wait_(int epfd, void* events, int maxEvents, int timeout);

    public static int Create() => Libc.Result(epoll_create1_(EPOLL_CLOEXEC));

    /// <summary>epoll_ctl(2) with the event laid out for this architecture.</summary>
    public static int Control(int epfd, int op, int fd, uint events, ulong data)
    {
        if (IsPacked)
        {
            var ev = new EventX64 { Events = events, Data = data };
            return Libc.Result(epoll_ctl_(epfd, op, fd, &ev));
        }
        else
        {
            var ev = new EventArm64 { Events = events, Data = data };
            return Libc.Result(epoll_ctl_(epfd, op, fd, &ev));
        }
    }

    /// <summary>
    /// epoll_wait(2) into <paramref name="events"/> (an array of <paramref name="maxEvents"/> native events).
    /// The one blocking call of the transport, so the one place EINTR is retried (a signal to the process, e.g.
    /// SIGCHLD or a debugger, interrupts it and is no error).
    /// </summary>
    public static int Wait(int epfd, void* events, int maxEvents, int timeout)
    {
        while (true)
        {
            int result = Libc.Result(epoll_wait_(epfd, events, maxEvents, timeout));
            if (result != -Errno.EINTR)
            {
                return result;
            }
        }
    }

    /// <summary>Reads event <paramref name="index"/> of a buffer filled by <see cref="Wait"/>.</summary>
    public static void GetEvent(void* events, int index, out uint flags, out ulong data)
    {
        if (IsPacked)
        {
            var ev = ((EventX64*)events)[index];
            flags = ev.Events;
            data = ev.Data;
        }
        else
        {
            var ev = ((EventArm64*)events)[index];
            flags = ev.Events;
            data = ev.Data;
        }
    }
}
