using KestrelEpollTransport.Tests.Infrastructure;
using KestrelEpollTransport.Tests.ProcessWide;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// <c>Kestrel:EpollTransport:ThreadCount</c> from configuration decides how many loop threads run. It counts the
/// process's epoll-loop-N threads, so it runs with the process-wide tests, alone. Epoll only.
/// </summary>
[Collection(ProcessWideTests.Name)]
public sealed class ConfigurationThreadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Configuration_ThreadCount3_ThreeLoopThreadsRunNoneAfterStop()
    {
        await Eventually.AssertAsync(() => ProcessResources.EpollLoopThreads().Count == 0,
            () => $"loop threads before the host started: {string.Join(", ", ProcessResources.EpollLoopThreads())}");
        var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output, o => o.ConfigureBuilder = builder =>
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Kestrel:EpollTransport:ThreadCount"] = "3" }));
        IReadOnlyList<string> running;
        try
        {
            using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
            await connection.SendAsync(RawHttpConnection.Get("/"));
            Assert.Equal(200, (await connection.ReadResponseAsync()).StatusCode);
            running = ProcessResources.EpollLoopThreads();
        }
        finally
        {
            await host.DisposeAsync();
        }

        Assert.Equal(["epoll-loop-0", "epoll-loop-1", "epoll-loop-2"], running);
        await Eventually.AssertAsync(() => ProcessResources.EpollLoopThreads().Count == 0,
            () => $"loop threads after the stop: {string.Join(", ", ProcessResources.EpollLoopThreads())}");
    }
}
