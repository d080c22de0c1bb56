using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// A busy loop hands polling to the thread pool: the poll runs as the loop on a pool thread, queues itself again while
/// it finds work, hands back when it finds none, and the loop thread takes the loop back when no pool thread runs the
/// poll. The pool is replaced by a holder the test drives, so every step is deterministic.
/// </summary>
public sealed class LoopHandOffTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task BusyPass_PollRunsAsTheLoopOnAPoolThread_ThenHandsBack()
    {
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 600_000);
        var (a, b) = (fixture.Add(), fixture.Add());

        fixture.SignalBothInOnePass(a, b);
        Assert.Equal(fixture.LoopThreadId, await a.NextAsync());
        Assert.Equal(fixture.LoopThreadId, await b.NextAsync());
        var poll = await pool.NextAsync();

        // The loop thread sleeps: an edge now waits for the poll, which handles it here, as the loop.
        a.Signal();
        poll.Execute();
        Assert.True(a.TryNext(out int handledOn), "the poll did not handle the pending edge");
        Assert.Equal(Environment.CurrentManagedThreadId, handledOn);

        // It found work, so it queued itself again; this time it finds nothing and hands the loop back.
        var again = await pool.NextAsync();
        Assert.Same(poll, again);
        again.Execute();
        Assert.Equal(0, pool.Count);

        a.Signal();
        Assert.Equal(fixture.LoopThreadId, await a.NextAsync());
        Assert.Equal(0, a.OffLoopCalls + b.OffLoopCalls);
    }

    [Fact]
    public async Task HandOff_PollNeverRuns_LoopThreadTakesTheLoopBack()
    {
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 10);
        var (a, b) = (fixture.Add(), fixture.Add());

        fixture.SignalBothInOnePass(a, b);
        await a.NextAsync();
        await b.NextAsync();
        var stale = await pool.NextAsync();

        // Nobody runs the poll (every pool thread busy): the loop thread serves the next edge itself.
        a.Signal();
        Assert.Equal(fixture.LoopThreadId, await a.NextAsync());

        // The stale poll runs at last: it must not run as the loop beside the loop thread.
        b.Signal();
        stale.Execute();
        Assert.Equal(fixture.LoopThreadId, await b.NextAsync());
        Assert.Equal(0, pool.Count);

        // The next busy pass hands off again, with a poll queued anew.
        fixture.SignalBothInOnePass(a, b);
        await a.NextAsync();
        await b.NextAsync();
        Assert.Same(stale, await pool.NextAsync());
        Assert.Equal(0, a.OffLoopCalls + b.OffLoopCalls);
    }

    [Fact]
    public async Task HandOff_PollQueuedAtEachLookButRunning_LoopThreadLeavesItAlone()
    {
        // Under load the poll spends most of its time queued behind the work it queued: a loop thread that looked only
        // at "queued right now" took the loop back ~70 times a second at saturation. Progress is what counts.
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 10);
        var (a, b) = (fixture.Add(), fixture.Add());
        fixture.SignalBothInOnePass(a, b);
        await a.NextAsync();
        await b.NextAsync();

        // 30 polls, 3 ms apart (the scenario: time passing between polls, 9 reclaim periods in all), each finding an edge.
        for (int i = 0; i < 30; i++)
        {
            var poll = await pool.NextAsync();
            a.Signal();
            Thread.Sleep(3);
            poll.Execute();
            Assert.True(a.TryNext(out int handledOn), $"poll {i}: the edge was not handled by the poll (the loop thread took the loop back)");
            Assert.Equal(Environment.CurrentManagedThreadId, handledOn);
        }
        Assert.Equal(0, a.OffLoopCalls);
    }

    [Fact]
    public async Task Stop_WhileThePollIsHeld_LoopThreadTakesBackAndEnds()
    {
        var pool = new HeldWorkItems();
        var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 10);
        var (a, b) = (fixture.Add(), fixture.Add());
        fixture.SignalBothInOnePass(a, b);
        await a.NextAsync();
        await b.NextAsync();
        await pool.NextAsync();

        await Task.Run(fixture.Dispose).WaitAsync(Timeout);

        Assert.Equal(1, a.StoppingCalls);
        Assert.Equal(1, b.StoppingCalls);
    }

    [Fact]
    public async Task ThreadPool_ManyBusyPasses_EveryEdgeHandledOnceAsTheLoop()
    {
        // The real pool: edges from several threads keep the loop busy, so it hands off and back many times.
        using var fixture = new LoopFixture(pool: null, reclaimAfterMilliseconds: EpollEventLoop.DefaultReclaimAfterMilliseconds);
        var handlers = Enumerable.Range(0, 8).Select(_ => fixture.Add()).ToArray();
        const int Rounds = 2_000;

        await Task.WhenAll(handlers.Select(h => Task.Run(async () =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                h.Signal();
                await h.NextAsync(); // One edge at a time per fd: each must come back exactly once.
            }
        }))).WaitAsync(Timeout);

        Assert.All(handlers, h => Assert.Equal(0, h.OffLoopCalls));
        Assert.All(handlers, h => Assert.False(h.TryNext(out _), "an edge was handled twice"));
    }

    /// <summary>Stands in for the thread pool: keeps the queued items for the test to run (or not).</summary>
    private sealed class HeldWorkItems
    {
        private readonly Channel<IThreadPoolWorkItem> _items = Channel.CreateUnbounded<IThreadPoolWorkItem>();

        public int Count => _items.Reader.Count;

        public void Add(IThreadPoolWorkItem item) => _items.Writer.TryWrite(item);

        public Task<IThreadPoolWorkItem> NextAsync() => _items.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
    }

    private sealed class LoopFixture : IDisposable
    {
        private readonly List<EdgeHandler> _handlers = [];
        private bool _stopped;

        public LoopFixture(HeldWorkItems? pool, int reclaimAfterMilliseconds)
        {
            Loop = new EpollEventLoop(
                8, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics(),
                handOffWhenBusy: true, queueWorkItem: pool is null ? null : pool.Add, reclaimAfterMilliseconds: reclaimAfterMilliseconds);
            Loop.Start();
            var id = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Loop.Schedule(_ => id.SetResult(Environment.CurrentManagedThreadId), null);
            LoopThreadId = id.Task.WaitAsync(Timeout).GetAwaiter().GetResult();
        }

        public EpollEventLoop Loop { get; }

        public int LoopThreadId { get; }

        public EdgeHandler Add()
        {
            var handler = new EdgeHandler(Loop);
            Assert.Equal(0, Loop.Register(handler.Fd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, handler));
            _handlers.Add(handler);
            return handler;
        }

        /// <summary>Signals both from the loop thread, so its next epoll_wait returns the two edges together.</summary>
        public void SignalBothInOnePass(EdgeHandler a, EdgeHandler b) => Loop.Schedule(_ =>
        {
            a.Signal();
            b.Signal();
        }, null);

        public void Dispose()
        {
            if (!_stopped)
            {
                _stopped = true;
                Loop.Stop();
                foreach (var handler in _handlers)
                {
                    handler.Fd.Dispose();
                }
            }
        }
    }

    /// <summary>An eventfd whose every edge is recorded with the managed thread id that handled it.</summary>
    private sealed class EdgeHandler : IEpollHandler
    {
        private readonly EpollEventLoop _loop;
        private readonly Channel<int> _handledOn = Channel.CreateUnbounded<int>();

        public EdgeHandler(EpollEventLoop loop)
        {
            _loop = loop;
            EpollToken = loop.ReserveToken();
            int fd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            Assert.True(fd >= 0, $"eventfd failed: {fd}");
            Fd = new SafeFdHandle(fd);
        }

        public SafeFdHandle Fd { get; }

        public ulong EpollToken { get; }

        public int OffLoopCalls;

        public int StoppingCalls;

        public unsafe void Signal()
        {
            ulong one = 1;
            Assert.Equal(sizeof(ulong), (int)Libc.Write(Fd.Fd, &one, sizeof(ulong)));
        }

        public Task<int> NextAsync() => _handledOn.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        public bool TryNext(out int threadId) => _handledOn.Reader.TryRead(out threadId);

        public unsafe void OnEvents(uint events)
        {
            if (!_loop.IsLoopThread)
            {
                Interlocked.Increment(ref OffLoopCalls);
            }
            // Drain the counter, so the next write is a fresh edge.
            ulong value;
            _ = Libc.Read(Fd.Fd, &value, sizeof(ulong));
            _handledOn.Writer.TryWrite(Environment.CurrentManagedThreadId);
        }

        public void OnFault(Exception exception) => _handledOn.Writer.TryComplete(exception);

        public void OnLoopStopping() => StoppingCalls++;
    }
}
