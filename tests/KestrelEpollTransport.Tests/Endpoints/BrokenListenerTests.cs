using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Endpoints;

/// <summary>
/// A listener that can never accept again (here: its owner shut the listening socket down, so accept4 fails with
/// EINVAL while the listener is still bound) makes AcceptAsync throw, as Sockets lets such an error escape: Kestrel then
/// logs it as an error and stops accepting on that end point, instead of reading null as an orderly unbind.
/// </summary>
public sealed class BrokenListenerTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AcceptAsync_ListeningSocketShutDownByItsOwner_Throws()
    {
        using var socket = ListeningSocket();
        await using var host = TestHost.Build(TransportKind.Epoll, _ => { }, output);
        var listener = await host.ListenerFactory.BindAsync(new FileHandleEndPoint((ulong)socket.Handle, FileHandleType.Tcp)).AsTask().WithTimeout();
        try
        {
            var accept = listener.AcceptAsync().AsTask();

            // shutdown(SHUT_RD) on a listening socket stops it listening and wakes whoever waits on it.
            socket.Shutdown(SocketShutdown.Receive);

            var error = await Assert.ThrowsAsync<IOException>(() => accept.WithTimeout());
            Assert.Contains("(errno 22)", error.Message, StringComparison.Ordinal);
            Assert.Contains("cannot accept any more connections", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await listener.DisposeAsync().AsTask().WithTimeout();
        }
    }

    [Fact]
    public async Task Kestrel_ListenerBrokenWhileServing_LogsTheErrorAndStopsAcceptingThere()
    {
        using var socket = ListeningSocket();
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output, o =>
        {
            o.ConfigureKestrel = kestrel => kestrel.ListenHandle((ulong)socket.Handle);
            o.ConfigureBuilder = builder => builder.Logging.AddFakeLogging();
        });
        var collector = host.Services.GetFakeLogCollector();

        socket.Shutdown(SocketShutdown.Receive);

        await Eventually.AssertAsync(
            () => collector.GetSnapshot().Any(r => r.Level >= LogLevel.Error && r.Exception is IOException e && e.Message.Contains("(errno 22)", StringComparison.Ordinal)),
            () => "Kestrel logged no error for the broken listener: " + string.Join(" | ", collector.GetSnapshot().Select(r => $"{r.Level} {r.Category}: {r.Message}")));
    }

    private static Socket ListeningSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(16);
        return socket;
    }
}
