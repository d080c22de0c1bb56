namespace KestrelEpollTransport.Interop;

/// <summary>socket(7), tcp(7) and ipv6(7): the calls, levels and options this transport uses. The values are
/// the asm-generic ones, shared by x86-64 and arm64.</summary>
internal static unsafe partial class Sock
{
    private const string LibraryName = "libc";

    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;

    public const int SOCK_STREAM = 1;
    /// <summary>Given to socket(2) and accept4(2) directly, so no fd ever exists without it (no later fcntl).</summary>
    public const int SOCK_NONBLOCK = 0x800;
    /// <summary>Given to socket(2) and accept4(2) directly, so no fd leaks into a child started in between.</summary>
    public const int SOCK_CLOEXEC = 0x80000;

    public const int SOL_SOCKET = 1;
    public const int SO_REUSEADDR = 2;
    public const int SO_TYPE = 3;
    public const int SO_ERROR = 4;
    public const int SO_LINGER = 13;
    public const int SO_REUSEPORT = 15;
    public const int SO_ACCEPTCONN = 30;
    public const int SO_DOMAIN = 39;

    public const int IPPROTO_TCP = 6;
    public const int TCP_NODELAY = 1;
    public const int IPPROTO_IPV6 = 41;
    public const int IPV6_V6ONLY = 26;

    public const int SHUT_RD = 0;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;

    /// <summary>send(2) flag: a write to a peer that is gone fails with EPIPE instead of raising SIGPIPE.</summary>
    public const int MSG_NOSIGNAL = 0x4000;

    /// <summary><c>struct msghdr</c> of sendmsg(2) (56 bytes on 64-bit Linux; pinned by the kernel-ABI test).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MessageHeader
    {
        public void* Name;
        public int NameLength;
        public Libc.IOVector* IOVectors;
        public nuint IOVectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary><c>struct linger</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Linger
    {
        public int OnOff;
        public int Seconds;
    }

    [LibraryImport(LibraryName, EntryPoint = "socket", SetLastError = true)]
    private static partial int socket_(int domain, int type, int protocol);

    [LibraryImport(LibraryName, EntryPoint = "bind", SetLastError = true)]
    private static partial int bind_(int fd, byte* addr, int addrLen);

    [LibraryImport(LibraryName, EntryPoint = "listen", SetLastError = true)]
    private static partial int listen_(int fd, int backlog);

    [LibraryImport(LibraryName, EntryPoint = "accept4", SetLastError = true)]
    private static partial int accept4_(int fd, byte* addr, int* addrLen, int flags);

    [LibraryImport(LibraryName, EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int setsockopt_(int fd, int level, int name, void* value, int valueLen);

    [LibraryImport(LibraryName, EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int getsockopt_(int fd, int level, int name, void* value, int* valueLen);

    [LibraryImport(LibraryName, EntryPoint = "getsockname", SetLastError = true)]
    private static partial int getsockname_(int fd, byte* addr, int* addrLen);

    [LibraryImport(LibraryName, EntryPoint = "getpeername", SetLastError = true)]
    private static partial int getpeername_(int fd, byte* addr, int* addrLen);

    [LibraryImport(LibraryName, EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint sendmsg_(int fd, MessageHeader* message, int flags);

    [LibraryImport(LibraryName, EntryPoint = "shutdown", SetLastError = true)]
    private static partial int shutdown_(int fd, int how);

    public static int Create(int domain) => Libc.Result(socket_(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

    public static int Bind(int fd, ref SockAddr addr)
    {
        fixed (SockAddr* p = &addr)
        {
            return Libc.Result(bind_(fd, (byte*)p, p->Length));
        }
    }

    public static int Listen(int fd, int backlog) => Libc.Result(listen_(fd, backlog));

    /// <summary>accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; the peer's address lands in <paramref name="peer"/>.</summary>
    public static int Accept(int fd, ref SockAddr peer)
    {
        int len = SockAddr.Capacity;
        int result;
        // Bytes is the struct's first field: a pointer to the struct is a pointer to the sockaddr.
        fixed (SockAddr* p = &peer)
        {
            result = Libc.Result(accept4_(fd, (byte*)p, &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
        }
        peer.Length = result >= 0 ? len : 0;
        return result;
    }

    public static int SetOption(int fd, int level, int name, int value) => Libc.Result(setsockopt_(fd, level, name, &value, sizeof(int)));

    public static int GetOption(int fd, int level, int name, out int value)
    {
        int v = 0;
        int len = sizeof(int);
        int result = Libc.Result(getsockopt_(fd, level, name, &v, &len));
        value = v;
        return result;
    }

    /// <summary>SO_LINGER {on, 0}: the next close(2) sends RST instead of FIN and drops unsent data.</summary>
    public static int SetLingerZero(int fd)
    {
        var linger = new Linger { OnOff = 1, Seconds = 0 };
        return Libc.Result(setsockopt_(fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(Linger)));
    }

    /// <summary>getsockname(2): the address the socket is bound to.</summary>
    public static int GetSockName(int fd, ref SockAddr addr) => GetName(fd, ref addr, peer: false);

    /// <summary>getpeername(2): the address of the connected peer.</summary>
    public static int GetPeerName(int fd, ref SockAddr addr) => GetName(fd, ref addr, peer: true);

    private static int GetName(int fd, ref SockAddr addr, bool peer)
    {
        int len = SockAddr.Capacity;
        int result;
        // Bytes is the struct's first field: a pointer to the struct is a pointer to the sockaddr.
        fixed (SockAddr* p = &addr)
        {
            result = Libc.Result(peer ? getpeername_(fd, (byte*)p, &len) : getsockname_(fd, (byte*)p, &len));
        }
        addr.Length = result >= 0 ? len : 0;
        return result;
    }

    /// <summary>
    /// sendmsg(2) of <paramref name="count"/> buffers with MSG_NOSIGNAL: the gathering write of writev(2), minus the
    /// SIGPIPE that writev raises on a reset socket (the runtime ignores it, but a host that restores the default
    /// disposition would die of it).
    /// </summary>
    public static IoResult SendMsg(int fd, Libc.IOVector* vectors, int count)
    {
        var message = new MessageHeader { IOVectors = vectors, IOVectorCount = (nuint)count };
        return IoResult.FromSyscall(sendmsg_(fd, &message, MSG_NOSIGNAL));
    }

    public static int Shutdown(int fd, int how) => Libc.Result(shutdown_(fd, how));
}
