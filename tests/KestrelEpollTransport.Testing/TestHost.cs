using System.Net;
using KestrelEpollTransport;
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
using Xunit.Abstractions;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// A real ASP.NET Core app on Kestrel with the chosen transport, listening on 127.0.0.1 port 0, with a
/// <see cref="LeakTrackingMemoryPoolFactory"/> as its memory pool (unless <see cref="TestHostOptions.TrackMemoryPool"/>
/// is off). The tests' hosts, and the stress tool's server. Dispose stops it (bounded) and releases it.
/// </summary>
public sealed class TestHost : IAsyncDisposable
{
    /// <summary>
    /// An empty content root, so no appsettings.json (the sample's, copied next to the tests) is read. One folder for
    /// every process (nothing is ever written to it), so the stress server's many child processes leave none behind.
    /// </summary>
    private static readonly Lazy<string> EmptyContentRoot = new(() =>
        Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "kestrel-epoll-tests-empty-content-root")).FullName);

    private readonly WebApplication _app;
    private bool _stopped;

    /// <summary>The server's memory pool; null when it runs on Kestrel's own.</summary>
    private readonly LeakTrackingMemoryPoolFactory? _memoryPool;

    private TestHost(WebApplication app, LeakTrackingMemoryPoolFactory? memoryPool, TransportKind transport)
    {
        _app = app;
        _memoryPool = memoryPool;
        Transport = transport;
    }

    /// <summary>The transport this host runs on.</summary>
    public TransportKind Transport { get; }

    /// <summary>The server's memory pool, to check what it rented and returned.</summary>
    /// <exception cref="InvalidOperationException">The host runs on Kestrel's own pool (<see cref="TestHostOptions.TrackMemoryPool"/> off).</exception>
    public LeakTrackingMemoryPoolFactory MemoryPool =>
        _memoryPool ?? throw new InvalidOperationException("This host runs on Kestrel's own memory pool (TestHostOptions.TrackMemoryPool is off).");

    /// <summary>The first bound address as Kestrel reports it (<see cref="IServerAddressesFeature"/>), e.g. http://127.0.0.1:41234.</summary>
    /// <remarks>Null when the first endpoint is not a TCP address (a Unix socket, an inherited fd): see <see cref="Addresses"/>.</remarks>
    public Uri Address { get; private set; } = null!;

    /// <summary>The first bound address as an endpoint, for raw sockets; null when it is not an IP address.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary>Every bound address as Kestrel reports it, e.g. http://unix:/tmp/x.sock for a Unix socket.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    /// <summary>The app's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// The transport's factory as Kestrel resolves it (the last registered), wired to this host's options and
    /// memory pool; usable without starting the host, for tests of listeners and connections below HTTP.
    /// </summary>
    public IConnectionListenerFactory ListenerFactory => _app.Services.GetServices<IConnectionListenerFactory>().Last();

    /// <summary>Builds the app, lets <paramref name="configureApp"/> map its endpoints, and starts it.</summary>
    /// <param name="transport">The transport to run on.</param>
    /// <param name="configureApp">Maps the app's endpoints.</param>
    /// <param name="output">Where the server's warnings and errors go; null for nowhere.</param>
    /// <param name="configure">Changes to the defaults of <see cref="TestHostOptions"/>.</param>
    public static async Task<TestHost> StartAsync(
        TransportKind transport,
        Action<WebApplication> configureApp,
        ITestOutputHelper? output = null,
        Action<TestHostOptions>? configure = null)
    {
        var host = Build(transport, configureApp, output, configure);
        try
        {
            await host.StartBuiltAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Builds the app without starting it, for tests of a failing start.</summary>
    public static TestHost Build(
        TransportKind transport,
        Action<WebApplication> configureApp,
        ITestOutputHelper? output = null,
        Action<TestHostOptions>? configure = null)
    {
        var options = new TestHostOptions();
        configure?.Invoke(options);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // No file watchers: they would add inotify fds to the fd-leak test's counts.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = EmptyContentRoot.Value,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        if (output is not null)
        {
            builder.Logging.AddProvider(new TestOutputLoggerProvider(output));
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            if (options.ConfigureKestrel is not null)
            {
                options.ConfigureKestrel(kestrel);
            }
            else
            {
                kestrel.Listen(options.Address, options.Port);
            }
        });

        switch (transport)
        {
            case TransportKind.Epoll:
                builder.WebHost.UseEpollTransport(epoll =>
                {
                    if (options.MaxWriteBufferSize is { } maxWrite)
                    {
                        epoll.MaxWriteBufferSize = maxWrite;
                    }
                    options.ConfigureEpoll?.Invoke(epoll);
                });
                break;
            case TransportKind.Sockets:
                builder.WebHost.UseSockets(sockets =>
                {
                    if (options.MaxWriteBufferSize is { } maxWrite)
                    {
                        sockets.MaxWriteBufferSize = maxWrite;
                    }
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(transport), transport, null);
        }

        // Registered last, so it is the one both transports (and Kestrel) resolve.
        var memoryPool = options.TrackMemoryPool ? new LeakTrackingMemoryPoolFactory() : null;
        if (memoryPool is not null)
        {
            builder.Services.AddSingleton<IMemoryPoolFactory<byte>>(memoryPool);
        }
        options.ConfigureBuilder?.Invoke(builder);

        var app = builder.Build();
        configureApp(app);
        return new TestHost(app, memoryPool, transport);
    }

    /// <summary>Starts a host made by <see cref="Build"/>.</summary>
    public async Task StartBuiltAsync()
    {
        await _app.StartAsync().WithTimeout();
        var addresses = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        Addresses = addresses.ToList();
        // Kestrel names a Unix socket "http://unix:/path" and an inherited fd "http://<file handle>": no IP end point.
        if (Uri.TryCreate(Addresses[0], UriKind.Absolute, out var address) && IPAddress.TryParse(address.DnsSafeHost, out var ip))
        {
            Address = address;
            EndPoint = new IPEndPoint(ip, address.Port);
        }
    }

    /// <summary>Waits until the host is asked to stop (SIGTERM, Ctrl+C) and has stopped: a server's main loop.</summary>
    public async Task WaitForShutdownAsync()
    {
        await _app.WaitForShutdownAsync();
        _stopped = true;
    }

    /// <summary>Stops the host gracefully: unbinds, waits for requests in flight (up to the shutdown timeout).</summary>
    public async Task StopAsync()
    {
        _stopped = true;
        await _app.StopAsync().WithTimeout(Timeouts.Bulk);
    }

    /// <summary>Stops the host if a test has not, and releases it.</summary>
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
                // The host never started (a test of a failing start): there is nothing to stop.
            }
        }
        await _app.DisposeAsync().AsTask().WithTimeout();
    }
}
