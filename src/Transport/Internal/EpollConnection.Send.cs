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

    /// <summary>Pins for a multi-segment writev; created on the first one (most responses are one segment).</summary>
    private MemoryHandle[]? _pins;

    private async Task ProcessSendsAsync()
    {
        Exception? unexpectedError = null;
        var reader = _output.Reader;
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
                    return Libc.WriteV(_fd, &vector, 1);
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
        _pins ??= new MemoryHandle[Libc.MaxIOVectors];
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
                _pins[count] = segment.Pin();
                vectors[count] = new Libc.IOVector { Base = _pins[count].Pointer, Count = (nuint)segment.Length };
                if (++count == Libc.MaxIOVectors)
                {
                    break;
                }
            }
            return Libc.WriteV(_fd, vectors, count);
        }
        finally
        {
            for (int i = 0; i < count; i++)
            {
                _pins[i].Dispose();
            }
        }
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
