using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.ProcessWide;

/// <summary>Graceful stop: requests in flight finish, then the host stops and leaves nothing behind.</summary>
public abstract class ShutdownTests(TransportKind transport, ITestOutputHelper output)
{
    [Fact]
    public async Task GracefulStop_RequestInFlight_RequestCompletesThenHostStopsAndReleasesEverything()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = await TestHost.StartAsync(transport, app => app.MapGet("/slow", (RequestDelegate)(async context =>
        {
            entered.SetResult();
            await release.Task.WithTimeout();
            await context.Response.WriteAsync("finished");
        })), output);
        try
        {
            var endPoint = host.EndPoint;
            if (transport == TransportKind.Epoll)
            {
                Assert.NotEmpty(ProcessResources.EpollLoopThreads());
            }
            using var connection = await RawHttpConnection.ConnectAsync(endPoint);
            await connection.SendAsync(RawHttpConnection.Get("/slow"));
            await entered.Task.WithTimeout();

            var stop = host.StopAsync();
            // Stopping unbinds first: new connections are refused while the request is still running.
            await Eventually.AssertAsync(() => TcpProbe.IsRefused(endPoint), () => $"{endPoint} still accepts connections during the stop");
            Assert.False(stop.IsCompleted, "The host stopped while a request was still in flight.");
            release.SetResult();
            var response = await connection.ReadResponseAsync();
            await stop.WithTimeout();

            output.WriteLine($"{transport}: response headers during the stop: {string.Join("; ", response.Headers)}");
            Assert.Equal(200, response.StatusCode);
            Assert.Equal("finished", response.BodyText);
            Assert.True(TcpProbe.IsRefused(endPoint), $"{endPoint} accepts connections after the stop.");
        }
        finally
        {
            await host.DisposeAsync();
        }

        await Eventually.AssertAsync(() => ProcessResources.EpollLoopThreads().Count == 0,
            () => $"loop threads left after the stop: {string.Join(", ", ProcessResources.EpollLoopThreads())}");
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, host.MemoryPool.Describe);
    }
}

/// <summary><see cref="ShutdownTests"/> on the epoll transport.</summary>
[Collection(ProcessWideTests.Name)]
public sealed class EpollShutdownTests(ITestOutputHelper output) : ShutdownTests(TransportKind.Epoll, output);

/// <summary><see cref="ShutdownTests"/> on Kestrel's Sockets transport.</summary>
[Collection(ProcessWideTests.Name)]
public sealed class SocketsShutdownTests(ITestOutputHelper output) : ShutdownTests(TransportKind.Sockets, output);
