using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

// Receive: everything here runs on the loop thread.
internal sealed partial class EpollConnection
{
    /// <summary>
    /// Bytes one turn may read before the rest waits behind the loop's other work. Without a cap, a peer that keeps its
    /// receive queue full would hold the loop, and every other connection on it would wait for the flood to pause.
    /// 64 KiB: bulk uploads still read in large turns (a block, then the rest in one read: <see cref="ReadMemory"/>), and
    /// a turn keeps the neighbours waiting only for a short copy (docs/architecture.md, "Measurements behind constants").
    /// </summary>
    internal const int ReadBudgetBytes = 64 * 1024;

    /// <summary>
    /// Bytes read between two flushes: <see cref="ReadBudgetBytes"/>, or a sixteenth of the input's pause threshold
    /// where that is smaller, so batching adds at most that much to what <c>MaxReadBufferSize</c> lets the input hold.
    /// </summary>
    private readonly int _flushBatchBytes;

    /// <summary>The peer shut down its side (RDHUP/HUP/ERR seen): read until 0 or an error, even after a short read.</summary>
    private bool _readToEnd;

    /// <summary>
    /// A read error that came after bytes of the same turn whose flush then paused; it completes the input when that
    /// flush does. As the loop.
    /// </summary>
    private Exception? _pausedReadError;

    /// <summary>The pending flush while <see cref="InputState.Paused"/>.</summary>
    private ValueTaskAwaiter<FlushResult> _flushAwaiter;

    /// <summary>Cached delegate for the flush continuation (no allocation per pause).</summary>
    private readonly Action _onFlushCompleted;

    void IEpollHandler.OnEvents(uint events)
    {
        Debug.Assert(_loop.IsLoopThread, "Events are handled on the loop.");
        if ((events & (Epoll.EPOLLOUT | Epoll.EPOLLERR | Epoll.EPOLLHUP)) != 0)
        {
            // Resumes a waiting send inline, here on the loop; the next send reports any error.
            _writable.Signal();
        }
        if ((events & (Epoll.EPOLLIN | Epoll.EPOLLRDHUP | Epoll.EPOLLHUP | Epoll.EPOLLERR)) != 0)
        {
            if ((events & (Epoll.EPOLLRDHUP | Epoll.EPOLLHUP | Epoll.EPOLLERR)) != 0)
            {
                _readToEnd = true;
            }
            if (_inputState == InputState.Idle)
            {
                Receive();
            }
        }
    }

    /// <summary>
    /// Reads until drained, paused, at end of stream, failed, or out of this turn's budget. What the reads bring is
    /// flushed to Kestrel once per <see cref="_flushBatchBytes"/> and when the turn ends, not once per read: each flush
    /// that finds the reader waiting resumes it on the thread pool, and a bulk upload read a block at a time would
    /// otherwise resume the reader for every block.
    /// </summary>
    private unsafe void Receive()
    {
        Debug.Assert(_inputState == InputState.Idle, $"Receive in state {_inputState}.");
        var writer = _input.Writer;
        int budget = ReadBudgetBytes;
        int unflushed = 0;
        bool full = false;
        while (true)
        {
            var memory = ReadMemory(writer, Math.Min(budget, _flushBatchBytes - unflushed), bulk: full);
            IoResult result;
            fixed (byte* buffer = memory.Span)
            {
                result = Libc.Read(_fd, buffer, (nuint)memory.Length);
            }

            if (result.IsError)
            {
                var error = result.WouldBlock ? null : CreateReceiveError(result.Errno);
                // What this turn read reaches the reader before the error does, as it would have read by read. With
                // nothing unflushed the flush still ends the write that GetMemory opened: the pipe keeps its last
                // segment (maybe a rented array's rest) while a write is open, so an idle connection would hold it.
                if (!FlushTurn(writer))
                {
                    if (_inputState == InputState.Paused)
                    {
                        // The kernel reports an error once (the next read returns 0): the flush's continuation
                        // completes the input with it, after the reader has taken the bytes.
                        _pausedReadError = error;
                    }
                    return;
                }
                if (error is not null)
                {
                    CompleteInput(error);
                }
                return;
            }
            nint read = result.Bytes;
            if (read == 0)
            {
                // End of stream, the peer's FIN. Completing the writer commits what this turn read before it.
                EpollTransportLog.ConnectionReadFin(_logger, ConnectionId);
                CompleteInput(null);
                return;
            }
            writer.Advance((int)read);
            _metrics.BytesRead(read);
            budget -= (int)read;
            unflushed += (int)read;
            // A short read drained the socket: edge-triggered epoll reports the next data as a new edge, so no read to
            // see EAGAIN is spent. Unless the peer closed: then read on to the 0 that says so.
            bool drained = read < memory.Length && !_readToEnd;
            full = read == memory.Length;
            if (!drained && budget > 0 && unflushed < _flushBatchBytes)
            {
                continue;
            }
            if (!FlushTurn(writer))
            {
                return;
            }
            unflushed = 0;
            // The next read is a block's: a bulk read's array, linked before a read that may find nothing, would stay
            // the writing head of an idle connection (an empty flush does not move the pipe's read tail onto it).
            full = false;
            if (drained)
            {
                return;
            }
            if (budget <= 0)
            {
                // Data is left, and no new edge will come for it (edge-triggered): read it behind the others.
                _inputState = InputState.Requeued;
                _loop.Schedule(static state => ((EpollConnection)state!).ContinueReceive(), this);
                return;
            }
        }
    }

    /// <summary>
    /// Room for the next read. Normally the rest of the current pool block, at least half a block. After a read that
    /// filled its buffer (<paramref name="bulk"/>: more is likely queued), room for all that the turn may still read
    /// before it flushes (<paramref name="wanted"/>: its budget and batch), in one read: past the pool's block size
    /// the pipe rents an array. Never more than <paramref name="wanted"/> or a block, whichever is larger, whatever
    /// room the pipe's last segment has (the rest of a rented array): so a turn reads at most its budget plus a block,
    /// and a flush adds at most a batch plus a block to the input, as when every read was a block's. Never empty.
    /// </summary>
    private Memory<byte> ReadMemory(PipeWriter writer, int wanted, bool bulk)
    {
        int least = _blockSize / 2;
        var memory = writer.GetMemory(bulk ? Math.Max(wanted, least) : least);
        int most = Math.Max(wanted, _blockSize);
        return memory.Length > most ? memory[..most] : memory;
    }

    /// <summary>
    /// Flushes what the turn read. False when reading stops here: the flush is pending (reading pauses until it
    /// completes), Kestrel stopped reading, or the flush threw (the input is then completed).
    /// </summary>
    private bool FlushTurn(PipeWriter writer)
    {
        ValueTask<FlushResult> flush;
        try
        {
            // The ValueTask is consumed exactly once: its result if completed, else its awaiter.
#pragma warning disable CA2012
            flush = writer.FlushAsync();
#pragma warning restore CA2012
        }
        catch (Exception ex)
        {
            // Kestrel (or a pipe wrapper) completed its reader with an error: reading is over.
            CompleteInput(ex);
            return false;
        }
        if (!flush.IsCompleted)
        {
            _inputState = InputState.Paused;
            EpollTransportLog.ConnectionPause(_logger, ConnectionId);
            _flushAwaiter = flush.GetAwaiter();
            _flushAwaiter.UnsafeOnCompleted(_onFlushCompleted);
            return false;
        }
        return ShouldContinue(flush.Result);
    }

    /// <summary>The next turn of a read that spent its budget; posted work on the loop.</summary>
    private void ContinueReceive()
    {
        if (_inputState == InputState.Requeued)
        {
            _inputState = InputState.Idle;
            ReceiveOrReset();
        }
    }

    /// <summary>
    /// The continuation of a flush that paused reading; scheduled on the loop by the input pipe. The input may have
    /// completed meanwhile (the connection closed): then there is nothing left to do, whatever the flush reports.
    /// </summary>
    private void OnFlushCompleted()
    {
        Debug.Assert(_loop.IsLoopThread, "Flush continuations run on the loop (the input pipe's writer scheduler).");
        var awaiter = _flushAwaiter;
        _flushAwaiter = default;
        var readError = _pausedReadError;
        _pausedReadError = null;
        FlushResult result;
        try
        {
            result = awaiter.GetResult();
        }
        catch (Exception ex)
        {
            // The reader completed with an error while reading was paused (a no-op if the connection closed first).
            CompleteInput(ex);
            return;
        }
        if (_inputState != InputState.Paused)
        {
            return; // Completed by Close meanwhile.
        }
        _inputState = InputState.Idle;
        EpollTransportLog.ConnectionResume(_logger, ConnectionId);
        if (readError is not null)
        {
            // The turn that paused read the error after the bytes it flushed: the reader has them now.
            CompleteInput(readError);
            return;
        }
        if (ShouldContinue(result))
        {
            // Data (or FIN) that came while paused raised its edge then; read now rather than wait for another.
            ReceiveOrReset();
        }
    }

    /// <summary>
    /// A read from posted work. A fault here is this connection's own: it is reset like a fault in
    /// <see cref="IEpollHandler.OnEvents"/>, never left hanging (no new edge would come for data already queued).
    /// </summary>
    private void ReceiveOrReset()
    {
        try
        {
            Receive();
        }
        catch (Exception ex)
        {
            // Logged as the loop logs a fault in an event handler: same category, same id.
            EpollTransportLog.HandlerFault(_loop.Logger, _loop.Id, ex);
            ((IEpollHandler)this).OnFault(ex);
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
            return new ConnectionResetException(Errno.Describe(errno));
        }
        var error = new IOException($"read failed: {Errno.Describe(errno)}");
        EpollTransportLog.ConnectionError(_logger, ConnectionId, error);
        return error;
    }
}
