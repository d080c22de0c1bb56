using System.Net;
using KestrelEpollTransport.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Stress.Server;

/// <summary>
/// The stress endpoints on Kestrel at 127.0.0.1, on the epoll transport or Sockets, in a <see cref="TestHost"/>: on
/// Kestrel's own memory pool when the tool runs it (its memory figures are production's), on the leak-tracking pool
/// in the reliability tests' in-process host. <c>Stress serve</c> runs it in a process of its own, so a test can lower its fd limit, send it SIGTERM, and read its CPU time and memory from /proc: it prints one
/// line when listening (<c>stress-serve: listening on http://127.0.0.1:PORT ...</c>), logs warnings and errors to
/// stdout with their event ids, and exits 0 after a graceful stop.
/// </summary>
internal sealed class StressServer : IAsyncDisposable
{
    private readonly TransportMeterWatcher _meter;

    private StressServer(TestHost host, TransportMeterWatcher meter, StressEndpoints endpoints)
    {
        Host = host;
        _meter = meter;
        Endpoints = endpoints;
    }

    public StressEndpoints Endpoints { get; }

    /// <summary>The host: its services, and its memory pool when it tracks one.</summary>
    public TestHost Host { get; }

    /// <summary>Kestrel's active connections now (either transport): 0 once every connection was disposed.</summary>
    public long ActiveConnections => _meter.KestrelActive;

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint => Host.EndPoint;

    /// <summary><c>Stress serve</c>: starts, prints where it listens, and runs until SIGTERM or Ctrl+C.</summary>
    public static async Task<int> ServeAsync(ServeOptions options)
    {
        if (options.StartTimerThread)
        {
            await Task.Delay(1);
        }
        if (options.MaxOpenFiles > 0)
        {
            ResourceLimits.SetOpenFiles((ulong)options.MaxOpenFiles, (ulong)options.MaxOpenFiles);
        }
        else
        {
            ResourceLimits.RaiseOpenFilesLimit();
        }
        using var canary = options.FdCanary ? new FdCanary() : null;
        await using var server = await StartAsync(options, LogLevel.Warning, canary);
        var (soft, _) = ResourceLimits.OpenFiles();
        Console.WriteLine($"stress-serve: listening on http://{server.EndPoint} (transport {options.Transport}, pid {Environment.ProcessId}, open-file limit {soft})");
        await server.Host.WaitForShutdownAsync();
        long errors = server.Endpoints.UnexpectedErrors;
        Console.WriteLine($"stress-serve: stopped (unexpected handler errors: {errors})");
        return errors == 0 ? 0 : 3;
    }

    /// <summary>
    /// The server of <c>Stress serve</c> and of an in-process <c>Stress run</c>: on Kestrel's own memory pool, its logs
    /// at <paramref name="logLevel"/> and above to the console.
    /// </summary>
    public static Task<StressServer> StartAsync(ServeOptions options, LogLevel logLevel, FdCanary? canary = null) =>
        StartAsync(options.Transport == "epoll" ? TransportKind.Epoll : TransportKind.Sockets, host =>
        {
            host.Port = options.Port;
            if (options.Host == "localhost")
            {
                // What ListenLocalhost binds (a listener per loopback address), with the addresses printed as IPs.
                host.ConfigureKestrel = kestrel =>
                {
                    kestrel.Listen(IPAddress.Loopback, options.Port);
                    kestrel.Listen(IPAddress.IPv6Loopback, options.Port);
                };
            }
            host.ShutdownTimeout = options.ShutdownTimeout;
            host.TrackMemoryPool = false;
            host.ConfigureEpoll = epoll =>
            {
                if (options.Threads > 0)
                {
                    epoll.ThreadCount = options.Threads;
                }
            };
            host.ConfigureBuilder = builder =>
            {
                builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
                builder.Logging.SetMinimumLevel(logLevel);
            };
        }, canary: canary);

    /// <summary>
    /// Starts the stress endpoints on a <see cref="TestHost"/> that <paramref name="configureHost"/> shapes (the
    /// reliability tests' host: the leak-tracking pool, captured logs); <paramref name="configureApp"/>'s middleware,
    /// when given, runs before the endpoints (a test's own endpoints).
    /// </summary>
    public static async Task<StressServer> StartAsync(TransportKind transport, Action<TestHostOptions> configureHost, Action<IApplicationBuilder>? configureApp = null, FdCanary? canary = null)
    {
        // Before the host is built, so it sees the transport's instruments from the first connection on.
        var meter = new TransportMeterWatcher();
        var endpoints = new StressEndpoints(meter, canary);
        try
        {
            var host = await TestHost.StartAsync(transport, app =>
            {
                configureApp?.Invoke(app);
                endpoints.Map(app);
            }, output: null, configureHost);
            return new StressServer(host, meter, endpoints);
        }
        catch
        {
            meter.Dispose();
            throw;
        }
    }

    /// <summary>Stops gracefully (bounded by the shutdown timeout).</summary>
    public Task StopAsync() => Host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        _meter.Dispose();
    }
}
