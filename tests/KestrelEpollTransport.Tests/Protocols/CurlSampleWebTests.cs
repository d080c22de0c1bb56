using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Protocols;

/// <summary>
/// curl (installed by scripts/install-test-deps.sh; a missing one fails the test) against the sample site in a process
/// of its own, as a user would check a deployment: HTTP/1.1, and h2c with prior knowledge on an HTTP/2-only endpoint
/// declared in configuration (<c>--Kestrel:Endpoints:h2c:Url=… --Kestrel:Endpoints:h2c:Protocols=Http2</c>).
/// </summary>
public abstract class CurlSampleWebTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Curl_Http11_SampleServesPageByteExact()
    {
        string curl = ExternalTool.Require("curl", "curl");
        using var sample = SampleWebProcess.StartDll(output, "--urls", "http://127.0.0.1:0", "--transport", TransportArgument);
        try
        {
            var endPoint = await sample.ListeningOn.Task.WithTimeout();

            var (result, body) = await FetchAsync(curl, $"http://{endPoint}/");

            Assert.Equal("1.1 200 text/html; charset=utf-8", result.StdoutText);
            Assert.Equal(TestApp.MagePage, body);
        }
        finally
        {
            await sample.StopAsync();
        }
        Assert.Equal(0, sample.Process.ExitCode);
    }

    [Fact]
    public async Task Curl_H2cPriorKnowledge_Http2OnlyEndpointServesPageByteExact()
    {
        string curl = ExternalTool.Require("curl", "curl");
        using var sample = SampleWebProcess.StartDll(output, "--transport", TransportArgument,
            "--Kestrel:Endpoints:h2c:Url=http://127.0.0.1:0", "--Kestrel:Endpoints:h2c:Protocols=Http2");
        try
        {
            var endPoint = await sample.ListeningOn.Task.WithTimeout();

            var (http2, body) = await FetchAsync(curl, $"http://{endPoint}/", "--http2-prior-knowledge");
            var (http11, _) = await FetchAsync(curl, $"http://{endPoint}/");

            Assert.Equal("2 200 text/html; charset=utf-8", http2.StdoutText);
            Assert.Equal(TestApp.MagePage, body);
            // The configured endpoint is the only one, and it is HTTP/2 only.
            Assert.StartsWith("1.1 400", http11.StdoutText, StringComparison.Ordinal);
            Assert.Single(sample.Lines, l => l.Contains("Now listening on:", StringComparison.Ordinal));
        }
        finally
        {
            await sample.StopAsync();
        }
        Assert.Equal(0, sample.Process.ExitCode);
    }

    private string TransportArgument => transport == TransportKind.Epoll ? "epoll" : "sockets";

    /// <summary>curl <paramref name="url"/>: prints "version status content-type"; returns that and the body, byte for byte.</summary>
    private async Task<(ToolResult Result, byte[] Body)> FetchAsync(string curl, string url, params string[] options)
    {
        string bodyFile = Path.GetTempFileName();
        try
        {
            var result = await ExternalTool.RunAsync(curl,
                ["-s", "-S", "--max-time", "20", .. options, "-o", bodyFile, "-w", "%{http_version} %{http_code} %{content_type}", url], Timeouts.Default);
            output.WriteLine($"curl {string.Join(' ', options)} {url}: {result.Describe()}");
            Assert.True(result.ExitCode == 0, result.Describe());
            return (result, await File.ReadAllBytesAsync(bodyFile));
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }
}

/// <summary><see cref="CurlSampleWebTests"/> with the sample on the epoll transport.</summary>
public sealed class EpollCurlSampleWebTests(ITestOutputHelper output) : CurlSampleWebTests(TransportKind.Epoll, output);

/// <summary><see cref="CurlSampleWebTests"/> with the sample on Kestrel's Sockets transport.</summary>
public sealed class SocketsCurlSampleWebTests(ITestOutputHelper output) : CurlSampleWebTests(TransportKind.Sockets, output);
