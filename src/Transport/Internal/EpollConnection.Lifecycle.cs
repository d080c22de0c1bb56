using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

// The connection's lifecycle, in one place (docs/architecture.md, "A connection's lifecycle", has the same table).
//
//   state               what holds                                         entered by (thread)
//   ------------------  -------------------------------------------------  -----------------------------------------------
//   Open                registered; reading and sending                    Start (accept thread)
//   Close requested     _abortReason set, or the send loop ended; a        Abort (any thread: one CompareExchange publishes
//                       Close is posted to the loop                        "aborted" and why together), send loop's finally
//   Closed              RST or FIN sent, unregistered, fd released,        Close (loop thread), exactly once (_closed)
//                       input completed
//   Disposed            Close ran, the send loop ended, ConnectionClosed   the last CompletionStep (any thread)
//                       callbacks ran: DisposeAsync returns
//
// The input side moves on the loop thread only (InputState, EpollConnection.Receive.cs):
//   Idle ⇄ Requeued (read budget spent, continuation posted) ; Idle ⇄ Paused (flush pending) ; any → Completed (final).
//
// Rule 1, the input always completes, exactly once: CompleteInput is the only caller of _input.Writer.Complete and
// returns at once when the state is Completed; Close calls it unconditionally, whatever else happened (a pending
// flush, a flush continuation that throws). Receive calls it on FIN, a read error, or when Kestrel stopped reading.
// ConnectionClosed is fired by CompleteInput only, so it too fires exactly once.
// Rule 2, one close, one RST or FIN: Close is the only place that decides, runs on the loop, and returns at once when
// _closed is set. It reads the abort reason once; a reason is published atomically with the abort itself, so a Close
// sees either the whole abort (RST) or none (FIN).
internal sealed partial class EpollConnection
{
    /// <summary>Stands for Abort(null) in <see cref="_abortReason"/> (close gracefully, FIN); never thrown or handed out.</summary>
    private static readonly ConnectionAbortedException AbortedWithoutReason = new("Aborted without a reason.");

    /// <summary>
    /// Null while no abort was asked for; then the first reason (or <see cref="AbortedWithoutReason"/>). Written once,
    /// by compare-exchange, from any thread; read by <see cref="Close"/>.
    /// </summary>
    private ConnectionAbortedException? _abortReason;

    /// <summary>Why the send loop ended abnormally; written by the send loop before it posts the close.</summary>
    private Exception? _sendError;

    /// <summary>Close ran: RST or FIN sent, unregistered, fd released, input completed. Loop thread.</summary>
    private bool _closed;

    /// <summary>Completes when <see cref="_pendingCompletions"/> reaches 0; <see cref="DisposeAsync"/> waits for it.</summary>
    private readonly TaskCompletionSource _closedTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Still to happen before <see cref="_closedTcs"/> completes: Close, send loop end, ConnectionClosed callbacks.</summary>
    private int _pendingCompletions = 3;

    /// <summary>Publishes an abort and its reason in one step; true for the first abort only. Any thread.</summary>
    private bool RequestAbort(ConnectionAbortedException? reason)
        => Interlocked.CompareExchange(ref _abortReason, reason ?? AbortedWithoutReason, null) is null;

    /// <summary>
    /// The one place a connection closes: RST (an abort with a reason, a send error) or FIN (after all output),
    /// unregister, release the fd, complete the input. Loop thread only; runs once.
    /// </summary>
    private void Close()
    {
        Debug.Assert(_loop.IsLoopThread, "Close runs on the connection's loop.");
        if (_closed)
        {
            return;
        }
        _closed = true;

        var abortReason = Volatile.Read(ref _abortReason);
        Exception? error = ReferenceEquals(abortReason, AbortedWithoutReason) ? _sendError : abortReason ?? _sendError;
        Exception reason;
        if (error is not null)
        {
            reason = error;
            EpollTransportLog.ConnectionWriteRst(_logger, ConnectionId, error.Message);
            // As Sockets since .NET 8 (Socket.Close(0)): SO_LINGER 0 makes close() send RST and drop unsent data.
            _ = Sock.SetLingerZero(_fd);
        }
        else
        {
            reason = new ConnectionAbortedException("The epoll transport's send loop completed gracefully.");
            EpollTransportLog.ConnectionWriteFin(_logger, ConnectionId, reason.Message);
            // As the Sockets transport: shutdown both ways (FIN), then close. Unread input makes the kernel reset.
            _ = Sock.Shutdown(_fd, Sock.SHUT_RDWR);
        }

        // A no-op when the registration failed: the table is the record of what is registered.
        _loop.Unregister(_fd, this);
        _writable.Close();
        // The fd closes now, or when a send on another thread releases its reference.
        _handle.Dispose();
        _metrics.ConnectionClosed();

        // Ends a send loop still waiting for data (an abort); a no-op once it has ended.
        _output.Reader.CancelPendingRead();
        if (_inputState == InputState.Paused)
        {
            // Its continuation then runs (on the loop) and finds the input completed; nothing waits for it.
            _input.Writer.CancelPendingFlush();
        }
        CompleteInput(reason);
        CompletionStep();
    }

    /// <summary>Rule 1: completes the input once and fires ConnectionClosed. Loop thread.</summary>
    private void CompleteInput(Exception? error)
    {
        Debug.Assert(_loop.IsLoopThread, "The input's writer is the loop.");
        if (_inputState == InputState.Completed)
        {
            return;
        }
        _inputState = InputState.Completed;
        _input.Writer.Complete(error);
        FireConnectionClosed();
    }

    private void FireConnectionClosed()
    {
        ThreadPool.UnsafeQueueUserWorkItem(static connection =>
        {
            try
            {
                connection._connectionClosedTokenSource.Cancel();
            }
            finally
            {
                connection.CompletionStep();
            }
        }, this, preferLocal: false);
    }

    private void CompletionStep()
    {
        if (Interlocked.Decrement(ref _pendingCompletions) == 0)
        {
            _closedTcs.TrySetResult();
        }
    }
}
