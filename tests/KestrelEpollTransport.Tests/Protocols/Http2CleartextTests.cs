using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Protocols;

/// <summary>
/// HTTP/2 without TLS ("h2c") with prior knowledge, on an endpoint that speaks only HTTP/2: HttpClient, and nghttp2's
/// h2load and nghttp (installed by scripts/install-test-deps.sh, so a missing one fails the test).
/// </summary>
public abstract partial class Http2CleartextTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task H2c_HttpClientWithPriorKnowledge_MultiplexesStreamsOnOneConnection()
    {
        await using var host = await StartAsync();
        using var client = new HttpClient
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = Timeouts.Default,
        };
        const long DownloadSize = 4L * 1024 * 1024;

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync(Url(host, "/connection")))).WithTimeout();
        var connectionIds = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync())).WithTimeout();
        using var page = await client.GetAsync(Url(host, "/")).WithTimeout();
        var downloadHash = await HttpsTests.Sha256Async(client, Url(host, $"/download/{DownloadSize}"));

        Assert.All(responses, r => Assert.Equal(HttpVersion.Version20, r.Version));
        Assert.Single(connectionIds.Distinct());
        Assert.Equal(HttpVersion.Version20, page.Version);
        Assert.Equal(TestApp.MagePage, await page.Content.ReadAsByteArrayAsync().WithTimeout());
        Assert.Equal(Payload.Sha256(DownloadSize), downloadHash);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task H2c_H2load_EveryRequestSucceeds()
    {
        string h2load = ExternalTool.Require("h2load", "nghttp2-client");
        await using var host = await StartAsync();
        const int Requests = 400;

        // 4 connections, up to 10 concurrent streams each.
        var result = await ExternalTool.RunAsync(h2load, ["-n", $"{Requests}", "-c", "4", "-m", "10", Url(host, "/").ToString()], Timeouts.Bulk);

        output.WriteLine(result.Describe());
        Assert.Equal(0, result.ExitCode);
        var summary = H2loadRequests().Match(result.StdoutText);
        Assert.True(summary.Success, "h2load printed no 'requests:' summary");
        Assert.Equal($"{Requests} total, {Requests} started, {Requests} done, {Requests} succeeded, 0 failed, 0 errored, 0 timeout", summary.Groups[1].Value);
        Assert.Contains($"status codes: {Requests} 2xx", result.StdoutText, StringComparison.Ordinal);
        Assert.Contains("Application protocol: h2c", result.StdoutText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task H2c_Nghttp_FetchesPageByteExact()
    {
        string nghttp = ExternalTool.Require("nghttp", "nghttp2-client");
        await using var host = await StartAsync();

        // nghttp speaks HTTP/2 only (prior knowledge for http://) and writes the response body to stdout.
        var result = await ExternalTool.RunAsync(nghttp, ["--timeout=20", Url(host, "/").ToString()], Timeouts.Default);

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal(TestApp.MagePage, result.Stdout);
    }

    [Fact]
    public async Task H2c_Http11Request_RefusedByHttp2OnlyEndpoint()
    {
        await using var host = await StartAsync();
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        // The endpoint really is HTTP/2 only: Kestrel answers an HTTP/1.1 request with a 400 that says so, and closes.
        await connection.SendAsync(RawHttpConnection.Get("/"));
        var response = await connection.ReadResponseAsync();

        output.WriteLine($"{transport}: {response.StatusCode} {response.BodyText}");
        Assert.Equal(400, response.StatusCode);
        Assert.Equal(0, await connection.Socket.ReceiveAsync(new byte[1], System.Net.Sockets.SocketFlags.None).WithTimeout());
    }

    private Task<TestHost> StartAsync() =>
        TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output, o => o.ConfigureKestrel = kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));

    private static Uri Url(TestHost host, string path) => new(host.Address, path);

    [GeneratedRegex(@"requests: ([^\n]*)")]
    private static partial Regex H2loadRequests();
}

/// <summary><see cref="Http2CleartextTests"/> on the epoll transport.</summary>
public sealed class EpollHttp2CleartextTests(ITestOutputHelper output) : Http2CleartextTests(TransportKind.Epoll, output);

/// <summary><see cref="Http2CleartextTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsHttp2CleartextTests(ITestOutputHelper output) : Http2CleartextTests(TransportKind.Sockets, output);
