using System.Buffers;
using System.Collections.Concurrent;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>The event loop on its own: posting and waking from other threads, dispatch, stale-token filtering, stop.</summary>
public sealed class EventLoopTests : IDisposable
{
    private readonly EpollTransportMetrics _metrics = new();
    private readonly EpollEventLoop _loop;
    private bool _stopped;

    public EventLoopTests()
    {
        _loop = new EpollEventLoop(7, MemoryPool<byte>.Shared, NullLogger.Instance, _metrics);
        _loop.Start();
    }

    public void Dispose()
    {
        if (!_stopped)
        {
            _loop.Stop();
        }
    }

    [Fact]
    public async Task Schedule_FromManyThreads_RunsEveryItemOnceOnTheLoopThread()
    {
        const int Threads = 8;
        const int PerThread = 2_000;
        int ran = 0;
        int offLoop = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = _loop;

        var posters = Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                loop.Schedule(_ =>
                {
                    if (Thread.CurrentThread.Name != "epoll-loop-7" || !loop.IsLoopThread)
                    {
                        Interlocked.Increment(ref offLoop);
                    }
                    if (Interlocked.Increment(ref ran) == Threads * PerThread)
                    {
                        done.SetResult();
                    }
                }, null);
            }
        })).ToArray();

        await Task.WhenAll(posters).WithTimeout();
        await done.Task.WithTimeout();
        Assert.Equal(Threads * PerThread, Volatile.Read(ref ran));
        Assert.Equal(0, offLoop);
    }

    [Fact]
    public async Task Schedule_LoopBlockedInEpollWait_WakesItEachTime()
    {
        // Nothing else is registered, so between posts the loop blocks in epoll_wait(-1): only the eventfd wakes it.
        for (int i = 0; i < 100; i++)
        {
            var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _loop.Schedule(static s => ((TaskCompletionSource)s!).SetResult(), ran);
            await ran.Task.WithTimeout();
        }
    }

    [Fact]
    public async Task ScheduleAfter_LoopBlocked_RunsOnTheLoopThreadNoEarlierThanDue()
    {
        var ran = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = System.Diagnostics.Stopwatch.StartNew();

        _loop.ScheduleAfter(TimeSpan.FromMilliseconds(50), _ => ran.SetResult(_loop.IsLoopThread), null);

        Assert.True(await ran.Task.WithTimeout(), "the timer ran off the loop thread");
        // A lower bound only: the loop's clock is Environment.TickCount64 (ms), so allow its rounding.
        Assert.True(started.ElapsedMilliseconds >= 40, $"ran after {started.ElapsedMilliseconds} ms, before it was due");
    }

    [Fact]
    public async Task Register_FdBecomesReadable_HandlerGetsEdgeOnTheLoopThread()
    {
        using var eventFd = CreateEventFd();
        var handler = new RecordingHandler(_loop);

        Assert.Equal(0, _loop.Register(eventFd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, handler));
        Assert.Equal(1, _loop.RegistrationCount);
        Signal(eventFd);

        uint events = await handler.Events.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(Epoll.EPOLLIN, events & Epoll.EPOLLIN);
        Assert.Equal(0, handler.OffLoopCalls);
        await OnLoopAsync(() => _loop.Unregister(eventFd.Fd, handler));
        Assert.Equal(0, _loop.RegistrationCount);
    }

    [Fact]
    public async Task Dispatch_StaleTokenAfterSlotReuse_IsDroppedAndLiveTokenDelivered()
    {
        using var firstFd = CreateEventFd();
        using var secondFd = CreateEventFd();
        var first = new RecordingHandler(_loop);
        Assert.Equal(0, _loop.Register(firstFd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, first));
        await OnLoopAsync(() => _loop.Unregister(firstFd.Fd, first));

        var second = new RecordingHandler(_loop);
        Assert.Equal(0, _loop.Register(secondFd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, second));

        // Same slot (low half), new generation (high half).
        Assert.Equal((uint)first.EpollToken, (uint)second.EpollToken);
        Assert.NotEqual(first.EpollToken >> 32, second.EpollToken >> 32);

        // An event fetched for the first registration and handled after the slot was reused must not reach the second.
        await OnLoopAsync(() => _loop.Dispatch(Epoll.EPOLLIN, first.EpollToken));
        await OnLoopAsync(() => _loop.Dispatch(Epoll.EPOLLOUT, second.EpollToken));

        Assert.False(first.Events.Reader.TryRead(out _), "the unregistered handler got an event");
        Assert.True(second.Events.Reader.TryRead(out uint delivered));
        Assert.Equal(Epoll.EPOLLOUT, delivered);
        Assert.False(second.Events.Reader.TryRead(out _), "the stale event reached the handler now in the slot");
        await OnLoopAsync(() => _loop.Unregister(secondFd.Fd, second));
    }

    [Fact]
    public async Task Dispatch_HandlerThrows_HandlerFaultedAndLoopGoesOn()
    {
        using var eventFd = CreateEventFd();
        var handler = new RecordingHandler(_loop) { Throw = true };
        Assert.Equal(0, _loop.Register(eventFd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, handler));

        Signal(eventFd);
        var fault = await handler.Faults.Task.WithTimeout();

        Assert.IsType<InvalidOperationException>(fault);
        await OnLoopAsync(() => _loop.Unregister(eventFd.Fd, handler));
        // The loop still runs posted work.
        await OnLoopAsync(() => { });
    }

    [Fact]
    public async Task Stop_WithRegistrationLeft_TellsItAndEndsTheThread()
    {
        using var eventFd = CreateEventFd();
        var handler = new RecordingHandler(_loop);
        Assert.Equal(0, _loop.Register(eventFd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, handler));

        _loop.Stop();
        _stopped = true;

        Assert.Equal(1, handler.StoppingCalls);
        // Join returns when the managed thread is done; the kernel task leaves /proc a moment later.
        await Eventually.AssertAsync(
            () => !Directory.GetDirectories("/proc/self/task").Any(task => ReadComm(task) == "epoll-loop-7"),
            () => "thread epoll-loop-7 is still listed in /proc/self/task");
    }

    private static string ReadComm(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).Trim();
        }
        catch (IOException)
        {
            return ""; // The thread ended while we looked.
        }
    }

    private Task OnLoopAsync(Action action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _loop.Schedule(_ =>
        {
            try
            {
                action();
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }, null);
        return done.Task.WithTimeout();
    }

    private static SafeFdHandle CreateEventFd()
    {
        int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        Assert.True(fd >= 0, $"eventfd failed: {fd}");
        return new SafeFdHandle(fd);
    }

    private static unsafe void Signal(SafeFdHandle eventFd)
    {
        ulong one = 1;
        Assert.Equal(sizeof(ulong), (int)Libc.Write(eventFd.Fd, &one, sizeof(ulong)).BytesOrError);
    }

    private sealed class RecordingHandler(EpollEventLoop loop) : IEpollHandler
    {
        public ulong EpollToken { get; } = loop.ReserveToken();

        public System.Threading.Channels.Channel<uint> Events { get; } = System.Threading.Channels.Channel.CreateUnbounded<uint>();

        public TaskCompletionSource<Exception> Faults { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Throw { get; init; }

        public int OffLoopCalls;

        public int StoppingCalls;

        public void OnEvents(uint events)
        {
            if (!loop.IsLoopThread)
            {
                Interlocked.Increment(ref OffLoopCalls);
            }
            if (Throw)
            {
                throw new InvalidOperationException("handler failure");
            }
            Events.Writer.TryWrite(events);
        }

        public void OnFault(Exception exception) => Faults.TrySetResult(exception);

        public void OnLoopStopping() => StoppingCalls++;
    }
}
