using System.Buffers;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using KestrelEpollTransport.Tests.ProcessWide;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// The loop's own fds outlive every use from another thread (a wake-up write, an epoll_ctl), a failed set-up gives back
/// what it took, and a connection id is made once: the review findings of issue 10 that a test can make certain. In the
/// process-wide collection: they count fds and reuse fd numbers, which other tests running beside them would disturb.
/// </summary>
[Collection(ProcessWideTests.Name)]
public sealed class LoopLifetimeTests
{
    [Fact]
    public unsafe void Wake_AfterStop_NeverWritesToTheNumberTheEventFdHad()
    {
        var loop = new EpollEventLoop(3, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics());
        loop.Start();
        var executor = loop.Executor;
        int eventFd = executor.WakeFd;
        loop.Stop();
        // The kernel hands out the lowest free number: open eventfds until one gets the number the loop's had.
        using var reused = OpenUntilNumber(eventFd);

        // A poster that won the "loop is blocked" exchange before Stop, and writes its wake-up only now.
        executor.ForceStateForTest(LoopExecutor.State.Blocked);
        loop.Schedule(static _ => { }, null);

        ulong value;
        Assert.Equal(-Errno.EAGAIN, (int)Libc.Read(reused.Fd, &value, sizeof(ulong)).BytesOrError);
    }

    [Fact]
    public void Register_AfterStop_FailsWithEbadfAndTouchesNoOtherEpollSet()
    {
        var loop = new EpollEventLoop(4, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics());
        loop.Start();
        int epollFd = loop.EpollFd;
        loop.Stop();
        using var reused = OpenUntilNumber(epollFd, Epoll.Create);
        using var watched = new SafeFdHandle(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK));
        var handler = new NullHandler(loop.ReserveToken());

        Assert.Equal(-Errno.EBADF, loop.Register(watched.Fd, Epoll.EPOLLIN, handler));

        // Not added to the epoll set that now has the old number: deleting it finds nothing.
        Assert.Equal(-Errno.ENOENT, Epoll.Control(reused.Fd, Epoll.EPOLL_CTL_DEL, watched.Fd, 0, 0));
        Assert.Equal(0, loop.RegistrationCount);
    }

    [Fact]
    public void Connection_ConstructorThrows_LeavesNoSlotReserved()
    {
        var loop = new EpollEventLoop(5, new PoolWithoutSizes(), NullLogger.Instance, new EpollTransportMetrics());
        loop.Start();
        try
        {
            using var fd = new SafeFdHandle(Libc.EventFd(0, Libc.EFD_CLOEXEC));

            Assert.Throws<InvalidOperationException>(() =>
                new EpollConnection(fd, loop, new EpollTransportOptions(), null, null, NullLogger.Instance, new EpollTransportMetrics()));

            Assert.Equal(0, loop.RegistrationCount);
        }
        finally
        {
            loop.Stop();
        }
    }

    [Fact]
    public async Task ConnectionId_AskedOnTwoThreadsAtOnce_BothGetTheSameId()
    {
        var loop = LoopConnections.StartLoop();
        try
        {
            for (int i = 0; i < 500; i++)
            {
                using var fd = new SafeFdHandle(Libc.EventFd(0, Libc.EFD_CLOEXEC));
                var connection = new EpollConnection(fd, loop, new EpollTransportOptions(), null, null, NullLogger.Instance, new EpollTransportMetrics());
                using var barrier = new Barrier(2);
                var ids = await Task.WhenAll(Task.Run(Ask), Task.Run(Ask)).WithTimeout();
                Assert.Equal(ids[0], ids[1]);
                Assert.Equal(ids[0], connection.ConnectionId);

                string Ask()
                {
                    barrier.SignalAndWait(Timeouts.Default);
                    return connection.ConnectionId;
                }
            }
        }
        finally
        {
            loop.Stop();
        }
    }

    [Fact]
    public async Task Listener_EpollCtlFails_GivesBackItsFdReserveAndTheSocketStaysTheOwners()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        socket.Listen(16);
        var endPoint = new FileHandleEndPoint((ulong)socket.Handle, FileHandleType.Tcp);
        using var group = new EpollEventLoopGroup(new EpollTransportOptions { ThreadCount = 1 }, new LeakTrackingMemoryPoolFactory(),
            NullLoggerFactory.Instance, new EpollTransportMetrics());
        var first = EpollConnectionListener.Bind(endPoint, group.Options, group, static _ => { }, NullLoggerFactory.Instance);
        try
        {
            int before = OpenFdCount();

            // The same fd again, on the same (only) loop: epoll_ctl(ADD) fails with EEXIST after the listener took its reserve.
            var e = Assert.Throws<IOException>(() => EpollConnectionListener.Bind(endPoint, group.Options, group, static _ => { }, NullLoggerFactory.Instance));

            Assert.Contains("epoll_ctl(ADD)", e.Message, StringComparison.Ordinal);
            Assert.Equal(before, OpenFdCount());
            Assert.Equal(1, group.RegistrationCount);
        }
        finally
        {
            await first.DisposeAsync().AsTask().WithTimeout();
        }
        Assert.True(socket.IsBound);
        Assert.Equal(0, group.RegistrationCount);
    }

    private static int OpenFdCount() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>Opens fds with <paramref name="open"/> (eventfds by default) until one has <paramref name="number"/>; closes the others.</summary>
    private static SafeFdHandle OpenUntilNumber(int number, Func<int>? open = null)
    {
        open ??= static () => Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        var others = new List<SafeFdHandle>();
        try
        {
            for (int i = 0; i < 64; i++)
            {
                int fd = open();
                Assert.True(fd >= 0, $"open failed: {fd}");
                var handle = new SafeFdHandle(fd);
                if (fd == number)
                {
                    return handle;
                }
                others.Add(handle);
            }
            Assert.Fail($"fd {number} was not handed out again within 64 opens");
            return null!;
        }
        finally
        {
            others.ForEach(h => h.Dispose());
        }
    }

    private sealed class NullHandler(ulong token) : IEpollHandler
    {
        public ulong EpollToken { get; } = token;

        public void OnEvents(uint events)
        {
        }

        public void OnFault(Exception exception)
        {
        }

        public void OnLoopStopping()
        {
        }
    }

    /// <summary>A pool that fails when asked its block size: makes the connection's constructor throw half-way.</summary>
    private sealed class PoolWithoutSizes : MemoryPool<byte>
    {
        public override int MaxBufferSize => throw new InvalidOperationException("no sizes");

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1) => throw new InvalidOperationException("no blocks");

        protected override void Dispose(bool disposing)
        {
        }
    }
}
