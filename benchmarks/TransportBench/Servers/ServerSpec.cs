namespace TransportBench.Servers;

/// <summary>One server under test: SampleWeb with a transport switch and environment, or the in-memory floor.
/// Everything not named here is identical for all servers (same binary, CPUs, DOTNET_PROCESSOR_COUNT, GC settings, log
/// levels).</summary>
/// <param name="Name">Report name; "sockets" is the baseline every ratio refers to.</param>
/// <param name="Transport">SampleWeb's <c>--transport</c> value; null for the in-memory floor.</param>
/// <param name="Environment">Variables set (value) or removed (null) for this server's process.</param>
/// <param name="Arguments">Extra SampleWeb arguments (configuration overrides).</param>
internal sealed record ServerSpec(
    string Name,
    string? Transport,
    IReadOnlyDictionary<string, string?> Environment,
    IReadOnlyList<string> Arguments)
{
    /// <summary>The server every ratio is computed against.</summary>
    public const string BaselineName = "sockets";
    /// <summary>The in-memory floor's name: Kestrel and the app without sockets, the reference of the CPU breakdown.</summary>
    public const string FloorName = "floor";
    /// <summary>True for the in-memory floor: Kestrel and the app, no sockets, no kernel.</summary>
    public bool IsFloor => Transport is null;

    /// <summary>The epoll event loops this server asks for (<c>--threads</c>), or null for the transport's default.</summary>
    public int? ThreadCount { get; init; }

    /// <summary>The servers to run, in the order they alternate within a round.</summary>
    public static IReadOnlyList<ServerSpec> Create(BenchOptions options)
    {
        // One environment for all, but for the one variable that defines a server.
        ServerSpec Spec(string name, string? transport, string? argument = null, string? variable = null)
        {
            var environment = new Dictionary<string, string?>
            {
                ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = null,
                ["DOTNET_PROCESSOR_COUNT"] = options.ProcessorCount?.ToString(CultureInfo.InvariantCulture),
                // Production settings whatever the caller's shell says.
                ["ASPNETCORE_ENVIRONMENT"] = null,
                ["DOTNET_ENVIRONMENT"] = null,
                ["DOTNET_gcServer"] = null,
            };
            if (variable is not null)
            {
                environment[variable] = "1";
            }
            return new(name, transport, environment, argument is null ? [] : [argument]);
        }

        return [.. options.Servers.SelectMany(name => name switch
        {
            "sockets" => [Spec(name, "sockets")],
            // The TechEmpower pairing: UnsafePreferInlineScheduling (SampleWeb sets it for this switch) plus inline socket
            // completions, read by the runtime at start-up.
            "sockets-tuned" => [Spec(name, "sockets-tuned", variable: "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS")],
            "epoll" when options.Threads is { Count: > 0 } threads => threads.Select(count => Spec(
                string.Create(CultureInfo.InvariantCulture, $"epoll-t{count}"), "epoll",
                string.Create(CultureInfo.InvariantCulture, $"--Kestrel:EpollTransport:ThreadCount={count}")) with { ThreadCount = count }),
            "epoll" => [Spec(name, "epoll")],
            // The app on the event loop, no thread-pool hop: epoll's counterpart of sockets-tuned.
            "epoll-inline" => [Spec(name, "epoll", "--Kestrel:EpollTransport:UnsafePreferInlineScheduling=true")],
            // SampleWeb is a Web SDK app, whose runtimeconfig asks for server GC; the load helper is not, so the floor
            // asks through the environment to run under the same GC settings.
            FloorName => [Spec(name, null, variable: "DOTNET_gcServer")],
            _ => throw new ArgumentException($"Unknown server '{name}'.", nameof(options)),
        })];
    }
}
