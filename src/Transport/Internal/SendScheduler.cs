using System.IO.Pipelines;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The output pipe's reader scheduler: runs the send loop after the work running now, on the same thread, so every
/// flush that work makes goes out in one write.
/// </summary>
/// <remarks>
/// <para>Kestrel and the application flush the output many times per response when they write it a piece at a time
/// (a chunked body and its terminating chunk, a streamed body, server-sent events, a pipelined batch of responses).
/// Run inline, the send loop made one write syscall, and sent one TCP segment, per flush. Deferred to the end of the
/// work that flushed, it sends once what all of those flushes buffered, and a response flushed once still costs one
/// write and no wake-up of any other thread.</para>
/// <para>Where the flush runs:</para>
/// <list type="bullet">
/// <item>As the loop (inline scheduling: Kestrel runs inside our read; or the loop's own work): posted to the loop, which
/// runs it after the events of this pass, so the responses to every request read in the pass leave together.</item>
/// <item>On a thread-pool thread (the default: Kestrel and the app run on the pool): queued on that thread's local queue
/// (<c>preferLocal: true</c>), which the same thread runs as soon as the app's synchronous run ends (it awaits, or
/// returns): no thread is woken for it, and it finds everything flushed by then.</item>
/// <item>Any other thread: the pool's global queue, as Kestrel's Sockets transport does with every send.</item>
/// </list>
/// <para>Measured (docs/architecture.md, "Sending"): a response written as 64 flushes of 32 B took 64 writes and ran at
/// 0.07× the Sockets transport's requests/s; deferred, it takes one or two.</para>
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
            System.Threading.ThreadPool.UnsafeQueueUserWorkItem(action, state, preferLocal: true);
        }
    }
}
