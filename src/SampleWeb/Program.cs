using KestrelEpollTransport;
using Microsoft.Extensions.Options;
using SampleWeb;

// The magedu page over Kestrel on the epoll transport. `dotnet run` listens on http://localhost:9999 (the port of the
// teaching server); `--urls` overrides it, `--transport epoll|sockets|sockets-tuned` picks the transport.
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
{
    Args = args,
    // The app's own folder, so appsettings.json is found whatever the working directory.
    ContentRootPath = AppContext.BaseDirectory,
});

if (string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    builder.WebHost.UseUrls("http://localhost:9999");
}

// systemd socket activation: with LISTEN_FDS and LISTEN_PID (this process) set, serve the listening sockets systemd
// passes from fd 3 instead of the configured URLs. Without them (the usual case) this does nothing.
builder.WebHost.ConfigureKestrel(kestrel => kestrel.UseSystemd());

// HTTPS endpoints from configuration (Kestrel:Endpoints:NAME:Url=https://…, with a Certificate:Path): the slim builder
// leaves this out. The benchmark runner's TLS scenarios start the sample this way.
builder.WebHost.UseKestrelHttpsConfiguration();

var transport = ParseTransport(builder.Configuration["Transport"]);
switch (transport)
{
    case TransportChoice.Epoll:
        // Options come from the configuration section Kestrel:EpollTransport, e.g. --Kestrel:EpollTransport:ThreadCount=2.
        builder.WebHost.UseEpollTransport();
        break;
    case TransportChoice.SocketsTuned:
        // The TechEmpower pairing: inline scheduling here, plus DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 in the
        // environment (read by the runtime at start-up, so it cannot be set from here).
        builder.WebHost.UseSockets(options => options.UnsafePreferInlineScheduling = true);
        break;
    default:
        // Kestrel's default transport: nothing to register.
        break;
}

var app = builder.Build();

app.MapGet("/", (RequestDelegate)(context => WriteAsync(context, "text/html; charset=utf-8", MagePage.Html)));
app.MapGet("/plaintext", (RequestDelegate)(context => WriteAsync(context, "text/plain", MagePage.Plaintext)));
app.MapGet("/json", (RequestDelegate)(context => WriteAsync(context, "application/json", MagePage.Json)));
app.MapGet("/large", (RequestDelegate)(context => WriteAsync(context, "application/octet-stream", MagePage.Large)));

// Response and request shapes of real apps under /shapes/ (ShapeEndpoints.cs), for the benchmark runner. Off unless
// asked for (--SampleWeb:Shapes=true).
if (app.Configuration.GetValue("SampleWeb:Shapes", false))
{
    app.MapShapes();
}

app.Lifetime.ApplicationStarted.Register(() =>
{
    var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SampleWeb");
    string description = transport switch
    {
        TransportChoice.Epoll => $"epoll ({app.Services.GetRequiredService<IOptions<EpollTransportOptions>>().Value.ThreadCount} event loops)",
        TransportChoice.SocketsTuned => $"sockets-tuned (inline scheduling, DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS={Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") ?? "unset"})",
        _ => "sockets (Kestrel's default)",
    };
    SampleLog.Started(logger, description, Environment.ProcessorCount, System.Runtime.GCSettings.IsServerGC, string.Join(", ", app.Urls));
});

app.Run();

// Pre-encoded bytes and a RequestDelegate: a `() => Results.Bytes(...)` lambda adds work and allocations per request
// of the order of the transport's own, which would hide the transport in benchmarks.
static Task WriteAsync(HttpContext context, string contentType, byte[] body)
{
    var response = context.Response;
    response.StatusCode = StatusCodes.Status200OK;
    response.ContentType = contentType;
    response.ContentLength = body.Length;
    return response.Body.WriteAsync(body, 0, body.Length);
}

static TransportChoice ParseTransport(string? value) => value?.ToLowerInvariant() switch
{
    null or "" or "epoll" => TransportChoice.Epoll,
    "sockets" => TransportChoice.Sockets,
    "sockets-tuned" => TransportChoice.SocketsTuned,
    _ => throw new ArgumentException($"Unknown transport '{value}': use --transport epoll, sockets or sockets-tuned."),
};

/// <summary>The transports the sample can run on, picked by the <c>Transport</c> setting.</summary>
internal enum TransportChoice
{
    Epoll,
    Sockets,
    SocketsTuned,
}

