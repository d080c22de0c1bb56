using System.Globalization;
using TransportBench.Cli;

namespace TransportBench.Servers;

/// <summary>
/// One server under test: SampleWeb with a transport switch and environment, or the in-memory floor. Everything not
/// named here is identical for all servers (same binary, CPUs, DOTNET_PROCESSOR_COUNT, GC settings, log levels).
/// </summary>
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

    /// <summary>The servers to run, in the order they alternate within a round.</summary>
    public static IReadOnlyList<ServerSpec> Create(BenchOptions options)
    {
        var servers = new List<ServerSpec>();
        foreach (string name in options.Servers)
        {
            switch (name)
            {
                case "sockets":
                    servers.Add(new ServerSpec(name, "sockets", CommonEnvironment(options, inlineCompletions: false), []));
                    break;
                case "sockets-tuned":
                    // The TechEmpower pairing: UnsafePreferInlineScheduling (SampleWeb sets it for this switch) plus
                    // inline socket completions, read by the runtime at start-up.
                    servers.Add(new ServerSpec(name, "sockets-tuned", CommonEnvironment(options, inlineCompletions: true), []));
                    break;
                case "epoll" when options.Threads is { Count: > 0 } threads:
                    foreach (int count in threads)
                    {
                        servers.Add(new ServerSpec(
                            string.Create(CultureInfo.InvariantCulture, $"epoll-t{count}"),
                            "epoll",
                            CommonEnvironment(options, inlineCompletions: false),
                            [string.Create(CultureInfo.InvariantCulture, $"--Kestrel:EpollTransport:ThreadCount={count}")]));
                    }
                    break;
                case "epoll":
                    servers.Add(new ServerSpec(name, "epoll", CommonEnvironment(options, inlineCompletions: false), []));
                    break;
                case "epoll-inline":
                    // The app on the event loop, no thread-pool hop: epoll's counterpart of sockets-tuned.
                    servers.Add(new ServerSpec(name, "epoll", CommonEnvironment(options, inlineCompletions: false),
                        ["--Kestrel:EpollTransport:UnsafePreferInlineScheduling=true"]));
                    break;
                case FloorName:
                    var floorEnvironment = new Dictionary<string, string?>(CommonEnvironment(options, inlineCompletions: false))
                    {
                        // SampleWeb is a Web SDK app, whose runtimeconfig asks for server GC; the runner is not, so
                        // its floor child asks through the environment to run under the same GC settings.
                        ["DOTNET_gcServer"] = "1",
                    };
                    servers.Add(new ServerSpec(name, null, floorEnvironment, []));
                    break;
                default:
                    throw new ArgumentException($"Unknown server '{name}'.", nameof(options));
            }
        }
        return servers;
    }

    private static Dictionary<string, string?> CommonEnvironment(BenchOptions options, bool inlineCompletions) => new()
    {
        ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = inlineCompletions ? "1" : null,
        ["DOTNET_PROCESSOR_COUNT"] = options.ProcessorCount?.ToString(CultureInfo.InvariantCulture),
        // Production settings whatever the caller's shell says.
        ["ASPNETCORE_ENVIRONMENT"] = null,
        ["DOTNET_ENVIRONMENT"] = null,
        ["DOTNET_gcServer"] = null,
    };
}
