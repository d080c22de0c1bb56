using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Protocols;

/// <summary>
/// TLS lives in Kestrel, above the transport (a connection middleware wrapping the transport's pipes in an SslStream):
/// HTTPS with a certificate the test makes, and HTTP/2 chosen by ALPN, work over the transport unchanged.
/// </summary>
public abstract class HttpsTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Https_Http11_ServesPageAndLargeBodiesWithTheTestCertificate()
    {
        await using var host = await StartAsync(HttpProtocols.Http1);
        using var client = TestCertificate.CreateClient(HttpVersion.Version11);
        const long DownloadSize = 8L * 1024 * 1024;
        var upload = new byte[1024 * 1024];
        Payload.Fill(upload, 0);

        using var page = await client.GetAsync(Url(host, "/")).WithTimeout();
        var pageBytes = await page.Content.ReadAsByteArrayAsync().WithTimeout();
        var downloadHash = await Sha256Async(client, Url(host, $"/download/{DownloadSize}"));
        using var echo = await client.PostAsync(Url(host, "/echo"), new ByteArrayContent(upload)).WithTimeout();
        var echoed = await echo.Content.ReadAsByteArrayAsync().WithTimeout();

        Assert.StartsWith("https://127.0.0.1:", host.Address.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpVersion.Version11, page.Version);
        Assert.Equal(TestApp.MagePage, pageBytes);
        Assert.Equal(Payload.Sha256(DownloadSize), downloadHash);
        Assert.Equal(upload, echoed);
    }

    [Fact]
    public async Task Https_AlpnOffersH2AndHttp11_Http2ClientGetsHttp2OnOneConnection()
    {
        await using var host = await StartAsync(HttpProtocols.Http1AndHttp2);
        using var http2 = TestCertificate.CreateClient(HttpVersion.Version20);
        using var http11 = TestCertificate.CreateClient(HttpVersion.Version11);
        const long DownloadSize = 4L * 1024 * 1024;

        // Concurrent streams: SocketsHttpHandler multiplexes them over its one HTTP/2 connection.
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => http2.GetAsync(Url(host, "/connection")))).WithTimeout();
        var connectionIds = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync())).WithTimeout();
        var downloadHash = await Sha256Async(http2, Url(host, $"/download/{DownloadSize}"));
        using var viaHttp11 = await http11.GetAsync(Url(host, "/")).WithTimeout();

        Assert.All(responses, r => Assert.Equal(HttpVersion.Version20, r.Version));
        Assert.Single(connectionIds.Distinct());
        Assert.Equal(Payload.Sha256(DownloadSize), downloadHash);
        // The same endpoint still speaks HTTP/1.1 to a client whose ALPN offers only that.
        Assert.Equal(HttpVersion.Version11, viaHttp11.Version);
        Assert.Equal(TestApp.MagePage, await viaHttp11.Content.ReadAsByteArrayAsync().WithTimeout());
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Https_ClientTrustsOnlyAnotherCertificate_HandshakeFailsAndServerGoesOn()
    {
        await using var host = await StartAsync(HttpProtocols.Http1);
        using var suspicious = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new() { RemoteCertificateValidationCallback = (_, _, _, _) => false },
        })
        {
            Timeout = Timeouts.Default,
        };
        using var trusting = TestCertificate.CreateClient(HttpVersion.Version11);

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => suspicious.GetAsync(Url(host, "/")).WithTimeout());
        var page = await trusting.GetByteArrayAsync(Url(host, "/")).WithTimeout();

        output.WriteLine($"{transport}: {refused.Message}");
        Assert.Equal(TestApp.MagePage, page);
    }

    private Task<TestHost> StartAsync(HttpProtocols protocols) =>
        TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output, o => o.ConfigureKestrel = kestrel =>
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = protocols;
                listen.UseHttps(TestCertificate.Certificate);
            }));

    private static Uri Url(TestHost host, string path) => new(host.Address, path);

    /// <summary>The SHA-256 of a response body, read as it arrives.</summary>
    internal static async Task<byte[]> Sha256Async(HttpClient client, Uri url)
    {
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync().WithTimeout();
        return await SHA256.HashDataAsync(body).AsTask().WithTimeout(Timeouts.Bulk);
    }
}

/// <summary><see cref="HttpsTests"/> on the epoll transport.</summary>
public sealed class EpollHttpsTests(ITestOutputHelper output) : HttpsTests(TransportKind.Epoll, output);

/// <summary><see cref="HttpsTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsHttpsTests(ITestOutputHelper output) : HttpsTests(TransportKind.Sockets, output);
