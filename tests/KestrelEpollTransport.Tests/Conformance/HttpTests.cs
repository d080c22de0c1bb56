using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Text;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Conformance;

/// <summary>Plain HTTP/1.1 serving: the page, keep-alive, pipelining, many clients at once.</summary>
public abstract class HttpTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task MagePage_GetRoot_ReturnsExactBytesAndHeaders()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var client = new HttpClient { BaseAddress = host.Address, Timeout = Timeouts.Default };

        using var response = await client.GetAsync("/").WithTimeout();
        byte[] body = await response.Content.ReadAsByteArrayAsync().WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(1, 1), response.Version);
        Assert.Equal(TestApp.MagePageContentType, response.Content.Headers.ContentType?.ToString());
        Assert.Equal(TestApp.MagePage.Length, response.Content.Headers.ContentLength);
        Assert.Equal(TestApp.MagePage, body);
        Assert.True(response.Headers.Date.HasValue, "Kestrel sends a Date header.");
        Assert.False(response.Headers.TransferEncodingChunked ?? false, "A body of known length is not chunked.");
    }

    [Fact]
    public async Task MagePage_RawGet_ResponseHeadAndBodyAreExact()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/"));
        var response = await connection.ReadResponseAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(TestApp.MagePageContentType, response.Header("Content-Type"));
        Assert.Equal(TestApp.MagePage.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("Content-Length"));
        Assert.Null(response.Header("Transfer-Encoding"));
        Assert.NotNull(response.Header("Date"));
        Assert.Equal(TestApp.MagePage, response.Body);
        Assert.Contains("\u9a6c\u54e5\u6559\u80b2www.magedu.com -- Multiplexing", response.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeepAlive_ThousandRequestsOnOneConnection_AllAnsweredOnThatConnection()
    {
        const int Requests = 1000;
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        var connectionIds = new HashSet<string>();
        var all = Task.Run(async () =>
        {
            for (int i = 0; i < Requests; i++)
            {
                await connection.SendAsync(RawHttpConnection.Get("/connection"));
                var response = await connection.ReadResponseAsync();
                Assert.Equal(200, response.StatusCode);
                Assert.Null(response.Header("Connection"));
                connectionIds.Add(response.BodyText);
            }
        });
        await all.WithTimeout(Timeouts.Bulk);

        Assert.Single(connectionIds);
    }

    [Fact]
    public async Task Pipelining_HundredRequestsInOneSend_AnsweredInOrder()
    {
        const int Requests = 100;
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        var requests = new StringBuilder();
        for (int i = 0; i < Requests; i++)
        {
            requests.Append(RawHttpConnection.Get($"/index/{i}"));
        }

        await connection.SendAsync(requests.ToString());
        var bodies = new List<string>();
        for (int i = 0; i < Requests; i++)
        {
            var response = await connection.ReadResponseAsync();
            Assert.Equal(200, response.StatusCode);
            bodies.Add(response.BodyText);
        }

        Assert.Equal(Enumerable.Range(0, Requests).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), bodies);
    }

    [Fact]
    public async Task ConcurrentClients_TwoHundredAtOnce_AllServedWhileAllConnected()
    {
        const int Clients = 200;
        // Every request waits until all 200 are in the server at once, so this cannot pass by serving the
        // clients a few at a time.
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int arrived = 0;
        var connectionIds = new ConcurrentDictionary<string, byte>();
        await using var host = await TestHost.StartAsync(transport, app =>
        {
            app.MapGet("/together", (RequestDelegate)(async context =>
            {
                connectionIds.TryAdd(context.Connection.Id, 0);
                if (Interlocked.Increment(ref arrived) == Clients)
                {
                    allArrived.SetResult();
                }
                await allArrived.Task.WaitAsync(Timeouts.Default, context.RequestAborted);
                await context.Response.WriteAsync("together");
            }));
        }, output);

        var clients = Enumerable.Range(0, Clients).Select(async _ =>
        {
            using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
            await connection.SendAsync(RawHttpConnection.Get("/together"));
            return await connection.ReadResponseAsync();
        }).ToList();
        var responses = await Task.WhenAll(clients).WithTimeout(Timeouts.Bulk);

        Assert.All(responses, r => Assert.Equal("together", r.BodyText));
        Assert.Equal(Clients, connectionIds.Count);
    }

    [Fact]
    public async Task HttpClient_ManyRequestsOverPooledConnections_AllSucceed()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 8 };
        using var client = new HttpClient(handler) { BaseAddress = host.Address, Timeout = Timeouts.Default };

        var requests = Enumerable.Range(0, 400).Select(i => client.GetStringAsync($"/index/{i}")).ToList();
        string[] bodies = await Task.WhenAll(requests).WithTimeout(Timeouts.Bulk);

        Assert.Equal(Enumerable.Range(0, 400).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), bodies);
    }
}

/// <summary><see cref="HttpTests"/> on the epoll transport.</summary>
public sealed class EpollHttpTests(ITestOutputHelper output) : HttpTests(TransportKind.Epoll, output);

/// <summary><see cref="HttpTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsHttpTests(ITestOutputHelper output) : HttpTests(TransportKind.Sockets, output);
