using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// The receiving half of a hand-written HTTP/1.1 client connection (<c>RawHttpConnection</c> in the tests, the
/// stress tool's <c>StressConnection</c>): a buffer over the socket, read line by line (status line, headers, chunk
/// sizes) and as counted bytes (bodies, handed on piece by piece so 64 MiB never sits in memory).
/// </summary>
/// <remarks>
/// It knows HTTP/1.1 response framing and nothing of what its caller checks, so it reports in plain terms and each
/// client words them its own way: the end of the stream inside a response is an <see cref="EndOfStreamException"/>, a
/// malformed line an <see cref="InvalidDataException"/>, a reset the <see cref="SocketException"/> itself.
/// </remarks>
public sealed class HttpResponseReader
{
    private readonly Socket _socket;
    private readonly byte[] _buffer;

    /// <summary>Received bytes not yet consumed are <c>_buffer[_start.._end]</c>.</summary>
    private int _start;

    private int _end;

    /// <param name="socket">The connected socket to receive from.</param>
    /// <param name="bufferSize">The buffer: a response head's lines must fit in it.</param>
    public HttpResponseReader(Socket socket, int bufferSize)
    {
        _socket = socket;
        _buffer = new byte[bufferSize];
        ReceiveChunk = bufferSize;
    }

    /// <summary>The most bytes one receive asks for; small values make a slow reader. Defaults to the buffer's size.</summary>
    public int ReceiveChunk { get; set; }

    /// <summary>A pause before each receive; a slow reader's. Defaults to none.</summary>
    public TimeSpan ReceiveDelay { get; set; }

    /// <summary>When set, each receive fails (is cancelled) after this long, on top of the caller's token. Defaults to none.</summary>
    public TimeSpan? ReceiveTimeout { get; set; }

    /// <summary>Bytes received so far, consumed or not.</summary>
    public long Received { get; private set; }

    /// <summary>Bytes received and not yet consumed.</summary>
    public int Buffered => _end - _start;

    /// <summary>Receives once (at most <see cref="ReceiveChunk"/> bytes) into the buffer; returns 0 at the end of the stream.</summary>
    public async Task<int> FillAsync(CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        using var bound = ReceiveTimeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (bound is not null)
        {
            bound.CancelAfter(ReceiveTimeout!.Value);
            cancellationToken = bound.Token;
        }
        if (ReceiveDelay > TimeSpan.Zero)
        {
            await Task.Delay(ReceiveDelay, cancellationToken);
        }
        int received = await _socket.ReceiveAsync(_buffer.AsMemory(_end, Math.Min(ReceiveChunk, _buffer.Length - _end)), SocketFlags.None, cancellationToken);
        _end += received;
        Received += received;
        return received;
    }

    /// <summary>Reads a response's status line and headers (in order, as sent).</summary>
    public async Task<(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers)> ReadHeadAsync(CancellationToken cancellationToken)
    {
        string statusLine = await ReadLineAsync(cancellationToken);
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
        {
            throw new InvalidDataException($"Not an HTTP/1.x status line: '{Truncate(statusLine)}'.");
        }
        var headers = new List<KeyValuePair<string, string>>();
        for (string line = await ReadLineAsync(cancellationToken); line.Length != 0; line = await ReadLineAsync(cancellationToken))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidDataException($"Not a header line: '{Truncate(line)}'.");
            }
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        return (status, headers);
    }

    /// <summary>
    /// Reads a body framed by <paramref name="contentLength"/>, by chunks (<paramref name="chunked"/>), or else up to
    /// the end of the stream, and hands it to <paramref name="sink"/> piece by piece.
    /// </summary>
    /// <returns>The number of body bytes.</returns>
    public async Task<long> ReadBodyAsync(long? contentLength, bool chunked, Action<ReadOnlySpan<byte>> sink, CancellationToken cancellationToken)
    {
        if (chunked)
        {
            long total = 0;
            while (true)
            {
                string sizeLine = await ReadLineAsync(cancellationToken);
                if (!long.TryParse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long size))
                {
                    throw new InvalidDataException($"Not a chunk size: '{Truncate(sizeLine)}'.");
                }
                if (size == 0)
                {
                    while ((await ReadLineAsync(cancellationToken)).Length != 0)
                    {
                        // Trailers: none expected, skipped.
                    }
                    return total;
                }
                await ReadExactAsync(size, sink, cancellationToken);
                total += size;
                if ((await ReadLineAsync(cancellationToken)).Length != 0)
                {
                    throw new InvalidDataException("A chunk is not followed by CRLF.");
                }
            }
        }
        if (contentLength is { } length)
        {
            await ReadExactAsync(length, sink, cancellationToken);
            return length;
        }
        return await ReadToEndAsync(sink, cancellationToken);
    }

    /// <summary>Reads until the server closes its side; returns the byte count.</summary>
    public async Task<long> ReadToEndAsync(Action<ReadOnlySpan<byte>>? sink, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            if (_end > _start)
            {
                sink?.Invoke(_buffer.AsSpan(_start, _end - _start));
                total += _end - _start;
                _start = _end;
            }
            if (await FillAsync(cancellationToken) == 0)
            {
                return total;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (of a body) into <paramref name="sink"/>, buffered ones first.</summary>
    public async Task ReadExactAsync(long count, Action<ReadOnlySpan<byte>> sink, CancellationToken cancellationToken)
    {
        long wanted = count;
        while (count > 0)
        {
            if (_end == _start && await FillAsync(cancellationToken) == 0)
            {
                throw new EndOfStreamException($"The connection ended after {wanted - count} of {wanted} body bytes.");
            }
            int take = (int)Math.Min(count, _end - _start);
            sink(_buffer.AsSpan(_start, take));
            _start += take;
            count -= take;
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                // Latin-1 maps every byte to one char, so a line with stray bytes is reported as it came.
                string line = Encoding.Latin1.GetString(_buffer, _start, newline);
                _start += newline + 2;
                return line;
            }
            if (_start == 0 && _end == _buffer.Length)
            {
                throw new InvalidDataException($"A line of the response is longer than the {_buffer.Length}-byte buffer.");
            }
            if (await FillAsync(cancellationToken) == 0)
            {
                throw new EndOfStreamException("The connection ended inside a line of the response (its head, or a chunk size).");
            }
        }
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
