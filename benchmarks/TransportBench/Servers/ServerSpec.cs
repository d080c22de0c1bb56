namespace TransportBench.Servers;

/// <summary>One server under test: SampleWeb with a transport (null: the floor), environment (null: removed) and arguments.</summary>
internal sealed record ServerSpec(string Name, string? Transport, IReadOnlyDictionary<string, string?> Environment, IReadOnlyList<string> Arguments)
{
    /// <summary>The server every ratio is computed against.</summary>
    public const string BaselineName = "sockets";
    public const string FloorName = "floor";
    public bool IsFloor => Transport is null;
    /// <summary>The epoll event loops this server asks for (<c>--threads</c>), or null for the transport's default.</summary>
    public int? ThreadCount { get; init; }

    /// <summary>The servers to run, in the order they alternate within a round.</summary>
    public static IReadOnlyList<ServerSpec> Create(BenchOptions options)
    {
        // One environment for all, but for the one variable that defines a server.
        ServerSpec Spec(string name, string? transport, string? argument = null, bool inlineCompletions = false, bool serverGc = false) =>
            new(name, transport, new Dictionary<string, string?>
            {
                ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = inlineCompletions ? "1" : null,
                ["DOTNET_PROCESSOR_COUNT"] = options.ProcessorCount?.ToString(CultureInfo.InvariantCulture),
                // Production settings whatever the caller's shell says.
                ["ASPNETCORE_ENVIRONMENT"] = null, ["DOTNET_ENVIRONMENT"] = null,
                ["DOTNET_gcServer"] = serverGc ? "1" : null,
            }, argument is null ? [] : [argument]);

        return [.. options.Servers.SelectMany(name => name switch
        {
            "sockets" => [Spec(name, "sockets")],
            // The TechEmpower pairing: UnsafePreferInlineScheduling (SampleWeb sets it) plus inline socket completions.
            "sockets-tuned" => [Spec(name, "sockets-tuned", inlineCompletions: true)],
            "epoll" when options.Threads is { Count: > 0 } threads => threads.Select(count => Spec(
                string.Create(CultureInfo.InvariantCulture, $"epoll-t{count}"), "epoll",
                string.Create(CultureInfo.InvariantCulture, $"--Kestrel:EpollTransport:ThreadCount={count}")) with { ThreadCount = count }),
            "epoll" => [Spec(name, "epoll")],
            // The app on the event loop, no thread-pool hop: epoll's counterpart of sockets-tuned.
            "epoll-inline" => [Spec(name, "epoll", "--Kestrel:EpollTransport:UnsafePreferInlineScheduling=true")],
            // The Web SDK's runtimeconfig gives SampleWeb server GC; the load helper asks for it through the environment.
            FloorName => [Spec(name, null, serverGc: true)],
            _ => throw new ArgumentException($"Unknown server '{name}'.", nameof(options)),
        })];
    }
}
