namespace TransportBench.Measure;

/// <summary>Asks a server's startup hook (benchmarks/StatsHook) for its counters on the server's own Unix socket.</summary>
internal static class CounterReader
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);
    /// <summary>The counters now, or null when the server does not answer (it ended, or was started without the hook).</summary>
    public static async Task<ServerCounters?> ReadAsync(string socketPath, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(Limit);
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), bound.Token);
            using var reader = new StreamReader(new NetworkStream(socket, ownsSocket: false));
            return ServerCounters.Parse(await reader.ReadLineAsync(bound.Token));
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>Bytes per request between two readings, or null when either is missing.</summary>
    public static double? AllocatedPerRequest(ServerCounters? before, ServerCounters? after, long requests) =>
        before is { } b && after is { } a && requests > 0 ? (double)(a.AllocatedBytes - b.AllocatedBytes) / requests : null;
}
