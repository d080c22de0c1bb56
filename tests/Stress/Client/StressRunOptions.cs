using System.Net;

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
}
