using System.Diagnostics;
using System.Runtime.InteropServices;
using KestrelEpollTransport.Interop;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// Pins the interop layer's constants and struct layouts to the C headers of this machine: a small C program is
/// compiled with the system compiler and prints what the headers say; every value we hard-code must match.
/// </summary>
public sealed class KernelAbiTests
{
    private const string Probe = """
        #include <stdio.h>
        #include <stddef.h>
        #include <errno.h>
        #include <sys/epoll.h>
        #include <sys/eventfd.h>
        #include <poll.h>
        #include <sys/socket.h>
        #include <netinet/in.h>
        #include <netinet/tcp.h>
        #define P(name, value) printf("%s=%ld\n", name, (long)(value))
        int main(void) {
            P("sizeof_epoll_event", sizeof(struct epoll_event));
            P("offsetof_epoll_event_data", offsetof(struct epoll_event, data));
            P("sizeof_sockaddr_in", sizeof(struct sockaddr_in));
            P("sizeof_sockaddr_in6", sizeof(struct sockaddr_in6));
            P("offsetof_sin6_flowinfo", offsetof(struct sockaddr_in6, sin6_flowinfo));
            P("offsetof_sin6_addr", offsetof(struct sockaddr_in6, sin6_addr));
            P("offsetof_sin6_scope_id", offsetof(struct sockaddr_in6, sin6_scope_id));
            P("sizeof_sockaddr_storage", sizeof(struct sockaddr_storage));
            P("sizeof_pollfd", sizeof(struct pollfd));
            P("offsetof_pollfd_revents", offsetof(struct pollfd, revents)); P("POLLIN", POLLIN);
            P("sizeof_msghdr", sizeof(struct msghdr)); P("offsetof_msg_iov", offsetof(struct msghdr, msg_iov));
            P("offsetof_msg_iovlen", offsetof(struct msghdr, msg_iovlen)); P("offsetof_msg_flags", offsetof(struct msghdr, msg_flags));
            P("MSG_NOSIGNAL", MSG_NOSIGNAL); P("SO_TYPE", SO_TYPE); P("SO_ACCEPTCONN", SO_ACCEPTCONN); P("SO_DOMAIN", SO_DOMAIN);
            P("EPOLLIN", EPOLLIN); P("EPOLLOUT", EPOLLOUT); P("EPOLLERR", EPOLLERR); P("EPOLLHUP", EPOLLHUP);
            P("EPOLLRDHUP", EPOLLRDHUP); P("EPOLLET", EPOLLET); P("EPOLLEXCLUSIVE", EPOLLEXCLUSIVE);
            P("EPOLL_CLOEXEC", EPOLL_CLOEXEC); P("EPOLL_CTL_ADD", EPOLL_CTL_ADD); P("EPOLL_CTL_DEL", EPOLL_CTL_DEL);
            P("EFD_CLOEXEC", EFD_CLOEXEC); P("EFD_NONBLOCK", EFD_NONBLOCK);
            P("AF_INET", AF_INET); P("AF_INET6", AF_INET6); P("AF_UNIX", AF_UNIX); P("SOCK_STREAM", SOCK_STREAM);
            P("SOCK_NONBLOCK", SOCK_NONBLOCK); P("SOCK_CLOEXEC", SOCK_CLOEXEC);
            P("SOL_SOCKET", SOL_SOCKET); P("SO_REUSEADDR", SO_REUSEADDR); P("SO_ERROR", SO_ERROR);
            P("SO_LINGER", SO_LINGER); P("SO_REUSEPORT", SO_REUSEPORT);
            P("IPPROTO_TCP", IPPROTO_TCP); P("TCP_NODELAY", TCP_NODELAY);
            P("IPPROTO_IPV6", IPPROTO_IPV6); P("IPV6_V6ONLY", IPV6_V6ONLY);
            P("SHUT_RD", SHUT_RD); P("SHUT_WR", SHUT_WR); P("SHUT_RDWR", SHUT_RDWR);
            P("EINTR", EINTR); P("EAGAIN", EAGAIN); P("EWOULDBLOCK", EWOULDBLOCK); P("EBADF", EBADF);
            P("EINVAL", EINVAL); P("EMFILE", EMFILE); P("ENFILE", ENFILE); P("ENOBUFS", ENOBUFS); P("ENOMEM", ENOMEM);
            P("EPIPE", EPIPE); P("ECONNRESET", ECONNRESET); P("ECONNABORTED", ECONNABORTED);
            P("EADDRINUSE", EADDRINUSE); P("EPROTO", EPROTO); P("ETIMEDOUT", ETIMEDOUT);
            return 0;
        }
        """;

    private static readonly Lazy<Dictionary<string, long>> Header = new(CompileAndRunProbe);

    [Fact]
    public void EpollEvent_Layout_MatchesHeader()
    {
        Assert.Equal(Header.Value["sizeof_epoll_event"], Epoll.EventSize);
        int offset = Epoll.IsPacked
            ? (int)Marshal.OffsetOf<Epoll.EventX64>(nameof(Epoll.EventX64.Data))
            : (int)Marshal.OffsetOf<Epoll.EventArm64>(nameof(Epoll.EventArm64.Data));
        Assert.Equal(Header.Value["offsetof_epoll_event_data"], offset);
    }

    [Fact]
    public void SockAddr_Layouts_MatchHeader()
    {
        Assert.Equal(SockAddr.SizeOfSockAddrIn, Header.Value["sizeof_sockaddr_in"]);
        Assert.Equal(SockAddr.SizeOfSockAddrIn6, Header.Value["sizeof_sockaddr_in6"]);
        Assert.Equal(4, Header.Value["offsetof_sin6_flowinfo"]);
        Assert.Equal(8, Header.Value["offsetof_sin6_addr"]);
        Assert.Equal(24, Header.Value["offsetof_sin6_scope_id"]);
        Assert.Equal(SockAddr.Capacity, Header.Value["sizeof_sockaddr_storage"]);
    }

    [Fact]
    public void PollFd_Layout_MatchesHeader()
    {
        Assert.Equal(Header.Value["sizeof_pollfd"], Marshal.SizeOf<Libc.PollFd>());
        Assert.Equal(Header.Value["offsetof_pollfd_revents"], (long)Marshal.OffsetOf<Libc.PollFd>(nameof(Libc.PollFd.ReturnedEvents)));
    }

    [Fact]
    public void MessageHeader_Layout_MatchesHeader()
    {
        Assert.Equal(Header.Value["sizeof_msghdr"], Marshal.SizeOf<Sock.MessageHeader>());
        Assert.Equal(Header.Value["offsetof_msg_iov"], (long)Marshal.OffsetOf<Sock.MessageHeader>(nameof(Sock.MessageHeader.IOVectors)));
        Assert.Equal(Header.Value["offsetof_msg_iovlen"], (long)Marshal.OffsetOf<Sock.MessageHeader>(nameof(Sock.MessageHeader.IOVectorCount)));
        Assert.Equal(Header.Value["offsetof_msg_flags"], (long)Marshal.OffsetOf<Sock.MessageHeader>(nameof(Sock.MessageHeader.Flags)));
    }

    [Theory]
    [MemberData(nameof(Constants))]
    public void Constant_Value_MatchesHeader(string name, long value)
    {
        Assert.Equal(Header.Value[name], value);
    }

    public static TheoryData<string, long> Constants() => new()
    {
        { "EPOLLIN", Epoll.EPOLLIN }, { "EPOLLOUT", Epoll.EPOLLOUT }, { "EPOLLERR", Epoll.EPOLLERR }, { "EPOLLHUP", Epoll.EPOLLHUP },
        { "EPOLLRDHUP", Epoll.EPOLLRDHUP }, { "EPOLLET", Epoll.EPOLLET }, { "EPOLLEXCLUSIVE", Epoll.EPOLLEXCLUSIVE },
        { "EPOLL_CLOEXEC", Epoll.EPOLL_CLOEXEC }, { "EPOLL_CTL_ADD", Epoll.EPOLL_CTL_ADD }, { "EPOLL_CTL_DEL", Epoll.EPOLL_CTL_DEL },
        { "EFD_CLOEXEC", Libc.EFD_CLOEXEC }, { "EFD_NONBLOCK", Libc.EFD_NONBLOCK }, { "POLLIN", Libc.POLLIN },
        { "AF_INET", Sock.AF_INET }, { "AF_INET6", Sock.AF_INET6 }, { "AF_UNIX", Sock.AF_UNIX },
        { "SOCK_STREAM", Sock.SOCK_STREAM }, { "SOCK_NONBLOCK", Sock.SOCK_NONBLOCK }, { "SOCK_CLOEXEC", Sock.SOCK_CLOEXEC },
        { "SOL_SOCKET", Sock.SOL_SOCKET }, { "SO_REUSEADDR", Sock.SO_REUSEADDR }, { "SO_ERROR", Sock.SO_ERROR },
        { "SO_LINGER", Sock.SO_LINGER }, { "SO_REUSEPORT", Sock.SO_REUSEPORT },
        { "IPPROTO_TCP", Sock.IPPROTO_TCP }, { "TCP_NODELAY", Sock.TCP_NODELAY },
        { "IPPROTO_IPV6", Sock.IPPROTO_IPV6 }, { "IPV6_V6ONLY", Sock.IPV6_V6ONLY },
        { "SHUT_RD", Sock.SHUT_RD }, { "SHUT_WR", Sock.SHUT_WR }, { "SHUT_RDWR", Sock.SHUT_RDWR },
        { "EINTR", Errno.EINTR }, { "EAGAIN", Errno.EAGAIN }, { "EWOULDBLOCK", Errno.EAGAIN }, { "EBADF", Errno.EBADF },
        { "EINVAL", Errno.EINVAL }, { "EMFILE", Errno.EMFILE }, { "ENFILE", Errno.ENFILE }, { "ENOBUFS", Errno.ENOBUFS },
        { "ENOMEM", Errno.ENOMEM }, { "EPIPE", Errno.EPIPE }, { "ECONNRESET", Errno.ECONNRESET },
        { "ECONNABORTED", Errno.ECONNABORTED }, { "EADDRINUSE", Errno.EADDRINUSE }, { "EPROTO", Errno.EPROTO },
        { "ETIMEDOUT", Errno.ETIMEDOUT }, { "MSG_NOSIGNAL", Sock.MSG_NOSIGNAL }, { "SO_TYPE", Sock.SO_TYPE },
        { "SO_ACCEPTCONN", Sock.SO_ACCEPTCONN }, { "SO_DOMAIN", Sock.SO_DOMAIN },
    };

    private static Dictionary<string, long> CompileAndRunProbe()
    {
        string dir = Directory.CreateTempSubdirectory("epoll-abi-").FullName;
        try
        {
            string source = Path.Combine(dir, "probe.c");
            string binary = Path.Combine(dir, "probe");
            File.WriteAllText(source, Probe);
            // The C compiler is part of the test prerequisites (scripts/test.sh installs gcc when missing).
            Run("cc", $"-o {binary} {source}");
            string output = Run(binary, "");
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('='))
                .ToDictionary(parts => parts[0], parts => long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), $"{file} did not finish in 60 s");
        Assert.True(process.ExitCode == 0, $"{file} {arguments} failed ({process.ExitCode}): {error}");
        return output;
    }
}
