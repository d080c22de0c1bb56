using System.Net;
using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KestrelEpollTransport;

/// <summary>
/// Kestrel's entry into the epoll transport: binds listeners whose connections are served by epoll event loops.
/// Registered by <c>UseEpollTransport()</c>; Kestrel picks it for every endpoint <see cref="CanBind"/> accepts.
/// </summary>
/// <remarks>
/// All listeners of one factory share one group of event loops. The group starts with the first bind and stops
/// (its threads end) when the last listener is disposed, so a stopped host leaves no loop thread behind.
/// </remarks>
public sealed class EpollTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly EpollTransportOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly IMemoryPoolFactory<byte> _memoryPoolFactory;
    private readonly EpollTransportMetrics _metrics;

    /// <summary>Guards <see cref="_group"/> and <see cref="_groupUsers"/>.</summary>
    private readonly Lock _groupLock = new();

    /// <summary>The running loops, or null while no listener is bound.</summary>
    private EpollEventLoopGroup? _group;

    /// <summary>The loop group while any listener is bound, else null (for tests and diagnostics that read the loops).</summary>
    internal EpollEventLoopGroup? Group => Volatile.Read(ref _group);

    /// <summary>How many listeners use <see cref="_group"/>.</summary>
    private int _groupUsers;

    /// <summary>Creates the factory; called by dependency injection.</summary>
    /// <param name="options">The transport options (validated on access).</param>
    /// <param name="loggerFactory">Where the transport logs.</param>
    /// <param name="memoryPoolFactory">Kestrel's memory pool factory; each loop gets a pool of its own.</param>
    /// <param name="meterFactory">The host's meter factory, for the <c>KestrelEpollTransport</c> meter; optional.</param>
    /// <exception cref="PlatformNotSupportedException">The OS is not Linux.</exception>
    public EpollTransportFactory(IOptions<EpollTransportOptions> options, ILoggerFactory loggerFactory, IMemoryPoolFactory<byte> memoryPoolFactory, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(memoryPoolFactory);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException(
                $"KestrelEpollTransport runs on Linux only (it is built on epoll), and this is {RuntimeInformation.OSDescription}. " +
                "Use Kestrel's default Sockets transport here: remove the call to UseEpollTransport().");
        }
        _options = options.Value;
        _loggerFactory = loggerFactory;
        _memoryPoolFactory = memoryPoolFactory;
        _metrics = new EpollTransportMetrics(meterFactory, () => Volatile.Read(ref _group)?.RegistrationCount ?? 0);
    }

    /// <summary>
    /// True for the endpoints this transport serves: <see cref="IPEndPoint"/> (IPv4, IPv6, dual-mode),
    /// <see cref="UnixDomainSocketEndPoint"/>, and <see cref="FileHandleEndPoint"/> (a listening socket handed in by the
    /// host, e.g. systemd socket activation) unless it is marked as a pipe.
    /// </summary>
    /// <param name="endpoint">The endpoint Kestrel wants bound.</param>
    /// <returns>Whether <see cref="BindAsync"/> can bind it.</returns>
    public bool CanBind(EndPoint endpoint) => endpoint switch
    {
        IPEndPoint => true,
        UnixDomainSocketEndPoint => true,
        FileHandleEndPoint handle => handle.FileHandleType != FileHandleType.Pipe,
        _ => false,
    };

    /// <summary>Binds a listening socket to <paramref name="endpoint"/> and starts watching it.</summary>
    /// <param name="endpoint">Where to listen; port 0 picks a free port, reported back by the listener's <c>EndPoint</c>.
    /// A Unix socket path must not exist yet (we never delete a file we did not create); the file we create is removed
    /// on dispose. An inherited fd (<see cref="FileHandleEndPoint"/>) is never closed by us.</param>
    /// <param name="cancellationToken">Unused: binding does not wait.</param>
    /// <returns>The listener.</returns>
    /// <exception cref="AddressInUseException">The address is in use.</exception>
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!CanBind(endpoint))
        {
            throw new NotSupportedException($"The epoll transport cannot bind {endpoint.GetType().Name} '{endpoint}'.");
        }

        var group = AcquireGroup();
        try
        {
            var listener = EpollConnectionListener.Bind(endpoint, _options, group, ReleaseGroup, _loggerFactory);
            return new ValueTask<IConnectionListener>(listener);
        }
        catch
        {
            ReleaseGroup(group);
            throw;
        }
    }

    private EpollEventLoopGroup AcquireGroup()
    {
        lock (_groupLock)
        {
            _group ??= new EpollEventLoopGroup(_options, _memoryPoolFactory, _loggerFactory, _metrics);
            _groupUsers++;
            return _group;
        }
    }

    private void ReleaseGroup(EpollEventLoopGroup group)
    {
        lock (_groupLock)
        {
            if (_group != group || --_groupUsers > 0)
            {
                return;
            }
            _group = null;
        }
        group.Dispose();
    }
}
