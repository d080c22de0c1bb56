using System.IO.Pipelines;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The output pipe's reader scheduler: runs the send loop after the work that flushed, so every flush that work makes
/// goes out in one write. Where every step of a send runs is tabled at the top of EpollConnection.Send.cs.
/// </summary>
/// <remarks>
/// <para>Kestrel and the application flush the output many times per response when they write it a piece at a time
/// (a chunked body and its terminating chunk, a streamed body, server-sent events, a pipelined batch of responses).
/// Run inline, the send loop would make one write syscall, and send one TCP segment, per flush. Queued, it runs once
/// the work that flushed has moved on, and sends at once what all of its flushes buffered.</para>
/// <list type="bullet">
/// <item>Flushed as the loop (inline scheduling: Kestrel runs inside our read; or the loop's own work): posted to the
/// loop, which runs it after the events of this pass, so the responses to every request read in the pass leave
/// together.</item>
/// <item>Flushed anywhere else (the default: Kestrel and the app run on the thread pool): the pool's global queue, as
/// the Sockets transport's IOQueue. The flushing thread runs it when its current work ends, unless an idle thread
/// takes it first. Not that thread's local queue (<c>preferLocal: true</c>): other threads take from a local queue
/// only when the global queue is empty, so on a busy server bytes flushed before blocking or long work (a synchronous
/// call, CPU work) would wait for that work to end, where Sockets sends them meanwhile (docs/architecture.md,
/// "Sending").</item>
/// </list>
/// </remarks>
internal sealed class SendScheduler(EpollEventLoop loop) : PipeScheduler
{
    public override void Schedule(Action<object?> action, object? state)
    {
        if (loop.IsLoopThread)
        {
            loop.Schedule(action, state);
        }
        else
        {
            // For the send loop's continuation (an async state machine box) this queues the box itself: no allocation.
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: false);
        }
    }
}
