using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using KestrelEpollTransport.Interop;
using Socket = System.Net.Sockets.Socket;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// A send on a connection whose writing side is gone fails with EPIPE. writev(2) then also raises SIGPIPE for the
/// calling thread: the .NET runtime ignores it, but a host that restores the default disposition dies of it. The
/// transport's sendmsg passes MSG_NOSIGNAL. The tests block SIGPIPE on their thread, so a raised one stays pending
/// where sigpending(2) sees it, instead of being discarded.
/// </summary>
public sealed unsafe partial class SigPipeTests
{
    private const int SIGPIPE = 13;
    private const int SIG_BLOCK = 0;
    private const int SIG_SETMASK = 2;

    [Fact]
    public void SendMsg_WritingSideShutDown_EpipeAndNoSigpipe()
    {
        var (pending, result) = SendWithSigpipeBlocked(static (fd, vector) => Sock.SendMsg(fd, (Libc.IOVector*)vector, 1).BytesOrError);

        Assert.Equal(-Errno.EPIPE, (int)result);
        Assert.False(pending, "sendmsg raised SIGPIPE");
    }

    [Fact]
    public void WriteV_WritingSideShutDown_EpipeAndSigpipe_TheCheckSeesIt()
    {
        // The control: the same call without MSG_NOSIGNAL raises the signal, so the check above can fail.
        var (pending, result) = SendWithSigpipeBlocked(static (fd, vector) => writev(fd, (Libc.IOVector*)vector, 1) < 0 ? -Marshal.GetLastPInvokeError() : 0);

        Assert.Equal(-Errno.EPIPE, (int)result);
        Assert.True(pending, "writev raised no SIGPIPE: the test cannot see one");
    }

    /// <summary>On one thread: block SIGPIPE, send on a socket whose writing side is shut down, look, clear, restore.</summary>
    private static (bool Pending, nint Result) SendWithSigpipeBlocked(Func<int, nint, nint> send)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        int fd = (int)server.Handle;
        Assert.Equal(0, Sock.Shutdown(fd, Sock.SHUT_WR));

        var set = new SigSet();
        set.Add(SIGPIPE);
        var old = new SigSet();
        Assert.Equal(0, pthread_sigmask(SIG_BLOCK, &set, &old));
        try
        {
            byte data = 1;
            var vector = new Libc.IOVector { Base = &data, Count = 1 };
            nint result = send(fd, (nint)(&vector));
            var pending = new SigSet();
            Assert.Equal(0, sigpending(&pending));
            bool raised = pending.Contains(SIGPIPE);
            if (raised)
            {
                var zero = default(Timespec);
                Assert.Equal(SIGPIPE, sigtimedwait(&set, null, &zero));
            }
            return (raised, result);
        }
        finally
        {
            Assert.Equal(0, pthread_sigmask(SIG_SETMASK, &old, null));
        }
    }

    /// <summary>glibc's sigset_t: 1024 bits.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SigSet
    {
        private fixed ulong _bits[16];

        public void Add(int signal) => _bits[(signal - 1) / 64] |= 1UL << ((signal - 1) % 64);

        public readonly bool Contains(int signal) => (_bits[(signal - 1) / 64] & (1UL << ((signal - 1) % 64))) != 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pthread_sigmask(int how, SigSet* set, SigSet* old);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigpending(SigSet* set);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sigtimedwait(SigSet* set, void* info, Timespec* timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint writev(int fd, Libc.IOVector* vectors, int count);
}
