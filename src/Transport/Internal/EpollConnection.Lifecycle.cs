using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;

namespace KestrelEpollTransport.Internal;

// The connection's lifecycle, in one place (docs/architecture.md, "A connection's lifecycle", has the same table).
// Every field the rules below read is declared in this file, and every method that moves the lifecycle is here.
//
//   state               what holds                                         entered by (thread)
//   ------------------  -------------------------------------------------  -----------------------------------------------
//   Open                registered; reading and sending                    Start (accept thread)
//   Close requested     _abortReason set, or the send loop ended; a        Abort (any thread: one CompareExchange publishes
//                       Close is posted to the loop (PostClose)            "aborted" and why together), SendLoopEnded
//   Closed              RST or FIN sent, unregistered, fd released,        Close (as the loop), exactly once (_closed)
//                       input completed
//   Disposed            no step left in _pending: Close ran, the send      the last StepDone (any thread)
//                       loop ended, ConnectionClosed callbacks ran:
//                       DisposeAsync returns
//
// Close runs as the loop: posted by PostClose (Abort, SendLoopEnded), or called directly by OnLoopStopping, which runs
// on the loop thread in its last pass.
//
// The input side moves as the loop only (InputState):
//   Idle ⇄ Requeued (read budget spent, continuation posted) ; Idle ⇄ Paused (flush pending) ; any → Completed (final).
//
// Rule 1, the input always completes, exactly once: CompleteInput is the only caller of _input.Writer.Complete and
// returns at once when the state is Completed; Close calls it unconditionally, whatever else happened (a pending
// flush, a flush continuation that throws). Receive calls it on FIN, a read error, or when Kestrel stopped reading.
// ConnectionClosed is fired by CompleteInput only, so it too fires exactly once.
// Rule 2, one close, one RST or FIN: Close is the only place that decides, runs as the loop, and returns at once when
// _closed is set. It reads the abort reason once; a reason is published atomically with the abort itself, so a Close
// sees either the whole abort (RST) or none (FIN).
// Rule 3, the fd is released in one place: Close disposes the handle (ReleaseFd); the number is closed then, or when
// a send on another thread releases its reference (SafeFdHandle.ReleaseHandle).
internal sealed partial class EpollConnection
{
    /// <summary>Stands for Abort(null) in <see cref="_abortReason"/> (close gracefully, FIN); never thrown or handed out.</summary>
    private static readonly ConnectionAbortedException AbortedWithoutReason = new("Aborted without a reason.");

    /// <summary>Where reading stands. As the loop.</summary>
    private enum InputState
    {
        /// <summary>Waiting for a readable edge; the next one starts a read.</summary>
        Idle,

        /// <summary>A turn spent its read budget with data left; a continuation is posted, and edges meanwhile are left to it.</summary>
        Requeued,

        /// <summary>A flush is pending (the reader is MaxReadBufferSize behind); its completion, posted to the loop, resumes reading.</summary>
        Paused,

        /// <summary>The input pipe's writer is completed (FIN, error, Kestrel done reading, or the connection closed). Final.</summary>
        Completed,
    }

    /// <summary>The steps still to happen before <see cref="DisposeAsync"/> returns; each happens once.</summary>
    [Flags]
    private enum PendingSteps
    {
        None = 0,

        /// <summary><see cref="Close"/> has not run.</summary>
        Close = 1,

        /// <summary>The send loop has not ended (<see cref="SendLoopEnded"/>).</summary>
        SendLoop = 2,

        /// <summary>The ConnectionClosed callbacks have not run (<see cref="FireConnectionClosed"/>).</summary>
        ConnectionClosedCallbacks = 4,

        All = Close | SendLoop | ConnectionClosedCallbacks,
    }

    /// <summary>Where reading stands (<see cref="InputState"/>). Read and written as the loop only.</summary>
    private InputState _inputState;

    /// <summary>
    /// Null while no abort was asked for; then the first reason (or <see cref="AbortedWithoutReason"/>). Written once,
    /// by compare-exchange, from any thread; read by <see cref="Close"/>.
    /// </summary>
    private ConnectionAbortedException? _abortReason;

    /// <summary>Why the send loop ended abnormally; written by <see cref="SendLoopEnded"/> before it posts the close.</summary>
    private Exception? _sendError;

    /// <summary>Close ran: RST or FIN sent, unregistered, fd released, input completed. As the loop.</summary>
    private bool _closed;

    /// <summary>The <see cref="PendingSteps"/> not done yet; cleared bit by bit with <see cref="Interlocked.And(ref int, int)"/>.</summary>
    private int _pending = (int)PendingSteps.All;

    /// <summary>Completes when the last step is done; <see cref="DisposeAsync"/> waits for it.</summary>
    private readonly TaskCompletionSource _closedTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Ends the connection now, discarding output not yet sent. With a reason: RST (SO_LINGER 0), and the input
    /// completes with that reason. With null (Kestrel's "closed gracefully" after a client FIN): FIN. As Sockets.
    /// </summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (RequestAbort(abortReason))
        {
            // Posted, never inline: Abort may be called by Kestrel running inside our own read, on the loop.
            PostClose();
            // After the close is queued, so the send loop's own close request comes second.
            _output.Reader.CancelPendingRead();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        _input.Reader.Complete();
        _output.Writer.Complete();
        await _closedTcs.Task.ConfigureAwait(false);
        _connectionClosedTokenSource.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    void IEpollHandler.OnFault(Exception exception)
    {
        Abort(new ConnectionAbortedException("The epoll transport failed handling this connection.", exception));
    }

    void IEpollHandler.OnLoopStopping()
    {
        // The loop stops with this connection still open (its listener was disposed without Kestrel closing it).
        RequestAbort(new ConnectionAbortedException("The epoll transport is stopping."));
        _output.Reader.CancelPendingRead();
        Close();
    }

    /// <summary>Publishes an abort and its reason in one step; true for the first abort only. Any thread.</summary>
    private bool RequestAbort(ConnectionAbortedException? reason)
        => Interlocked.CompareExchange(ref _abortReason, reason ?? AbortedWithoutReason, null) is null;

    /// <summary>
    /// The send loop's last act, wherever it runs: records why it ended (null: normally), asks for the close, and marks
    /// its step done.
    /// </summary>
    private void SendLoopEnded(Exception? error)
    {
        _sendError = error;
        // Posted: the send loop may be running as the loop, inside Kestrel's flush, itself inside our receive.
        PostClose();
        StepDone(PendingSteps.SendLoop);
    }

    /// <summary>Runs <see cref="Close"/> as the loop, after what it is doing now. Any thread.</summary>
    private void PostClose() => _loop.Schedule(static state => ((EpollConnection)state!).Close(), this);

    /// <summary>
    /// The one place a connection closes: RST (an abort with a reason, a send error) or FIN (after all output),
    /// unregister, release the fd, complete the input. As the loop; runs once.
    /// </summary>
    private void Close()
    {
        Debug.Assert(_loop.IsLoopThread, "Close runs as the connection's loop.");
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
            // As Sockets (Socket.Close(0)): SO_LINGER 0 makes close() send RST and drop unsent data.
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
        ReleaseFd();
        _metrics.ConnectionClosed();

        // Ends a send loop still waiting for data (an abort); a no-op once it has ended.
        _output.Reader.CancelPendingRead();
        if (_inputState == InputState.Paused)
        {
            // Its continuation then runs (on the loop) and finds the input completed; nothing waits for it.
            _input.Writer.CancelPendingFlush();
        }
        CompleteInput(reason);
        StepDone(PendingSteps.Close);
    }

    /// <summary>
    /// Rule 3: the one place a started connection lets go of its fd. The number is closed now, or when a send on
    /// another thread releases its reference (<see cref="SafeFdHandle"/>). As the loop, from <see cref="Close"/>.
    /// </summary>
    private void ReleaseFd()
    {
        _handle.Dispose();
    }

    /// <summary>Rule 1: completes the input once and fires ConnectionClosed. As the loop.</summary>
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

    /// <summary>
    /// On the pool, through the loop's <see cref="ApplicationScheduler"/> (with inline scheduling too): behind the reader's
    /// continuation that the same pass scheduled, so Kestrel has the bytes read with the FIN or error before it hears
    /// that the peer has gone (HTTP/1.1 aborts its output on ConnectionClosed).
    /// </summary>
    private void FireConnectionClosed()
    {
        _loop.ApplicationScheduler.Schedule(static state =>
        {
            var connection = (EpollConnection)state!;
            try
            {
                connection._connectionClosedTokenSource.Cancel();
            }
            finally
            {
                connection.StepDone(PendingSteps.ConnectionClosedCallbacks);
            }
        }, this);
    }

    /// <summary>Marks <paramref name="step"/> done; the last one lets <see cref="DisposeAsync"/> return. Any thread.</summary>
    private void StepDone(PendingSteps step)
    {
        int before = Interlocked.And(ref _pending, ~(int)step);
        Debug.Assert((before & (int)step) != 0, $"The lifecycle step {step} happened twice.");
        if (before == (int)step)
        {
            _closedTcs.TrySetResult();
        }
    }
}
