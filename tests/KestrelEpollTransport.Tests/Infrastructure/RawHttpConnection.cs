using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// One client TCP connection speaking HTTP/1.1 by hand, for what HttpClient hides: exactly one connection,
/// pipelining, half-close, reset. Every receive is bounded by <see cref="Timeouts.Default"/>.
/// </summary>
public sealed class RawHttpConnection : IDisposable
{
    private readonly byte[] _buffer = new byte[64 * 1024];

    /// <summary>Received bytes not yet consumed are <c>_buffer[_start.._end]</c>.</summary>
    private int _start;

    private int _end;

    private RawHttpConnection(Socket socket) => Socket = socket;

    /// <summary>The socket, for half-close, reset and socket options.</summary>
    public Socket Socket { get; }

    /// <summary>Connects to <paramref name="endPoint"/>; <paramref name="configure"/> runs before the connect (buffer sizes).</summary>
    public static async Task<RawHttpConnection> ConnectAsync(IPEndPoint endPoint, Action<Socket>? configure = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            configure?.Invoke(socket);
            using var cts = new CancellationTokenSource(Timeouts.Default);
            await socket.ConnectAsync(endPoint, cts.Token);
            return new RawHttpConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A GET request for <paramref name="target"/> with a Host header and <paramref name="extraHeaders"/> (each ending in CRLF).</summary>
    public static string Get(string target, string extraHeaders = "") => $"GET {target} HTTP/1.1\r\nHost: localhost\r\n{extraHeaders}\r\n";

    /// <summary>Sends all of <paramref name="text"/> (ASCII).</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

    /// <summary>Sends all of <paramref name="bytes"/>.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(Timeouts.Default);
        while (!bytes.IsEmpty)
        {
            int sent = await Socket.SendAsync(bytes, SocketFlags.None, cts.Token);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Reads one whole response.</summary>
    public async Task<RawHttpResponse> ReadResponseAsync()
    {
        var (status, headers) = await ReadHeadAsync();
        var body = new MemoryStream();
        await ReadBodyAsync(headers, chunk => body.Write(chunk));
        return new RawHttpResponse(status, headers, body.ToArray());
    }

    /// <summary>Reads a response's status line and headers.</summary>
    public async Task<(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers)> ReadHeadAsync()
    {
        string statusLine = await ReadLineAsync();
        string[] parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"Not an HTTP/1.x status line: '{statusLine}'");
        }
        int status = int.Parse(parts[1], CultureInfo.InvariantCulture);
        var headers = new List<KeyValuePair<string, string>>();
        for (string line = await ReadLineAsync(); line.Length != 0; line = await ReadLineAsync())
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }
        return (status, headers);
    }

    /// <summary>
    /// Reads a response body framed as <paramref name="headers"/> say (Content-Length, chunked, or up to the end
    /// of the connection) and hands it to <paramref name="sink"/> piece by piece, so 64 MiB never sits in memory.
    /// </summary>
    /// <returns>The number of body bytes.</returns>
    public async Task<long> ReadBodyAsync(IReadOnlyList<KeyValuePair<string, string>> headers, Action<ReadOnlySpan<byte>> sink)
    {
        string? length = headers.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        string? encoding = headers.FirstOrDefault(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)).Value;
        if (encoding is not null && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            long total = 0;
            while (true)
            {
                string sizeLine = await ReadLineAsync();
                long size = long.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    // Trailers, then the empty line.
                    while ((await ReadLineAsync()).Length != 0)
                    {
                    }
                    return total;
                }
                await ReadExactAsync(size, sink);
                total += size;
                if ((await ReadLineAsync()).Length != 0)
                {
                    throw new InvalidDataException("A chunk is not followed by CRLF.");
                }
            }
        }
        if (length is not null)
        {
            long size = long.Parse(length, CultureInfo.InvariantCulture);
            await ReadExactAsync(size, sink);
            return size;
        }
        return await ReadToEndAsync(sink);
    }

    /// <summary>Reads until the server closes its side; returns the byte count.</summary>
    public async Task<long> ReadToEndAsync(Action<ReadOnlySpan<byte>>? sink = null)
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
            if (await FillAsync() == 0)
            {
                return total;
            }
        }
    }

    /// <summary>
    /// Receives once into a fresh buffer region; returns 0 at the end of the stream. Throws the
    /// <see cref="SocketException"/> a reset causes.
    /// </summary>
    public async Task<int> FillAsync()
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
        using var cts = new CancellationTokenSource(Timeouts.Default);
        int received = await Socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token);
        _end += received;
        return received;
    }

    /// <summary>Discards buffered bytes and then reads and discards up to <paramref name="count"/> more bytes.</summary>
    public async Task SkipAsync(long count) => await ReadExactAsync(count, static _ => { });

    private async Task ReadExactAsync(long count, Action<ReadOnlySpan<byte>> sink)
    {
        while (count > 0)
        {
            if (_end == _start && await FillAsync() == 0)
            {
                throw new EndOfStreamException($"The connection ended {count} bytes before the end of the body.");
            }
            int take = (int)Math.Min(count, _end - _start);
            sink(_buffer.AsSpan(_start, take));
            _start += take;
            count -= take;
        }
    }

    private async Task<string> ReadLineAsync()
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
            if (newline >= 0)
            {
                string line = Encoding.ASCII.GetString(_buffer, _start, newline);
                _start += newline + 2;
                return line;
            }
            if (_start == 0 && _end == _buffer.Length)
            {
                throw new InvalidDataException("A header line is longer than the buffer.");
            }
            if (await FillAsync() == 0)
            {
                throw new EndOfStreamException("The connection ended inside a response head.");
            }
        }
    }

    /// <summary>Closes the socket (FIN, unless a test set a zero linger to reset).</summary>
    public void Dispose() => Socket.Dispose();
}
