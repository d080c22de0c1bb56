using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace KestrelEpollTransport.Testing;

/// <summary>What a test host looks like: everything but the transport is the same for both transports.</summary>
public sealed class TestHostOptions
{
    /// <summary>The address to listen on. Defaults to 127.0.0.1.</summary>
    public IPAddress Address { get; set; } = IPAddress.Loopback;

    /// <summary>The port to listen on. Defaults to 0 (a free port, read back after start).</summary>
    public int Port { get; set; }

    /// <summary>Applied to both transports' <c>MaxWriteBufferSize</c> when set; else each keeps its default (64 KiB).</summary>
    public long? MaxWriteBufferSize { get; set; }

    /// <summary>Applied to the epoll transport only, after the settings above.</summary>
    public Action<EpollTransportOptions>? ConfigureEpoll { get; set; }

    /// <summary>
    /// How long a stop waits for requests in flight before Kestrel aborts them. Defaults to 30 s, so a stop that
    /// returns early is visibly not waiting.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether both transports (and Kestrel) take their blocks from a <see cref="LeakTrackingMemoryPoolFactory"/>, the
    /// host's <see cref="TestHost.MemoryPool"/>. Defaults to true; false keeps Kestrel's own pool, for a server whose
    /// memory figures must be production's (<c>Stress serve</c>).
    /// </summary>
    public bool TrackMemoryPool { get; set; } = true;

    /// <summary>
    /// Used instead of <c>Listen(Address, Port)</c> to set up the endpoint, e.g. with a connection handler in
    /// place of HTTP.
    /// </summary>
    public Action<KestrelServerOptions>? ConfigureKestrel { get; set; }

    /// <summary>
    /// Applied to the app's builder last, before it is built: configuration sources, logging providers and levels,
    /// services (e.g. a configuration section the transport binds, or a log collector).
    /// </summary>
    public Action<WebApplicationBuilder>? ConfigureBuilder { get; set; }
}
