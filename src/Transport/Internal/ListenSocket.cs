using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// A listening, non-blocking socket for one endpoint: TCP over IPv4/IPv6 (dual mode for <c>[::]</c>), a Unix domain
/// socket, or an fd handed in by the host (<see cref="FileHandleEndPoint"/>, e.g. systemd socket activation).
/// </summary>
/// <remarks>Owns its handle: <see cref="Dispose"/> closes the fd (never an inherited one: its handle does not own it) and
/// removes the socket file we created.</remarks>
internal sealed class ListenSocket : IDisposable
{
    private ListenSocket(SafeFdHandle handle, EndPoint endPoint, int family, string? unixPath)
    {
        Handle = handle;
        EndPoint = endPoint;
        Family = family;
        UnixPath = unixPath;
    }

    /// <summary>The fd; not owned (never closed by us) for an inherited fd.</summary>
    public SafeFdHandle Handle { get; }

    /// <summary>What the socket is bound to (the real port after binding port 0).</summary>
    public EndPoint EndPoint { get; }

    /// <summary>AF_INET, AF_INET6 or AF_UNIX.</summary>
    public int Family { get; }

    /// <summary>The socket file we created, to remove on dispose; null otherwise.</summary>
    public string? UnixPath { get; }

    /// <summary>Whether accepted connections are TCP (and so take TCP_NODELAY).</summary>
    public bool IsTcp => Family != Sock.AF_UNIX;

    /// <summary>Opens a listening socket for <paramref name="endPoint"/>.</summary>
    /// <exception cref="AddressInUseException">EADDRINUSE; for a Unix socket, a file at the path already exists.</exception>
    public static ListenSocket Open(EndPoint endPoint, int backlog) => endPoint switch
    {
        IPEndPoint ip => OpenIP(ip, backlog),
        UnixDomainSocketEndPoint unix => OpenUnix(unix, backlog),
        FileHandleEndPoint inherited => Adopt(inherited, backlog),
        _ => throw new NotSupportedException($"The epoll transport cannot bind {endPoint.GetType().Name} '{endPoint}'."),
    };

    private static ListenSocket OpenIP(IPEndPoint endPoint, int backlog)
    {
        bool ipv6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        var handle = Create(ipv6 ? Sock.AF_INET6 : Sock.AF_INET, endPoint);
        try
        {
            int fd = handle.Fd;
            // As .NET's Socket does on Unix for TCP: rebinding a port with connections in TIME_WAIT is allowed;
            // two live listeners on one port are still refused.
            _ = Sock.SetOption(fd, Sock.SOL_SOCKET, Sock.SO_REUSEADDR, 1);
            if (ipv6)
            {
                // Kestrel expects [::] to accept IPv4 too (dual mode), as the Sockets transport sets DualMode for it.
                _ = Sock.SetOption(fd, Sock.IPPROTO_IPV6, Sock.IPV6_V6ONLY, endPoint.Address.Equals(IPAddress.IPv6Any) ? 0 : 1);
            }
            var addr = SockAddr.FromIPEndPoint(endPoint);
            BindAndListen(fd, ref addr, backlog, endPoint.ToString());
            var bound = default(SockAddr);
            var boundEndPoint = Sock.GetSockName(fd, ref bound) == 0 ? bound.ToIPEndPoint() ?? endPoint : endPoint;
            return new ListenSocket(handle, boundEndPoint, ipv6 ? Sock.AF_INET6 : Sock.AF_INET, null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static ListenSocket OpenUnix(UnixDomainSocketEndPoint endPoint, int backlog)
    {
        string path = endPoint.ToString();
        var addr = SockAddr.FromUnixPath(path);
        var handle = Create(Sock.AF_UNIX, endPoint);
        try
        {
            // An existing file at the path makes bind fail with EADDRINUSE: we never delete a file we did not create.
            BindAndListen(handle.Fd, ref addr, backlog, $"Unix socket '{path}'");
            bool isFile = path.Length > 0 && path[0] != '@' && path[0] != '\0';
            return new ListenSocket(handle, endPoint, Sock.AF_UNIX, isFile ? path : null);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static ListenSocket Adopt(FileHandleEndPoint endPoint, int backlog)
    {
        if (endPoint.FileHandle > int.MaxValue)
        {
            throw new ArgumentException($"File handle {endPoint.FileHandle} is not a file descriptor.", nameof(endPoint));
        }
        int fd = (int)endPoint.FileHandle;
        if (Sock.GetOption(fd, Sock.SOL_SOCKET, Sock.SO_TYPE, out int type) < 0 || type != Sock.SOCK_STREAM)
        {
            throw new InvalidOperationException($"File handle {fd} is not a stream socket; ListenHandle needs a bound TCP or Unix stream socket.");
        }
        if (Sock.GetOption(fd, Sock.SOL_SOCKET, Sock.SO_ACCEPTCONN, out int listening) == 0 && listening == 0)
        {
            // Bound but not listening (Kestrel's own transport tests hand one in): listen, as the Sockets transport
            // does with every endpoint. A socket that already listens keeps the backlog its owner chose.
            int listened = Sock.Listen(fd, backlog);
            if (listened < 0)
            {
                throw new IOException($"listen() on file handle {fd} failed: {Errno.Describe(-listened)}");
            }
        }
        if (Sock.GetOption(fd, Sock.SOL_SOCKET, Sock.SO_DOMAIN, out int family) < 0)
        {
            family = Sock.AF_INET;
        }
        // accept4 must never block the accept thread. O_NONBLOCK lives in the shared file description, so the host sees
        // it too; that is what handing the fd to us means (the Sockets transport does the same). Set through .NET's
        // Socket, whose native shim calls fcntl(2) as the variadic function it is (a P/Invoke cannot).
        using (var socket = new System.Net.Sockets.Socket(new SafeSocketHandle(fd, ownsHandle: false)))
        {
            socket.Blocking = false;
        }
        var bound = default(SockAddr);
        EndPoint boundEndPoint = Sock.GetSockName(fd, ref bound) == 0 && bound.ToIPEndPoint() is { } ip ? ip : endPoint;
        // Not ours: the handle never closes it.
        return new ListenSocket(new SafeFdHandle(fd, ownsHandle: false), boundEndPoint, family, null);
    }

    private static SafeFdHandle Create(int family, EndPoint endPoint)
    {
        int fd = Sock.Create(family);
        if (fd < 0)
        {
            throw new IOException($"socket() failed for {endPoint}: {Errno.Describe(-fd)}");
        }
        return new SafeFdHandle(fd);
    }

    private static void BindAndListen(int fd, ref SockAddr addr, int backlog, string what)
    {
        int result = Sock.Bind(fd, ref addr);
        if (result == -Errno.EADDRINUSE)
        {
            throw new AddressInUseException($"{what} is already in use ({Errno.Describe(Errno.EADDRINUSE)}).");
        }
        if (result < 0)
        {
            throw new IOException($"bind() to {what} failed: {Errno.Describe(-result)}");
        }
        result = Sock.Listen(fd, backlog);
        if (result < 0)
        {
            throw new IOException($"listen() on {what} failed: {Errno.Describe(-result)}");
        }
    }

    /// <summary>Closes the fd (when ours; it stays open while an accept4 holds a reference) and removes the socket file.</summary>
    public void Dispose()
    {
        Handle.Dispose();
        RemoveSocketFile();
    }

    /// <summary>Removes the socket file we created, if any. Best effort: it may be gone already.</summary>
    public void RemoveSocketFile()
    {
        if (UnixPath is not null)
        {
            _ = Libc.Unlink(System.Text.Encoding.UTF8.GetBytes(UnixPath));
        }
    }
}
