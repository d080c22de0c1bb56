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
    private readonly HttpResponseReader _reader;

    private RawHttpConnection(Socket socket)
    {
        Socket = socket;
        _reader = new HttpResponseReader(socket, 64 * 1024) { ReceiveTimeout = Timeouts.Default };
    }

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
            bytes = bytes[await Socket.SendAsync(bytes, SocketFlags.None, cts.Token)..];
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
    public Task<(int StatusCode, IReadOnlyList<KeyValuePair<string, string>> Headers)> ReadHeadAsync() =>
        _reader.ReadHeadAsync(CancellationToken.None);

    /// <summary>
    /// Reads a response body framed as <paramref name="headers"/> say (Content-Length, chunked, or up to the end
    /// of the connection) and hands it to <paramref name="sink"/> piece by piece, so 64 MiB never sits in memory.
    /// </summary>
    /// <returns>The number of body bytes.</returns>
    public Task<long> ReadBodyAsync(IReadOnlyList<KeyValuePair<string, string>> headers, Action<ReadOnlySpan<byte>> sink)
    {
        string? length = headers.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        string? encoding = headers.FirstOrDefault(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)).Value;
        return _reader.ReadBodyAsync(
            length is null ? null : long.Parse(length, CultureInfo.InvariantCulture),
            encoding?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true,
            sink,
            CancellationToken.None);
    }

    /// <summary>Reads until the server closes its side; returns the byte count. A reset throws its <see cref="SocketException"/>.</summary>
    public Task<long> ReadToEndAsync(Action<ReadOnlySpan<byte>>? sink = null) => _reader.ReadToEndAsync(sink, CancellationToken.None);

    /// <summary>
    /// Receives once into a fresh buffer region; returns 0 at the end of the stream. Throws the
    /// <see cref="SocketException"/> a reset causes.
    /// </summary>
    public Task<int> FillAsync() => _reader.FillAsync(CancellationToken.None);

    /// <summary>Reads and discards <paramref name="count"/> bytes, buffered ones first.</summary>
    public Task SkipAsync(long count) => _reader.ReadExactAsync(count, static _ => { }, CancellationToken.None);

    /// <summary>Closes the socket (FIN, unless a test set a zero linger to reset).</summary>
    public void Dispose() => Socket.Dispose();
}
