namespace KestrelEpollTransport.Interop;

/// <summary>
/// The errno values this transport tells apart (asm-generic/errno-base.h and errno.h; the same on x86-64 and arm64).
/// Interop calls return them negated (<c>-errno</c>) as a status, never as an exception.
/// </summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11; // == EWOULDBLOCK
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int EPIPE = 32;
    public const int EPROTO = 71;
    public const int ENOTSOCK = 88;
    public const int EOPNOTSUPP = 95;
    public const int EADDRINUSE = 98;
    public const int EADDRNOTAVAIL = 99;
    public const int ENETDOWN = 100;
    public const int ENETUNREACH = 101;
    public const int ECONNABORTED = 103;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int ENOTCONN = 107;
    public const int ESHUTDOWN = 108;
    public const int ETIMEDOUT = 110;
    public const int EHOSTUNREACH = 113;

    /// <summary>
    /// Errors that mean the peer reset or went away, surfaced as <c>ConnectionResetException</c> exactly as the
    /// Sockets transport's <c>IsConnectionResetError</c> does (ECONNRESET, EPIPE, ECONNABORTED); ETIMEDOUT (keep-alive
    /// probes or retransmissions gave up) and EHOSTUNREACH/ENETUNREACH are the same event seen by the kernel.
    /// </summary>
    public static bool IsConnectionReset(int errno) => errno is ECONNRESET or EPIPE or ECONNABORTED or ETIMEDOUT
        or EHOSTUNREACH or ENETUNREACH or ENETDOWN;

    /// <summary>
    /// accept4 errors that concern one pending connection or a passing shortage, never the listener itself:
    /// Kestrel stops accepting forever if <c>AcceptAsync</c> throws, so these are retried (see accept(2), "Error handling").
    /// </summary>
    public static bool IsTransientAcceptError(int errno) => errno is ECONNABORTED or EPROTO or EPERM or ENETDOWN
        or ENETUNREACH or EHOSTUNREACH or ETIMEDOUT or EINTR;

    /// <summary>accept4 errors that mean a resource ran out (fds, buffers, memory): back off, then retry.</summary>
    public static bool IsResourceExhaustion(int errno) => errno is EMFILE or ENFILE or ENOBUFS or ENOMEM;

    /// <summary>The symbolic name of the errno values accept4 reports, for metric tags; others as a number.</summary>
    public static string Name(int errno) => errno switch
    {
        EMFILE => "EMFILE",
        ENFILE => "ENFILE",
        ENOBUFS => "ENOBUFS",
        ENOMEM => "ENOMEM",
        ECONNABORTED => "ECONNABORTED",
        EPROTO => "EPROTO",
        EPERM => "EPERM",
        EINTR => "EINTR",
        ETIMEDOUT => "ETIMEDOUT",
        _ => errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The text of an errno, as strerror(3) gives it, for messages.</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
