using System.Buffers;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

// Send: where each step of the send loop runs, and why it is safe there.
//
//   step                                   runs on                                       decided by
//   -------------------------------------  --------------------------------------------  ------------------------------------
//   first run, and every resumption after  the thread pool's global queue (the thread    SendScheduler.Schedule: the output
//   a flush (ReadAsync completes)          that flushed usually takes it when its work   pipe's reader scheduler; the caller
//                                          ends); or posted to the loop, after the       is not running as the loop / is
//                                          events of this pass, when the flush was made  (IsLoopThread)
//                                          as the loop (inline scheduling, loop work)
//   sendmsg                                wherever the step above runs                  Send: a reference on the handle held
//                                                                                        around the call, always
//   after EAGAIN or a short write          inline on the thread running as the loop at  _writable (a ReadinessSignal with
//                                          the next EPOLLOUT/ERR/HUP edge (OnEvents);    inline continuations), Signal from
//                                          at once if an edge came since Reset           OnEvents, Close from Close
//   the end (result completed, cancelled,  wherever the last step ran                    finally: SendLoopEnded posts the
//   error, or the signal closed)                                                         close (Lifecycle.cs)
//
// A closed handle: the loop may close the connection (Close disposes the handle) at any time, also between the send
// loop's look at _writable and its sendmsg. DangerousAddRef then throws ObjectDisposedException, and the exception
// filter (when _writable.IsClosed, which Close sets before it disposes the handle) ends the send loop quietly. Any
// other exception is a send error: RST.
internal sealed partial class EpollConnection
{
    /// <summary>The send loop; awaited only through <see cref="_closedTcs"/>.</summary>
    private Task? _sendTask;

    private async Task ProcessSendsAsync()
    {
        Exception? unexpectedError = null;
        Exception? sendError = null;
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                // ConfigureAwait(false) on every await: the loop means "continue where the scheduler or the loop runs
                // us", never on a context an application thread happened to carry.
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break; // Abort or close.
                }
                var buffer = result.Buffer;
                var end = buffer.End;
                bool stopped = false;
                while (!buffer.IsEmpty)
                {
                    _writable.Reset();
                    var written = Send(buffer, out nint offered);
                    if (!written.IsError)
                    {
                        buffer = buffer.Slice(written.Bytes);
                        if (written.Bytes == offered)
                        {
                            continue;
                        }
                        // Short: the send buffer is full, and another call now would only return EAGAIN. Wait for room.
                    }
                    else if (!written.WouldBlock)
                    {
                        sendError = CreateSendError(written.Errno);
                        stopped = true;
                        break;
                    }
                    // Resumes inline on the loop thread at the next writable edge, or with false once closed. An edge
                    // since the Reset above (the peer read meanwhile) makes it return at once.
                    if (!await _writable.WaitAsync().ConfigureAwait(false))
                    {
                        stopped = true;
                        break;
                    }
                }
                if (stopped)
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
            // The connection closed (an abort) between our check and the send's reference on the fd.
        }
        catch (Exception ex)
        {
            unexpectedError = ex;
            sendError = ex;
        }
        finally
        {
            reader.Complete(unexpectedError);
            SendLoopEnded(sendError);
        }
    }

    /// <summary>
    /// One sendmsg of up to <see cref="Libc.MaxIOVectors"/> segments, with MSG_NOSIGNAL (a reset peer is EPIPE, never
    /// a SIGPIPE for the process); the bytes written or the errno, and in <paramref name="offered"/> the bytes handed
    /// to the kernel.
    /// </summary>
    private unsafe IoResult Send(in ReadOnlySequence<byte> buffer, out nint offered)
    {
        bool added = false;
        try
        {
            // Always, on the loop too: the loop may close the fd at any moment, and a send continuation posted to the
            // loop can run after a Close posted before it. The reference keeps the number ours until sendmsg returns;
            // once closed it throws ObjectDisposedException, which ends the send loop.
            _handle.DangerousAddRef(ref added);
            if (buffer.IsSingleSegment)
            {
                var span = buffer.FirstSpan;
                offered = span.Length;
                fixed (byte* p = span)
                {
                    var vector = new Libc.IOVector { Base = p, Count = (nuint)span.Length };
                    return Written(Sock.SendMsg(_fd, &vector, 1), 1);
                }
            }
            return SendMultiple(buffer, out offered);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private unsafe IoResult SendMultiple(in ReadOnlySequence<byte> buffer, out nint offered)
    {
        // Rented per call, not kept per connection: 256 pins are 6 KiB, which an idle connection should not hold.
        var pins = ArrayPool<MemoryHandle>.Shared.Rent(Libc.MaxIOVectors);
        var vectors = stackalloc Libc.IOVector[Libc.MaxIOVectors];
        int count = 0;
        offered = 0;
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
                offered += segment.Length;
                if (++count == Libc.MaxIOVectors)
                {
                    break;
                }
            }
            return Written(Sock.SendMsg(_fd, vectors, count), count);
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

    private IoResult Written(IoResult result, int iovecs)
    {
        if (!result.IsError && result.Bytes > 0)
        {
            _metrics.BytesWritten(result.Bytes, iovecs);
        }
        return result;
    }

    private Exception CreateSendError(int errno)
    {
        if (Errno.IsConnectionReset(errno))
        {
            EpollTransportLog.ConnectionReset(_logger, ConnectionId);
            return new ConnectionResetException(Errno.Describe(errno));
        }
        var error = new IOException($"sendmsg failed: {Errno.Describe(errno)}");
        EpollTransportLog.ConnectionError(_logger, ConnectionId, error);
        return error;
    }
}
