using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Endpoints;

/// <summary>
/// Kestrel's <c>ListenUnixSocket</c>: HTTP served over a Unix domain socket; a file already at the path fails the
/// start and stays; the socket file the server created is gone once it stops.
/// </summary>
public abstract class UnixSocketTests(TransportKind transport, ITestOutputHelper output) : IDisposable
{
    /// <summary>A fresh path per test, short enough for sun_path (108 bytes).</summary>
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"epoll-test-{Guid.NewGuid():N}.sock");

    [Fact]
    public async Task UnixSocket_HttpClientConnects_ServesPageAndEchoesLargeBody()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenUnixSocket(_path));
        using var client = CreateClient(_path);
        var body = new byte[1024 * 1024];
        Payload.Fill(body, 0);

        var page = await client.GetByteArrayAsync("http://localhost/").WithTimeout();
        using var echo = await client.PostAsync("http://localhost/echo", new ByteArrayContent(body)).WithTimeout();
        var echoed = await echo.Content.ReadAsByteArrayAsync().WithTimeout();

        Assert.Equal($"http://unix:{_path}", Assert.Single(host.Addresses));
        Assert.Equal(TestApp.MagePage, page);
        Assert.Equal(body, echoed);
    }

    [Fact]
    public async Task UnixSocket_FileAlreadyAtPath_StartFailsNamingPathAndFileStays()
    {
        const string Content = "not a socket: a file the server did not create";
        await File.WriteAllTextAsync(_path, Content);
        await using var host = TestHost.Build(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenUnixSocket(_path));

        var e = await Assert.ThrowsAsync<IOException>(() => host.StartBuiltAsync());

        output.WriteLine($"{transport}: {e}");
        Assert.Contains(_path, e.Message, StringComparison.Ordinal);
        Assert.Contains("address already in use", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.IsType<AddressInUseException>(e.InnerException);
        Assert.Equal(Content, await File.ReadAllTextAsync(_path));
    }

    [Fact]
    public async Task UnixSocket_HostStopped_SocketFileRemoved()
    {
        var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenUnixSocket(_path));
        bool existedWhileRunning;
        try
        {
            using var client = CreateClient(_path);
            Assert.Equal(TestApp.MagePage, await client.GetByteArrayAsync("http://localhost/").WithTimeout());
            existedWhileRunning = File.Exists(_path);
            await host.StopAsync();
        }
        finally
        {
            await host.DisposeAsync();
        }

        Assert.True(existedWhileRunning, $"{_path} did not exist while the host listened on it");
        Assert.False(File.Exists(_path), $"{_path} is still there after the host stopped");
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var refused = await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(new UnixDomainSocketEndPoint(_path)).WithTimeout());
        Assert.Equal(SocketError.AddressNotAvailable, refused.SocketErrorCode);
    }

    [Fact]
    public async Task UnixSocket_Connection_LocalEndPointIsSocketPath()
    {
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output,
            o => o.ConfigureKestrel = kestrel => kestrel.ListenUnixSocket(_path, listen => listen.Use(next => connection =>
            {
                seen.Enqueue($"local {Describe(connection.LocalEndPoint)}; remote {Describe(connection.RemoteEndPoint)}");
                return next(connection);
            })));
        using var client = CreateClient(_path);

        Assert.Equal(TestApp.MagePage, await client.GetByteArrayAsync("http://localhost/").WithTimeout());

        string reported = Assert.Single(seen);
        output.WriteLine($"{transport}: {reported}");
        // A difference: the client's socket is unnamed; Sockets reports it as an empty UnixDomainSocketEndPoint,
        // epoll as no end point at all (Kestrel needs neither: IHttpConnectionFeature has no IP for either).
        string remote = transport == TransportKind.Epoll ? "null" : "UnixDomainSocketEndPoint ";
        Assert.Equal($"local UnixDomainSocketEndPoint {_path}; remote {remote}", reported);
    }

    public void Dispose()
    {
        // Whatever a test left at the path (the file it made, a socket file a failed test left behind).
        File.Delete(_path);
        GC.SuppressFinalize(this);
    }

    /// <summary>An HttpClient whose every connection goes to the Unix socket at <paramref name="path"/>.</summary>
    internal static HttpClient CreateClient(string path) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    {
        Timeout = Timeouts.Default,
    };

    private static string Describe(EndPoint? endPoint) => endPoint is null ? "null" : $"{endPoint.GetType().Name} {endPoint}";
}

/// <summary><see cref="UnixSocketTests"/> on the epoll transport.</summary>
public sealed class EpollUnixSocketTests(ITestOutputHelper output) : UnixSocketTests(TransportKind.Epoll, output);

/// <summary><see cref="UnixSocketTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsUnixSocketTests(ITestOutputHelper output) : UnixSocketTests(TransportKind.Sockets, output);
