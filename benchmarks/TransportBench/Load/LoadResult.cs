namespace TransportBench.Load;

/// <summary>What one saturating load run did, by the tool's own measure; latencies in µs, where it has them (not h2load).</summary>
/// <param name="Bytes">Bytes read (wrk: headers and bodies; h2load: frames).</param>
internal sealed record LoadResult(
    string Tool, long Requests, double Seconds, long Bytes, long SocketErrors, long Timeouts, long Non2xx, long? P50Micros, long? P99Micros, long? P999Micros)
{
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;
    /// <summary>Why the run cannot be used, or null: no response, or a response that was not 2xx.</summary>
    public string? Failure => Requests == 0 || Non2xx > 0
        ? $"{Tool}: {Requests} requests, {Non2xx} non-2xx responses, {SocketErrors} socket errors, {Timeouts} timeouts"
        : null;
}
