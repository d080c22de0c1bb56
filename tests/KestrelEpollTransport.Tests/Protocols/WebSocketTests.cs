using System.Net.WebSockets;
using System.Text;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Protocols;

/// <summary>
/// WebSockets (RFC 6455 over an HTTP/1.1 upgrade; Kestrel hands the connection's pipes to the WebSocket): a server
/// that echoes every message, driven by ClientWebSocket with text and binary messages up to 1 MiB.
/// </summary>
public abstract class WebSocketTests(TransportKind transport, ITestOutputHelper output)
{
    /// <summary>Sizes around the frame-length encodings (7-bit, 16-bit, 64-bit), up to 1 MiB.</summary>
    private static readonly int[] Sizes = [0, 1, 125, 126, 65_535, 65_536, 1024 * 1024];

    [Fact]
    public async Task WebSocket_EchoTextAndBinaryUpTo1MiB_EveryMessageComesBackExactly()
    {
        await using var host = await TestHost.StartAsync(transport, MapEcho, output);
        using var socket = await ConnectAsync(host);
        using var cts = new CancellationTokenSource(Timeouts.Bulk);

        foreach (int size in Sizes)
        {
            byte[] text = Encoding.UTF8.GetBytes(Text(size));
            var binary = new byte[size];
            Payload.Fill(binary, size);

            await socket.SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, cts.Token);
            var (textType, textEcho) = await ReceiveMessageAsync(socket, cts.Token);
            await socket.SendAsync(binary, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
            var (binaryType, binaryEcho) = await ReceiveMessageAsync(socket, cts.Token);

            Assert.Equal(WebSocketMessageType.Text, textType);
            Assert.True(text.AsSpan().SequenceEqual(textEcho), $"text message of {text.Length} bytes came back as {textEcho.Length} different bytes");
            Assert.Equal(WebSocketMessageType.Binary, binaryType);
            Assert.True(binary.AsSpan().SequenceEqual(binaryEcho), $"binary message of {size} bytes came back as {binaryEcho.Length} different bytes");
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, socket.CloseStatus);
        Assert.Equal("echo server closing", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task WebSocket_1MiBMessageSentAs16Fragments_EchoedAsOneMessage()
    {
        await using var host = await TestHost.StartAsync(transport, MapEcho, output);
        using var socket = await ConnectAsync(host);
        using var cts = new CancellationTokenSource(Timeouts.Bulk);
        var message = new byte[1024 * 1024];
        Payload.Fill(message, 0);
        const int Fragment = 64 * 1024;

        for (int offset = 0; offset < message.Length; offset += Fragment)
        {
            await socket.SendAsync(message.AsMemory(offset, Fragment), WebSocketMessageType.Binary, endOfMessage: offset + Fragment == message.Length, cts.Token);
        }
        var (type, echo) = await ReceiveMessageAsync(socket, cts.Token);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);

        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.True(message.AsSpan().SequenceEqual(echo), $"a 1 MiB message came back as {echo.Length} different bytes");
    }

    private static async Task<ClientWebSocket> ConnectAsync(TestHost host)
    {
        var socket = new ClientWebSocket();
        using var cts = new CancellationTokenSource(Timeouts.Default);
        await socket.ConnectAsync(new Uri($"ws://{host.EndPoint}/ws"), cts.Token);
        return socket;
    }

    /// <summary>Reads frames until the end of one message.</summary>
    private static async Task<(WebSocketMessageType Type, byte[] Message)> ReceiveMessageAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var message = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }

    /// <summary>Valid UTF-8 of exactly <paramref name="bytes"/> bytes, with 1-, 2- and 3-byte characters.</summary>
    private static string Text(int bytes)
    {
        var text = new StringBuilder(bytes);
        int length = 0;
        string[] pieces = ["a", "é", "马", "z", " "];
        for (int i = 0; length < bytes; i++)
        {
            string piece = pieces[i % pieces.Length];
            int size = Encoding.UTF8.GetByteCount(piece);
            if (length + size > bytes)
            {
                piece = "a";
                size = 1;
            }
            text.Append(piece);
            length += size;
        }
        return text.ToString();
    }

    /// <summary><c>/ws</c>: echoes every message whole (same type), until the client closes.</summary>
    private static void MapEcho(WebApplication app)
    {
        app.UseWebSockets();
        app.Map("/ws", (RequestDelegate)(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var message = new MemoryStream();
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "echo server closing", context.RequestAborted);
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    await socket.SendAsync(message.GetBuffer().AsMemory(0, (int)message.Length), result.MessageType, endOfMessage: true, context.RequestAborted);
                    message.SetLength(0);
                }
            }
        }));
    }
}

/// <summary><see cref="WebSocketTests"/> on the epoll transport.</summary>
public sealed class EpollWebSocketTests(ITestOutputHelper output) : WebSocketTests(TransportKind.Epoll, output);

/// <summary><see cref="WebSocketTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsWebSocketTests(ITestOutputHelper output) : WebSocketTests(TransportKind.Sockets, output);
