using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Endpoints;

/// <summary>
/// <c>localhost</c> (<c>ListenLocalhost</c>, or a URL such as http://localhost:5000): Kestrel binds 127.0.0.1 and
/// [::1] on the same port, one listener each, and reports one address. Kestrel refuses port 0 for localhost (the two
/// listeners could get different ports), so the test picks a port that is free on both loopbacks.
/// </summary>
public abstract class LocalhostBindingTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Localhost_FreePort_AnswersOnIPv4AndIPv6Loopback()
    {
        var (host, port) = await StartOnFreeLocalhostPortAsync();
        await using (host)
        {
            using var v4 = await RawHttpConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            using var v6 = await RawHttpConnection.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port));
            await v4.SendAsync(RawHttpConnection.Get("/local"));
            var fromV4 = await v4.ReadResponseAsync();
            await v6.SendAsync(RawHttpConnection.Get("/local"));
            var fromV6 = await v6.ReadResponseAsync();

            Assert.Equal($"http://localhost:{port}", Assert.Single(host.Addresses));
            Assert.Equal($"127.0.0.1:{port}", fromV4.BodyText);
            Assert.Equal($"[::1]:{port}", fromV6.BodyText);
        }
    }

    /// <summary>
    /// Starts a host on localhost at a port that was free on both loopbacks a moment before; another process may take
    /// it in between, so an address in use is retried with another port, a few times.
    /// </summary>
    private async Task<(TestHost Host, int Port)> StartOnFreeLocalhostPortAsync()
    {
        for (int attempt = 1; ; attempt++)
        {
            int port = LoopbackPorts.FreeOnBoth();
            try
            {
                var host = await TestHost.StartAsync(transport, MapLocal, output, o => o.ConfigureKestrel = kestrel => kestrel.ListenLocalhost(port));
                return (host, port);
            }
            catch (IOException e) when (e.InnerException is AddressInUseException && attempt < 3)
            {
                output.WriteLine($"port {port} was taken meanwhile; trying another ({e.Message})");
            }
        }
    }

    /// <summary><c>GET /local</c>: the local end point of the connection, as the transport reports it.</summary>
    private static void MapLocal(WebApplication app) =>
        app.MapGet("/local", (RequestDelegate)(context =>
            context.Response.WriteAsync(new IPEndPoint(context.Connection.LocalIpAddress!, context.Connection.LocalPort).ToString())));
}

/// <summary><see cref="LocalhostBindingTests"/> on the epoll transport.</summary>
public sealed class EpollLocalhostBindingTests(ITestOutputHelper output) : LocalhostBindingTests(TransportKind.Epoll, output);

/// <summary><see cref="LocalhostBindingTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsLocalhostBindingTests(ITestOutputHelper output) : LocalhostBindingTests(TransportKind.Sockets, output);
