using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using KestrelEpollTransport.Interop;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>The libc surface against real loopback sockets: results and errno as statuses, flags set at creation.</summary>
public sealed partial class InteropTests
{
    private const int F_GETFD = 1;
    private const int F_GETFL = 3;
    private const int FD_CLOEXEC = 1;
    private const int O_NONBLOCK = 0x800;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    [Theory]
    [InlineData("127.0.0.1", 8080)]
    [InlineData("::1", 443)]
    [InlineData("fe80::1", 1)]
    [InlineData("::ffff:10.1.2.3", 65535)]
    public void SockAddr_RoundTrip_KeepsAddressPortAndScope(string address, int port)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(address), port);
        if (endPoint.Address.IsIPv6LinkLocal)
        {
            endPoint.Address.ScopeId = 3;
        }

        var addr = SockAddr.FromIPEndPoint(endPoint);
        var back = addr.ToIPEndPoint();

        Assert.Equal(endPoint, back);
        if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Assert.Equal(endPoint.Address.ScopeId, back!.Address.ScopeId);
        }
    }

    [Fact]
    public void Accept_NothingPending_ReturnsEagainNotException()
    {
        using var listener = Listen(out _);
        var peer = default(SockAddr);

        int result = Sock.Accept(listener.Fd, ref peer);

        Assert.Equal(-Errno.EAGAIN, result);
    }

    [Fact]
    public async Task Accept_PendingConnection_ReturnsNonBlockingCloexecFdAndPeerAddress()
    {
        using var listener = Listen(out int port);
        using var client = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(TimeSpan.FromSeconds(10));

        var peer = default(SockAddr);
        int fd = Sock.Accept(listener.Fd, ref peer);
        Assert.True(fd >= 0, $"accept4 failed: {fd}");
        using var accepted = new SafeFdHandle(fd);

        Assert.Equal(O_NONBLOCK, fcntl(fd, F_GETFL, 0) & O_NONBLOCK);
        Assert.Equal(FD_CLOEXEC, fcntl(fd, F_GETFD, 0) & FD_CLOEXEC);
        Assert.Equal(client.LocalEndPoint, peer.ToIPEndPoint());
    }

    [Fact]
    public unsafe void ReadWrite_OnAcceptedSocket_MoveBytesAndReportEagainWhenEmpty()
    {
        using var listener = Listen(out int port);
        using var client = new System.Net.Sockets.Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var peer = default(SockAddr);
        using var accepted = new SafeFdHandle(Sock.Accept(listener.Fd, ref peer));

        byte[] buffer = new byte[16];
        fixed (byte* p = buffer)
        {
            Assert.Equal(-Errno.EAGAIN, Libc.Read(accepted.Fd, p, (nuint)buffer.Length).BytesOrError);

            var vectors = stackalloc Libc.IOVector[2];
            byte* hello = stackalloc byte[] { (byte)'h', (byte)'i' };
            byte* there = stackalloc byte[] { (byte)'!', (byte)'\n' };
            vectors[0] = new Libc.IOVector { Base = hello, Count = 2 };
            vectors[1] = new Libc.IOVector { Base = there, Count = 2 };
            Assert.Equal(4, Sock.SendMsg(accepted.Fd, vectors, 2).BytesOrError);
        }

        byte[] received = new byte[4];
        int total = 0;
        client.ReceiveTimeout = 10_000;
        while (total < 4)
        {
            total += client.Receive(received, total, 4 - total, SocketFlags.None);
        }
        Assert.Equal("hi!\n"u8.ToArray(), received);
    }

    [Fact]
    public void Bind_AddressInUse_ReturnsEaddrinuse()
    {
        using var first = Listen(out int port);
        int fd = Sock.Create(Sock.AF_INET);
        using var second = new SafeFdHandle(fd);
        var addr = SockAddr.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, port));

        Assert.Equal(-Errno.EADDRINUSE, Sock.Bind(fd, ref addr));
    }

    [Fact]
    public void SafeFdHandle_Dispose_ClosesTheFdOnce()
    {
        int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(fd >= 0);
        var handle = new SafeFdHandle(fd);

        handle.Dispose();
        handle.Dispose();

        Assert.Equal(-1, fcntl(fd, F_GETFD, 0));
        Assert.Equal(Errno.EBADF, Marshal.GetLastPInvokeError());
    }

    [Fact]
    public void SafeFdHandle_NotOwned_LeavesTheFdOpen()
    {
        int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        using (new SafeFdHandle(fd, ownsHandle: false))
        {
        }

        Assert.True(fcntl(fd, F_GETFD, 0) >= 0);
        Assert.Equal(0, Libc.Close(fd));
    }

    internal static SafeFdHandle Listen(out int port)
    {
        int fd = Sock.Create(Sock.AF_INET);
        Assert.True(fd >= 0, $"socket failed: {fd}");
        var handle = new SafeFdHandle(fd);
        var addr = SockAddr.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(0, Sock.Bind(fd, ref addr));
        Assert.Equal(0, Sock.Listen(fd, 16));
        var bound = default(SockAddr);
        Assert.Equal(0, Sock.GetSockName(fd, ref bound));
        port = bound.ToIPEndPoint()!.Port;
        return handle;
    }
}
