using System.Net;
using Microsoft.Extensions.Logging;
using Stress.Server;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// A <see cref="TestHost"/> (Kestrel in this process on 127.0.0.1 port 0, the chosen transport, a
/// <see cref="LeakTrackingMemoryPoolFactory"/> as its memory pool) serving the stress endpoints
/// (<see cref="StressEndpoints"/>), with its logs captured. Dispose stops it (bounded) and releases it.
/// </summary>
public sealed class ReliabilityHost : IAsyncDisposable
{
    private readonly TestHost _host;
    private readonly TransportMeterWatcher _meter;

    private ReliabilityHost(TestHost host, TransportMeterWatcher meter, StressEndpoints endpoints, LogCapture logs)
    {
        _host = host;
        _meter = meter;
        Endpoints = endpoints;
        Logs = logs;
    }

    /// <summary>The server's memory pool: what it rented and returned.</summary>
    public LeakTrackingMemoryPoolFactory MemoryPool => _host.MemoryPool;

    /// <summary>What the host logged.</summary>
    public LogCapture Logs { get; }

    /// <summary>The stress endpoints (their count of unexpected handler errors).</summary>
    internal StressEndpoints Endpoints { get; }

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint => _host.EndPoint;

    public static async Task<ReliabilityHost> StartAsync(TransportKind transport, ITestOutputHelper? output, Action<ReliabilityHostOptions>? configure = null)
    {
        var options = new ReliabilityHostOptions();
        configure?.Invoke(options);
        var logs = new LogCapture(output, options.MinimumLogLevel);
        // Before the host is built, so it sees the transport's instruments from the first connection on.
        var meter = new TransportMeterWatcher();
        var endpoints = new StressEndpoints(meter);
        try
        {
            var host = await TestHost.StartAsync(transport, app =>
            {
                options.ConfigureApp?.Invoke(app);
                endpoints.Map(app);
            }, output: null, host =>
            {
                host.ShutdownTimeout = options.ShutdownTimeout;
                host.ConfigureEpoll = options.ConfigureEpoll;
                host.ConfigureKestrel = kestrel =>
                {
                    kestrel.Listen(IPAddress.Loopback, 0);
                    options.ConfigureKestrel?.Invoke(kestrel);
                };
                host.ConfigureBuilder = builder =>
                {
                    builder.Logging.AddProvider(logs);
                    builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
                    // Two Information lines per request ("Request starting", "Request finished"): kept, they would
                    // be the heap's growth in a churn of 100,000 connections.
                    builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
                };
            });
            return new ReliabilityHost(host, meter, endpoints, logs);
        }
        catch
        {
            meter.Dispose();
            throw;
        }
    }

    /// <summary>Stops gracefully (bounded).</summary>
    public Task StopAsync() => _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        _meter.Dispose();
    }
}
