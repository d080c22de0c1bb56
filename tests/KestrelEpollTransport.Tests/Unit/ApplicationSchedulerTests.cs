using System.Buffers;
using System.Collections.Concurrent;
using KestrelEpollTransport.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace KestrelEpollTransport.Tests.Unit;

/// <summary>
/// The application's scheduler: what a pass of the loop schedules reaches the pool when the pass ends, in order, each
/// continuation its own work item (so one that blocks holds no other); what is scheduled off the loop goes at once.
/// </summary>
public sealed class ApplicationSchedulerTests
{
    [Fact]
    public async Task ScheduledDuringAPass_QueuedWhenThePassEnds_InOrder()
    {
        using var queued = new RecordedQueue();
        var loop = StartLoop(queued.Add);
        try
        {
            var seenInsideThePass = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.Schedule(_ =>
            {
                // Posted work runs inside a pass, as a read's flush does.
                for (int i = 0; i < 3; i++)
                {
                    loop.ApplicationScheduler.Schedule(static _ => { }, i);
                }
                seenInsideThePass.SetResult(queued.Count);
            }, null);

            Assert.Equal(0, await seenInsideThePass.Task.WithTimeout());
            Assert.Equal(new object?[] { 0, 1, 2 }, await queued.WaitForAsync(3));
        }
        finally
        {
            loop.Stop();
        }
    }

    [Fact]
    public async Task ScheduledOffTheLoop_QueuedAtOnce()
    {
        using var queued = new RecordedQueue();
        var loop = StartLoop(queued.Add);
        try
        {
            await Task.Run(() => loop.ApplicationScheduler.Schedule(static _ => { }, 7)).WithTimeout();

            Assert.Equal(new object?[] { 7 }, queued.Snapshot());
        }
        finally
        {
            loop.Stop();
        }
    }

    [Fact]
    public async Task OneContinuationOfAPassBlocks_TheOthersRunMeanwhile()
    {
        // The real pool: a blocking handler holds one pool thread. Queued as one work item for the whole pass, the
        // first continuation would wait forever for the second.
        var loop = StartLoop(queue: null);
        try
        {
            using var secondRan = new ManualResetEventSlim();
            var firstSawSecond = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.Schedule(_ =>
            {
                loop.ApplicationScheduler.Schedule(_ => firstSawSecond.SetResult(secondRan.Wait(Timeouts.Default)), null);
                loop.ApplicationScheduler.Schedule(_ => secondRan.Set(), null);
            }, null);

            Assert.True(await firstSawSecond.Task.WithTimeout(2 * Timeouts.Default), "the second continuation waited for the blocked first");
        }
        finally
        {
            loop.Stop();
        }
    }

    private static EpollEventLoop StartLoop(Action<Action<object?>, object?>? queue)
    {
        var loop = new EpollEventLoop(0, MemoryPool<byte>.Shared, NullLogger.Instance, new EpollTransportMetrics(), queueApplicationWork: queue);
        loop.Start();
        return loop;
    }

    /// <summary>Stands in for the pool: records each queued continuation's state, in order, and runs nothing.</summary>
    private sealed class RecordedQueue : IDisposable
    {
        private readonly ConcurrentQueue<object?> _states = new();
        private readonly SemaphoreSlim _added = new(0);

        public int Count => _states.Count;

        public void Add(Action<object?> action, object? state)
        {
            _states.Enqueue(state);
            _added.Release();
        }

        public object?[] Snapshot() => [.. _states];

        public void Dispose() => _added.Dispose();

        /// <summary>The states once <paramref name="count"/> were queued.</summary>
        public async Task<object?[]> WaitForAsync(int count)
        {
            for (int i = 0; i < count; i++)
            {
                Assert.True(await _added.WaitAsync(Timeouts.Default), $"only {_states.Count} of {count} continuations were queued within {Timeouts.Default}");
            }
            return Snapshot();
        }
    }
}
