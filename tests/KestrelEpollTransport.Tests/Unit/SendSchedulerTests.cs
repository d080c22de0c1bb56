using System.Buffers;
using KestrelEpollTransport.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// The send's scheduler, off the loop: every scheduled continuation runs exactly once, wherever it was scheduled from,
/// and a flushing thread that blocks does not hold its send (the contract any scheduling design must keep; the
/// designs measured against each other are in docs/architecture.md, "Sending").
/// </summary>
public sealed class SendSchedulerTests : IDisposable
{
    private readonly EpollEventLoop _loop = new(0, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics());

    public SendSchedulerTests() => _loop.Start();

    public void Dispose() => _loop.Stop();

    [Fact]
    public async Task ScheduledAgainByEachContinuation_OnPoolThreads_EveryOneRunsExactlyOnce()
    {
        // As the send loop does: each run awaits again, so the next Schedule comes from the continuation's own thread.
        const int Sends = 20_000;
        var scheduler = _loop.SendScheduler;
        var runs = new int[Sends];
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<object?> step = null!;
        step = state =>
        {
            int i = (int)state!;
            Interlocked.Increment(ref runs[i]);
            if (i + 1 == Sends)
            {
                done.TrySetResult();
            }
            else
            {
                scheduler.Schedule(step, i + 1);
            }
        };

        await Task.Run(() => scheduler.Schedule(step, 0));
        await done.Task.WithTimeout();

        // A second run of any of them would have been queued before this: let every global item queued so far be taken.
        await AfterTheGlobalQueueAsync();
        Assert.All(runs, count => Assert.Equal(1, count));
    }

    [Fact]
    public async Task ScheduledTwiceBeforeEitherRuns_BothRunOnce()
    {
        // System.IO.Pipelines hands the scheduler one reader continuation at a time; two at once must still both run.
        const int Pairs = 2_000;
        var scheduler = _loop.SendScheduler;
        int ran = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<object?> count = _ =>
        {
            if (Interlocked.Increment(ref ran) == 2 * Pairs)
            {
                done.TrySetResult();
            }
        };

        await Task.Run(() =>
        {
            for (int i = 0; i < Pairs; i++)
            {
                scheduler.Schedule(count, null);
                scheduler.Schedule(count, null);
            }
        });
        await done.Task.WithTimeout();

        await AfterTheGlobalQueueAsync();
        Assert.Equal(2 * Pairs, Volatile.Read(ref ran));
    }

    [Fact]
    public async Task ScheduledThenTheFlushingPoolThreadBlocks_RunsOnAnotherThreadMeanwhile()
    {
        var scheduler = _loop.SendScheduler;
        using var ran = new ManualResetEventSlim();
        int flushingThread = 0;
        int ranOn = 0;

        bool ranWhileBlocked = await Task.Run(() =>
        {
            flushingThread = Environment.CurrentManagedThreadId;
            scheduler.Schedule(_ =>
            {
                ranOn = Environment.CurrentManagedThreadId;
                ran.Set();
            }, null);
            // Another thread must run it while this one waits (on a busy pool too: SendStallTests).
            return ran.Wait(Timeouts.Default);
        }).WithTimeout(2 * Timeouts.Default);

        Assert.True(ranWhileBlocked, "the send waited for the blocked flushing thread");
        Assert.NotEqual(flushingThread, ranOn);
    }

    [Fact]
    public async Task ScheduledFromAThreadOutsideThePool_RunsOnce()
    {
        var scheduler = _loop.SendScheduler;
        int ran = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => scheduler.Schedule(_ =>
        {
            Interlocked.Increment(ref ran);
            done.TrySetResult();
        }, null));

        thread.Start();
        await done.Task.WithTimeout();
        await AfterTheGlobalQueueAsync();

        Assert.Equal(1, Volatile.Read(ref ran));
        Assert.True(thread.Join(Timeouts.Default), "the scheduling thread did not end");
    }

    /// <summary>Completes once a work item queued now on the global queue ran (FIFO: every earlier one was taken).</summary>
    private static Task AfterTheGlobalQueueAsync()
    {
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.TrySetResult(), ran, preferLocal: false);
        return ran.Task.WithTimeout();
    }
}
