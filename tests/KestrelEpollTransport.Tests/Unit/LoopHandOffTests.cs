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
    [Fact]
    public async Task BusyPass_PollRunsAsTheLoopOnAPoolThread_ThenHandsBack()
    {
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 600_000);
        var (a, b) = (fixture.Add(), fixture.Add());

        await fixture.BusyPassAsync(a, b);
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

        await fixture.BusyPassAsync(a, b);
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
        await fixture.BusyPassAsync(a, b);
        Assert.Same(stale, await pool.NextAsync());
        Assert.Equal(0, a.OffLoopCalls + b.OffLoopCalls);
    }

    [Fact]
    public async Task HandOff_PollQueuedAtEachLookButRunning_LoopThreadLeavesItAlone()
    {
        // Under load the poll spends most of its time queued behind the work it queued: a loop thread that looked only
        // at "queued right now" took the loop back ~70 times a second at saturation. Progress is what counts.
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 100);
        var (a, b) = (fixture.Add(), fixture.Add());
        await fixture.BusyPassAsync(a, b);

        // 90 polls, 10 ms apart (the scenario: time passing between polls, 9 reclaim periods in all), each finding an
        // edge. A tenth of the period: a loaded CI machine stretched 3 ms sleeps past a 10 ms period and made it flaky.
        for (int i = 0; i < 90; i++)
        {
            var poll = await pool.NextAsync();
            a.Signal();
            Thread.Sleep(10);
            poll.Execute();
            Assert.True(a.TryNext(out int handledOn), $"poll {i}: the edge was not handled by the poll (the loop thread took the loop back)");
            Assert.Equal(Environment.CurrentManagedThreadId, handledOn);
        }
        Assert.Equal(0, a.OffLoopCalls);
    }

    [Fact]
    public async Task TakenBack_StalePollStillQueued_NoNewHandOffUntilItRuns()
    {
        // A starved pool: the taken-back poll still waits in its queue. Handing off again would cost every busy pass
        // a 10 ms sleep before the next take-back; the loop serves the edges itself instead.
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 10);
        var (a, b) = (fixture.Add(), fixture.Add());
        await fixture.BusyPassAsync(a, b);
        var stale = await pool.NextAsync();
        a.Signal();
        Assert.Equal(fixture.LoopThreadId, await a.NextAsync()); // Taken back.

        await fixture.BusyPassAsync(a, b);
        b.Signal();
        Assert.Equal(fixture.LoopThreadId, await b.NextAsync());
        Assert.Equal(1, fixture.Loop.HandOffCount);
        Assert.Equal(0, pool.Count);

        // The stale poll runs at last (a no-op): the pool is alive, and the next busy pass hands off again.
        stale.Execute();
        await fixture.BusyPassAsync(a, b);
        Assert.Same(stale, await pool.NextAsync());
        Assert.Equal(2, fixture.Loop.HandOffCount);
        Assert.Equal(0, fixture.Overlaps);
    }

    [Fact]
    public async Task HandOff_WorkPostedMeanwhile_RunsInThePollAsTheLoop()
    {
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 600_000);
        var (a, b) = (fixture.Add(), fixture.Add());
        await fixture.BusyPassAsync(a, b);
        var poll = await pool.NextAsync();

        var ran = new TaskCompletionSource<(int Thread, bool AsLoop)>(TaskCreationOptions.RunContinuationsAsynchronously);
        fixture.Loop.Schedule(_ => ran.SetResult((Environment.CurrentManagedThreadId, fixture.Loop.IsLoopThread)), null);
        Assert.False(ran.Task.IsCompleted, "posted work ran while nobody was the loop");
        poll.Execute();

        var (thread, asLoop) = await ran.Task.WithTimeout();
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
        Assert.True(asLoop);
        Assert.False(fixture.Loop.IsLoopThread, "the pool thread still counts as the loop after its poll");
        // No event and no work left: that poll handed the loop back.
        Assert.Equal(0, pool.Count);
        a.Signal();
        Assert.Equal(fixture.LoopThreadId, await a.NextAsync());
    }

    [Fact]
    public async Task Stop_WhileThePollIsHeld_LoopThreadTakesBackAndEnds()
    {
        var pool = new HeldWorkItems();
        var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 10);
        var (a, b) = (fixture.Add(), fixture.Add());
        await fixture.BusyPassAsync(a, b);
        var stale = await pool.NextAsync();

        await Task.Run(fixture.Dispose).WithTimeout();

        Assert.Equal(1, a.StoppingCalls);
        Assert.Equal(1, b.StoppingCalls);
        // The poll runs after the loop is gone (fds closed, buffer freed): it must see it was taken back and do nothing.
        stale.Execute();
        Assert.False(a.TryNext(out _) || b.TryNext(out _), "a poll ran after the loop stopped");
    }

    [Fact]
    public async Task ThreadPool_ManyBusyPasses_EveryEdgeHandledOnceAsTheLoop()
    {
        // The real pool: edges from several threads keep the loop busy, so it hands off and back many times.
        using var fixture = new LoopFixture(pool: null, reclaimAfterMilliseconds: LoopExecutor.DefaultReclaimAfterMilliseconds);
        var handlers = Enumerable.Range(0, 8).Select(_ => fixture.Add()).ToArray();
        const int Rounds = 2_000;
        await fixture.BusyPassAsync(handlers[0], handlers[1]);

        await Task.WhenAll(handlers.Select(h => Task.Run(async () =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                h.Signal();
                await h.NextAsync(); // One edge at a time per fd: each must come back exactly once.
            }
        }))).WithTimeout();

        Assert.All(handlers, h => Assert.Equal(0, h.OffLoopCalls));
        Assert.All(handlers, h => Assert.False(h.TryNext(out _), "an edge was handled twice"));
        Assert.True(fixture.Loop.HandOffCount > 0, "no hand-off happened");
        Assert.Equal(0, fixture.Overlaps);
    }

    [Fact]
    public async Task HandOff_FlushesFromAnAppThreadAndAsTheLoop_BothSentWhileThePollIsHeld()
    {
        var pool = new HeldWorkItems();
        using var fixture = new LoopFixture(pool, reclaimAfterMilliseconds: 600_000);
        var (a, b) = (fixture.Add(), fixture.Add());
        await using var connections = new Lifecycle.LoopConnections(fixture.Loop, new EpollTransportOptions());
        // Start ran the send loop up to its first read of the output pipe: it is parked there now.
        var (server, client) = await connections.ConnectAsync();
        await fixture.BusyPassAsync(a, b);
        var poll = await pool.NextAsync();

        // The flush as the loop comes first, while the send loop is certainly parked on the output pipe. The other way
        // round, the send loop that sent the application's bytes from a pool thread could still be running after the
        // client read them, not yet parked: it would then find these bytes itself and send them from that thread, and
        // the poll would find nothing queued and hand back (5 runs in 50 failed so).
        // A flush made as the loop, on the poll's thread: the send is posted to the loop, so the poll, finding work
        // queued, queues itself again; its next run sends.
        Task<System.IO.Pipelines.FlushResult>? flush = null;
        fixture.Loop.Schedule(_ => flush = server.Transport.Output.WriteAsync("poll;"u8.ToArray()).AsTask(), null);
        poll.Execute();
        Assert.NotNull(flush);
        Assert.Equal(1, pool.Count); // Queued itself again (synchronously, inside Execute): the send waits for it.
        var next = await pool.NextAsync();
        // An edge for that run too, so that it queues itself once more and the poll stays held for the second flush.
        a.Signal();
        next.Execute();
        Assert.Equal("poll;", await ReceiveAsync(client, 5));
        await flush.WithTimeout();
        Assert.True(a.TryNext(out int handledOn), "the poll did not handle the pending edge");
        Assert.Equal(Environment.CurrentManagedThreadId, handledOn);
        var held = await pool.NextAsync();

        // Nobody runs as the loop now (the poll is held again, the loop thread sleeps), and the send loop parked again
        // inside that run, on this thread. A flush from an application thread sends from the pool: it needs no loop.
        Assert.False(fixture.Loop.IsLoopThread);
        await server.Transport.Output.WriteAsync("app;"u8.ToArray()).AsTask().WithTimeout();
        Assert.Equal("app;", await ReceiveAsync(client, 4));

        // Hand the loop back (the connections' close runs as the loop, and the loop thread must be awake to stop).
        held.Execute();
        while (pool.Count > 0)
        {
            (await pool.NextAsync()).Execute();
        }
        Assert.Equal(0, a.OffLoopCalls + b.OffLoopCalls);
    }

    private static async Task<string> ReceiveAsync(System.Net.Sockets.Socket client, int count)
    {
        var buffer = new byte[count];
        int received = 0;
        while (received < count)
        {
            int n = await client.ReceiveAsync(buffer.AsMemory(received)).AsTask().WithTimeout();
            Assert.True(n > 0, "the connection closed");
            received += n;
        }
        return System.Text.Encoding.ASCII.GetString(buffer);
    }

    /// <summary>Stands in for the thread pool: keeps the queued items for the test to run (or not).</summary>
    private sealed class HeldWorkItems
    {
        private readonly Channel<IThreadPoolWorkItem> _items = Channel.CreateUnbounded<IThreadPoolWorkItem>();

        public int Count => _items.Reader.Count;

        public void Add(IThreadPoolWorkItem item) => _items.Writer.TryWrite(item);

        public Task<IThreadPoolWorkItem> NextAsync() => _items.Reader.ReadAsync().AsTask().WithTimeout();
    }

    private sealed class LoopFixture : IDisposable
    {
        private readonly List<EdgeHandler> _handlers = [];
        private bool _stopped;
        private int _inside;
        private int _overlaps;

        /// <summary>Handler calls that found another call running on this loop: two threads ran as the loop at once.</summary>
        public int Overlaps => Volatile.Read(ref _overlaps);

        /// <summary>Brackets a handler call; a short spin inside widens the window an overlap would need.</summary>
        public void Enter()
        {
            if (Interlocked.Increment(ref _inside) > 1)
            {
                Interlocked.Increment(ref _overlaps);
            }
            Thread.SpinWait(50);
        }

        public void Exit() => Interlocked.Decrement(ref _inside);

        public LoopFixture(HeldWorkItems? pool, int reclaimAfterMilliseconds)
        {
            Loop = new EpollEventLoop(
                8, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics(),
                handOffWhenBusy: true, queueWorkItem: pool is null ? null : pool.Add, reclaimAfterMilliseconds: reclaimAfterMilliseconds);
            Loop.Start();
            var id = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            Loop.Schedule(_ => id.SetResult(Environment.CurrentManagedThreadId), null);
            LoopThreadId = id.Task.WithTimeout().GetAwaiter().GetResult();
        }

        public EpollEventLoop Loop { get; }

        public int LoopThreadId { get; }

        public EdgeHandler Add()
        {
            var handler = new EdgeHandler(Loop, this);
            Assert.Equal(0, Loop.Register(handler.Fd.Fd, Epoll.EPOLLIN | Epoll.EPOLLET, handler));
            _handlers.Add(handler);
            return handler;
        }

        /// <summary>
        /// A busy pass: both signalled from the loop thread, so its next epoll_wait returns the two edges together, and
        /// both handled there (the loop thread dispatches a pass before it hands off).
        /// </summary>
        public async Task BusyPassAsync(EdgeHandler a, EdgeHandler b)
        {
            Loop.Schedule(_ =>
            {
                a.Signal();
                b.Signal();
            }, null);
            Assert.Equal(LoopThreadId, await a.NextAsync());
            Assert.Equal(LoopThreadId, await b.NextAsync());
        }

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
        private readonly LoopFixture _fixture;
        private readonly Channel<int> _handledOn = Channel.CreateUnbounded<int>();

        public EdgeHandler(EpollEventLoop loop, LoopFixture fixture)
        {
            _loop = loop;
            _fixture = fixture;
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
            Assert.Equal(sizeof(ulong), (int)Libc.Write(Fd.Fd, &one, sizeof(ulong)).BytesOrError);
        }

        public Task<int> NextAsync() => _handledOn.Reader.ReadAsync().AsTask().WithTimeout();

        public bool TryNext(out int threadId) => _handledOn.Reader.TryRead(out threadId);

        public unsafe void OnEvents(uint events)
        {
            _fixture.Enter();
            try
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
            finally
            {
                _fixture.Exit();
            }
        }

        public void OnFault(Exception exception) => _handledOn.Writer.TryComplete(exception);

        public void OnLoopStopping() => StoppingCalls++;
    }
}
