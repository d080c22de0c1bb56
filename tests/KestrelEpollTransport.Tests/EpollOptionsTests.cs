using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests;

/// <summary>The epoll transport's options: defaults, and invalid values failing the start. Epoll only.</summary>
public sealed class EpollOptionsTests(ITestOutputHelper output)
{
    public static TheoryData<string, Action<EpollTransportOptions>, string> InvalidOptions => new()
    {
        { "ThreadCount 0", o => o.ThreadCount = 0, "EpollTransportOptions.ThreadCount must be between 1 and 256; it is 0." },
        { "ThreadCount 257", o => o.ThreadCount = 257, "EpollTransportOptions.ThreadCount must be between 1 and 256; it is 257." },
        { "Backlog 0", o => o.Backlog = 0, "EpollTransportOptions.Backlog" },
        { "MaxReadBufferSize -1", o => o.MaxReadBufferSize = -1, "EpollTransportOptions.MaxReadBufferSize" },
        { "MaxWriteBufferSize -1", o => o.MaxWriteBufferSize = -1, "EpollTransportOptions.MaxWriteBufferSize" },
        { "FdHeadroom 15", o => o.FdHeadroom = 15, "EpollTransportOptions.FdHeadroom must be null (the default) or at least 16; it is 15." },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public async Task Start_InvalidOption_ThrowsOptionsValidationExceptionNamingIt(string name, Action<EpollTransportOptions> invalidate, string expectedMessage)
    {
        // Building and starting as one step, as a user's `builder.Build(); app.Run();` does: the epoll factory reads
        // its options when it is constructed, and WebApplication constructs the server (and so the factory) in
        // Build(), so the failure comes from Build() rather than from StartAsync().
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output, o => o.ConfigureEpoll = invalidate));

        output.WriteLine($"{name}: {e.Message}");
        Assert.Contains(expectedMessage, e.Message, StringComparison.Ordinal);
        Assert.Equal(typeof(EpollTransportOptions), e.OptionsType);
    }

    [Fact]
    public async Task Start_InvalidOption_NoLoopThreadIsLeftBehind()
    {
        await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output, o => o.ConfigureEpoll = e => e.ThreadCount = 257));

        // Validation runs before anything binds, so no loop is ever created. Other tests' hosts may run loops at
        // the same time, so this looks for a loop numbered past what any of them uses rather than for none.
        Assert.DoesNotContain(ProcessResources.EpollLoopThreads(), t => t == "epoll-loop-256");
    }

    [Fact]
    public void Defaults_AsDocumented()
    {
        var options = new EpollTransportOptions();

        Assert.Equal(Math.Clamp(Environment.ProcessorCount / 2, 1, 16), options.ThreadCount);
        Assert.Equal(512, options.Backlog);
        Assert.True(options.NoDelay);
        Assert.Equal(1024 * 1024, options.MaxReadBufferSize);
        Assert.Equal(64 * 1024, options.MaxWriteBufferSize);
        Assert.False(options.UnsafePreferInlineScheduling);
    }

    [Fact]
    public async Task UnsafePreferInlineScheduling_On_ServesRequests()
    {
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output,
            o => o.ConfigureEpoll = e => e.UnsafePreferInlineScheduling = true);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        for (int i = 0; i < 100; i++)
        {
            await connection.SendAsync(RawHttpConnection.Get("/"));
            var response = await connection.ReadResponseAsync();
            Assert.Equal(TestApp.MagePage, response.Body);
        }
    }
}
