using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>An inherited listen fd is left non-blocking (O_NONBLOCK in /proc/self/fdinfo) and open after Adopt's Socket is disposed.</summary>
public sealed class AdoptTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Adopt_InheritedFd_NonBlockingAndStillOpenAfterwards(bool listening)
    {
        using var owner = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        owner.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (listening)
        {
            owner.Listen(3);
        }
        int fd = (int)owner.Handle;

        var adopted = ListenSocket.Open(new FileHandleEndPoint((ulong)fd, FileHandleType.Tcp), 77);
        adopted.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        string flags = File.ReadLines($"/proc/self/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        int value = Convert.ToInt32(flags["flags:".Length..].Trim(), 8);
        Assert.True((value & 0x800) != 0, $"O_NONBLOCK not set: {flags}");
        Assert.Equal(1, (int)owner.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)!);
    }
}
