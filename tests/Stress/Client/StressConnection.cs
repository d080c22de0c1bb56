using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KestrelEpollTransport.Testing;

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

    private readonly HttpResponseReader _reader;

    /// <summary>
    /// The bytes received before the exchange being read began (<see cref="HttpResponseReader.Received"/> less what was
    /// still unread then): any byte past it means its response has started, which tells a refused exchange from a cut one.
    /// </summary>
    private long _exchangeStart;

    private uint _sequence;

    private StressConnection(Socket socket, ulong nonce, int bufferSize)
    {
        Socket = socket;
        Nonce = nonce;
        _reader = new HttpResponseReader(socket, bufferSize);
    }

    /// <summary>The socket, for half-close, reset and socket options.</summary>
    public Socket Socket { get; }

    /// <summary>This connection's nonce: every body it sends or asks for carries it.</summary>
    public ulong Nonce { get; }

    /// <summary>The most bytes one receive asks for; small values make a slow reader.</summary>
    public int ReceiveChunk
    {
        get => _reader.ReceiveChunk;
        set => _reader.ReceiveChunk = value;
    }

    /// <summary>A pause before each receive; a slow reader's.</summary>
    public TimeSpan ReceiveDelay
    {
        get => _reader.ReceiveDelay;
        set => _reader.ReceiveDelay = value;
    }

    /// <summary>Whether any byte of the response being read has arrived.</summary>
    private bool ResponseStarted => _reader.Received > _exchangeStart;

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
        StartExchange();
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
                bytes = bytes[await Socket.SendAsync(bytes, SocketFlags.None, cancellationToken)..];
            }
        }
        catch (SocketException e) when (!ResponseStarted)
        {
            throw new NoResponseException($"Sending failed before a response: {e.SocketErrorCode}.", e);
        }
    }

    /// <summary>Reads a response's status line and headers.</summary>
    public async Task<ResponseHead> ReadHeadAsync(CancellationToken cancellationToken)
    {
        StartExchange();
        var (status, headers) = await ReadAsync(static (reader, token) => reader.ReadHeadAsync(token), FailureKind.Protocol, cancellationToken);
        long? contentLength = null;
        bool chunked = false;
        bool close = false;
        foreach (var (name, value) in headers)
        {
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
    public Task<long> ReadBodyAsync(ResponseHead head, Action<ReadOnlySpan<byte>> sink, CancellationToken cancellationToken) =>
        ReadAsync((reader, token) => reader.ReadBodyAsync(head.ContentLength, head.Chunked, sink, token), FailureKind.Corrupted, cancellationToken);

    /// <summary>Reads until the server closes its side; returns the byte count.</summary>
    public Task<long> ReadToEndAsync(Action<ReadOnlySpan<byte>>? sink, CancellationToken cancellationToken) =>
        ReadAsync((reader, token) => reader.ReadToEndAsync(sink, token), FailureKind.Corrupted, cancellationToken);

    /// <summary>Receives once (at most <see cref="ReceiveChunk"/> bytes); 0 at the end of the stream.</summary>
    public Task<int> FillAsync(CancellationToken cancellationToken) =>
        ReadAsync(static (reader, token) => reader.FillAsync(token), FailureKind.Corrupted, cancellationToken);

    /// <summary>Reads exactly <paramref name="count"/> bytes (of a body) into <paramref name="sink"/>.</summary>
    public Task ReadExactAsync(long count, Action<ReadOnlySpan<byte>> sink, CancellationToken cancellationToken) =>
        ReadAsync(async (reader, token) =>
        {
            await reader.ReadExactAsync(count, sink, token);
            return count;
        }, FailureKind.Corrupted, cancellationToken);

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

    /// <summary>Starts an exchange: bytes already buffered (a pipelined response) count as its response's start.</summary>
    private void StartExchange() => _exchangeStart = _reader.Received - _reader.Buffered;

    /// <summary>
    /// Runs <paramref name="read"/> and words what went wrong in the run's terms: before any byte of the response, a
    /// close or reset is <see cref="NoResponseException"/> (dropped, or the end of a request that raced a stop); after,
    /// it is truncated; a malformed line is <paramref name="malformed"/>.
    /// </summary>
    private async Task<T> ReadAsync<T>(Func<HttpResponseReader, CancellationToken, Task<T>> read, FailureKind malformed, CancellationToken cancellationToken)
    {
        try
        {
            return await read(_reader, cancellationToken);
        }
        catch (InvalidDataException e)
        {
            throw new StressFailureException(malformed, e.Message, e);
        }
        catch (EndOfStreamException e) when (!ResponseStarted)
        {
            throw new NoResponseException("The server closed the connection before a response.", e);
        }
        catch (EndOfStreamException e)
        {
            throw new StressFailureException(FailureKind.Truncated, e.Message, e);
        }
        catch (SocketException e) when (!ResponseStarted)
        {
            throw new NoResponseException($"Receiving failed before a response: {e.SocketErrorCode}.", e);
        }
        catch (SocketException e)
        {
            throw new StressFailureException(FailureKind.Truncated, $"Receiving failed inside a response: {e.SocketErrorCode}.", e);
        }
    }
}
