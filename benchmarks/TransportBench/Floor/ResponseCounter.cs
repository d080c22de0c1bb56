using System.Buffers;
using System.Buffers.Text;

namespace TransportBench.Floor;

/// <summary>
/// Counts HTTP/1.1 responses in a byte stream, the way wrk does: headers up to the blank line, then Content-Length
/// bytes of body (Kestrel sends Content-Length for every response of the sample). One instance per connection,
/// used by its client only. Allocates nothing unless a header block spans pipe segments.
/// </summary>
internal sealed class ResponseCounter
{
    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> ContentLength => "\r\nContent-Length: "u8;

    // Body bytes of the current response still to come; meaningful while _inBody.
    private long _bodyRemaining;

    private bool _inBody;

    /// <summary>Responses whose status was not 200.</summary>
    public long Non200 { get; private set; }

    /// <summary>
    /// Consumes every complete response and any body bytes in <paramref name="buffer"/>, leaving it at the first byte
    /// not consumed (a partial header block). Returns the responses completed.
    /// </summary>
    public int Consume(ref ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        int completed = 0;
        while (true)
        {
            if (_inBody)
            {
                long take = Math.Min(reader.Remaining, _bodyRemaining);
                reader.Advance(take);
                _bodyRemaining -= take;
                if (_bodyRemaining > 0)
                {
                    break;
                }
                _inBody = false;
                completed++;
                continue;
            }
            if (!reader.TryReadTo(out ReadOnlySequence<byte> headers, HeaderEnd, advancePastDelimiter: true))
            {
                break;
            }
            ReadOnlySpan<byte> block = headers.IsSingleSegment ? headers.FirstSpan : headers.ToArray();
            if (!block.StartsWith("HTTP/1.1 200 "u8))
            {
                Non200++;
            }
            _bodyRemaining = ParseContentLength(block);
            _inBody = true;
        }
        buffer = buffer.Slice(reader.Position);
        return completed;
    }

    private static long ParseContentLength(ReadOnlySpan<byte> headers)
    {
        int at = headers.IndexOf(ContentLength);
        if (at < 0)
        {
            throw new InvalidOperationException("A response without Content-Length: the floor cannot frame it.");
        }
        ReadOnlySpan<byte> digits = headers[(at + ContentLength.Length)..];
        return Utf8Parser.TryParse(digits, out long length, out _)
            ? length
            : throw new InvalidOperationException("A response with a malformed Content-Length.");
    }
}
