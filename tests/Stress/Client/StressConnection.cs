using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Stress.Client;

/// <summary>
/// One client TCP connection speaking HTTP/1.1 by hand, because the stress mix needs what HttpClient hides: one
/// known connection, pipelining, half-close, reset, reading a few bytes at a time. Every call takes the exchange's
/// deadline token. A connection has a nonce (see <see cref="StressPayload"/>) and numbers its exchanges.
/// </summary>
internal sealed class StressConnection : IDisposable
{
    /// <summary>The default receive buffer: room for a response head and a good slice of a body.</summary>
    private const int DefaultBufferSize = 64 * 1024;

    private readonly byte[] _buffer;

    /// <summary>Received bytes not yet consumed are <c>_buffer[_start.._end]</c>.</summary>
    private int _start;

    private int _end;

    /// <summary>Whether any byte of the response being read has arrived (tells a refused exchange from a cut one).</summary>
    private bool _responseStarted;

    private uint _sequence;

    private StressConnection(Socket socket, ulong nonce, int bufferSize)
    {
        Socket = socket;
        Nonce = nonce;
        _buffer = new byte[bufferSize];
        ReceiveChunk = bufferSize;
    }

    /// <summary>The socket, for half-close, reset and socket options.</summary>
    public Socket Socket { get; }

    /// <summary>This connection's nonce: every body it sends or asks for carries it.</summary>
    public ulong Nonce { get; }

    /// <summary>The most bytes one receive asks for; small values make a slow reader.</summary>
    public int ReceiveChunk { get; set; }

    /// <summary>A pause before each receive; a slow reader's.</summary>
    public TimeSpan ReceiveDelay { get; set; }

    /// <summary>
    /// Connects; <paramref name="receiveBufferSize"/> (SO_RCVBUF) is set before the connect when given.
    /// <paramref name="bufferSize"/> is this client's own buffer (a response head must fit): small for 10,000 connections.
    /// </summary>
    public static async Task<StressConnection> ConnectAsync(IPEndPoint endPoint, ulong nonce, CancellationToken cancellationToken, int? receiveBufferSize = null, int bufferSize = DefaultBufferSize)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferSize is { } size)
            {
                socket.ReceiveBufferSize = size;
            }
            await socket.ConnectAsync(endPoint, cancellationToken);
            return new StressConnection(socket, nonce, bufferSize);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new NoResponseException($"Connect to {endPoint} failed: {e.SocketErrorCode}.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The next exchange number on this connection; starts an exchange (nothing of its response has arrived).</summary>
    public uint NextSequence()
    {
        _responseStarted = _end > _start;
        return ++_sequence;
    }

    /// <summary>Sends all of <paramref name="text"/> (ASCII).</summary>
    public Task SendAsync(string text, CancellationToken cancellationToken) => SendAsync(Encoding.ASCII.GetBytes(text), cancellationToken);

    /// <summary>Sends all of <paramref name="bytes"/>. A reset by the server surfaces as <see cref="NoResponseException"/>.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        try
        {
            while (!bytes.IsEmpty)
            {
                int sent = await Socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
                bytes = bytes[sent..];
            }
        }
        catch (SocketException e) when (!_responseStarted)
        {
            throw new NoResponseException($"Sending failed before a response: {e.SocketErrorCode}.", e);
        }
    }

    /// <summary>Reads a response's status line and headers.</summary>
    public async Task<ResponseHead> ReadHeadAsync(CancellationToken cancellationToken)
    {
        _responseStarted = _end > _start;
        string statusLine = await ReadLineAsync(cancellationToken);
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int status))
        {
            throw new StressFailureException(FailureKind.Protocol, $"Not an HTTP/1.x status line: '{Truncate(statusLine)}'.");
        }
        long? contentLength = null;
        bool chunked = false;
        bool close = false;
        for (string line = await ReadLineAsync(cancellationToken); line.Length != 0; line = await ReadLineAsync(cancellationToken))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new StressFailureException(FailureKind.Protocol, $"Not a header line: '{Truncate(line)}'.");
            }
            var name = line.AsSpan(0, colon);
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = long.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Contains("chunked", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                close = value.Contains("close", StringComparison.OrdinalIgnoreCase);
            }
        }
        return new ResponseHead(status, contentLength, chunked, close);
    }

    /// <summary>Reads a body framed as <paramref name="head"/> says and hands it to <paramref name="sink"/> piece by piece.</summary>
    /// <returns>The number of body bytes.</returns>
    public async Task<long> ReadBodyAsync(ResponseHead head, Action<ReadOnlySpan<byte>> sink, CancellationToken cancellationToken)
    {
        if (head.Chunked)
        {
            long total = 0;
            while (true)
            {
                string sizeLine = await ReadLineAsync(cancellationToken);
                if (!long.TryParse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long size))
                {
                    throw new StressFailureException(FailureKind.Corrupted, $"Not a chunk size: '{Truncate(sizeLine)}'.");
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
                    throw new StressFailureException(FailureKind.Corrupted, "A chunk is not followed by CRLF.");
                }
            }
        }
        if (head.ContentLength is { } length)
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

    /// <summary>Receives once (at most <see cref="ReceiveChunk"/> bytes); 0 at the end of the stream.</summary>
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
        int want = Math.Min(ReceiveChunk, _buffer.Length - _end);
        if (ReceiveDelay > TimeSpan.Zero)
        {
            await Task.Delay(ReceiveDelay, cancellationToken);
        }
        int received;
        try
        {
            received = await Socket.ReceiveAsync(_buffer.AsMemory(_end, want), SocketFlags.None, cancellationToken);
        }
        catch (SocketException e) when (!_responseStarted)
        {
            throw new NoResponseException($"Receiving failed before a response: {e.SocketErrorCode}.", e);
        }
        catch (SocketException e)
        {
            throw new StressFailureException(FailureKind.Truncated, $"Receiving failed inside a response: {e.SocketErrorCode}.", e);
        }
        if (received > 0)
        {
            _responseStarted = true;
        }
        _end += received;
        return received;
    }

    /// <summary>Sends FIN: no more requests.</summary>
    public void ShutdownSend() => Socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes with RST (SO_LINGER 0), dropping anything unsent or unread.</summary>
    public void Reset()
    {
        Socket.LingerState = new LingerOption(true, 0);
        Socket.Dispose();
    }

    /// <summary>Closes (FIN, or RST if unread bytes are left, as the kernel decides).</summary>
    public void Dispose() => Socket.Dispose();

    /// <summary>Reads exactly <paramref name="count"/> bytes (of a body) into <paramref name="sink"/>.</summary>
    public async Task ReadExactAsync(long count, Action<ReadOnlySpan<byte>> sink, CancellationToken cancellationToken)
    {
        long wanted = count;
        while (count > 0)
        {
            if (_end == _start && await FillAsync(cancellationToken) == 0)
            {
                throw new StressFailureException(FailureKind.Truncated,
                    $"The connection ended after {wanted - count} of {wanted} body bytes.");
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
                string line = Encoding.Latin1.GetString(_buffer, _start, newline);
                _start += newline + 2;
                return line;
            }
            if (_start == 0 && _end == _buffer.Length)
            {
                throw new StressFailureException(FailureKind.Corrupted, $"A header line is longer than the {_buffer.Length}-byte buffer.");
            }
            if (await FillAsync(cancellationToken) == 0)
            {
                if (!_responseStarted)
                {
                    throw new NoResponseException("The server closed the connection before a response.");
                }
                throw new StressFailureException(FailureKind.Truncated, "The connection ended inside a response head.");
            }
        }
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
