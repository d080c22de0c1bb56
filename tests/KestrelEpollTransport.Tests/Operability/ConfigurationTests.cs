using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Operability;

/// <summary>
/// The epoll transport's options from configuration, section <c>Kestrel:EpollTransport</c> (here an in-memory source,
/// as appsettings.json, environment variables or the command line would give it): bound, overridden by code, and a
/// value that does not parse fails the start naming the key. Epoll only: the Sockets transport binds no configuration.
/// </summary>
public sealed class ConfigurationTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Configuration_EverySetting_BoundToTheOptionsTheHostRuns()
    {
        await using var host = await StartAsync(new()
        {
            ["Kestrel:EpollTransport:ThreadCount"] = "3",
            ["Kestrel:EpollTransport:Backlog"] = "7",
            ["Kestrel:EpollTransport:NoDelay"] = "false",
            ["Kestrel:EpollTransport:MaxReadBufferSize"] = "131072",
            ["Kestrel:EpollTransport:MaxWriteBufferSize"] = "",
            ["Kestrel:EpollTransport:FdHeadroom"] = "64",
            ["Kestrel:EpollTransport:UnsafePreferInlineScheduling"] = "true",
        });
        var options = host.Services.GetRequiredService<IOptions<EpollTransportOptions>>().Value;

        Assert.Equal(3, options.ThreadCount);
        Assert.Equal(7, options.Backlog);
        Assert.False(options.NoDelay);
        Assert.Equal(131072, options.MaxReadBufferSize);
        Assert.Null(options.MaxWriteBufferSize); // empty: unlimited, as for the Sockets transport's options
        Assert.Equal(64, options.FdHeadroom);
        Assert.True(options.UnsafePreferInlineScheduling);
        await AssertServesAsync(host);
    }

    [Fact]
    public async Task Configuration_CodeSetsSomeOptions_CodeWinsConfigurationFillsTheRest()
    {
        await using var host = await StartAsync(new()
        {
            ["Kestrel:EpollTransport:ThreadCount"] = "3",
            ["Kestrel:EpollTransport:Backlog"] = "7",
            ["Kestrel:EpollTransport:MaxWriteBufferSize"] = "1000",
        }, epoll =>
        {
            epoll.ThreadCount = 2;
            epoll.MaxWriteBufferSize = 4096;
        });
        var options = host.Services.GetRequiredService<IOptions<EpollTransportOptions>>().Value;

        Assert.Equal(2, options.ThreadCount);
        Assert.Equal(4096, options.MaxWriteBufferSize);
        Assert.Equal(7, options.Backlog);
        Assert.Equal(1024 * 1024, options.MaxReadBufferSize); // neither set it: the default
        await AssertServesAsync(host);
    }

    public static TheoryData<string, string, string> Unparsable => new()
    {
        { "ThreadCount", "abc", "Kestrel:EpollTransport:ThreadCount (EpollTransportOptions.ThreadCount) must be an integer; it is 'abc'." },
        { "Backlog", "1.5", "Kestrel:EpollTransport:Backlog (EpollTransportOptions.Backlog) must be an integer; it is '1.5'." },
        { "NoDelay", "yes", "Kestrel:EpollTransport:NoDelay (EpollTransportOptions.NoDelay) must be true or false; it is 'yes'." },
        { "MaxReadBufferSize", "1MB", "Kestrel:EpollTransport:MaxReadBufferSize (EpollTransportOptions.MaxReadBufferSize) must be a byte count (or empty for unlimited); it is '1MB'." },
        { "MaxWriteBufferSize", "64k", "Kestrel:EpollTransport:MaxWriteBufferSize (EpollTransportOptions.MaxWriteBufferSize) must be a byte count (or empty for unlimited); it is '64k'." },
        { "UnsafePreferInlineScheduling", "1", "Kestrel:EpollTransport:UnsafePreferInlineScheduling (EpollTransportOptions.UnsafePreferInlineScheduling) must be true or false; it is '1'." },
    };

    [Theory]
    [MemberData(nameof(Unparsable))]
    public async Task Configuration_UnparsableValue_StartFailsNamingTheKey(string key, string value, string expectedMessage)
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { [$"Kestrel:EpollTransport:{key}"] = value }));

        output.WriteLine(e.Message);
        Assert.Equal(expectedMessage, Assert.Single(e.Failures));
        Assert.Equal(typeof(EpollTransportOptions), e.OptionsType);
    }

    [Fact]
    public async Task Configuration_ParsableButInvalidValue_ValidationNamesTheOption()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new()
        {
            ["Kestrel:EpollTransport:ThreadCount"] = "0",
            ["Kestrel:EpollTransport:Backlog"] = "-1",
        }));

        output.WriteLine(e.Message);
        Assert.Contains("EpollTransportOptions.ThreadCount must be between 1 and 256; it is 0.", e.Failures);
        Assert.Contains("EpollTransportOptions.Backlog must be at least 1; it is -1.", e.Failures);
    }

    private Task<TestHost> StartAsync(Dictionary<string, string?> settings, Action<EpollTransportOptions>? code = null) =>
        TestHost.StartAsync(TransportKind.Epoll, TestApp.MapStandardRoutes, output, o =>
        {
            o.ConfigureBuilder = builder => builder.Configuration.AddInMemoryCollection(settings);
            o.ConfigureEpoll = code;
        });

    private static async Task AssertServesAsync(TestHost host)
    {
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);
        await connection.SendAsync(RawHttpConnection.Get("/"));
        Assert.Equal(TestApp.MagePage, (await connection.ReadResponseAsync()).Body);
    }
}
