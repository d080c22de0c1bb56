using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// How <c>UseEpollTransport</c> registers its factory: beside the Sockets transport that <c>UseKestrel</c> registered
/// first (Kestrel asks the last registered factory first, so epoll serves what it can bind), and once however often it
/// is called (TryAdd, as Kestrel's own transports register).
/// </summary>
public sealed class TransportRegistrationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(TransportKind.Epoll, "no socket feature")]
    [InlineData(TransportKind.Sockets, "socket feature")]
    public async Task UseTransport_AfterKestrelRegisteredSockets_ThatTransportServesTheRequest(TransportKind transport, string expected)
    {
        // The builder's UseKestrel registered the Sockets factory before UseEpollTransport ran, as in every web app.
        // Only the Sockets transport offers IConnectionSocketFeature: the control row shows the check can tell.
        await using var host = await TestHost.StartAsync(transport, app => app.MapGet("/", (HttpContext context) =>
            context.Features.Get<IConnectionSocketFeature>() is null ? "no socket feature" : "socket feature"), output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        await connection.SendAsync(RawHttpConnection.Get("/"));

        Assert.Equal(expected, (await connection.ReadResponseAsync()).BodyText);
        var factories = host.Services.GetServices<IConnectionListenerFactory>().ToList();
        Assert.Contains(factories, factory => factory is SocketTransportFactory);
        Assert.Equal(transport == TransportKind.Epoll, factories[^1] is EpollTransportFactory);
    }

    [Fact]
    public async Task UseEpollTransport_CalledTwice_OneFactoryRegisteredAndBothConfigurationsApplied()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseEpollTransport(options => options.Backlog = 7);
        builder.WebHost.UseEpollTransport(options => options.ThreadCount = 3);
        await using var app = builder.Build();

        Assert.Single(app.Services.GetServices<IConnectionListenerFactory>().OfType<EpollTransportFactory>());
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<EpollTransportOptions>>().Value;
        Assert.Equal(7, options.Backlog);
        Assert.Equal(3, options.ThreadCount);
    }
}
