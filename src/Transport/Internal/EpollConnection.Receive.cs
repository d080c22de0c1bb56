using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

// Receive: everything here runs on the loop thread.
internal sealed partial class EpollConnection
{
    /// <summary>A flush is pending (the reader is MaxReadBufferSize behind): reading waits for its completion.</summary>
    private bool _receivePaused;

    /// <summary>The peer shut down its side (RDHUP/HUP/ERR seen): read until 0 or an error, even after a short read.</summary>
    private bool _readToEnd;

    /// <summary>The input pipe's writer is completed.</summary>
    private bool _inputCompleted;

    /// <summary>The pending flush while <see cref="_receivePaused"/>.</summary>
    private ValueTaskAwaiter<FlushResult> _flushAwaiter;

    /// <summary>Cached delegate for the flush continuation (no allocation per pause).</summary>
    private readonly Action _onFlushCompleted;

    void IEpollHandler.OnEvents(uint events)
    {
        Debug.Assert(_loop.IsLoopThread, "Events are handled on the loop.");
        if ((events & (Epoll.EPOLLOUT | Epoll.EPOLLERR | Epoll.EPOLLHUP)) != 0)
        {
            // Resumes a waiting send inline, here on the loop; the next writev reports any error.
            _writable.Signal();
        }
        if ((events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP | Epoll.EPOLLERR)) != 0)
        {
            if ((events & (Epoll.EPOLLRDHUP | Epoll.EPOLLHUP | Epoll.EPOLLERR)) != 0)
            {
                _readToEnd = true;
            }
            if (!_receivePaused && !_inputCompleted && !_closed)
            {
                Receive();
            }
        }
    }

    /// <summary>Reads until drained, paused, at end of stream or failed.</summary>
    private unsafe void Receive()
    {
        var writer = _input.Writer;
        while (true)
        {
            var memory = writer.GetMemory(_minAllocSize);
            nint read;
            fixed (byte* buffer = memory.Span)
            {
                read = Libc.Read(_fd, buffer, (nuint)memory.Length);
            }

            if (read > 0)
            {
                writer.Advance((int)read);
                _metrics.BytesRead(read);
                // A short read drained the socket: edge-triggered epoll reports the next data as a new edge, so no
                // read to see EAGAIN is spent. Unless the peer closed: then read on to the 0 that says so.
                bool drained = read < memory.Length && !_readToEnd;
                // The ValueTask is consumed exactly once: its result if completed, else its awaiter.
#pragma warning disable CA2012
                var flush = writer.FlushAsync();
#pragma warning restore CA2012
                if (!flush.IsCompleted)
                {
                    _receivePaused = true;
                    EpollTransportLog.ConnectionPause(_logger, ConnectionId);
                    _flushAwaiter = flush.GetAwaiter();
                    _flushAwaiter.UnsafeOnCompleted(_onFlushCompleted);
                    return;
                }
                var result = flush.Result;
                if (!ShouldContinue(result) || drained)
                {
                    return;
                }
            }
            else if (read == 0)
            {
                EpollTransportLog.ConnectionReadFin(_logger, ConnectionId);
                CompleteInput(null);
                return;
            }
            else if (read == -Errno.EAGAIN)
            {
                return;
            }
            else
            {
                CompleteInput(CreateReceiveError((int)-read));
                return;
            }
        }
    }

    /// <summary>
    /// The continuation of a flush that paused reading; scheduled on the loop by the input pipe. Runs as posted work,
    /// so a fault here is this connection's own: it is reset like a fault in <see cref="IEpollHandler.OnEvents"/>,
    /// never left hanging (no new edge would come for data already read off the socket).
    /// </summary>
    private void OnFlushCompleted()
    {
        try
        {
            ResumeReceive();
        }
        catch (Exception ex)
        {
            // Logged as the loop logs a fault in an event handler: same category, same id.
            EpollTransportLog.HandlerFault(_loop.Logger, _loop.Id, ex);
            ((IEpollHandler)this).OnFault(ex);
        }
    }

    private void ResumeReceive()
    {
        Debug.Assert(_loop.IsLoopThread, "Flush continuations run on the loop (the input pipe's writer scheduler).");
        _receivePaused = false;
        var result = _flushAwaiter.GetResult();
        _flushAwaiter = default;
        if (_closed)
        {
            CompleteInput(null);
            return;
        }
        EpollTransportLog.ConnectionResume(_logger, ConnectionId);
        if (ShouldContinue(result))
        {
            // Data (or FIN) that came while paused raised its edge then; read now rather than wait for another.
            Receive();
        }
    }

    /// <summary>False when the reader completed (Kestrel is done with the input) or the flush was cancelled.</summary>
    private bool ShouldContinue(FlushResult result)
    {
        if (result.IsCompleted || result.IsCanceled)
        {
            CompleteInput(null);
            return false;
        }
        return true;
    }

    private Exception CreateReceiveError(int errno)
    {
        if (Errno.IsConnectionReset(errno))
        {
            EpollTransportLog.ConnectionReset(_logger, ConnectionId);
            return new ConnectionResetException($"Connection reset by peer: {Errno.Describe(errno)}");
        }
        var error = new IOException($"read failed: {Errno.Describe(errno)}");
        EpollTransportLog.ConnectionError(_logger, ConnectionId, error);
        return error;
    }
}
