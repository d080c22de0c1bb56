using System.Net;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Stress.Server;

/// <summary>
/// The stress endpoints on Kestrel at 127.0.0.1, on the epoll transport or Sockets. <c>Stress serve</c> runs it in a
/// process of its own, so a test can lower its fd limit, send it SIGTERM, and read its CPU time and memory from
/// /proc: it prints one line when listening (<c>stress-serve: listening on http://127.0.0.1:PORT ...</c>), logs
/// warnings and errors to stdout with their event ids, and exits 0 after a graceful stop.
/// </summary>
internal sealed class StressServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TransportMeterWatcher _meter;

    private StressServer(WebApplication app, TransportMeterWatcher meter, StressEndpoints endpoints)
    {
        _app = app;
        _meter = meter;
        Endpoints = endpoints;
    }

    public StressEndpoints Endpoints { get; }

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

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
        await using var server = await StartAsync(options, LogLevel.Warning);
        var (soft, _) = ResourceLimits.OpenFiles();
        Console.WriteLine($"stress-serve: listening on http://{server.EndPoint} (transport {options.Transport}, pid {Environment.ProcessId}, open-file limit {soft})");
        await server._app.WaitForShutdownAsync();
        long errors = server.Endpoints.UnexpectedErrors;
        Console.WriteLine($"stress-serve: stopped (unexpected handler errors: {errors})");
        return errors == 0 ? 0 : 3;
    }

    /// <summary>Starts a server; logs at <paramref name="logLevel"/> and above go to the console.</summary>
    public static async Task<StressServer> StartAsync(ServeOptions options, LogLevel logLevel)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(logLevel);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, options.Port);
        });
        if (options.Transport == "epoll")
        {
            builder.WebHost.UseEpollTransport(epoll =>
            {
                if (options.Threads > 0)
                {
                    epoll.ThreadCount = options.Threads;
                }
            });
        }

        var meter = new TransportMeterWatcher();
        var app = builder.Build();
        var server = new StressServer(app, meter, new StressEndpoints(meter));
        server.Endpoints.Map(app);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        server.EndPoint = new IPEndPoint(IPAddress.Parse(address.Host), address.Port);
        return server;
    }

    /// <summary>Stops gracefully (bounded by the shutdown timeout).</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _meter.Dispose();
    }
}
