using System.Buffers;
using System.Buffers.Text;

namespace TransportBench.Load;

/// <summary>Counts HTTP/1.1 responses framed by Content-Length or chunked encoding, as wrk does; one instance per
/// connection, or per response (<see cref="HoldsResponse"/>). Allocates nothing unless headers span segments.</summary>
internal sealed class ResponseCounter
{
    private enum State
    {
        /// <summary>Waiting for a whole header block.</summary>
        Headers,
        /// <summary>In a Content-Length body; <see cref="_remaining"/> bytes of it still to come.</summary>
        Body,
        /// <summary>Waiting for a chunk-size line.</summary>
        ChunkSize,
        /// <summary>In a chunk; <see cref="_remaining"/> bytes of it and its CRLF still to come.</summary>
        ChunkData,
        /// <summary>After the last (zero-size) chunk, up to the empty line that ends the trailers.</summary>
        Trailers,
    }

    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;
    private static ReadOnlySpan<byte> LineEnd => "\r\n"u8;
    private static ReadOnlySpan<byte> ContentLength => "\r\nContent-Length: "u8;
    private static ReadOnlySpan<byte> Chunked => "\r\nTransfer-Encoding: chunked"u8;
    private State _state;
    // Bytes of the current body or chunk still to come; meaningful in Body and ChunkData.
    private long _remaining;
    /// <summary>Responses whose status was not 200.</summary>
    public long Non200 { get; private set; }

    /// <summary>Whether <paramref name="received"/> holds a whole response; <paramref name="ok"/>: its status was 200.</summary>
    public static bool HoldsResponse(ReadOnlyMemory<byte> received, out bool ok)
    {
        var counter = new ResponseCounter();
        var buffer = new ReadOnlySequence<byte>(received);
        bool whole = counter.Consume(ref buffer) > 0;
        ok = counter.Non200 == 0;
        return whole;
    }

    /// <summary>Consumes every complete response and any body bytes in <paramref name="buffer"/>, leaving it at the
    /// first byte not consumed (a partial header block or chunk-size line). Returns the responses completed.</summary>
    public int Consume(ref ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        int completed = 0;
        bool progressed = true;
        while (progressed)
        {
            progressed = _state switch
            {
                State.Headers => ReadHeaders(ref reader),
                State.Body or State.ChunkData => Skip(ref reader),
                State.ChunkSize => ReadChunkSize(ref reader),
                _ => ReadTrailer(ref reader),
            };
            if (progressed && _state == State.Headers)
            {
                // Back at a header block: a body or the trailers just ended.
                completed++;
            }
        }
        buffer = buffer.Slice(reader.Position);
        return completed;
    }

    private bool ReadHeaders(ref SequenceReader<byte> reader)
    {
        if (!reader.TryReadTo(out ReadOnlySequence<byte> headers, HeaderEnd, advancePastDelimiter: true))
        {
            return false;
        }
        ReadOnlySpan<byte> block = headers.IsSingleSegment ? headers.FirstSpan : headers.ToArray();
        Non200 += block.StartsWith("HTTP/1.1 200 "u8) ? 0 : 1;
        (_state, _remaining) = block.IndexOf(Chunked) >= 0 ? (State.ChunkSize, 0) : (State.Body, ParseContentLength(block));
        // Not a completed response yet, even with an empty body: the next step (Skip) completes it.
        return true;
    }

    /// <summary>Skips body or chunk bytes; true when the current piece ended.</summary>
    private bool Skip(ref SequenceReader<byte> reader)
    {
        long take = Math.Min(reader.Remaining, _remaining);
        reader.Advance(take);
        _remaining -= take;
        if (_remaining > 0)
        {
            return false;
        }
        _state = _state == State.Body ? State.Headers : State.ChunkSize;
        return true;
    }

    private bool ReadChunkSize(ref SequenceReader<byte> reader)
    {
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, LineEnd, advancePastDelimiter: true))
        {
            return false;
        }
        ReadOnlySpan<byte> text = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        ulong size = Utf8Parser.TryParse(text, out ulong parsed, out _, 'x')
            ? parsed
            : throw new InvalidOperationException("A chunked response with a malformed chunk size.");
        // The chunk's CRLF is skipped with its data.
        _remaining = (long)size + 2;
        _state = size == 0 ? State.Trailers : State.ChunkData;
        return true;
    }

    private bool ReadTrailer(ref SequenceReader<byte> reader)
    {
        bool read = reader.TryReadTo(out ReadOnlySequence<byte> line, LineEnd, advancePastDelimiter: true);
        _state = read && line.IsEmpty ? State.Headers : State.Trailers;
        return read;
    }

    private static long ParseContentLength(ReadOnlySpan<byte> headers)
    {
        int at = headers.IndexOf(ContentLength);
        return at >= 0 && Utf8Parser.TryParse(headers[(at + ContentLength.Length)..], out long length, out _)
            ? length
            : throw new InvalidOperationException(at < 0
                ? "A response with neither Content-Length nor chunked encoding: the floor cannot frame it."
                : "A response with a malformed Content-Length.");
    }
}
