using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Stress.Server;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>What a <see cref="ReliabilityHost"/> looks like beyond the defaults.</summary>
public sealed class ReliabilityHostOptions
{
    /// <summary>Applied to the epoll transport's options.</summary>
    public Action<EpollTransportOptions>? ConfigureEpoll { get; set; }

    /// <summary>Applied to Kestrel's options (limits, timeouts) after the defaults.</summary>
    public Action<KestrelServerOptions>? ConfigureKestrel { get; set; }

    /// <summary>Middleware that runs before the stress endpoints (a test's own endpoints).</summary>
    public Action<IApplicationBuilder>? ConfigureApp { get; set; }

    /// <summary>The least level logged (and captured). Defaults to Information; Debug shows Kestrel's connection events.</summary>
    public LogLevel MinimumLogLevel { get; set; } = LogLevel.Information;

    /// <summary>How long a stop waits for requests in flight. Defaults to 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Kestrel in this process on 127.0.0.1 port 0 with the chosen transport, serving the stress endpoints
/// (<see cref="StressEndpoints"/>), with a <see cref="LeakTrackingMemoryPoolFactory"/> as its memory pool (registered
/// after the transport) and its logs captured. Dispose stops it (bounded) and releases it.
/// </summary>
public sealed class ReliabilityHost : IAsyncDisposable
{
    /// <summary>An empty content root: no appsettings.json, no file watcher.</summary>
    private static readonly Lazy<string> EmptyContentRoot = new(() => Directory.CreateTempSubdirectory("epoll-reliability-").FullName);

    private readonly WebApplication _app;
    private readonly TransportMeterWatcher _meter;
    private bool _stopped;

    private ReliabilityHost(WebApplication app, TransportMeterWatcher meter, StressEndpoints endpoints, LeakTrackingMemoryPoolFactory memoryPool, LogCapture logs)
    {
        _app = app;
        _meter = meter;
        Endpoints = endpoints;
        MemoryPool = memoryPool;
        Logs = logs;
    }

    /// <summary>The server's memory pool: what it rented and returned.</summary>
    public LeakTrackingMemoryPoolFactory MemoryPool { get; }

    /// <summary>What the host logged.</summary>
    public LogCapture Logs { get; }

    /// <summary>The stress endpoints (their count of unexpected handler errors).</summary>
    internal StressEndpoints Endpoints { get; }

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

    public static async Task<ReliabilityHost> StartAsync(TransportKind transport, ITestOutputHelper? output, Action<ReliabilityHostOptions>? configure = null)
    {
        var options = new ReliabilityHostOptions();
        configure?.Invoke(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = EmptyContentRoot.Value,
            EnvironmentName = Environments.Production,
        });
        var logs = new LogCapture(output, options.MinimumLogLevel);
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        // Two Information lines per request ("Request starting", "Request finished"): kept, they would be the heap's
        // growth in a churn of 100,000 connections.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0);
            options.ConfigureKestrel?.Invoke(kestrel);
        });
        if (transport == TransportKind.Epoll)
        {
            builder.WebHost.UseEpollTransport(epoll => options.ConfigureEpoll?.Invoke(epoll));
        }
        else
        {
            builder.WebHost.UseSockets();
        }
        // Registered after the transport, so it is the pool the transport (and Kestrel) resolve.
        var memoryPool = new LeakTrackingMemoryPoolFactory();
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(memoryPool);

        var meter = new TransportMeterWatcher();
        var app = builder.Build();
        var endpoints = new StressEndpoints(meter);
        options.ConfigureApp?.Invoke(app);
        endpoints.Map(app);
        var host = new ReliabilityHost(app, meter, endpoints, memoryPool, logs);
        try
        {
            await app.StartAsync().WithTimeout();
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        host.EndPoint = new IPEndPoint(IPAddress.Parse(address.Host), address.Port);
        return host;
    }

    /// <summary>Stops gracefully (bounded).</summary>
    public async Task StopAsync()
    {
        _stopped = true;
        await _app.StopAsync().WithTimeout(Timeouts.Bulk);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            try
            {
                await _app.StopAsync().WithTimeout(Timeouts.Bulk);
            }
            catch (InvalidOperationException)
            {
                // Never started: nothing to stop.
            }
        }
        await _app.DisposeAsync().AsTask().WithTimeout();
        _meter.Dispose();
    }
}
