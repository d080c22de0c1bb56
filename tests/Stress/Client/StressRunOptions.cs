using System.Net;
using Stress.Cli;

namespace Stress.Client;

/// <summary>Options of <c>Stress run</c> and of an in-process run.</summary>
internal sealed class StressRunOptions
{
    /// <summary>The server; null for <c>Stress run</c> to start one in-process on <see cref="Transport"/>.</summary>
    public IPEndPoint? EndPoint { get; set; }

    /// <summary>The transport of the in-process server when <see cref="EndPoint"/> is null.</summary>
    public string Transport { get; init; } = "epoll";

    /// <summary>Concurrent clients, each one exchange at a time.</summary>
    public int Clients { get; init; } = 16;

    /// <summary>How long clients start new exchanges; the run then waits for the ones in flight (each bounded).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The deadline of one exchange: one not done by then is counted as hung.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The largest upload or download body.</summary>
    public long MaxBodySize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Seeds the workers' random choices (and the run id in nonces); 0 picks one, printed in the summary.</summary>
    public int Seed { get; init; }

    /// <summary>The mix of exchanges.</summary>
    public OperationMix Mix { get; init; } = OperationMix.Default;

    public static StressRunOptions Parse(Arguments args)
    {
        string url = args.String("url", "");
        string ops = args.String("ops", "");
        var options = new StressRunOptions
        {
            EndPoint = url.Length == 0 ? null : ParseUrl(url),
            Transport = args.String("transport", "epoll"),
            Clients = args.Int("clients", 16),
            Duration = TimeSpan.FromSeconds(args.Double("duration", 60)),
            OperationTimeout = TimeSpan.FromSeconds(args.Double("op-timeout", 30)),
            MaxBodySize = args.Long("max-size", 8 * 1024 * 1024),
            Seed = args.Int("seed", 0),
            Mix = ops.Length == 0 ? OperationMix.Default : OperationMix.Only(ops.Split(',').Select(o => Enum.Parse<OperationKind>(o, ignoreCase: true))),
        };
        args.ThrowIfUnknown();
        if (options.Clients < 1 || options.Duration <= TimeSpan.Zero || options.OperationTimeout <= TimeSpan.Zero || options.MaxBodySize < 0)
        {
            throw new ArgumentException("--clients, --duration and --op-timeout must be above 0, --max-size at least 0.");
        }
        return options;
    }

    private static IPEndPoint ParseUrl(string url)
    {
        var uri = new Uri(url);
        return new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
    }
}
