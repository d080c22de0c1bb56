using System.Collections.Concurrent;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// The transport's logs, captured with FakeLogger: connection events at Debug with fixed ids, logged in the same
/// situations by both transports (each with its own ids and category), and nothing per request or per read/write.
/// </summary>
public abstract class LoggingTests(TransportKind transport, ITestOutputHelper output)
{
    /// <summary>The category (prefix) of the transport's logs.</summary>
    private string Category => transport == TransportKind.Epoll ? "KestrelEpollTransport." : "Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets";

    /// <summary>The event ids of the connection events: epoll's are documented in README ("Metrics and logs").</summary>
    private (int ReadFin, int WriteFin, int Reset, int Pause, int Resume, int WriteRst) Ids => transport == TransportKind.Epoll
        ? (200, 201, 202, 204, 205, 206)
        : (6, 7, 19, 4, 5, 8);

    [Fact]
    public async Task Logging_ClientSendsFin_ReadFinThenWriteFinAtDebugWithTheirIds()
    {
        await using var host = await StartAsync(LogLevel.Debug);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        string id = await ConnectionIdAsync(connection);

        connection.Socket.Shutdown(SocketShutdown.Send);
        await ReadToEndAsync(connection.Socket);

        await AssertLoggedAsync(host, id, Ids.ReadFin, "received FIN.");
        await AssertLoggedAsync(host, id, Ids.WriteFin, "sending FIN because:");
    }

    [Fact]
    public async Task Logging_AppAbortsConnection_WriteRstAtDebugWithItsId()
    {
        var aborted = new ConcurrentQueue<string>();
        await using var host = await StartAsync(LogLevel.Debug, app => app.MapGet("/abort", (RequestDelegate)(context =>
        {
            aborted.Enqueue(context.Connection.Id);
            context.Abort();
            return Task.CompletedTask;
        })));
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/abort"));
        await ReadToEndAsync(connection.Socket);

        await AssertLoggedAsync(host, Assert.Single(aborted), Ids.WriteRst, "sending RST because:");
    }

    [Fact]
    public async Task Logging_ClientResetsConnection_ResetAtDebugWithItsId()
    {
        await using var host = await StartAsync(LogLevel.Debug);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        string id = await ConnectionIdAsync(connection);

        // Half a request, then RST (close with SO_LINGER 0) while the server waits for the rest.
        await connection.SendAsync("GET / HTTP/1.1\r\n");
        connection.Socket.LingerState = new LingerOption(true, 0);
        connection.Socket.Close();

        await AssertLoggedAsync(host, id, Ids.Reset, "reset.");
    }

    [Fact]
    public async Task Logging_AppLeavesLargeBodyUnread_PauseThenResumeAtDebugWithTheirIds()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ids = new ConcurrentQueue<string>();
        await using var host = await StartAsync(LogLevel.Debug, app => app.MapPost("/hold", (RequestDelegate)(async context =>
        {
            ids.Enqueue(context.Connection.Id);
            await gate.Task.WithTimeout();
            long total = 0;
            var buffer = new byte[64 * 1024];
            for (int read; (read = await context.Request.Body.ReadAsync(buffer)) > 0;)
            {
                total += read;
            }
            await context.Response.WriteAsync($"{total}");
        })));
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        const int BodySize = 4 * 1024 * 1024; // 4 x the default read buffer limit (1 MiB) of both transports
        var body = new byte[BodySize];

        await connection.SendAsync($"POST /hold HTTP/1.1\r\nHost: localhost\r\nContent-Length: {BodySize}\r\n\r\n");
        var send = connection.SendAsync(body);
        await Eventually.AssertAsync(() => !ids.IsEmpty, () => "the request did not reach the handler");
        string id = Assert.Single(ids);
        await AssertLoggedAsync(host, id, Ids.Pause, "paused");
        gate.SetResult();
        await send.WithTimeout(Timeouts.Bulk);
        var response = await connection.ReadResponseAsync();

        Assert.Equal($"{BodySize}", response.BodyText);
        await AssertLoggedAsync(host, id, Ids.Resume, "resumed");
    }

    [Fact]
    public async Task Logging_100RequestsOnOneConnectionAtDebug_NoTransportLinePerRequest()
    {
        await using var host = await StartAsync(LogLevel.Debug);
        var collector = host.Services.GetFakeLogCollector();
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        string id = await ConnectionIdAsync(connection);
        int before = TransportRecords(collector).Count;

        for (int i = 0; i < 100; i++)
        {
            await connection.SendAsync(RawHttpConnection.Get($"/index/{i}"));
            Assert.Equal($"{i}", (await connection.ReadResponseAsync()).BodyText);
        }
        var during = TransportRecords(collector).Skip(before).ToList();
        connection.Dispose();
        await AssertLoggedAsync(host, id, Ids.WriteFin, "sending FIN because:");

        // Per request or per read/write would be hundreds; the connection's whole life is its close (FIN in, FIN out).
        var aboutConnection = TransportRecords(collector).Where(r => r.Message.Contains(id, StringComparison.Ordinal)).ToList();
        output.WriteLine($"{transport}: connection {id}: {Describe(aboutConnection)}");
        Assert.True(during.Count == 0, $"logged during 100 requests: {Describe(during)}");
        Assert.InRange(aboutConnection.Count, 1, 3);
    }

    [Fact]
    public async Task Logging_100RequestsAtInformation_NothingFromTheTransport()
    {
        await using var host = await StartAsync(LogLevel.Information);
        var collector = host.Services.GetFakeLogCollector();
        using var client = new HttpClient { Timeout = Timeouts.Default };

        for (int i = 0; i < 100; i++)
        {
            // A new connection every 10 requests, so connection set-up and close are covered too.
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, $"/index/{i}"));
            request.Headers.ConnectionClose = i % 10 == 9;
            using var response = await client.SendAsync(request).WithTimeout();
            Assert.Equal($"{i}", await response.Content.ReadAsStringAsync().WithTimeout());
        }

        output.WriteLine($"{transport}: {collector.Count} lines at Information from every category");
        Assert.Empty(TransportRecords(collector));
    }

    private Task<TestHost> StartAsync(LogLevel level, Action<WebApplication>? map = null) =>
        TestHost.StartAsync(transport, app =>
        {
            TestApp.MapStandardRoutes(app);
            map?.Invoke(app);
        }, output, o => o.ConfigureBuilder = builder =>
        {
            builder.Logging.AddFakeLogging();
            builder.Logging.SetMinimumLevel(level);
        });

    private List<FakeLogRecord> TransportRecords(FakeLogCollector collector) =>
        collector.GetSnapshot().Where(r => r.Category?.StartsWith(Category, StringComparison.Ordinal) == true).ToList();

    /// <summary>Waits for the record with <paramref name="eventId"/> about connection <paramref name="connectionId"/>; checks its level and text.</summary>
    private async Task AssertLoggedAsync(TestHost host, string connectionId, int eventId, string text)
    {
        var collector = host.Services.GetFakeLogCollector();
        FakeLogRecord? Find() => TransportRecords(collector).FirstOrDefault(r => r.Id.Id == eventId && r.Message.Contains(connectionId, StringComparison.Ordinal));
        await Eventually.AssertAsync(() => Find() is not null,
            () => $"no event {eventId} for connection {connectionId}; the transport logged: {Describe(TransportRecords(collector))}");
        var record = Find()!;
        output.WriteLine($"{transport}: {record.Level} {record.Category}#{record.Id.Id}: {record.Message}");
        Assert.Equal(LogLevel.Debug, record.Level);
        Assert.Contains($"Connection id \"{connectionId}\" ", record.Message, StringComparison.Ordinal);
        Assert.Contains(text, record.Message, StringComparison.Ordinal);
    }

    private static async Task<string> ConnectionIdAsync(RawHttpConnection connection)
    {
        await connection.SendAsync(RawHttpConnection.Get("/connection"));
        return (await connection.ReadResponseAsync()).BodyText;
    }

    /// <summary>Reads until the server closes (0) or resets the connection.</summary>
    private static async Task ReadToEndAsync(Socket socket)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Timeouts.Default);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token) > 0)
            {
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // An abort ends the connection with RST: that is an end too.
        }
    }

    private static string Describe(IEnumerable<FakeLogRecord> records) =>
        string.Join(" | ", records.Select(r => $"{r.Level} {r.Category}#{r.Id.Id}: {r.Message}"));
}

/// <summary><see cref="LoggingTests"/> on the epoll transport.</summary>
public sealed class EpollLoggingTests(ITestOutputHelper output) : LoggingTests(TransportKind.Epoll, output);

/// <summary><see cref="LoggingTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsLoggingTests(ITestOutputHelper output) : LoggingTests(TransportKind.Sockets, output);
