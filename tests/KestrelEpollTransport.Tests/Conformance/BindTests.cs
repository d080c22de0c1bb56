using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Conformance;

/// <summary>Binding through Kestrel: port 0, address in use, IPv6, dual mode, several endpoints.</summary>
public abstract class BindTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task Bind_PortZero_ReportsRealPortThatServes()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        var addresses = host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/"));
        var response = await connection.ReadResponseAsync();

        string address = Assert.Single(addresses);
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);
        Assert.NotEqual(0, host.EndPoint.Port);
        Assert.Equal(200, response.StatusCode);
    }

    [Fact]
    public async Task Bind_AddressInUse_StartThrowsNamingAddress()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        int port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        await using var host = TestHost.Build(transport, TestApp.MapStandardRoutes, output, o => o.Port = port);

        var e = await Assert.ThrowsAsync<IOException>(() => host.StartBuiltAsync());

        output.WriteLine($"{transport}: {e}");
        Assert.Contains($"127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
        Assert.Contains("address already in use", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.IsType<AddressInUseException>(e.InnerException);
    }

    [Fact]
    public async Task Bind_IPv6Loopback_ServesRequests()
    {
        await using var host = await TestHost.StartAsync(transport, MapWhoAmI, output, o => o.Address = IPAddress.IPv6Loopback);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/whoami"));
        var response = await connection.ReadResponseAsync();

        Assert.StartsWith("http://[::1]:", host.Address.ToString(), StringComparison.Ordinal);
        Assert.Equal($"remote [::1]:{((IPEndPoint)connection.Socket.LocalEndPoint!).Port} local [::1]:{host.EndPoint.Port}", response.BodyText);
    }

    [Fact]
    public async Task Bind_IPv6AnyDualMode_ServesIPv4AndIPv6Clients()
    {
        await using var host = await TestHost.StartAsync(transport, MapWhoAmI, output, o => o.Address = IPAddress.IPv6Any);
        int port = host.EndPoint.Port;
        using var v4 = await RawHttpConnection.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        using var v6 = await RawHttpConnection.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, port));

        await v4.SendAsync(RawHttpConnection.Get("/whoami"));
        var fromV4 = await v4.ReadResponseAsync();
        await v6.SendAsync(RawHttpConnection.Get("/whoami"));
        var fromV6 = await v6.ReadResponseAsync();

        Assert.StartsWith("http://[::]:", host.Address.ToString(), StringComparison.Ordinal);
        // A dual-mode socket sees IPv4 peers as IPv4-mapped IPv6 addresses; Sockets reports them so.
        Assert.Equal($"remote [::ffff:127.0.0.1]:{((IPEndPoint)v4.Socket.LocalEndPoint!).Port} local [::ffff:127.0.0.1]:{port}", fromV4.BodyText);
        Assert.Equal($"remote [::1]:{((IPEndPoint)v6.Socket.LocalEndPoint!).Port} local [::1]:{port}", fromV6.BodyText);
    }

    [Fact]
    public async Task Bind_TwoEndpoints_BothServe()
    {
        await using var host = await TestHost.StartAsync(transport, MapWhoAmI, output, o => o.ConfigureKestrel = kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.Listen(IPAddress.IPv6Loopback, 0);
        });
        var addresses = host.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses
            .Select(a => new Uri(a)).ToList();

        Assert.Equal(2, addresses.Count);
        foreach (var address in addresses)
        {
            using var connection = await RawHttpConnection.ConnectAsync(new IPEndPoint(IPAddress.Parse(address.DnsSafeHost), address.Port));
            await connection.SendAsync(RawHttpConnection.Get("/whoami"));
            var response = await connection.ReadResponseAsync();
            Assert.EndsWith($":{address.Port}", response.BodyText, StringComparison.Ordinal);
        }
    }

    /// <summary><c>GET /whoami</c> answers "remote {RemoteEndPoint} local {LocalEndPoint}" as the connection reports them.</summary>
    private static void MapWhoAmI(WebApplication app) =>
        app.MapGet("/whoami", (RequestDelegate)(context =>
        {
            var c = context.Connection;
            return context.Response.WriteAsync($"remote {new IPEndPoint(c.RemoteIpAddress!, c.RemotePort)} local {new IPEndPoint(c.LocalIpAddress!, c.LocalPort)}");
        }));
}

/// <summary><see cref="BindTests"/> on the epoll transport.</summary>
public sealed class EpollBindTests(ITestOutputHelper output) : BindTests(TransportKind.Epoll, output);

/// <summary><see cref="BindTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsBindTests(ITestOutputHelper output) : BindTests(TransportKind.Sockets, output);
