using System.IO.Pipelines;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The application's side of a connection's pipes (the input's reader, the output's writer): where Kestrel and the app
/// resume when the loop delivers bytes or takes them. On the thread pool, each continuation its own work item, so a
/// blocking handler blocks one pool thread, never the loop or another connection. What a pass of the loop schedules is
/// queued when the pass ends, not as each read flushes.
/// </summary>
/// <remarks>
/// <para>Why at the end of the pass. Queued one at a time, between reads that each take a few microseconds, the work
/// items reach the pool one by one: a pool thread wakes for each, runs it (an app that only takes the bytes is done in
/// less time than the loop's next read), finds the queue empty and spins before it sleeps again; the spinning is paid
/// per item. Queued together, the pool runs them as one burst (docs/architecture.md, "Measurements behind
/// constants"). A pass is bounded (its events, due timers and the work posted before it), so no item waits longer than
/// the pass that scheduled it.</para>
/// <para>Threads. <see cref="BeginPass"/> and <see cref="EndPass"/> bracket a pass as the loop (the loop thread, or the
/// pool thread polling in its place); the list they share with <see cref="Schedule"/> is touched only as the loop. A
/// continuation scheduled anywhere else (a pipe completed or cancelled by the app, a send loop running on the pool) or
/// as the loop outside a pass (the loop stopping, work run after its end) is queued at once.</para>
/// </remarks>
internal sealed class ApplicationScheduler(EpollEventLoop loop, Action<Action<object?>, object?>? queue = null) : PipeScheduler
{
    /// <summary>Queues one continuation on the pool's global queue (tests pass a stand-in that records).</summary>
    private readonly Action<Action<object?>, object?> _queue = queue ?? QueueOnPool;

    /// <summary>Continuations scheduled as the loop during the current pass, in order. As the loop.</summary>
    private readonly List<(Action<object?> Action, object? State)> _pending = [];

    /// <summary>True between <see cref="BeginPass"/> and <see cref="EndPass"/>. As the loop.</summary>
    private bool _inPass;

    public override void Schedule(Action<object?> action, object? state)
    {
        if (loop.IsLoopThread && _inPass)
        {
            _pending.Add((action, state));
        }
        else
        {
            _queue(action, state);
        }
    }

    /// <summary>A pass starts: what it schedules waits for <see cref="EndPass"/>. As the loop.</summary>
    public void BeginPass()
    {
        Debug.Assert(loop.IsLoopThread && !_inPass && _pending.Count == 0, "A pass begins as the loop, after the last one ended.");
        _inPass = true;
    }

    /// <summary>The pass ended: queues what it scheduled, in the order it did. As the loop.</summary>
    public void EndPass()
    {
        Debug.Assert(loop.IsLoopThread && _inPass, "A pass ends as the loop that began it.");
        _inPass = false;
        try
        {
            // What is scheduled while this walks (a stand-in queue that runs inline) is queued at once: out of the pass.
            for (int i = 0; i < _pending.Count; i++)
            {
                var (action, state) = _pending[i];
                _queue(action, state);
            }
        }
        finally
        {
            // Never queued twice, whatever the queue threw.
            _pending.Clear();
        }
    }

    /// <summary>For the continuation of an async state machine this queues the box itself: no allocation.</summary>
    private static void QueueOnPool(Action<object?> action, object? state)
        => System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
}
