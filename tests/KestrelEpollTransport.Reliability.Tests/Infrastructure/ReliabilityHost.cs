using System.Net;
using Microsoft.Extensions.Logging;
using Stress.Server;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// The stress server (<see cref="StressServer"/>: the stress endpoints on a <see cref="TestHost"/>, Kestrel in this
/// process on 127.0.0.1 port 0 with the chosen transport) with a <see cref="LeakTrackingMemoryPoolFactory"/> as its
/// memory pool and its logs captured. Dispose stops it (bounded) and releases it.
/// </summary>
public sealed class ReliabilityHost : IAsyncDisposable
{
    private readonly StressServer _server;

    private ReliabilityHost(StressServer server, LogCapture logs)
    {
        _server = server;
        Logs = logs;
    }

    /// <summary>The server's memory pool: what it rented and returned.</summary>
    public LeakTrackingMemoryPoolFactory MemoryPool => _server.Host.MemoryPool;

    /// <summary>What the host logged.</summary>
    public LogCapture Logs { get; }

    /// <summary>The stress endpoints (their count of unexpected handler errors).</summary>
    internal StressEndpoints Endpoints => _server.Endpoints;

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _server.Host.Services;

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint => _server.EndPoint;

    /// <summary>Kestrel's active connections now (either transport): 0 once Kestrel disposed every connection.</summary>
    public long ActiveConnections => _server.ActiveConnections;

    public static async Task<ReliabilityHost> StartAsync(TransportKind transport, ITestOutputHelper? output, Action<ReliabilityHostOptions>? configure = null)
    {
        var options = new ReliabilityHostOptions();
        configure?.Invoke(options);
        var logs = new LogCapture(output, options.MinimumLogLevel);
        var server = await StressServer.StartAsync(transport, host =>
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
                // Two Information lines per request ("Request starting", "Request finished"): kept, they would be the
                // heap's growth in a churn of 100,000 connections.
                builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
            };
        }, options.ConfigureApp);
        return new ReliabilityHost(server, logs);
    }

    /// <summary>Stops gracefully (bounded).</summary>
    public Task StopAsync() => _server.StopAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
