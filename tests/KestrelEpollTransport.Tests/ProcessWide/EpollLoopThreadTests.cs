using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.ProcessWide;

/// <summary>The epoll transport's threads: one per loop, named epoll-loop-N, gone after the stop. Epoll only.</summary>
[Collection(ProcessWideTests.Name)]
public sealed class EpollLoopThreadTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task LoopThreads_ThreadCountSet_ThatManyNamedLoopsWhileRunningNoneAfterStop(int threadCount)
    {
        await Eventually.AssertAsync(() => ProcessResources.EpollLoopThreads().Count == 0,
            () => $"loop threads before the host started: {string.Join(", ", ProcessResources.EpollLoopThreads())}");
        var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output,
            o => o.ConfigureEpoll = epoll => epoll.ThreadCount = threadCount);
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

        Assert.Equal(Enumerable.Range(0, threadCount).Select(i => $"epoll-loop-{i}").Order(StringComparer.Ordinal), running);
        await Eventually.AssertAsync(() => ProcessResources.EpollLoopThreads().Count == 0,
            () => $"loop threads after the stop: {string.Join(", ", ProcessResources.EpollLoopThreads())}");
    }
}
