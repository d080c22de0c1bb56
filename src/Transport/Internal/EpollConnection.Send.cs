using System.Buffers;
using System.IO.Pipelines;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

// Send: runs on the thread that flushed the output (inline reader scheduler), or on the loop after EAGAIN.
internal sealed partial class EpollConnection
{
    /// <summary>The send loop; awaited only through <see cref="_closedTcs"/>.</summary>
    private Task? _sendTask;

    /// <summary>Wakes a send deferred behind a pipelined batch (see <see cref="ShouldDefer"/>); closed with the connection.</summary>
    private readonly ReadinessSignal _sendDeferral = new(runContinuationsAsynchronously: false);

    /// <summary>Queues the deferred send's wake-up on the thread pool without allocating; created on first use.</summary>
    private DeferredSendWorkItem? _deferredSendWorkItem;

    /// <summary>
    /// Below this many buffered bytes a send may be deferred. Kept under the output's resume mark, so a deferred send
    /// never leaves Kestrel's flush waiting on it.
    /// </summary>
    private readonly long _deferLimit;

    private async Task ProcessSendsAsync()
    {
        Exception? unexpectedError = null;
        var reader = _output.Reader;
        bool deferred = false;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                if (result.IsCanceled)
                {
                    break; // Abort or close.
                }
                var buffer = result.Buffer;
                if (!deferred && !result.IsCompleted && ShouldDefer(buffer.Length))
                {
                    // Keep it all (examined nothing): the next read returns it at once, with whatever came meanwhile.
                    reader.AdvanceTo(buffer.Start);
                    deferred = true;
                    if (!await DeferAsync())
                    {
                        break; // Closed while deferred.
                    }
                    continue;
                }
                deferred = false;
                var end = buffer.End;
                bool closed = false;
                while (!buffer.IsEmpty)
                {
                    _writable.Reset();
                    nint written = WriteV(buffer);
                    if (written >= 0)
                    {
                        buffer = buffer.Slice(written);
                    }
                    else if (written == -Errno.EAGAIN)
                    {
                        // Resumes inline on the loop thread at the next writable edge, or with false once closed.
                        if (!await _writable.WaitAsync())
                        {
                            closed = true;
                            break;
                        }
                    }
                    else
                    {
                        _sendError = CreateSendError((int)-written);
                        closed = true;
                        break;
                    }
                }
                if (closed)
                {
                    break;
                }
                reader.AdvanceTo(end);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (ObjectDisposedException) when (_writable.IsClosed)
        {
            // The connection closed (an abort) between our check and the writev's reference on the fd.
        }
        catch (Exception ex)
        {
            unexpectedError = ex;
            _sendError = ex;
        }
        finally
        {
            reader.Complete(unexpectedError);
            // Posted: the send loop may be running inside Kestrel's flush, itself inside our receive.
            _loop.Schedule(static state => ((EpollConnection)state!).Close(), this);
            CompletionStep();
        }
    }

    /// <summary>
    /// Whether to hold this flush back: Kestrel left pipelined requests unparsed, so more responses follow at once, and
    /// Sockets' lesson applies (with inline scheduling it sends once per response and loses half its pipelined
    /// throughput). The hold lasts until the work running now yields, never longer: see <see cref="DeferAsync"/>.
    /// </summary>
    private bool ShouldDefer(long buffered) => _inputReader.HasUnconsumedInput && buffered < _deferLimit;

    /// <summary>
    /// Resumes the send after the current work: on the loop, after the events being handled (with inline scheduling
    /// Kestrel answers the whole pipelined batch inside our read); elsewhere, as a thread-pool item queued behind
    /// Kestrel's own processing. False when the connection closed meanwhile.
    /// </summary>
    private ValueTask<bool> DeferAsync()
    {
        _sendDeferral.Reset();
        var wait = _sendDeferral.WaitAsync();
        if (_loop.IsLoopThread)
        {
            _loop.Schedule(static state => ((EpollConnection)state!)._sendDeferral.Signal(), this);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(_deferredSendWorkItem ??= new DeferredSendWorkItem(_sendDeferral), preferLocal: true);
        }
        return wait;
    }

    private sealed class DeferredSendWorkItem(ReadinessSignal signal) : IThreadPoolWorkItem
    {
        public void Execute() => signal.Signal();
    }

    /// <summary>One writev of up to <see cref="Libc.MaxIOVectors"/> segments; the bytes written or <c>-errno</c>.</summary>
    private unsafe nint WriteV(in ReadOnlySequence<byte> buffer)
    {
        bool onLoop = _loop.IsLoopThread;
        bool added = false;
        try
        {
            if (!onLoop)
            {
                // The loop may close the fd at any moment; a reference keeps the number ours until writev returns.
                _handle.DangerousAddRef(ref added);
            }
            if (buffer.IsSingleSegment)
            {
                var span = buffer.FirstSpan;
                fixed (byte* p = span)
                {
                    var vector = new Libc.IOVector { Base = p, Count = (nuint)span.Length };
                    return Written(Libc.WriteV(_fd, &vector, 1), 1);
                }
            }
            return WriteVMultiple(buffer);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private unsafe nint WriteVMultiple(in ReadOnlySequence<byte> buffer)
    {
        // Rented per call, not kept per connection: 256 pins are 6 KiB, which an idle connection should not hold.
        var pins = ArrayPool<MemoryHandle>.Shared.Rent(Libc.MaxIOVectors);
        var vectors = stackalloc Libc.IOVector[Libc.MaxIOVectors];
        int count = 0;
        try
        {
            foreach (var segment in buffer)
            {
                if (segment.IsEmpty)
                {
                    continue;
                }
                pins[count] = segment.Pin();
                vectors[count] = new Libc.IOVector { Base = pins[count].Pointer, Count = (nuint)segment.Length };
                if (++count == Libc.MaxIOVectors)
                {
                    break;
                }
            }
            return Written(Libc.WriteV(_fd, vectors, count), count);
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                pins[i].Dispose(); // Also clears the entry: the pooled array keeps no reference to our blocks.
            }
            ArrayPool<MemoryHandle>.Shared.Return(pins);
        }
    }

    private nint Written(nint result, int iovecs)
    {
        if (result > 0)
        {
            _metrics.BytesWritten(result, iovecs);
        }
        return result;
    }

    private Exception CreateSendError(int errno)
    {
        if (Errno.IsConnectionReset(errno))
        {
            EpollTransportLog.ConnectionReset(_logger, ConnectionId);
            return new ConnectionResetException($"Connection reset by peer: {Errno.Describe(errno)}");
        }
        var error = new IOException($"writev failed: {Errno.Describe(errno)}");
        EpollTransportLog.ConnectionError(_logger, ConnectionId, error);
        return error;
    }
}
