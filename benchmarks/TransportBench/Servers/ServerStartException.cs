namespace TransportBench.Servers;

/// <summary>A server that did not come up (build missing, crash at start, no start line): skipped for the rest of the run.</summary>
internal sealed class ServerStartException(string message) : Exception(message);
