using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

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
