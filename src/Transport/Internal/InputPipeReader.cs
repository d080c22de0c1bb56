using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The input pipe's reader as Kestrel sees it: a pass-through that notes whether Kestrel left bytes unconsumed at its
/// last <see cref="AdvanceTo(SequencePosition, SequencePosition)"/>, i.e. whether more pipelined requests are already
/// here. The send path uses it to write the responses to a pipelined batch with one writev instead of one per response.
/// </summary>
/// <remarks>Used by Kestrel's reading thread only, like any PipeReader; <see cref="HasUnconsumedInput"/> may be read from any thread.</remarks>
internal sealed class InputPipeReader(PipeReader inner) : PipeReader
{
    /// <summary>The end of the buffer Kestrel last read; meaningful between a read and its AdvanceTo.</summary>
    private SequencePosition _lastEnd;

    private volatile bool _hasUnconsumedInput;

    /// <summary>True when Kestrel's last AdvanceTo left data to parse (a pipelined request, or part of one).</summary>
    public bool HasUnconsumedInput => _hasUnconsumedInput;

    // Pooled: Kestrel's read of each next request usually waits, and a fresh state machine box per wait would be an
    // allocation per request.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        _lastEnd = result.Buffer.End;
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }
        _lastEnd = result.Buffer.End;
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _hasUnconsumedInput = !consumed.Equals(_lastEnd);
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null)
    {
        _hasUnconsumedInput = false;
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        _hasUnconsumedInput = false;
        return inner.CompleteAsync(exception);
    }
}
